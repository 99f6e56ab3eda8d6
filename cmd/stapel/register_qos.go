package main

// Registers `stapel qos` before "help" (see register_iperf3.go for why
// the file name matters).
func init() {
	commands = append(commands[:len(commands)-1:len(commands)-1],
		command{"qos", qosUsage, qosHelp, cmdQoS},
		commands[len(commands)-1])
}
