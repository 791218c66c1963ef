package reports

// The words of interleaved questions' answers: each case's paired ratios
// of pps and of CPU per packet to its context's baseline, with their
// intervals and verdicts.

import (
	"fmt"
	"math"

	"github.com/vethbench/vethbench/internal/stats"
)

// pairedClause states one case against its context's baseline, base:
// "bridge delivers 0.67x veth's pps (95% CI 0.66–0.68, slower) and costs
// 1.49x veth per packet (95% CI 1.47–1.51, costlier)".
func (g *group) pairedClause(c *cell, base string) sentence {
	var s sentence
	s.add(valueLabel(g.Compare, c.Value) + " ")
	if math.IsNaN(c.Pair.PPS.Ratio.Ratio) && math.IsNaN(c.Pair.CPU.Ratio.Ratio) {
		s.addf("has no paired ratio to %s (no block measured both)", base)
		return s
	}
	s = append(s, pairedPhrase(c.Pair.PPS, base, false)...)
	s.add(" and ")
	s = append(s, pairedPhrase(c.Pair.CPU, base, true)...)
	return s
}

// pairedPhrase states one paired ratio with its interval and verdict:
// "delivers 0.67x veth's pps (95% CI 0.66–0.68, slower)" or "costs 1.49x
// veth per packet (95% CI 1.47–1.51, costlier)".
func pairedPhrase(m pairedMetric, base string, cpu bool) sentence {
	var s sentence
	ratio, ci := fmtPaired(m.Ratio)
	what := "delivers " + ratio + " " + possessive(base) + " pps"
	if cpu {
		what = "costs " + ratio + " " + base + " per packet"
	}
	if math.IsNaN(m.Ratio.Ratio) {
		what = "has no paired ratio of pps"
		if cpu {
			what = "has no paired ratio of CPU per packet"
		}
		s.addf("%s to %s (no block measured both)", what, base)
		return s
	}
	s.add(what + " (")
	if ci != "" {
		s.add(ci + ", ")
	}
	if w := pairedWords(m.Verdict, cpu); m.effect() {
		s.strong(w)
	} else {
		s.add(w)
	}
	s.add(")")
	return s
}

// pairedNoEffectClause says once that the compared dimension made no
// measurable difference to pps or CPU per packet anywhere, with the
// largest ratio: "the device had no measurable effect at 64 B or at
// 1400 B: against veth, the interval of every paired ratio of pps and of
// CPU per packet lies within ±1% (the largest difference: macvlan at
// 64 B delivers 0.98x veth's pps, 95% CI 0.97–0.99)".
func pairedNoEffectClause(g *group) sentence {
	var s sentence
	var ctxs []string
	var big *cell
	var bigM pairedMetric
	bigCPU, bigCtx := false, ""
	size := func(m pairedMetric) float64 { return math.Abs(math.Log(m.Ratio.Ratio)) }
	for i := range g.Findings {
		f := &g.Findings[i]
		ctx := ""
		if len(g.Context) > 0 {
			ctx = g.contextPhrase(f.Context)
			ctxs = append(ctxs, ctx)
		}
		for _, c := range f.compared() {
			for k, m := range []pairedMetric{c.Pair.PPS, c.Pair.CPU} {
				if big == nil || size(m) > size(bigM) {
					big, bigM, bigCPU, bigCtx = c, m, k == 1, ctx
				}
			}
		}
	}
	base := valueLabel(g.Compare, g.BaseValue)
	s.strong(dimNoun(g.Compare) + " had no measurable effect")
	if len(ctxs) > 0 {
		s.add(" " + joinOr(ctxs))
	}
	s.addf(": against %s, the interval of every paired ratio of pps and of CPU per packet lies within ±%s (the largest difference: %s",
		base, pct(g.PairedTheta), valueLabel(g.Compare, big.Value))
	if bigCtx != "" {
		s.add(" " + bigCtx)
	}
	ratio, ci := fmtPaired(bigM.Ratio)
	if bigCPU {
		s.addf(" costs %s %s per packet, %s)", ratio, base, ci)
	} else {
		s.addf(" delivers %s %s pps, %s)", ratio, possessive(base), ci)
	}
	return s
}

// pairedWords says what a paired verdict means, of pps or of CPU per
// packet (for which higher is worse).
func pairedWords(v stats.Verdict, cpu bool) string {
	switch v {
	case stats.Improvement:
		if cpu {
			return "cheaper"
		}
		return "faster"
	case stats.Regression:
		if cpu {
			return "costlier"
		}
		return "slower"
	case stats.NoChange:
		return "no measurable effect"
	case stats.TooFewTrials:
		return "too few blocks to tell"
	}
	return "inconclusive"
}

// pairedVerdictText is a case's two paired verdicts in a few words: "slower,
// costlier", "no measurable effect", "pps: inconclusive; CPU: cheaper".
func pairedVerdictText(pv *pairedVs) string {
	p, c := pairedWords(pv.PPS.Verdict, false), pairedWords(pv.CPU.Verdict, true)
	switch {
	case pv.PPS.effect() && pv.CPU.effect():
		return p + ", " + c
	case p == c:
		return p
	}
	return "pps: " + p + "; CPU: " + c
}

// fmtPaired formats a paired ratio and its interval, "0.67x" and "95% CI
// 0.66–0.68", with a third decimal when the interval is narrower than
// 0.02, as the blocks' intervals often are; the interval is empty when
// there is none.
func fmtPaired(r stats.RatioCI) (ratio, ci string) {
	prec := 2
	if r.Hi-r.Lo < 0.02 {
		prec = 3
	}
	if !finiteAll(r.Ratio) {
		return notApplicable, ""
	}
	ratio = fmt.Sprintf("%.*fx", prec, r.Ratio)
	if !finiteAll(r.Lo, r.Hi) {
		return ratio, ""
	}
	return ratio, fmt.Sprintf("%s CI %.*f–%.*f", pct(r.Level), prec, r.Lo, prec, r.Hi)
}

// possessive is "veth's", "1x1 queues'".
func possessive(s string) string {
	if len(s) > 0 && s[len(s)-1] == 's' {
		return s + "'"
	}
	return s + "'s"
}

// pairedRuleText says how the verdicts of interleaved questions are
// reached.
func pairedRuleText(r stats.Rule) string {
	return fmt.Sprintf("In an interleaved question each case is compared with its context's baseline block by block: "+
		"a ratio (of pps, and of CPU time per packet) is the blocks' ratios' trimmed geometric mean in each trial, averaged over the trials, with a %s interval over the trials (each question says how); "+
		"faster, slower, cheaper or costlier when q < %.3g (q: the p-value of the blocks' log-ratios, adjusted by Benjamini-Hochberg across the question's pps and CPU ratios) and the whole interval lies beyond ±%s; "+
		"no measurable effect when the interval lies within ±%s, even where it excludes 1; inconclusive otherwise: more trials may tell.",
		pct(1-r.Alpha), r.Alpha, pct(r.Threshold), pct(r.Threshold))
}
