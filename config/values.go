package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

func asBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case int64:
		switch v {
		case 0:
			return false, true
		case 1:
			return true, true
		}
	}
	return false, false
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date-time"
	}
	return fmt.Sprintf("%T", v)
}

// fmtValue shows a TOML value in an error message, shortened.
func fmtValue(v any) string {
	var s string
	switch v := v.(type) {
	case string:
		s = strconv.Quote(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	case map[string]any:
		s = "{...}"
	case []map[string]any:
		s = "[{...}]"
	case []any:
		if len(v) == 0 {
			s = "[]"
		} else {
			s = "[" + fmtValue(v[0]) + ", ...]"
			if len(v) == 1 {
				s = "[" + fmtValue(v[0]) + "]"
			}
		}
	default:
		s = fmt.Sprint(v)
	}
	if len(s) > 64 {
		cut := 60
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// quoteKey writes a key as TOML needs it ("InitialRefreshT.O." has dots).
func quoteKey(k string) string {
	for _, r := range k {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return strconv.Quote(k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (s *section) keys() []string {
	out := make([]string, len(s.entries))
	for i, e := range s.entries {
		out[i] = e.key
	}
	return out
}

func topKeys() []string {
	out := []string{"Interface"}
	for _, t := range topTables {
		out = append(out, t.key)
	}
	return out
}

// suggest names a known key close to an unknown one (a typo).
func suggest(known []string, k string) string {
	if len(k) > 64 {
		return ""
	}
	best, bestD := "", 3
	for _, c := range known {
		if d := distance(strings.ToLower(c), strings.ToLower(k)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + quoteKey(best) + "?)"
}

// distance is the Levenshtein distance of two short strings.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
