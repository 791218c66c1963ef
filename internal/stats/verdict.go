package stats

import "math"

// Verdict is the outcome of comparing a new measurement with a baseline.
type Verdict string

// The verdicts. Only Regression fails a CI run.
const (
	Regression   Verdict = "REGRESSION"
	Improvement  Verdict = "IMPROVEMENT"
	NoChange     Verdict = "NO CHANGE"
	Inconclusive Verdict = "INCONCLUSIVE"
	TooFewTrials Verdict = "TOO FEW TRIALS"
)

// Fails reports whether the verdict should fail a CI run: only a Regression
// does.
func (v Verdict) Fails() bool { return v == Regression }

// Decide applies criterion.rs's rule with Chromium Pinpoint's "unknown":
//
//   - TOO FEW TRIALS when minP >= alpha: with these sample sizes no data can
//     give p < alpha (minP is MinP(n, m) of the compared samples), so the
//     comparison can never show a difference and is never called NO CHANGE;
//   - REGRESSION when q < alpha and the ratio's CI lies wholly beyond theta on
//     the bad side: ci.Hi < 1-theta if higher is better (throughput), ci.Lo >
//     1+theta if lower is better (latency, CPU per packet);
//   - IMPROVEMENT, mirrored;
//   - NO CHANGE when q >= alpha and the CI lies within 1 ± theta;
//   - INCONCLUSIVE otherwise: collect more trials.
//
// q is the (Benjamini-Hochberg adjusted, across a sweep) p-value of the
// Mann-Whitney test, ci the bootstrap CI of new/base (RatioOfMedians), theta
// the noise threshold as a fraction (0.02 for 2%). NaN inputs give
// INCONCLUSIVE (or TOO FEW TRIALS).
func Decide(q, alpha float64, ci RatioCI, theta float64, higherIsBetter bool, minP float64) Verdict {
	if minP >= alpha {
		return TooFewTrials
	}
	below := ci.Hi < 1-theta // wholly below the band
	above := ci.Lo > 1+theta // wholly above the band
	bad, good := below, above
	if !higherIsBetter {
		bad, good = above, below
	}
	switch {
	case q < alpha && bad:
		return Regression
	case q < alpha && good:
		return Improvement
	case q >= alpha && ci.Lo >= 1-theta && ci.Hi <= 1+theta:
		return NoChange
	}
	return Inconclusive
}

// The defaults of `vethbench compare`, which the report's answers use too:
// a significance level of 5% for the adjusted p-values, and changes within
// ±3% counted as noise.
const (
	DefaultAlpha     = 0.05
	DefaultThreshold = 0.03
)

// Rule is how a family of comparisons is tested and decided.
type Rule struct {
	// Alpha is the significance level of the Benjamini-Hochberg adjusted
	// p-values; the ratios' intervals are at level 1 - Alpha.
	Alpha float64
	// Threshold is theta: changes within ±Threshold are noise (0.03 = 3%).
	Threshold      float64
	HigherIsBetter bool
	Resamples      int    // of the bootstrap; <= 0 means DefaultResamples
	Seed           uint64 // of the bootstrap; every comparison uses it
}

// Pair is one comparison of a family: the per-trial values of the baseline
// and of the case compared with it.
type Pair struct{ Base, New []float64 }

// Comparison is the outcome of one Pair.
type Comparison struct {
	Test MannWhitney // of New against Base
	// MinP is the smallest p the two sample sizes can give. A pair with
	// MinP >= Alpha can never be significant: it is TOO FEW TRIALS and left
	// out of the family (Tarone's refinement of multiple testing), as is a
	// pair whose p is undefined.
	MinP     float64
	InFamily bool
	// Q is Test.P adjusted by Benjamini-Hochberg over the family; equal to
	// Test.P for a pair outside it.
	Q       float64
	Ratio   RatioCI // median(New)/median(Base) at level 1 - Alpha
	Verdict Verdict
}

// CompareFamily tests and decides every pair as one family: a two-sided
// Mann-Whitney U test of each, Benjamini-Hochberg over the pairs that can
// be significant, the bootstrap interval of each ratio of medians, and
// Decide. It is the one rule of `vethbench compare` (a family is the cases
// two runs share) and of the report's answers (a family is the cases of a
// question, each against the question's baseline). Deterministic for
// r.Seed.
func CompareFamily(pairs []Pair, r Rule) []Comparison {
	out := make([]Comparison, len(pairs))
	var famP []float64
	var famIdx []int
	for i, p := range pairs {
		c := &out[i]
		c.Test = MannWhitneyU(p.New, p.Base)
		c.Q, c.MinP = c.Test.P, MinP(len(p.Base), len(p.New))
		if c.MinP < r.Alpha && !math.IsNaN(c.Test.P) {
			c.InFamily = true
			famP = append(famP, c.Test.P)
			famIdx = append(famIdx, i)
		}
	}
	for j, q := range BenjaminiHochberg(famP) {
		out[famIdx[j]].Q = q
	}
	for i, p := range pairs {
		c := &out[i]
		c.Ratio = RatioOfMedians(p.Base, p.New, 1-r.Alpha, r.Resamples, r.Seed)
		c.Verdict = Decide(c.Q, r.Alpha, c.Ratio, r.Threshold, r.HigherIsBetter, c.MinP)
	}
	return out
}
