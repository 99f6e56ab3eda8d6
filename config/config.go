// Package config reads Stapel's TOML configuration. Keys are the registry
// value names of the whitepaper (SPEC §21/§22), grouped by registry key:
//
//	[Tcpip.Parameters]     Tcpip\Parameters          (global TCP/IP and DNS client)
//	[[Interface]]          Tcpip\Parameters\Interfaces\<if> and NetBT\...\Interfaces\<if>
//	[NetBT.Parameters]     NetBT\Parameters
//	[AFD.Parameters]       AFD\Parameters
//	[Dnscache.Parameters]  Dnscache\Parameters
//	[Services], [Control]  Stapel only
//
// Keys match case-insensitively, as registry value names do. Flags the
// whitepaper gives as DWORD 0/1 accept true/false or 0/1. Every problem is
// reported with the key path, the offending value and what is allowed.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
)

// Absent is the value of an integer parameter whose whitepaper default is
// "no registry value" with a meaning of its own (for example Tcp1323Opts:
// do not initiate, honour if offered).
const Absent = -1

// Config is a whole configuration file.
type Config struct {
	Tcpip      Tcpip       // [Tcpip.Parameters]
	Interfaces []Interface // [[Interface]]
	NetBT      NetBT       // [NetBT.Parameters]
	AFD        AFD         // [AFD.Parameters]
	Dnscache   Dnscache    // [Dnscache.Parameters]
	Services   Services    // [Services]
	Control    Control     // [Control]

	// Warnings lists values Validate accepted but changed or finds
	// questionable (clamped MTU, MaxUserPort, DefaultTTL 0...). Not encoded.
	Warnings []string

	// set records the keys the parsed file gave (see IsSet); nil for a
	// Config built in code.
	set map[string]bool
}

// IsSet reports whether the parsed file gave key, named by its section
// path and canonical name: "Tcpip.Parameters.CongestionControl",
// "Interface[0].TcpWindowSize". A key given with its default value is
// set; one left out is not. Always false for a Config built in code.
func (c *Config) IsSet(key string) bool { return c.set[key] }

// Default returns the whitepaper defaults (Stapel's own for extensions) and
// no interfaces.
func Default() *Config {
	return &Config{
		Tcpip:    defaultTcpip(),
		NetBT:    defaultNetBT(),
		AFD:      defaultAFD(),
		Dnscache: defaultDnscache(),
		Services: defaultServices(),
		Control:  defaultControl(),
	}
}

// DefaultInterface returns an [[Interface]] with the whitepaper defaults
// and no addresses; Parse starts every [[Interface]] table from it.
func DefaultInterface() Interface { return defaultInterface() }

// maxFileSize bounds what Load reads; real configurations are a few KB.
const maxFileSize = 4 << 20

// Load reads and parses the file at path.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("config: %s: larger than %d bytes", path, maxFileSize)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return c, nil
}

// Parse decodes a TOML document over the defaults and validates it. All
// problems found are returned together (errors.Join), each naming its key.
func Parse(data []byte) (*Config, error) {
	var raw map[string]any
	if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("config: line %d, column %d: %s", pe.Position.Line, pe.Position.Col, pe.Message)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	c := Default()
	d := &decoder{}
	d.config(raw, c)
	applySecurityProfile(c, d.set) // hardened.go
	c.set = d.set
	if len(d.errs) == 0 {
		d.errs = append(d.errs, c.validate()...)
	}
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return c, nil
}

// Validate checks a Config built in code the way Parse checks a file:
// ranges, addresses, lists. It clamps what the whitepaper clamps (interface
// MTU below 68, MaxUserPort, MaxHashTableSize) and appends to c.Warnings.
func (c *Config) Validate() error {
	return errors.Join(c.validate()...)
}

// Interface returns the [[Interface]] with the given Name (case-insensitive,
// as names are unique without regard to case).
func (c *Config) Interface(name string) (*Interface, bool) {
	for i := range c.Interfaces {
		if strings.EqualFold(c.Interfaces[i].Name, name) {
			return &c.Interfaces[i], true
		}
	}
	return nil, false
}
