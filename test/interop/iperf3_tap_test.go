package interop

import (
	"strings"
	"testing"
	"time"
)

// Throughput over the TAP with the stock iperf3 on the kernel side, in
// both roles and both directions (issue 4, interop). Each run lasts 3 s.

// minRate is a floor far below what the TAP carries, catching stalls
// and protocol mistakes rather than measuring.
const minRate = 20e6

func TestIperf3LinuxClientToStapelServer(t *testing.T) {
	e := startIperf(t, true, 90*time.Second)
	srv := e.stapelIperfServer(t)
	for _, dir := range []struct {
		name string
		args []string
	}{{"Linux->Stapel", nil}, {"Stapel->Linux (-R)", []string{"-R"}}} {
		j := e.linuxIperf3(t, 30*time.Second, append([]string{"-c", stapelIP, "-t", "3"}, dir.args...)...)
		s, r := j.End.SumSent, j.End.SumReceived
		t.Logf("iperf3 -c %s %s: sender %d B in %.2f s = %s (retr %d), receiver %d B = %s", stapelIP, strings.Join(dir.args, " "),
			s.Bytes, s.Seconds, mbit(s.BitsPerSecond), s.Retransmits, r.Bytes, mbit(r.BitsPerSecond))
		if s.Seconds < 2.5 || r.BitsPerSecond < minRate || r.Bytes > s.Bytes || r.Bytes == 0 {
			t.Errorf("%s: implausible result %+v", dir.name, j.End)
		}
	}
	// The Stapel side printed a report per test, sender and receiver.
	e.WaitFor(t, 10*time.Second, "stapel iperf3 -s to print both reports", func() (bool, string) {
		out := string(srv.Stdout())
		return strings.Count(out, "receiver") == 2, out
	})
	t.Logf("stapel iperf3 -s:\n%s", srv.Stdout())
}

func TestIperf3StapelClientToLinuxServer(t *testing.T) {
	e := startIperf(t, true, 90*time.Second)
	e.linuxIperfServer(t)
	for _, dir := range []struct {
		name string
		args []string
	}{{"Stapel->Linux", nil}, {"Linux->Stapel (-R)", []string{"-R"}}} {
		rep := e.stapelIperf3(t, 30*time.Second, append([]string{"-c", linuxIP, "-t", "3"}, dir.args...)...)
		t.Logf("stapel iperf3 -c %s %s: sender %d B in %.2f s = %s (retr %d), receiver %d B = %s", linuxIP, strings.Join(dir.args, " "),
			rep.SentBytes, rep.SentSeconds, mbit(rep.SenderBitsPerSecond()), rep.Retransmits, rep.ReceivedBytes, mbit(rep.ReceiverBitsPerSecond()))
		if rep.SentSeconds < 2.5 || rep.ReceiverBitsPerSecond() < minRate || rep.ReceivedBytes > rep.SentBytes || rep.ReceivedBytes == 0 {
			t.Errorf("%s: implausible report %+v", dir.name, rep)
		}
	}
	// The text form, as a user sees it.
	r := e.Tool(t, 30*time.Second, "iperf3", "-c", linuxIP, "-t", "1")
	if r.Err != nil || !strings.Contains(r.Stdout, "receiver") || !strings.Contains(r.Stdout, "iperf Done.") {
		t.Errorf("stapel iperf3 -c: %v\n%s", r.Err, r.Output())
	}
	t.Logf("stapel iperf3 -c %s -t 1:\n%s", linuxIP, r.Stdout)
}
