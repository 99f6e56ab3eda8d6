package main

// Registers `stapel iperf3` before "help". It lives in a file named after
// main.go because Go runs init functions in file-name order and main.go's
// init sets the command list.
func init() {
	commands = append(commands[:len(commands)-1:len(commands)-1],
		command{"iperf3", iperf3Usage, iperf3Help, cmdIperf3},
		commands[len(commands)-1])
}
