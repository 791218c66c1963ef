package peers

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/internal/testenv"
)

// Every comparison has a key of its own, and a selection that matches
// none is refused before anything is built.
func TestKeys(t *testing.T) {
	keys := Keys()
	if len(keys) == 0 || len(slices.Compact(slices.Sorted(slices.Values(keys)))) != len(keys) {
		t.Fatalf("keys %v: want distinct keys", keys)
	}
	if _, err := Run(context.Background(), Options{Only: regexp.MustCompile("^nothing$")}); err == nil {
		t.Error("Run with a selection matching no comparison succeeded")
	}
}

// The xdp rows measure the generator, stamping per batch and per frame,
// and the bare redirect program in the same run, alternating, and their
// ratios are to the bare program.
func TestXDPVsBare(t *testing.T) {
	testenv.RequireRoot(t)
	var log bytes.Buffer
	rows, err := Run(context.Background(), Options{
		Duration: 300 * time.Millisecond, Repeats: 2, Progress: &log, Only: regexp.MustCompile("^xdp$"),
	})
	t.Log("\n" + log.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2 (stamp per batch, per frame)", len(rows))
	}
	for _, r := range rows {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Name, r.Err)
		}
		if r.PeerName != "bare redirect" || r.Ours <= 0 || r.Peer <= 0 {
			t.Errorf("%s: %s %.3g vs %s %.3g: want both measured, against the bare redirect", r.Name, "xdp", r.Ours, r.PeerName, r.Peer)
		}
		if r.Ratio != r.Ours/r.Peer {
			t.Errorf("%s: ratio %.3f, want xdp/bare %.3f", r.Name, r.Ratio, r.Ours/r.Peer)
		}
	}
	if r := rows[0]; r.Target != ">= 0.90x" || r.Met != (r.Ratio >= 0.9) || !strings.Contains(r.Name, "per batch") || !strings.Contains(r.Note, "latency reads high") {
		t.Errorf("%s: target %q, met %v at %.2fx, note %q: want >= 0.90x, and the stamps' spread said", r.Name, r.Target, r.Met, r.Ratio, r.Note)
	}
	if r := rows[1]; r.Target != "(info)" || !strings.Contains(r.Name, "per frame") {
		t.Errorf("%s: target %q: want the per-frame row for information", r.Name, r.Target)
	}
	// Two measurements of each, interleaved.
	if n := len(regexp.MustCompile(`: bare [0-9.e+]+, xdp/batch [0-9.e+]+, xdp/frame [0-9.e+]+`).FindAllString(log.String(), -1)); n != 2 {
		t.Errorf("the bare program was measured %d times, want 2:\n%s", n, log.String())
	}
	var out bytes.Buffer
	if err := Write(&out, rows); err != nil || !strings.Contains(out.String(), "bare redirect") {
		t.Errorf("table (%v) does not name the bare redirect:\n%s", err, out.String())
	}
}
