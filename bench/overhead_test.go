package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/internal/testenv"
	"github.com/vethbench/vethbench/reports/result"
)

// BenchmarkSwitchOverhead is what `make overhead` reports: what moving the
// load every slice costs a case's rate. One veth case is interleaved with
// itself: copy A in 20 ms slices, copy B (the reference, nearly alone) in
// slices ten times as long, in the same blocks, so the machine's drift
// cancels in their ratio r = pps(A)/pps(B). If a slice loses the time k to
// its switch, a slice of T keeps 1-k/T of its rate, and
// r = (1-k/20ms)/(1-k/200ms); the overhead of 20 ms slices, o = k/20ms, is
// then (1-r)/(1-r/10). Metrics: o and its interval in percent (over 6
// trials, each in topologies of its own), r, the CPU per packet ratio, and
// the share of the run's wall time spent sending.
func BenchmarkSwitchOverhead(b *testing.B) {
	testenv.RequireRoot(b)
	const slice, long = 20 * time.Millisecond, 200 * time.Millisecond
	a, ref := vethCase(64), vethCase(64)
	ref.Replica = 2
	a.Questions, ref.Questions = []string{"overhead"}, []string{"overhead"}
	cases := []plan.Case{a, ref}
	// 6 trials of 30 blocks, each in topologies of its own, so that what
	// differs between two builds of the case is in the interval; a block
	// is 20 + 200 ms of sending.
	m := plan.Measure{Trials: 6, MaxTrials: 6, Duration: 30 * slice, Warmup: 2 * slice, Confidence: 0.95, Slice: slice, Seed: 1}
	g := group{question: 0, baseline: ref.Name(), cases: []int{0, 1}, slices: map[int]time.Duration{1: long}}
	for b.Loop() {
		start := time.Now()
		got, p, err := interleaved(context.Background(), cases, g, m.Seed, m, time.Time{}, Options{})
		wall := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range got {
			if c.Status != result.StatusOK {
				b.Fatalf("%s: %s %s", c.Name, c.Status, c.Error)
			}
		}
		setRatios(p, ref.Name(), m.Confidence)
		var sent time.Duration
		for _, c := range got {
			for _, t := range c.Trials {
				sent += t.Duration
			}
		}
		pa, pr := p.Cases[0], p.Cases[1]
		if pa.Case != a.Name() {
			pa, pr = pr, pa
		}
		r := stats.PairedRatioTrials(pr.PPS, pa.PPS, p.TrialBlocks, m.Confidence)
		cpu := stats.PairedRatioTrials(pr.CPUNsPerPkt, pa.CPUNsPerPkt, p.TrialBlocks, m.Confidence)
		o := func(r float64) float64 { return 100 * (1 - r) / (1 - r/10) }
		b.ReportMetric(o(r.Ratio), "overhead-%")
		b.ReportMetric(o(r.Hi), "overhead-lo-%")
		b.ReportMetric(o(r.Lo), "overhead-hi-%")
		b.ReportMetric(r.Ratio, "pps-ratio")
		b.ReportMetric(cpu.Ratio, "cpu-ratio")
		b.ReportMetric(100*sent.Seconds()/wall.Seconds(), "sending-%")
		b.ReportMetric(0, "ns/op")
		b.Log(fmt.Sprintf("%d trials, %d blocks: pps ratio %.4f [%.4f, %.4f], cpu/pkt ratio %.4f [%.4f, %.4f]; %v sending of %v",
			r.Trials, p.Blocks, r.Ratio, r.Lo, r.Hi, cpu.Ratio, cpu.Lo, cpu.Hi, sent.Round(time.Millisecond), wall.Round(time.Millisecond)))
	}
}
