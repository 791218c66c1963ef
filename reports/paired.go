package reports

// The answers of interleaved questions (Settings.Method "interleaved",
// Question.Paired set): every case of the question was alive at once and
// the load moved between them every slice, in blocks that gave each case
// one slice. A case is compared with its context's baseline block by
// block, by the paired ratios of its pps and of its CPU time per packet,
// not by the trials' medians, whose intervals carry the machine's drift
// that the blocks cancel. docs/report.md tells the rule.

import (
	"math"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// pairedVs is a case against its context's baseline, block by block.
type pairedVs struct {
	PPS, CPU pairedMetric
}

// pairedMetric is one paired ratio, case over baseline, and its verdict.
type pairedMetric struct {
	// Ratio is the geometric mean of the block ratios with its interval
	// (Resamples and Seed unused): NaN when no block has both values.
	Ratio  stats.RatioCI
	Blocks int     // blocks with both values
	P      float64 // of "the mean log-ratio is 0"; NaN without an interval
	// Q is P adjusted by Benjamini-Hochberg across the question: every
	// pps and CPU ratio of every context is one family.
	Q      float64
	Method string // how the interval was computed
	// Stored is set when the ratio is the result file's own (the
	// question's baseline is the context's); else it was computed here
	// from the two cases' series with stats.PairedRatio.
	Stored  bool
	Verdict stats.Verdict
}

// effect reports whether the verdict states an effect.
func (m pairedMetric) effect() bool {
	return m.Verdict == stats.Improvement || m.Verdict == stats.Regression
}

// decidePaired compares, in every context of an interleaved question,
// each case that measured with the context's baseline, from the blocks'
// series: the ratios of pps and of CPU per packet, their p-values adjusted
// by Benjamini-Hochberg across the question (both metrics of every
// context in one family), and pairedVerdict.
func (a *analysis) decidePaired(g *group) {
	series := map[string]*result.PairedCase{}
	for i := range g.Paired.Cases {
		series[g.Paired.Cases[i].Case] = &g.Paired.Cases[i]
	}
	var family []*pairedMetric
	for i := range g.Findings {
		f := &g.Findings[i]
		if !f.baseRan() {
			continue
		}
		base := f.Cells[f.Base].P.c.Name
		for j := range f.Cells {
			c := &f.Cells[j]
			if j == f.Base || c.P == nil || !c.P.ok() {
				continue
			}
			pv := &pairedVs{}
			pv.PPS, pv.CPU = a.pairedRatios(g, series, base, c.P.c.Name)
			c.Pair = pv
			family = append(family, &pv.PPS, &pv.CPU)
		}
	}
	ps := make([]float64, len(family))
	for i, m := range family {
		ps[i] = m.P
	}
	rule := a.pairedRule()
	g.PairedTheta = rule.Threshold
	for i, q := range stats.BenjaminiHochberg(ps) {
		m := family[i]
		m.Q = q
		// Even entries are pps (higher is better), odd ones CPU per packet.
		m.Verdict = pairedVerdict(*m, rule.Alpha, rule.Threshold, i%2 == 0)
	}
}

// pairedRatios returns the ratios of case name to base: the result's own
// when base is the question's baseline (the runner's ratios are to it),
// else computed from the two series, which were measured in the same
// blocks.
func (a *analysis) pairedRatios(g *group, series map[string]*result.PairedCase, base, name string) (pps, cpu pairedMetric) {
	none := pairedMetric{Ratio: stats.RatioCI{Ratio: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Level: a.level}, P: math.NaN()}
	pps, cpu = none, none
	b, c := series[base], series[name]
	if b == nil || c == nil {
		return pps, cpu
	}
	one := func(stored *result.Ratio, bs, cs []float64) pairedMetric {
		if base == g.Baseline && stored != nil {
			return pairedMetric{
				Ratio:  stats.RatioCI{Ratio: stored.Ratio, Lo: stored.Lo, Hi: stored.Hi, Level: stored.Level},
				Blocks: stored.Blocks, P: stored.P, Method: stored.Method, Stored: true,
			}
		}
		p := stats.PairedRatioTrials(bs, cs, g.Paired.TrialBlocks, a.level)
		method := stats.PairedMethod
		if p.Trials > 0 {
			method = stats.PairedTrialsMethod
		}
		return pairedMetric{
			Ratio:  stats.RatioCI{Ratio: p.Ratio, Lo: p.Lo, Hi: p.Hi, Level: p.Level},
			Blocks: p.N, P: p.P, Method: method,
		}
	}
	return one(c.PPSRatio, b.PPS, c.PPS), one(c.CPURatio, b.CPUNsPerPkt, c.CPUNsPerPkt)
}

// pairedVerdict decides one paired ratio: NO CHANGE ("no measurable
// effect") when its whole interval lies within 1 ± theta, whatever q says
// (a change smaller than theta is not called one even when the blocks can
// tell it from 1); IMPROVEMENT or REGRESSION when q < alpha and the whole
// interval lies beyond theta on one side (higher is better for pps, worse
// for CPU per packet); TOO FEW TRIALS when there is no interval (fewer
// than 2 blocks); INCONCLUSIVE otherwise.
func pairedVerdict(m pairedMetric, alpha, theta float64, higherIsBetter bool) stats.Verdict {
	lo, hi := m.Ratio.Lo, m.Ratio.Hi
	if m.Blocks < 2 || math.IsNaN(lo) || math.IsNaN(hi) {
		return stats.TooFewTrials
	}
	if lo >= 1-theta && hi <= 1+theta {
		return stats.NoChange
	}
	above, below := lo > 1+theta, hi < 1-theta
	if !(m.Q < alpha) || !above && !below {
		return stats.Inconclusive
	}
	if above == higherIsBetter {
		return stats.Improvement
	}
	return stats.Regression
}
