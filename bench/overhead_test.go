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
// then (1-r)/(1-r/10). Metrics: o and its interval in percent, r, the CPU
// per packet ratio, and the share of the run's wall time spent sending.
func BenchmarkSwitchOverhead(b *testing.B) {
	testenv.RequireRoot(b)
	const slice, long = 20 * time.Millisecond, 200 * time.Millisecond
	a, ref := vethCase(64), vethCase(64)
	ref.Replica = 2
	a.Questions, ref.Questions = []string{"overhead"}, []string{"overhead"}
	cases := []plan.Case{a, ref}
	// 2 trials of 100 blocks; a block is 20 + 200 ms of sending.
	m := plan.Measure{Trials: 2, MaxTrials: 2, Duration: 100 * slice, Warmup: 5 * slice, Confidence: 0.95, Slice: slice, Seed: 1}
	g := group{question: 0, baseline: ref.Name(), cases: []int{0, 1}, slices: map[int]time.Duration{1: long}}
	for b.Loop() {
		start := time.Now()
		got, p, err := interleaved(context.Background(), cases, g, m.Seed, m, Options{})
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
		r := stats.PairedRatio(pr.PPS, pa.PPS, m.Confidence)
		cpu := stats.PairedRatio(pr.CPUNsPerPkt, pa.CPUNsPerPkt, m.Confidence)
		o := func(r float64) float64 { return 100 * (1 - r) / (1 - r/10) }
		b.ReportMetric(o(r.Ratio), "overhead-%")
		b.ReportMetric(o(r.Hi), "overhead-lo-%")
		b.ReportMetric(o(r.Lo), "overhead-hi-%")
		b.ReportMetric(r.Ratio, "pps-ratio")
		b.ReportMetric(cpu.Ratio, "cpu-ratio")
		b.ReportMetric(100*sent.Seconds()/wall.Seconds(), "sending-%")
		b.ReportMetric(0, "ns/op")
		b.Log(fmt.Sprintf("%d blocks: pps ratio %.4f [%.4f, %.4f], cpu/pkt ratio %.4f [%.4f, %.4f]; %v sending of %v",
			p.Blocks, r.Ratio, r.Lo, r.Hi, cpu.Ratio, cpu.Lo, cpu.Hi, sent.Round(time.Millisecond), wall.Round(time.Millisecond)))
	}
}
