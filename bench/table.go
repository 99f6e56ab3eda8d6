package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func (c cell) format() string {
	if !c.ok {
		return c.note
	}
	s := human(c.v)
	if c.note != "" {
		s += " (" + c.note + ")"
	}
	return s
}

func human(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func ratio(a, b cell) string {
	if !a.ok || !b.ok || b.v == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a.v/b.v)
}

// short is the cell's text in the table; details go to a footnote.
func (c cell) short() string {
	if c.ok {
		return human(c.v)
	}
	if strings.HasPrefix(c.note, "n/a") && len(c.note) <= 28 {
		return c.note
	}
	if i := strings.IndexAny(c.note, ":("); i > 0 {
		return strings.TrimSpace(c.note[:i])
	}
	return c.note
}

// printTable prints one line per measurement with a column per contender
// and the Stapel/gVisor and Stapel/Linux ratios; notes become footnotes.
func printTable(w io.Writer, cs []Contender, rows []row) {
	var notes []string
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	hdr := []string{"measurement", "unit"}
	for _, c := range cs {
		hdr = append(hdr, c.Name())
	}
	// A ratio pair per Stapel column (the whitepaper and modern profiles).
	var stapels []string
	for _, c := range cs {
		if strings.HasPrefix(c.Name(), "Stapel") {
			stapels = append(stapels, c.Name())
		}
	}
	if len(stapels) == 0 {
		stapels = []string{"Stapel"}
	}
	for _, st := range stapels {
		hdr = append(hdr, st+"/gVisor", st+"/Linux")
	}
	fmt.Fprintln(tw, strings.Join(hdr, "\t"))
	for _, r := range rows {
		f := []string{r.name, r.unit}
		for _, c := range cs {
			ce := r.cells[c.Name()]
			txt := ce.short()
			if ce.note != "" && txt != ce.note {
				notes = append(notes, c.Name()+", "+r.name+": "+ce.note)
				txt += fmt.Sprintf(" [%d]", len(notes))
			}
			f = append(f, txt)
		}
		for _, name := range stapels {
			st := r.cells[name]
			f = append(f, ratio(st, r.cells["gVisor"]), ratio(st, r.cells["Linux"]))
		}
		fmt.Fprintln(tw, strings.Join(f, "\t"))
	}
	tw.Flush()
	fmt.Fprintln(w, "ratios: for Mbit/s and conn/s higher is better; for bytes lower is better.")
	for i, n := range notes {
		fmt.Fprintf(w, "[%d] %s\n", i+1, n)
	}
}
