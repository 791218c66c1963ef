package peers

import (
	"os"
	"strings"
	"testing"
)

// The testdata files are real outputs of sockperf 3.7 and iperf 3.12 (Debian
// 12's) on lo.
func TestParseSockperf(t *testing.T) {
	b, err := os.ReadFile("testdata/sockperf-pp.txt")
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseSockperf(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if r.P50 != 28.547 || r.P99 != 46.889 || r.Avg != 29.353 || r.Observations != 9372 {
		t.Fatalf("got %+v", r)
	}
	if _, err := parseSockperf("sockperf: error"); err == nil {
		t.Fatal("output without percentiles accepted")
	}
}

func TestParseIperf3(t *testing.T) {
	b, err := os.ReadFile("testdata/iperf3-udp.json")
	if err != nil {
		t.Fatal(err)
	}
	u, err := parseIperf3(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if u.SentPackets != 187380 || u.Seconds <= 0.9 || u.SentBits <= 0 {
		t.Fatalf("udp: %+v", u)
	}
	b, err = os.ReadFile("testdata/iperf3-tcp.json")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := parseIperf3(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if tc.ReceivedBits < 1e9 || tc.SentPackets != 0 {
		t.Fatalf("tcp: %+v", tc)
	}
	if _, err := parseIperf3(`{"error": "unable to connect to server"}`); err == nil || !strings.Contains(err.Error(), "unable to connect") {
		t.Fatalf("iperf3 error: %v", err)
	}
}

func TestTrafgenConfig(t *testing.T) {
	got := trafgenConfig([]byte{0xde, 0xad, 0xbe, 0xef})
	if got != "{\n0xde,0xad,0xbe,0xef\n}\n" {
		t.Fatalf("got %q", got)
	}
}
