package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/internal/testenv"
	"github.com/vethbench/vethbench/reports/result"
)

// The warning states the spread only when stamps were read per batch and
// some batch was measured.
func TestStampWarning(t *testing.T) {
	spread := &result.StampSpread{Batches: 10, MeanNs: 5100, MaxNs: 118900}
	for _, tc := range []struct {
		traffic result.Traffic
		want    string
	}{
		{result.Traffic{Generator: "xdp", Batch: 64, XDPBatchStamp: true, StampSpread: spread}, "5.1 us on average, 118.9 us at most"},
		{result.Traffic{Generator: "xdp", Batch: 64, XDPBatchStamp: true}, ""},
		{result.Traffic{Generator: "xdp", Batch: 64, XDPBatchStamp: true, StampSpread: &result.StampSpread{}}, ""},
		{result.Traffic{Generator: "xdp", Batch: 64, StampSpread: spread}, ""},
	} {
		got := stampWarning(tc.traffic)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) || (got != "" && !strings.Contains(got, "batch of up to 64 frames")) {
			t.Errorf("%+v: warning %q, want one with %q", tc.traffic, got, tc.want)
		}
	}
}

// A case with xdp_batch_stamp runs the generator with batch stamps and its
// result says so, with the spread the program measured and the warning;
// the same case in interleaved rounds merges the spread over sessions.
func TestRunCaseXDPBatchStamp(t *testing.T) {
	testenv.RequireRoot(t)
	c := vethCase(64)
	c.Traffic.Generator, c.Traffic.XDPBatchStamp, c.Traffic.RcvBuf = plan.GenXDP, true, 32<<20
	m := plan.Measure{Trials: 2, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Confidence: 0.95}
	rc, err := RunCase(context.Background(), c, m, Options{})
	if err != nil || rc.Status != result.StatusOK {
		t.Fatalf("status %s: %s (%v)", rc.Status, rc.Error, err)
	}
	if !strings.Contains(rc.Name, "xdp_batch_stamp=on") || !rc.Traffic.XDPBatchStamp {
		t.Errorf("case %q, traffic %+v: want the batch stamps in the name and the traffic", rc.Name, rc.Traffic)
	}
	s := rc.Traffic.StampSpread
	if s == nil || s.Batches == 0 || s.MeanNs <= 0 || s.MeanNs > s.MaxNs {
		t.Fatalf("stamp spread %+v: want batches measured", s)
	}
	if !slicesContainsPrefix(rc.Warnings, "send times were read once per batch") {
		t.Errorf("warnings %q: want the batch stamps' effect on latency", rc.Warnings)
	}
	// Interleaved: each case is set up anew in every round.
	other := c
	other.Traffic.XDPBatchStamp = false
	m.MaxTrials = 2
	res, err := Run(context.Background(), []plan.Case{c, other}, m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range res.Cases {
		s := rc.Traffic.StampSpread
		if rc.Traffic.XDPBatchStamp != (s != nil) {
			t.Errorf("%s: batch stamps %v, spread %+v", rc.Name, rc.Traffic.XDPBatchStamp, s)
		}
	}
}

// Rounds add each session's batches to the case's spread.
func TestMergeStampSpread(t *testing.T) {
	var acc result.Case
	for i, s := range []*result.StampSpread{{Batches: 2, MeanNs: 1000, MaxNs: 3000}, nil, {Batches: 6, MeanNs: 3000, MaxNs: 9000}} {
		merge(&acc, result.Case{Status: result.StatusOK, Traffic: result.Traffic{StampSpread: s}}, i == 0)
	}
	if got, want := acc.Traffic.StampSpread, (result.StampSpread{Batches: 8, MeanNs: 2500, MaxNs: 9000}); got == nil || *got != want {
		t.Errorf("merged spread %+v, want %+v", got, want)
	}
}

func slicesContainsPrefix(s []string, prefix string) bool {
	for _, x := range s {
		if strings.HasPrefix(x, prefix) {
			return true
		}
	}
	return false
}
