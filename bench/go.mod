module github.com/stapel-net/stapel/bench

go 1.26.8

require (
	github.com/stapel-net/stapel v0.0.0-00010101000000-000000000000
	golang.org/x/sys v0.49.0
	gvisor.dev/gvisor v0.0.0-20260905035102-160fafc42237
)

require (
	github.com/BurntSushi/toml v1.6.0 // indirect
	github.com/google/btree v1.1.2 // indirect
	golang.org/x/exp v0.0.0-20250711185948-6ae5c78190dc // indirect
	golang.org/x/time v0.15.0 // indirect
)

replace github.com/stapel-net/stapel => ../
