package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Parameter describes one configuration key for documentation and for
// tools such as `ipconfig /all`.
type Parameter struct {
	Key       string // TOML path, e.g. "Tcpip.Parameters.DefaultTTL", "Interface.MTU"
	Name      string // registry value name (= the last element of Key)
	Section   string // TOML table: "Tcpip.Parameters", "Interface", ...
	Scope     string // registry scope as in SPEC §22 ("Tcpip G", "Tcpip IF", "NetBT G", ...) or "Stapel"
	Type      string // "bool (0/1)", "DWORD", "string", "string list", ...
	Default   string // the default value as written in TOML ("absent" when unset)
	Range     string // accepted values
	Doc       string // one-line meaning
	Used      string // "yes" (Stapel implements it), "later" (planned), "no" (accepted, no effect)
	Extension bool   // a Stapel extension, not from the whitepaper
}

// entry is one row of table; see table.go.
type entry struct {
	section, key, field, rule, scope, used, doc string
}

// rule is the parsed form of entry.rule.
type rule struct {
	numeric  bool
	min, max int64
	set      []int64
	absent   bool   // Absent (-1) is accepted
	clamp    bool   // out of range values clamp with a warning instead of failing
	pow2     bool   // must be a power of two
	prime    bool   // must be prime
	kind     string // non-numeric check: addr, addrs, mask, masks, mac, name, route, split
}

type section struct {
	name    string
	typ     reflect.Type
	entries []*sectionEntry
	byKey   map[string]*sectionEntry // lower-case key
}

type sectionEntry struct {
	entry
	rule  rule
	index []int // field index in the section struct
	kind  reflect.Kind
	typ   reflect.Type
}

var sections = map[string]*section{}

// sectionTypes maps TOML tables to their structs, in file order.
var sectionOrder = []struct {
	name string
	typ  reflect.Type
}{
	{"Tcpip.Parameters", reflect.TypeFor[Tcpip]()},
	{"Interface", reflect.TypeFor[Interface]()},
	{"NetBT.Parameters", reflect.TypeFor[NetBT]()},
	{"AFD.Parameters", reflect.TypeFor[AFD]()},
	{"Dnscache.Parameters", reflect.TypeFor[Dnscache]()},
	{"Services", reflect.TypeFor[Services]()},
	{"Control", reflect.TypeFor[Control]()},
}

func init() {
	for _, s := range sectionOrder {
		sections[s.name] = &section{name: s.name, typ: s.typ, byKey: map[string]*sectionEntry{}}
	}
	for i := range table {
		e := table[i]
		s := sections[e.section]
		f, ok := s.typ.FieldByName(e.field)
		if !ok {
			panic("config: table names missing field " + e.section + "." + e.field)
		}
		se := &sectionEntry{entry: e, rule: parseRule(e.rule), index: f.Index, kind: f.Type.Kind(), typ: f.Type}
		s.entries = append(s.entries, se)
		s.byKey[strings.ToLower(e.key)] = se
	}
}

func parseRule(s string) rule {
	var r rule
	if strings.HasPrefix(s, "?") {
		r.absent, s = true, s[1:]
	}
	if strings.HasPrefix(s, "~") {
		r.clamp, s = true, s[1:]
	}
	if strings.HasPrefix(s, "p2:") {
		r.pow2, s = true, s[3:]
	}
	if strings.HasPrefix(s, "prime:") {
		r.prime, s = true, s[6:]
	}
	switch {
	case s == "":
	case strings.HasPrefix(s, "{"):
		r.numeric = true
		for _, v := range strings.Split(strings.Trim(s, "{}"), ",") {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				panic("config: bad rule " + s)
			}
			r.set = append(r.set, n)
		}
	case strings.Contains(s, ".."):
		lo, hi, _ := strings.Cut(s, "..")
		a, err1 := strconv.ParseInt(lo, 10, 64)
		b, err2 := strconv.ParseInt(hi, 10, 64)
		if err1 != nil || err2 != nil {
			panic("config: bad rule " + s)
		}
		r.numeric, r.min, r.max = true, a, b
	default:
		r.kind = s
	}
	return r
}

// ok reports whether v satisfies the numeric part of r.
func (r rule) ok(v int64) bool {
	if r.absent && v == Absent {
		return true
	}
	if r.set != nil {
		for _, s := range r.set {
			if v == s {
				return true
			}
		}
		return false
	}
	if v < r.min || v > r.max {
		return false
	}
	if r.pow2 && v&(v-1) != 0 {
		return false
	}
	if r.prime && !isPrime(v) {
		return false
	}
	return true
}

// String is the accepted range as shown in errors and docs.
func (r rule) String() string {
	if !r.numeric {
		return kindText[r.kind]
	}
	var s string
	if r.set != nil {
		parts := make([]string, len(r.set))
		for i, v := range r.set {
			parts[i] = fmtInt(v)
		}
		s = "one of " + strings.Join(parts, ", ")
	} else {
		s = fmtInt(r.min) + ".." + fmtInt(r.max)
	}
	switch {
	case r.pow2:
		s = "a power of two in " + s
	case r.prime:
		s = "a prime in " + s
	case r.clamp:
		s += " (others clamp to the nearest bound)"
	}
	if r.absent {
		s += ", or -1 for absent"
	}
	return s
}

var kindText = map[string]string{
	"":      "",
	"addr":  "IPv4 address",
	"addrs": "IPv4 addresses",
	"mask":  "contiguous IPv4 mask",
	"masks": "contiguous IPv4 masks",
	"mac":   "MAC address aa:bb:cc:dd:ee:ff",
	"name":  "non-empty, unique",
	"tap":   "Linux device name, unique",
	"route": `"dest,mask,gateway,metric"`,
	"split": "names (string or array)",
}

// fmtInt writes all-ones DWORD-like values in hex as the whitepaper does.
func fmtInt(v int64) string {
	if v > 0xFFFFF && ((v+1)&v == 0 || (v+2)&(v+1) == 0) {
		return fmt.Sprintf("0x%X", v)
	}
	return strconv.FormatInt(v, 10)
}

func isPrime(v int64) bool {
	if v < 2 {
		return false
	}
	for d := int64(2); d*d <= v; d++ {
		if v%d == 0 {
			return false
		}
	}
	return true
}

// Parameters lists every configuration key in file order, with its
// default, accepted range, meaning and whether Stapel uses it.
func Parameters() []Parameter {
	def := Default()
	defIf := defaultInterface()
	roots := map[string]reflect.Value{
		"Tcpip.Parameters":    reflect.ValueOf(&def.Tcpip).Elem(),
		"Interface":           reflect.ValueOf(&defIf).Elem(),
		"NetBT.Parameters":    reflect.ValueOf(&def.NetBT).Elem(),
		"AFD.Parameters":      reflect.ValueOf(&def.AFD).Elem(),
		"Dnscache.Parameters": reflect.ValueOf(&def.Dnscache).Elem(),
		"Services":            reflect.ValueOf(&def.Services).Elem(),
		"Control":             reflect.ValueOf(&def.Control).Elem(),
	}
	var out []Parameter
	for _, so := range sectionOrder {
		s := sections[so.name]
		for _, e := range s.entries {
			v := roots[s.name].FieldByIndex(e.index)
			rng := e.rule.String()
			if rng == "" && (e.kind == reflect.Bool || e.typ.String() == "*bool") {
				rng = "true/false or 0/1"
			}
			out = append(out, Parameter{
				Key:       s.name + "." + e.key,
				Name:      e.key,
				Section:   s.name,
				Scope:     e.scope,
				Type:      typeText(e),
				Default:   defaultText(v),
				Range:     rng,
				Doc:       e.doc,
				Used:      e.used,
				Extension: e.scope == "Stapel",
			})
		}
	}
	return out
}

func typeText(e *sectionEntry) string {
	dword := "DWORD"
	if e.scope == "Stapel" {
		dword = "integer"
	}
	switch e.typ.String() {
	case "bool":
		if e.scope == "Stapel" {
			return "bool"
		}
		return "bool (0/1)"
	case "*bool":
		return "bool (0/1), optional"
	case "int":
		return dword
	case "string":
		return "string"
	case "[]string":
		return "string list"
	case "[]int":
		return dword + " list"
	}
	return e.typ.String()
}

func defaultText(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int:
		if v.Int() == Absent {
			return "absent (-1)"
		}
		return fmtInt(v.Int())
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Pointer:
		if v.IsNil() {
			return "absent"
		}
		return defaultText(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return "absent"
		}
		return tomlValue(v)
	}
	return fmt.Sprint(v.Interface())
}
