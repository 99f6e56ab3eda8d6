package link

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/stapel-net/stapel/clock"
)

// Frames in both directions land in the capture with the virtual time,
// and gopacket's independent pcap reader (and tcpdump, if installed) reads
// them back byte for byte.
func TestSnifferPcap(t *testing.T) {
	start := time.Date(2000, 2, 17, 12, 0, 0, 123456000, time.UTC)
	clk := clock.NewVirtual(start)
	a, b := NewPipe(clk, 1500, macA, macB)
	var buf bytes.Buffer
	s := NewSnifferClock(a, &buf, clk)
	s.Attach(newRecorder())
	b.Attach(echoer{b})

	var sent [][]byte
	for i := range 3 {
		f := frame(macB, macA, 60+i*500, byte(i))
		sent = append(sent, f)
		if err := s.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		clk.Advance(1500 * time.Microsecond) // echo comes back in this span
	}
	if err := s.WriteFrame(make([]byte, 5)); err == nil {
		t.Fatal("runt accepted")
	}
	if s.Err() != nil || s.Records() != 6 {
		t.Fatalf("err=%v records=%d", s.Err(), s.Records())
	}

	r, err := pcapgo.NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", r.LinkType())
	}
	for i := range 6 {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		want := sent[i/2] // out, then its echo
		if !bytes.Equal(data, want) || ci.Length != len(want) {
			t.Fatalf("record %d differs", i)
		}
		wantT := start.Add(time.Duration(i/2) * 1500 * time.Microsecond)
		if !ci.Timestamp.Equal(wantT) {
			t.Fatalf("record %d at %v, want %v", i, ci.Timestamp, wantT)
		}
	}
	if _, _, err := r.ReadPacketData(); err == nil {
		t.Fatal("extra record")
	}

	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Log("tcpdump not installed; skipped reading the capture with it")
		return
	}
	path := filepath.Join(t.TempDir(), "cap.pcap")
	os.WriteFile(path, buf.Bytes(), 0o644)
	cmd := exec.Command(tcpdump, "-nn", "-e", "-r", path)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tcpdump -r: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var recs []string
	for _, l := range lines {
		if strings.Contains(l, macA.String()) {
			recs = append(recs, l)
		}
	}
	if len(recs) != 6 || !strings.Contains(recs[0], "12:00:00.123456") || !strings.Contains(recs[5], "length 1060") {
		t.Fatalf("tcpdump read:\n%s", out)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(b []byte) (int, error) {
	if w.n == 0 {
		return 0, os.ErrClosed
	}
	w.n--
	return len(b), nil
}

// A failing capture writer stops the capture, not the traffic.
func TestSnifferWriterError(t *testing.T) {
	clk := clock.NewVirtual(t0)
	a, b := NewPipe(clk, 1500, macA, macB)
	s := NewSnifferClock(a, &failWriter{n: 1}, clk)
	rb := newRecorder()
	b.Attach(rb)
	for range 2 {
		if err := s.WriteFrame(frame(macB, macA, 60, 1)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(0)
	if len(rb.Frames()) != 2 || s.Err() == nil || s.Records() != 0 {
		t.Fatalf("delivered %d, err %v, records %d", len(rb.Frames()), s.Err(), s.Records())
	}
}
