package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Bounds on what one file may hold, so a hostile or broken file cannot make
// the daemon allocate without limit.
const (
	maxErrors     = 50   // problems reported per Parse
	maxInterfaces = 64   // [[Interface]] tables
	maxList       = 1024 // entries in one list value
	maxString     = 4096 // bytes in one string value
)

// decoder copies the generic TOML tree into the Config structs, recording
// every unknown key and type mismatch with its path.
type decoder struct {
	errs []error
	// set records the keys the file gives ("Tcpip.Parameters.KeepAliveTime",
	// "Interface[0].PerformRouterDiscovery"), for SecurityProfile.
	set map[string]bool
}

// full reports whether enough errors were collected to stop looking.
func (d *decoder) full() bool { return len(d.errs) >= maxErrors }

func (d *decoder) errf(format string, a ...any) {
	if len(d.errs) < maxErrors {
		d.errs = append(d.errs, fmt.Errorf("config: "+format, a...))
	}
}

// registry keys at the top of the file and the tables below them.
var topTables = []struct{ key, sub, section string }{
	{"Tcpip", "Parameters", "Tcpip.Parameters"},
	{"NetBT", "Parameters", "NetBT.Parameters"},
	{"AFD", "Parameters", "AFD.Parameters"},
	{"Dnscache", "Parameters", "Dnscache.Parameters"},
	{"Services", "", "Services"},
	{"Control", "", "Control"},
}

func (d *decoder) config(raw map[string]any, c *Config) {
	dst := map[string]reflect.Value{
		"Tcpip.Parameters":    reflect.ValueOf(&c.Tcpip).Elem(),
		"NetBT.Parameters":    reflect.ValueOf(&c.NetBT).Elem(),
		"AFD.Parameters":      reflect.ValueOf(&c.AFD).Elem(),
		"Dnscache.Parameters": reflect.ValueOf(&c.Dnscache).Elem(),
		"Services":            reflect.ValueOf(&c.Services).Elem(),
		"Control":             reflect.ValueOf(&c.Control).Elem(),
	}
	seen := map[string]string{}
	for _, k := range sortedKeys(raw) {
		if d.full() {
			return
		}
		v := raw[k]
		low := strings.ToLower(k)
		if prev, dup := seen[low]; dup {
			d.errf("%s: same key as %s (keys are case-insensitive)", quoteKey(k), quoteKey(prev))
			continue
		}
		seen[low] = k
		if low == "interface" {
			d.interfaces(v, c)
			continue
		}
		i := slices.IndexFunc(topTables, func(t struct{ key, sub, section string }) bool {
			return strings.EqualFold(t.key, k)
		})
		if i < 0 {
			d.errf("unknown key %s%s", quoteKey(k), suggest(topKeys(), k))
			continue
		}
		t := topTables[i]
		m, ok := v.(map[string]any)
		if !ok {
			d.errf("%s = %s: want a table [%s]", t.key, fmtValue(v), t.section)
			continue
		}
		if t.sub != "" {
			m = d.subTable(t.key, t.sub, m)
			if m == nil {
				continue
			}
		}
		d.table(sections[t.section], t.section, m, dst[t.section])
	}
}

// subTable returns the Parameters table of a registry key such as Tcpip,
// which must hold nothing else.
func (d *decoder) subTable(key, sub string, m map[string]any) map[string]any {
	var out map[string]any
	for _, k := range sortedKeys(m) {
		if !strings.EqualFold(k, sub) {
			d.errf("unknown key %s.%s (only [%s.%s] is known)", key, quoteKey(k), key, sub)
			continue
		}
		if out != nil {
			d.errf("%s.%s: given twice (keys are case-insensitive)", key, quoteKey(k))
			continue
		}
		t, ok := m[k].(map[string]any)
		if !ok {
			d.errf("%s.%s = %s: want a table [%s.%s]", key, sub, fmtValue(m[k]), key, sub)
			continue
		}
		out = t
	}
	if out == nil {
		out = map[string]any{}
	}
	return out
}

func (d *decoder) interfaces(v any, c *Config) {
	var list []map[string]any
	switch v := v.(type) {
	case []map[string]any:
		list = v
	case []any:
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				d.errf("Interface[%d] = %s: want a table", i, fmtValue(e))
				return
			}
			list = append(list, m)
		}
	default:
		d.errf("Interface = %s: want an array of tables [[Interface]]", fmtValue(v))
		return
	}
	if len(list) > maxInterfaces {
		d.errf("Interface: %d interfaces, at most %d allowed", len(list), maxInterfaces)
		return
	}
	sec := sections["Interface"]
	for i, m := range list {
		if d.full() {
			return
		}
		ifc := defaultInterface()
		d.table(sec, fmt.Sprintf("Interface[%d]", i), m, reflect.ValueOf(&ifc).Elem())
		c.Interfaces = append(c.Interfaces, ifc)
	}
}

// table decodes the keys of one TOML table into the struct dst.
func (d *decoder) table(sec *section, path string, m map[string]any, dst reflect.Value) {
	seen := map[*sectionEntry]string{}
	for _, k := range sortedKeys(m) {
		if d.full() {
			return
		}
		e := sec.byKey[strings.ToLower(k)]
		if e == nil {
			d.errf("unknown key %s.%s%s", path, quoteKey(k), suggest(sec.keys(), k))
			continue
		}
		if prev, dup := seen[e]; dup {
			d.errf("%s.%s: same key as %s (keys are case-insensitive)", path, quoteKey(k), quoteKey(prev))
			continue
		}
		seen[e] = k
		if d.set == nil {
			d.set = map[string]bool{}
		}
		d.set[path+"."+e.key] = true
		d.value(path+"."+quoteKey(e.key), e, m[k], dst.FieldByIndex(e.index))
	}
}

func (d *decoder) value(path string, e *sectionEntry, v any, f reflect.Value) {
	switch f.Interface().(type) {
	case bool:
		b, ok := asBool(v)
		if !ok {
			d.errf("%s = %s: want true/false or 0/1", path, fmtValue(v))
			return
		}
		f.SetBool(b)
	case *bool:
		b, ok := asBool(v)
		if !ok {
			d.errf("%s = %s: want true/false or 0/1", path, fmtValue(v))
			return
		}
		f.Set(reflect.ValueOf(&b))
	case int:
		n, ok := v.(int64)
		if !ok {
			d.errf("%s = %s: want an integer, got %s", path, fmtValue(v), typeName(v))
			return
		}
		f.SetInt(n)
	case string:
		s, ok := v.(string)
		if !ok {
			d.errf("%s = %s: want a string, got %s", path, fmtValue(v), typeName(v))
			return
		}
		if len(s) > maxString {
			d.errf("%s: string of %d bytes, at most %d allowed", path, len(s), maxString)
			return
		}
		f.SetString(s)
	case []string:
		list, ok := d.strings(path, e, v)
		if ok {
			f.Set(reflect.ValueOf(list))
		}
	case []int:
		list, ok := d.ints(path, v)
		if ok {
			f.Set(reflect.ValueOf(list))
		}
	default:
		d.errf("%s: internal error: unsupported field type %s", path, f.Type())
	}
}

// strings accepts an array of strings or, as REG_SZ values are written, one
// string of space-separated items (commas also separate, except in routes).
func (d *decoder) strings(path string, e *sectionEntry, v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		sep := func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ',' }
		if e.rule.kind == "route" {
			sep = func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }
		}
		list := strings.FieldsFunc(v, sep)
		if len(list) > maxList {
			d.errf("%s: %d entries, at most %d allowed", path, len(list), maxList)
			return nil, false
		}
		return append([]string{}, list...), true
	case []any:
		if len(v) > maxList {
			d.errf("%s: %d entries, at most %d allowed", path, len(v), maxList)
			return nil, false
		}
		list := make([]string, 0, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				d.errf("%s[%d] = %s: want a string, got %s", path, i, fmtValue(x), typeName(x))
				return nil, false
			}
			if len(s) > maxString {
				d.errf("%s[%d]: string of %d bytes, at most %d allowed", path, i, len(s), maxString)
				return nil, false
			}
			list = append(list, s)
		}
		return list, true
	}
	d.errf("%s = %s: want a string or an array of strings, got %s", path, fmtValue(v), typeName(v))
	return nil, false
}

// ints accepts an array of integers or numeric strings (REG_MULTI_SZ values
// such as TcpAllowedPorts are strings in the registry), one integer, or one
// string of space-separated numbers.
func (d *decoder) ints(path string, v any) ([]int, bool) {
	var items []any
	switch v := v.(type) {
	case int64:
		return []int{int(v)}, true
	case string:
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
			items = append(items, f)
		}
	case []any:
		items = v
	default:
		d.errf("%s = %s: want an array of integers, got %s", path, fmtValue(v), typeName(v))
		return nil, false
	}
	if len(items) > maxList {
		d.errf("%s: %d entries, at most %d allowed", path, len(items), maxList)
		return nil, false
	}
	list := make([]int, 0, len(items))
	for i, x := range items {
		switch x := x.(type) {
		case int64:
			list = append(list, int(x))
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(x), 0, 64)
			if err != nil {
				d.errf("%s[%d] = %s: want an integer", path, i, fmtValue(x))
				return nil, false
			}
			list = append(list, int(n))
		default:
			d.errf("%s[%d] = %s: want an integer, got %s", path, i, fmtValue(x), typeName(x))
			return nil, false
		}
	}
	return list, true
}
