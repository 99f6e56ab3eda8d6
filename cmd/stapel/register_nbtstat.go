package main

// Registers `stapel nbtstat` before "help" (see register_iperf3.go for why
// the file name matters).
func init() {
	commands = append(commands[:len(commands)-1:len(commands)-1],
		command{"nbtstat", nbtstatUsage, nbtstatHelp, cmdNbtstat},
		commands[len(commands)-1])
}
