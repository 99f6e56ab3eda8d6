package config

// Services is the [Services] table (Stapel: the whitepaper's Simple TCP/IP
// Services are a Windows component configured elsewhere).
type Services struct {
	// Run the Simple TCP/IP services: echo 7, discard 9, daytime 13, qotd 17, chargen 19 (TCP and UDP).
	SimpleTcpip bool
	// Quote of the day served on port 17; empty = a built-in quote.
	Quote string
}

func defaultServices() Services {
	return Services{}
}

// Control is the [Control] table (Stapel only).
type Control struct {
	// Unix socket the command-line tools use to talk to the daemon.
	ControlSocket string
}

func defaultControl() Control {
	return Control{
		ControlSocket: "/run/stapel/stapel.sock",
	}
}
