package stats

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
