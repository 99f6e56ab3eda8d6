package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// Each in-process contender moves every byte over a clean and over an
// impaired path (bulk checks the count and EOF).
func TestInProcessBulk(t *testing.T) {
	for _, c := range []Contender{stapelContender{}, gvisorContender{}} {
		for _, p := range []Path{{MTU: 1500}, {MTU: 1500, Delay: 2 * time.Millisecond, Loss: 0.01, Seed: 7}} {
			pair, err := c.Pair(p)
			if err != nil {
				t.Fatalf("%s %+v: %v", c.Name(), p, err)
			}
			r, err := bulk(pair.A, pair.B, 1<<20, 10*time.Second)
			pair.Close()
			if err != nil || r.Capped || r.Bytes != 1<<20 {
				t.Errorf("%s %+v: %+v %v", c.Name(), p, r, err)
			}
		}
	}
}

func TestInProcessCPSAndIdle(t *testing.T) {
	for _, c := range []Contender{stapelContender{}, gvisorContender{}} {
		pair, err := c.Pair(Path{MTU: 1500})
		if err != nil {
			t.Fatal(err)
		}
		r, err := cps(pair.A, pair.B, 50, 5*time.Second)
		if err != nil || r.Conns != 50 || r.Err != nil {
			t.Errorf("%s cps: %+v %v", c.Name(), r, err)
		}
		if _, err := idleMemory(pair.A, pair.B, 20, c.Memory); err != nil {
			t.Errorf("%s idle: %v", c.Name(), err)
		}
		pair.Close()
	}
}

// The delay line keeps order and delays every item.
func TestDelayLineFIFO(t *testing.T) {
	got := make(chan time.Time, 100)
	var order []int
	l := newDelayLine(20*time.Millisecond, func(i int) { order = append(order, i); got <- time.Now() }, func(int) {})
	defer l.close()
	start := time.Now()
	for i := 0; i < 100; i++ {
		if !l.push(i) {
			t.Fatal("push refused")
		}
	}
	for i := 0; i < 100; i++ {
		if at := <-got; at.Sub(start) < 20*time.Millisecond {
			t.Fatalf("item %d after %v", i, at.Sub(start))
		}
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("order %v", order)
		}
	}
}

// The same seed gives the same loss pattern.
func TestLossSeeded(t *testing.T) {
	a, b := newLossGen(Path{Loss: 0.3, Seed: 5}, 1), newLossGen(Path{Loss: 0.3, Seed: 5}, 1)
	n := 0
	for i := 0; i < 1000; i++ {
		x := a.lost()
		if x != b.lost() {
			t.Fatal("patterns differ")
		}
		if x {
			n++
		}
	}
	if n < 250 || n > 350 {
		t.Errorf("%d of 1000 lost at p=0.3", n)
	}
}

func TestTable(t *testing.T) {
	cs := []Contender{stapelContender{}, gvisorContender{}, linuxContender{}}
	rows := []row{{name: "bulk", unit: "Mbit/s", cells: map[string]cell{
		"Stapel": {ok: true, v: 500}, "gVisor": {ok: true, v: 1000}, "Linux": {note: "n/a"},
	}}}
	var buf bytes.Buffer
	printTable(&buf, cs, rows)
	out := buf.String()
	for _, want := range []string{"Stapel/gVisor", "0.50×", "n/a", "500"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// The kernel contender needs root (namespaces); it then moves every byte.
func TestLinuxBulk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	defer cleanupNetns()
	pair, err := linuxContender{}.Pair(Path{MTU: 1500})
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	if r, err := bulk(pair.A, pair.B, 1<<20, 10*time.Second); err != nil || r.Bytes != 1<<20 {
		t.Errorf("%+v %v", r, err)
	}
}

func TestMedian(t *testing.T) {
	m := median([]cell{{ok: true, v: 3}, {note: "error: x"}, {ok: true, v: 1}, {ok: true, v: 2}})
	if !m.ok || m.v != 2 || m.note != "1 of 4 runs failed" {
		t.Errorf("median = %+v", m)
	}
	if m := median([]cell{{note: "n/a"}}); m.ok || m.note != "n/a" {
		t.Errorf("median = %+v", m)
	}
}
