package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestDecideTable(t *testing.T) {
	ci := func(lo, hi float64) RatioCI { return RatioCI{Ratio: (lo + hi) / 2, Lo: lo, Hi: hi, Level: 0.95} }
	const a, th, mp = 0.05, 0.02, 0.001
	for _, tc := range []struct {
		q      float64
		ci     RatioCI
		higher bool
		minP   float64
		want   Verdict
	}{
		{0.01, ci(0.80, 0.85), true, mp, Regression},  // throughput fell
		{0.01, ci(1.10, 1.20), true, mp, Improvement}, // throughput rose
		{0.01, ci(1.10, 1.20), false, mp, Regression}, // latency rose
		{0.01, ci(0.80, 0.85), false, mp, Improvement},
		{0.30, ci(0.99, 1.01), true, mp, NoChange},
		{0.30, ci(0.98, 1.02), false, mp, NoChange},          // band edges included
		{0.01, ci(0.97, 0.99), true, mp, Inconclusive},       // significant but within noise
		{0.01, ci(0.95, 0.985), true, mp, Inconclusive},      // CI straddles 1-theta
		{0.30, ci(0.90, 1.05), true, mp, Inconclusive},       // not significant, CI too wide
		{0.30, ci(0.80, 0.85), true, mp, Inconclusive},       // CI beyond but q >= alpha
		{0.05, ci(0.80, 0.85), true, mp, Inconclusive},       // q == alpha is not < alpha
		{0.30, ci(0.99, 1.01), true, 0.1, TooFewTrials},      // 3 per side: never NO CHANGE
		{0.10, ci(0.50, 0.60), true, 0.1, TooFewTrials},      // nor REGRESSION
		{0.30, ci(0.99, 1.01), true, 0.05, TooFewTrials},     // minP == alpha: p < alpha impossible
		{math.NaN(), ci(0.80, 0.85), true, mp, Inconclusive}, // no p-value
		{0.01, RatioCI{Lo: math.NaN(), Hi: math.NaN()}, true, mp, Inconclusive},
	} {
		if got := Decide(tc.q, a, tc.ci, th, tc.higher, tc.minP); got != tc.want {
			t.Errorf("q=%v CI=[%v, %v] higher=%v minP=%v: %s, want %s", tc.q, tc.ci.Lo, tc.ci.Hi, tc.higher, tc.minP, got, tc.want)
		}
	}
	if !Regression.Fails() || Inconclusive.Fails() || TooFewTrials.Fails() || Improvement.Fails() || NoChange.Fails() {
		t.Error("only REGRESSION should fail")
	}
}

// compare is the single-comparison pipeline the property tests exercise:
// Mann-Whitney p (q = p: one comparison, no BH), bootstrap ratio CI, Decide.
func compare(base, nw []float64, seed uint64, resamples int) Verdict {
	const alpha, theta = 0.05, 0.02
	p := MannWhitneyU(nw, base).P
	ci := RatioOfMedians(base, nw, 0.95, resamples, seed)
	return Decide(p, alpha, ci, theta, true, MinP(len(base), len(nw)))
}

// The property tests use 2000 bootstrap resamples (not the default 10,000)
// to keep the package's tests within a few seconds.
const propResamples = 2000

// A vs A: both sides from the same distribution (10 trials each, normal
// with a 5% CV). With alpha = 0.05 and theta = 0.02 at most 5% of 1000
// seeded cases may be called REGRESSION.
func TestPropertyAA(t *testing.T) {
	t.Parallel()
	const cases = 1000
	counts := map[Verdict]int{}
	for s := range uint64(cases) {
		rng := rand.New(rand.NewPCG(s, 0xaa))
		base, nw := normalSample(rng, 10, 1e6, 0.05), normalSample(rng, 10, 1e6, 0.05)
		counts[compare(base, nw, s, propResamples)]++
	}
	t.Logf("A/A, %d cases: %v", cases, counts)
	if r := counts[Regression]; r > cases*5/100 {
		t.Errorf("A/A called REGRESSION %d times of %d (> 5%%)", r, cases)
	}
}

// NO CHANGE is reachable: with quieter trials (1% CV, 10 per side) the
// ratio's CI fits within ±2% and an A/A comparison is mostly NO CHANGE. (At
// 5% CV, as in TestPropertyAA, 10 trials give a CI of about ±4%: those cases
// are INCONCLUSIVE, never NO CHANGE, which is the honest answer.)
func TestPropertyAAQuiet(t *testing.T) {
	t.Parallel()
	const cases = 200
	counts := map[Verdict]int{}
	for s := range uint64(cases) {
		rng := rand.New(rand.NewPCG(s, 0x01))
		base, nw := normalSample(rng, 10, 1e6, 0.01), normalSample(rng, 10, 1e6, 0.01)
		counts[compare(base, nw, s, propResamples)]++
	}
	t.Logf("quiet A/A, %d cases: %v", cases, counts)
	if counts[Regression] > cases*5/100 || counts[NoChange] < cases*3/4 {
		t.Errorf("quiet A/A: %v, want at most 5%% REGRESSION and at least 75%% NO CHANGE", counts)
	}
}

// A 20% drop of a higher-is-better metric with 10 trials per side is found
// as REGRESSION in at least 95% of seeded cases.
func TestPropertyShift(t *testing.T) {
	t.Parallel()
	const cases = 1000
	counts := map[Verdict]int{}
	for s := range uint64(cases) {
		rng := rand.New(rand.NewPCG(s, 0x20))
		base, nw := normalSample(rng, 10, 1e6, 0.05), normalSample(rng, 10, 0.8e6, 0.05)
		counts[compare(base, nw, s, propResamples)]++
	}
	t.Logf("20%% drop, %d cases: %v", cases, counts)
	if r := counts[Regression]; r < cases*95/100 {
		t.Errorf("20%% drop found as REGRESSION %d times of %d (< 95%%)", r, cases)
	}
}

// Three trials per side can never reach p < 0.05 (MinP = 0.1): TOO FEW
// TRIALS, whatever the data, even a 50% drop, and never NO CHANGE.
func TestPropertyTooFew(t *testing.T) {
	for s := range uint64(100) {
		rng := rand.New(rand.NewPCG(s, 0x03))
		base := normalSample(rng, 3, 1e6, 0.05)
		for _, f := range []float64{1, 0.5} {
			nw := normalSample(rng, 3, f*1e6, 0.05)
			if v := compare(base, nw, s, 200); v != TooFewTrials {
				t.Fatalf("seed %d, factor %v: %s, want %s", s, f, v, TooFewTrials)
			}
		}
	}
	// Four per side can (MinP = 0.0286): complete separation is a
	// REGRESSION when the drop is large.
	if v := compare([]float64{100, 101, 102, 103}, []float64{50, 51, 52, 53}, 1, 2000); v != Regression {
		t.Errorf("4 vs 4, separated 50%% drop: %s, want REGRESSION", v)
	}
}

// TestCompareFamily: the family's q-values are Benjamini-Hochberg of the
// p-values of the pairs that can be significant; a pair too small to be
// (3 trials a side) stays out of the family with q = p and is TOO FEW
// TRIALS; each verdict is Decide's on q and the pair's own interval.
func TestCompareFamily(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	sample := func(n int, mean float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = mean * (1 + 0.02*rng.NormFloat64())
		}
		return v
	}
	base := sample(10, 100)
	pairs := []Pair{
		{base, sample(10, 100)},            // same
		{base, sample(10, 80)},             // 20% lower
		{base, sample(10, 103)},            // a little higher
		{sample(3, 100), sample(3, 50)},    // too few trials
		{base, sample(10, 125)},            // 25% higher
		{base, []float64{math.NaN(), 100}}, // no p-value
	}
	r := Rule{Alpha: 0.05, Threshold: 0.03, HigherIsBetter: true, Resamples: propResamples, Seed: 3}
	got := CompareFamily(pairs, r)
	var famP []float64
	var fam []int
	for i, p := range pairs {
		mw := MannWhitneyU(p.New, p.Base)
		if got[i].Test != mw && !math.IsNaN(mw.P) {
			t.Errorf("pair %d: test %+v, want %+v", i, got[i].Test, mw)
		}
		if mp := MinP(len(p.Base), len(p.New)); mp < r.Alpha && !math.IsNaN(mw.P) {
			famP = append(famP, mw.P)
			fam = append(fam, i)
		}
	}
	if !slices.Equal(fam, []int{0, 1, 2, 4}) {
		t.Fatalf("family %v, want pairs 0, 1, 2, 4", fam)
	}
	q := BenjaminiHochberg(famP)
	for j, i := range fam {
		if !got[i].InFamily || got[i].Q != q[j] {
			t.Errorf("pair %d: in family %v, q %v, want q %v", i, got[i].InFamily, got[i].Q, q[j])
		}
	}
	if got[3].InFamily || got[3].Q != got[3].Test.P || got[3].Verdict != TooFewTrials {
		t.Errorf("pair 3 (3 a side): %+v, want outside the family, q = p, TOO FEW TRIALS", got[3])
	}
	for i, p := range pairs {
		ci := RatioOfMedians(p.Base, p.New, 1-r.Alpha, r.Resamples, r.Seed)
		if !(got[i].Ratio == ci || math.IsNaN(ci.Ratio)) {
			t.Errorf("pair %d: ratio %+v, want %+v", i, got[i].Ratio, ci)
		}
		if want := Decide(got[i].Q, r.Alpha, got[i].Ratio, r.Threshold, true, got[i].MinP); got[i].Verdict != want {
			t.Errorf("pair %d: %s, want %s", i, got[i].Verdict, want)
		}
	}
	for i, want := range map[int]Verdict{1: Regression, 4: Improvement, 5: Inconclusive} {
		if got[i].Verdict != want {
			t.Errorf("pair %d: %s, want %s", i, got[i].Verdict, want)
		}
	}
}
