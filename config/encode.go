package config

import (
	"bufio"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// Encode writes c as a complete, commented TOML file: every key with its
// meaning, registry scope, range and value. Absent values are written as
// comments. Parse(Encode(c)) gives c back (Warnings aside). With no
// interfaces an example [[Interface]] is written, commented out.
func (c *Config) Encode(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, fileHeader)
	if len(c.Interfaces) == 0 {
		ex := defaultInterface()
		ex.Name, ex.Tap = "lan0", "stptap0"
		ex.IPAddress, ex.SubnetMask = []string{"198.18.0.2"}, []string{"255.255.255.0"}
		ex.DefaultGateway = []string{"198.18.0.1"}
		fmt.Fprint(bw, "# No interface is configured. An example (remove \"# \" before the key lines):\n#\n")
		writeSection(commenter{bw}, "[[Interface]]", sections["Interface"], reflect.ValueOf(&ex).Elem())
	}
	for i := range c.Interfaces {
		writeSection(bw, "[[Interface]]", sections["Interface"], reflect.ValueOf(&c.Interfaces[i]).Elem())
	}
	writeSection(bw, "[Services]", sections["Services"], reflect.ValueOf(&c.Services).Elem())
	writeSection(bw, "[Control]", sections["Control"], reflect.ValueOf(&c.Control).Elem())
	writeSection(bw, "[Tcpip.Parameters]", sections["Tcpip.Parameters"], reflect.ValueOf(&c.Tcpip).Elem())
	writeSection(bw, "[NetBT.Parameters]", sections["NetBT.Parameters"], reflect.ValueOf(&c.NetBT).Elem())
	writeSection(bw, "[AFD.Parameters]", sections["AFD.Parameters"], reflect.ValueOf(&c.AFD).Elem())
	writeSection(bw, "[Dnscache.Parameters]", sections["Dnscache.Parameters"], reflect.ValueOf(&c.Dnscache).Elem())
	return bw.Flush()
}

const fileHeader = `# Stapel configuration (TOML).
#
# Keys are the registry value names of the Windows 2000 TCP/IP whitepaper,
# grouped by registry key: [Tcpip.Parameters] = Tcpip\Parameters,
# [[Interface]] = Tcpip\Parameters\Interfaces\<if> (plus Stapel's device
# binding), [NetBT.Parameters], [AFD.Parameters], [Dnscache.Parameters].
# Keys match case-insensitively. Flags accept true/false or 0/1; DWORDs may
# be written in hex (0xFFFFFFFF). -1 stands for "no registry value" where
# that has a meaning of its own. Lines "# Key = ..." show absent values.
# Each key's comment ends with [registry scope; type; range; used by Stapel].
# The full table is in docs/PARAMETERS.md.

`

// commenter comments out the key lines of what is written through it.
type commenter struct{ w *bufio.Writer }

func (c commenter) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		switch {
		case line == "\n":
			c.w.WriteString("#\n")
		case strings.HasPrefix(line, "#"):
			c.w.WriteString(line)
		default:
			c.w.WriteString("# " + line)
		}
	}
	return len(p), nil
}

func writeSection(w io.Writer, header string, s *section, v reflect.Value) {
	fmt.Fprintf(w, "%s\n", header)
	for _, e := range s.entries {
		f := v.FieldByIndex(e.index)
		doc := e.doc
		if e.scope == "Stapel" && s.name != "Interface" && s.name != "Services" && s.name != "Control" {
			doc = "Stapel extension: " + doc
		}
		fmt.Fprintf(w, "# %s\n", doc)
		r := e.rule.String()
		if r != "" {
			r = "; " + r
		}
		fmt.Fprintf(w, "# [%s; %s%s; used: %s]\n", e.scope, typeText(e), r, e.used)
		if (f.Kind() == reflect.Slice || f.Kind() == reflect.Pointer) && f.IsNil() {
			fmt.Fprintf(w, "# %s = (absent)\n", quoteKey(e.key))
		} else {
			fmt.Fprintf(w, "%s = %s\n", quoteKey(e.key), tomlValue(f))
		}
	}
	fmt.Fprintln(w)
}

// tomlValue writes a field value as TOML.
func tomlValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int:
		return fmtInt(v.Int())
	case reflect.String:
		return tomlString(v.String())
	case reflect.Pointer:
		return tomlValue(v.Elem())
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = tomlValue(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return ""
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789ABCDEF"[r>>4])
			b.WriteByte("0123456789ABCDEF"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
