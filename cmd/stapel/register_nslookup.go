package main

// Registers `stapel nslookup` before "help" (see register_iperf3.go for
// why the file name matters).
func init() {
	commands = append(commands[:len(commands)-1:len(commands)-1],
		command{"nslookup", nslookupUsage, nslookupHelp, cmdNslookup},
		commands[len(commands)-1])
}
