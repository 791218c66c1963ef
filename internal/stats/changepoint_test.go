package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func indices(cps []ChangePoint) []int {
	var out []int
	for _, c := range cps {
		out = append(out, c.Index)
	}
	return out
}

// TestQhatHand checks Q-hat against arithmetic done by hand on
// x = [0, 1, 5, 7]:
//
//	tau = 2, kappa = 4: X = {0, 1}, Y = {5, 7}, n = m = 2
//	  between |0-5|+|0-7|+|1-5|+|1-7| = 5+7+4+6 = 22 -> 2/4*22 = 11
//	  within X |0-1| = 1 -> 2*2/(4*1)*1 = 1
//	  within Y |5-7| = 2 -> 2*2/(4*1)*2 = 2
//	  Q = 11 - 1 - 2 = 8
//	tau = 2, kappa = 3: X = {0, 1}, Y = {5}, n = 2, m = 1
//	  between 5+4 = 9 -> 2/3*9 = 6; within X 1 -> 2*1/(3*1)*1 = 2/3;
//	  within Y: one point, 0. Q = 6 - 2/3 = 16/3
//	tau = 1, kappa = 4: X = {0}, Y = {1, 5, 7}, n = 1, m = 3
//	  between 1+5+7 = 13 -> 2/4*13 = 6.5; within X 0;
//	  within Y 4+6+2 = 12 -> 2*1/(4*2)*12 = 3. Q = 3.5
//	on [1, 4) (s = 1), tau = 2, kappa = 4: X = {1}, Y = {5, 7}
//	  between 4+6 = 10 -> 2/3*10 = 20/3; within Y 2 -> 2*1/(3*1)*2 = 4/3
//	  Q = 16/3
func TestQhatHand(t *testing.T) {
	d := newPairSums([]float64{0, 1, 5, 7})
	for _, c := range []struct {
		s, tau, kappa int
		want          float64
	}{
		{0, 2, 4, 8},
		{0, 2, 3, 16.0 / 3},
		{0, 1, 4, 3.5},
		{1, 2, 4, 16.0 / 3},
	} {
		if got := d.qhat(c.s, c.tau, c.kappa); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Q(%d, %d, %d) = %.15g, want %.15g", c.s, c.tau, c.kappa, got, c.want)
		}
	}
	if c := d.best(0, 4, 2); c.tau != 2 || math.Abs(c.q-8) > 1e-12 {
		t.Errorf("best(0, 4, 2) = %+v, want tau 2, Q 8", c)
	}
}

// slowQhat is Q-hat straight from its definition (Otava's
// compute_Q_and_candidate_slow in tests/change_point_divisive_test.py
// does the same loops).
func slowQhat(x []float64, s, tau, kappa int) float64 {
	X, Y := x[s:tau], x[tau:kappa]
	n, m := float64(len(X)), float64(len(Y))
	var a, b, c float64
	for _, xi := range X {
		for _, yj := range Y {
			a += math.Abs(xi - yj)
		}
	}
	for i := range X {
		for k := i + 1; k < len(X); k++ {
			b += math.Abs(X[i] - X[k])
		}
	}
	for j := range Y {
		for k := j + 1; k < len(Y); k++ {
			c += math.Abs(Y[j] - Y[k])
		}
	}
	q := 2 / (m + n) * a
	if n > 1 {
		q -= 2 * m / (m + n) / (n - 1) * b
	}
	if m > 1 {
		q -= 2 * n / (m + n) / (m - 1) * c
	}
	return q
}

// TestQhatPrefixSums: the prefix-sum Q-hat equals the definition for
// every (s, tau, kappa) of random series, and best() is the argmax with
// the smallest tau on ties.
func TestQhatPrefixSums(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 0))
	for trial := range 20 {
		n := 5 + trial
		x := make([]float64, n)
		for i := range x {
			x[i] = r.NormFloat64() + float64(i/4)*0.7
		}
		d := newPairSums(x)
		for s := 0; s < n; s++ {
			for tau := s + 1; tau < n; tau++ {
				for kappa := tau + 1; kappa <= n; kappa++ {
					got, want := d.qhat(s, tau, kappa), slowQhat(x, s, tau, kappa)
					if math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
						t.Fatalf("n %d: Q(%d, %d, %d) = %g, slow %g", n, s, tau, kappa, got, want)
					}
				}
			}
			for _, minSeg := range []int{2, 3} {
				wantTau, wantQ := -1, math.Inf(-1)
				for tau := s + minSeg; tau <= n-minSeg; tau++ {
					for kappa := tau + 1; kappa <= n; kappa++ {
						if q := slowQhat(x, s, tau, kappa); q > wantQ+1e-9 {
							wantTau, wantQ = tau, q
						}
					}
				}
				if c := d.best(s, n, minSeg); c.tau != wantTau {
					t.Fatalf("n %d: best(%d, %d, %d) = %+v, want tau %d (Q %g)", n, s, n, minSeg, c, wantTau, wantQ)
				}
			}
		}
	}
	// Ties: a constant series has Q = 0 everywhere; the smallest tau wins.
	if c := newPairSums([]float64{3, 3, 3, 3, 3, 3}).best(0, 6, 2); c.tau != 2 || c.q != 0 {
		t.Errorf("constant: best = %+v, want tau 2, Q 0", c)
	}
}

// TestWelchHand checks Welch's test on before = [1, 2, 3] (mean 2,
// variance 1), after = [10, 12, 14, 16, 18] (mean 14, variance 10):
//
//	se^2 = 1/3 + 10/5 = 7/3, t = 12/sqrt(7/3) = 7.855844048495725
//	df = (7/3)^2 / ((1/3)^2/2 + 2^2/4) = (49/9)/(19/18) = 98/19
//
// (Student's pooled test would say se^2 = 7*(1/3+1/5) and df = 6.) The
// p-value and the 97.5% quantile were computed independently in pure
// Python by integrating the t density (lgamma normalisation, composite
// Simpson with 200,000 panels over [0, t]; the quantile by bisection):
// p = 0.00046500954125772154, q = 2.5470926424152136, so the 95%
// interval is 12 -+ q*sqrt(7/3) = [8.109251721355731, 15.890748278644269].
func TestWelchHand(t *testing.T) {
	c := welch([]float64{1, 2, 3}, []float64{10, 12, 14, 16, 18}, 0.95, 0)
	for _, v := range []struct {
		name      string
		got, want float64
	}{
		{"mean before", c.MeanBefore, 2},
		{"mean after", c.MeanAfter, 14},
		{"sd before", c.SDBefore, 1},
		{"sd after", c.SDAfter, math.Sqrt(10)},
		{"diff", c.Diff, 12},
		{"t", c.T, 7.855844048495725},
		{"df", c.DF, 98.0 / 19},
		{"p", c.P, 0.00046500954125772154},
		{"lo", c.Lo, 8.109251721355731},
		{"hi", c.Hi, 15.890748278644269},
	} {
		if math.Abs(v.got-v.want) > 1e-9*math.Max(1, math.Abs(v.want)) {
			t.Errorf("%s = %.15g, want %.15g", v.name, v.got, v.want)
		}
	}
	if c.NBefore != 3 || c.NAfter != 5 {
		t.Errorf("n = %d, %d, want 3, 5", c.NBefore, c.NAfter)
	}
}

// TestWelchNoVariance: both sides constant is a certain change when the
// means differ, none when they do not.
func TestWelchNoVariance(t *testing.T) {
	c := welch([]float64{1, 1}, []float64{2, 2, 2}, 0.95, 0)
	if c.P != 0 || c.Lo != 1 || c.Hi != 1 || !math.IsInf(c.T, 1) {
		t.Errorf("differing constants: %+v, want P 0, interval [1, 1], T +Inf", c)
	}
	c = welch([]float64{2, 2}, []float64{2, 2, 2}, 0.95, 0)
	if c.P != 1 || c.T != 0 || c.Lo != 0 || c.Hi != 0 {
		t.Errorf("equal constants: %+v, want P 1, T 0, interval [0, 0]", c)
	}
	// Constant sides give exactly their value and a zero sd, whatever n
	// (seven 4.2s do not sum to 7*4.2), so equal constants never differ.
	for n := 2; n <= 12; n++ {
		c = welch(slices.Repeat([]float64{4.2}, n), slices.Repeat([]float64{4.2}, 3), 0.95, 0)
		if c.MeanBefore != 4.2 || c.SDBefore != 0 || c.P != 1 {
			t.Errorf("%d x 4.2: mean %.17g, sd %g, P %g, want 4.2, 0, 1", n, c.MeanBefore, c.SDBefore, c.P)
		}
	}
	// One side constant: an ordinary Welch test on the other's variance.
	c = welch([]float64{1, 1, 1}, []float64{1, 2, 3}, 0.95, 0)
	if !(c.P > 0.05 && c.P < 1) || c.DF != 2 {
		t.Errorf("one side constant: %+v, want 0.05 < P < 1, DF 2", c)
	}
}

// TestWelchOtavaSignificance reuses Otava's test_significance_tester
// (tests/analysis_test.py): a split between two identical halves is not
// significant (p about 1), a 19% drop over five points a side is, at
// 0.001. Welch and Otava's Student test agree on t here (equal sizes).
func TestWelchOtavaSignificance(t *testing.T) {
	same := []float64{1.00, 1.02, 1.05, 0.95, 0.98, 1.00, 1.02, 1.05, 0.95, 0.98}
	if c := welch(same[:5], same[5:], 0.95, 0); !(c.P > 0.99 && c.P <= 1) {
		t.Errorf("same halves: p = %g, want about 1", c.P)
	}
	drop := []float64{1.00, 1.02, 1.05, 0.95, 0.98, 0.80, 0.82, 0.85, 0.79, 0.77}
	if c := welch(drop[:5], drop[5:], 0.95, 0); !(c.P > 0 && c.P < 0.001) {
		t.Errorf("drop: p = %g, want in (0, 0.001)", c.P)
	}
}

// TestChangePointsOtavaSequence: tests/change_point_divisive_test.py's
// SEQUENCE, where Otava's test_ttest (detector with the t-test at 0.01)
// and test_permutation_test find CHANGE_POINTS_INDS = [5, 8].
func TestChangePointsOtavaSequence(t *testing.T) {
	seq := []float64{
		0.3, 2.4, 1.5, -0.9, -0.5,
		99.7, 98.3, 99.1,
		149.0, 149.7, 149.5, 149.1, 148.8, 150.0,
	}
	if got := divisive(seq, 0.01, 2, 0); !slices.Equal(got, []int{5, 8}) {
		t.Errorf("detector at 0.01 = %v, want [5 8]", got)
	}
	cps := ChangePoints(seq, ChangePointOptions{})
	if got := indices(cps); !slices.Equal(got, []int{5, 8}) {
		t.Fatalf("ChangePoints = %v, want [5 8]", got)
	}
	// The statistics use the segments between neighbours: [0,5) vs [5,8),
	// then [5,8) vs [8,14).
	if c := cps[0]; c.NBefore != 5 || c.NAfter != 3 || math.Abs(c.MeanBefore-0.56) > 1e-12 || math.Abs(c.MeanAfter-99.03333333333333) > 1e-9 {
		t.Errorf("first: %+v", c)
	}
	if c := cps[1]; c.NBefore != 3 || c.NAfter != 6 || math.Abs(c.MeanAfter-149.35) > 1e-9 {
		t.Errorf("second: %+v", c)
	}
}

// TestChangePointsOtavaSingleSeries: tests/analysis_test.py's
// test_single_series, compute_change_points(series, window_len=10,
// max_pvalue=0.0001) -> [10]; the same with the default window.
func TestChangePointsOtavaSingleSeries(t *testing.T) {
	series := []float64{
		1.02, 0.95, 0.99, 1.00, 1.12, 1.00, 1.01, 0.98, 1.01, 0.96,
		0.50, 0.51, 0.48, 0.48, 0.55, 0.50, 0.49, 0.51, 0.50, 0.49,
	}
	for _, w := range []int{10, 0} {
		cps := ChangePoints(series, ChangePointOptions{PValue: 0.0001, Window: w})
		if got := indices(cps); !slices.Equal(got, []int{10}) {
			t.Errorf("window %d: %v, want [10]", w, got)
		}
	}
}

// TestChangePointsStep: a clean two-level step is found exactly, with its
// size, on any scale and offset.
func TestChangePointsStep(t *testing.T) {
	base := []float64{0.1, -0.2, 0.05, 0.15, -0.1, 0, 0.2, -0.15, 0.1, -0.05}
	for _, scale := range []float64{1e-6, 1, 1e6} {
		var x []float64
		for i := range 20 {
			lvl := 100.0
			if i >= 12 {
				lvl = 97
			}
			x = append(x, (lvl+base[i%len(base)])*scale)
		}
		cps := ChangePoints(x, ChangePointOptions{})
		if got := indices(cps); !slices.Equal(got, []int{12}) {
			t.Fatalf("scale %g: %v, want [12]", scale, got)
		}
		c := cps[0]
		if c.NBefore != 12 || c.NAfter != 8 || !(c.Lo < c.Diff && c.Diff < c.Hi) || !(c.Hi < 0) ||
			math.Abs(c.Diff-(mean(x[12:])-mean(x[:12]))) > 1e-9*scale || !(c.P < 0.001) || !(c.T < 0) {
			t.Errorf("scale %g: %+v", scale, c)
		}
	}
}

func mean(v []float64) float64 {
	m, _ := meanSD(v)
	return m
}

// TestChangePointsThreeLevels: two steps, both exact, each described by
// the segments between its neighbours.
func TestChangePointsThreeLevels(t *testing.T) {
	wobble := []float64{0.3, -0.1, 0.2, -0.3, 0.1, 0, -0.2, 0.25, -0.05, 0.15, -0.25}
	var x []float64
	for i := range 45 {
		lvl := 10.0
		switch {
		case i >= 30:
			lvl = 14
		case i >= 17:
			lvl = 12
		}
		x = append(x, lvl+wobble[i%len(wobble)])
	}
	cps := ChangePoints(x, ChangePointOptions{})
	if got := indices(cps); !slices.Equal(got, []int{17, 30}) {
		t.Fatalf("%v, want [17 30]", got)
	}
	if cps[0].NBefore != 17 || cps[0].NAfter != 13 || cps[1].NBefore != 13 || cps[1].NAfter != 15 {
		t.Errorf("segments: %+v", cps)
	}
	// With a window of 20 the same, found by the sliding windows.
	if got := indices(ChangePoints(x, ChangePointOptions{Window: 20})); !slices.Equal(got, []int{17, 30}) {
		t.Errorf("window 20: %v, want [17 30]", got)
	}
}

// noisy is 40 log values of level*(1+e), e ~ N(0, 0.02), from PCG(seed).
func noisy(seed uint64, level func(i int) float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 0))
	x := make([]float64, 40)
	for i := range x {
		x[i] = math.Log(level(i) * (1 + 0.02*r.NormFloat64()))
	}
	return x
}

// oracleStep is where least squares puts the single step of x (the tau
// that maximises n1 n2/(n1+n2) (mean1-mean2)^2, at least 2 points a side):
// the best a locator can do on Gaussian noise when it is told there is
// exactly one step.
func oracleStep(x []float64) int {
	best, bq := -1, math.Inf(-1)
	for tau := 2; tau <= len(x)-2; tau++ {
		n1, n2 := float64(tau), float64(len(x)-tau)
		d := mean(x[:tau]) - mean(x[tau:])
		if q := n1 * n2 / (n1 + n2) * d * d; q > bq {
			best, bq = tau, q
		}
	}
	return best
}

// TestChangePointsAcceptanceStep is issue 16's acceptance: 40 runs at 2%
// noise with a 5% step down from run 25 (0-based index 25, the first run
// at the new level). The issue asks for the step within 25 +- 1 in at
// least 95 of 100 seeds, but no method can do that at this noise: the
// step is 2.56 sds, and even least squares told that there is exactly one
// step (oracleStep) places it within +-1 in 93.8% of 20,000 seeds (91 of
// seeds 1..100) and within +-2 in 98.0% (96 of seeds 1..100). So this
// asserts what the data allow: within +-1 and within +-2 in no fewer
// seeds than the oracle less 2; it logs the counts.
func TestChangePointsAcceptanceStep(t *testing.T) {
	within := func(cps []ChangePoint, d int) bool {
		return slices.ContainsFunc(cps, func(c ChangePoint) bool { return abs(c.Index-25) <= d })
	}
	found1, found2, oracle1, oracle2, extra := 0, 0, 0, 0, 0
	for seed := uint64(1); seed <= 100; seed++ {
		x := noisy(seed, func(i int) float64 {
			if i >= 25 {
				return 1e6 * 0.95
			}
			return 1e6
		})
		cps := ChangePoints(x, ChangePointOptions{})
		if within(cps, 1) {
			found1++
		}
		if within(cps, 2) {
			found2++
		}
		if len(cps) > 1 {
			extra++
		}
		if o := abs(oracleStep(x) - 25); o <= 1 {
			oracle1++
			oracle2++
		} else if o <= 2 {
			oracle2++
		}
	}
	t.Logf("5%% step at index 25 found within +-1 in %d of 100 seeds (least squares told of one step: %d), within +-2 in %d (least squares: %d); more than one change point in %d",
		found1, oracle1, found2, oracle2, extra)
	if found2 < oracle2-2 {
		t.Errorf("within +-2 in %d of 100 seeds, want >= %d (the oracle's %d less 2)", found2, oracle2-2, oracle2)
	}
	if found1 < oracle1-2 {
		t.Errorf("within +-1 in %d of 100 seeds, want >= %d (the oracle's %d less 2)", found1, oracle1-2, oracle1)
	}
}

// TestChangePointsAcceptanceNoStep: the same without a step has a false
// change point in at most 5 of 100 seeds.
func TestChangePointsAcceptanceNoStep(t *testing.T) {
	falsePos := 0
	for seed := uint64(1); seed <= 100; seed++ {
		x := noisy(seed, func(int) float64 { return 1e6 })
		if len(ChangePoints(x, ChangePointOptions{})) > 0 {
			falsePos++
		}
	}
	t.Logf("no step: a false change point in %d of 100 seeds", falsePos)
	if falsePos > 5 {
		t.Errorf("false change points in %d of 100 seeds, want <= 5", falsePos)
	}
}

// TestChangePointsAcceptanceOutlier: a single night 25% down is never a
// change point, in the middle (index 20: no change point at 20 or 21) or
// as the newest run (index 39: none at 38 or 39).
func TestChangePointsAcceptanceOutlier(t *testing.T) {
	for _, at := range []int{20, 39} {
		bad, any := 0, 0
		for seed := uint64(1); seed <= 100; seed++ {
			x := noisy(seed, func(i int) float64 {
				if i == at {
					return 1e6 * 0.75
				}
				return 1e6
			})
			cps := ChangePoints(x, ChangePointOptions{})
			if len(cps) > 0 {
				any++
			}
			for _, c := range cps {
				if at == 20 && (c.Index == 20 || c.Index == 21) || at == 39 && c.Index >= 38 {
					bad++
					t.Errorf("outlier at %d, seed %d: change point %+v", at, seed, c)
				}
			}
		}
		t.Logf("outlier at %d: a change point at the outlier in %d of 100 seeds; any change point in %d", at, bad, any)
	}
}

// TestChangePointsEdges: short, constant and nearly constant series, and
// a MinSegment too large for the series.
func TestChangePointsEdges(t *testing.T) {
	for n := range 5 {
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(i * i * 100)
		}
		if cps := ChangePoints(x, ChangePointOptions{}); len(cps) != 0 {
			t.Errorf("len %d: %v, want none", n, cps)
		}
	}
	// Four points is the least that can hold a change point (2 a side),
	// and two constant sides that differ are a certain change.
	if got := indices(ChangePoints([]float64{1, 1, 5, 5}, ChangePointOptions{})); !slices.Equal(got, []int{2}) {
		t.Errorf("[1 1 5 5]: %v, want [2]", got)
	}
	if got := indices(ChangePoints([]float64{1, 5, 5, 5}, ChangePointOptions{})); len(got) != 0 {
		t.Errorf("[1 5 5 5]: %v, want none", got)
	}
	constant := slices.Repeat([]float64{4.2}, 100)
	if cps := ChangePoints(constant, ChangePointOptions{}); len(cps) != 0 {
		t.Errorf("constant: %v, want none", cps)
	}
	for _, at := range []int{0, 1, 10, 28, 29} {
		x := slices.Repeat([]float64{4.2}, 30)
		x[at] = 9
		if cps := ChangePoints(x, ChangePointOptions{}); len(cps) != 0 {
			t.Errorf("one different at %d: %v, want none", at, indices(cps))
		}
	}
	step := []float64{1, 1.1, 0.9, 1, 1.05, 5, 5.1, 4.9, 5, 5.05}
	if got := indices(ChangePoints(step, ChangePointOptions{MinSegment: 5})); !slices.Equal(got, []int{5}) {
		t.Errorf("MinSegment 5 of 10: %v, want [5]", got)
	}
	if cps := ChangePoints(step, ChangePointOptions{MinSegment: 6}); len(cps) != 0 {
		t.Errorf("MinSegment 6 of 10: %v, want none", cps)
	}
	// A small Window is raised to 2*MinSegment, not left unable to split.
	// (Windows of 4, step 2: [2, 6) splits [1 1 | 5 5] at 4.)
	if got := indices(ChangePoints([]float64{1, 1, 1, 1, 5, 5, 5, 5}, ChangePointOptions{Window: 1})); !slices.Equal(got, []int{4}) {
		t.Errorf("Window 1: %v, want [4]", got)
	}
}

// TestChangePointsNonFinite: NaN and Inf (which callers never pass) do not
// panic and give indices inside the series.
func TestChangePointsNonFinite(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for _, at := range []int{0, 7, 19} {
			x := make([]float64, 20)
			for i := range x {
				x[i] = float64(i / 10)
			}
			x[at] = bad
			for _, c := range ChangePoints(x, ChangePointOptions{}) {
				if c.Index <= 0 || c.Index >= len(x) {
					t.Errorf("%v at %d: index %d", bad, at, c.Index)
				}
			}
		}
	}
}

// TestChangePointsMinSegmentKept: every change point has at least
// MinSegment points on each side, on random series with many steps.
func TestChangePointsMinSegmentKept(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 0))
	for trial := range 50 {
		x := make([]float64, 120)
		lvl := 0.0
		for i := range x {
			if r.IntN(6) == 0 {
				lvl += r.NormFloat64()
			}
			x[i] = lvl + 0.1*r.NormFloat64()
		}
		minSeg := 2 + trial%3
		cps := ChangePoints(x, ChangePointOptions{MinSegment: minSeg, Window: 30})
		prev := 0
		for k, c := range cps {
			if c.Index-prev < minSeg || c.NBefore != c.Index-prev || !(c.P <= 0.001) {
				t.Fatalf("trial %d: change point %d %+v after %d", trial, k, c, prev)
			}
			prev = c.Index
		}
		if len(cps) > 0 && len(x)-prev < minSeg {
			t.Fatalf("trial %d: last change point %d", trial, prev)
		}
	}
}

// BenchmarkChangePoints365 is a year of nightly runs at 2% noise with
// steps of -5%, +4% and -3% at 90, 200 and 300, which it checks it finds.
func BenchmarkChangePoints365(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 0))
	x := make([]float64, 365)
	for i := range x {
		lvl := 1e6
		switch {
		case i >= 300:
			lvl *= 0.97
		case i >= 200:
			lvl *= 1.04
		case i >= 90:
			lvl *= 0.95
		}
		x[i] = math.Log(lvl * (1 + 0.02*r.NormFloat64()))
	}
	if got := indices(ChangePoints(x, ChangePointOptions{})); !slices.Equal(got, []int{90, 200, 300}) {
		b.Fatalf("change points %v, want [90 200 300]", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		ChangePoints(x, ChangePointOptions{})
	}
}

// TestStepTestBoth: a change must pass Welch's test and Student's. A
// tight short segment beside a spread long one is "significant" to Welch
// alone; a spread short one beside a tight long one to Student alone. P
// is the larger p in both cases, and T, DF, Lo, Hi stay Welch's.
func TestStepTestBoth(t *testing.T) {
	long := []float64{0, 2, -2, 1, -1, 2, -2, 1, -1, 0, 2, -2, 1, -1, 2, -2, 1, -1, 0, 0}
	tight := []float64{1.5, 1.6, 1.5, 1.6}
	w, s := welch(long, tight, 0.95, 0), pooledP(long, tight, 0)
	if !(w.P < s) {
		t.Fatalf("tight short side: Welch p %g, Student p %g, want Welch's smaller", w.P, s)
	}
	if c := stepTest(long, tight, 0.95, 0); c.P != s || c.T != w.T || c.DF != w.DF || c.Lo != w.Lo {
		t.Errorf("tight short side: %+v, want P %g (Student) and Welch's T %g", c, s, w.T)
	}
	calm := slices.Repeat([]float64{0, 0.1, -0.1, 0.05, -0.05}, 4)
	wild := []float64{0, -3}
	w, s = welch(calm, wild, 0.95, 0), pooledP(calm, wild, 0)
	if !(s < w.P) {
		t.Fatalf("wild short side: Welch p %g, Student p %g, want Student's smaller", w.P, s)
	}
	if c := stepTest(calm, wild, 0.95, 0); c.P != w.P {
		t.Errorf("wild short side: P %g, want Welch's %g", c.P, w.P)
	}
}

// TestFirstPassLevel: Otava's first_pass_pvalue rule, and its effect: with
// windows of 20, a step at 30 of 60 points is weak within its window (10
// points a side, 0.001 < p <= 0.01) and strong over its full segments (30
// a side), so only a lenient first pass lets the merge step see it.
func TestFirstPassLevel(t *testing.T) {
	for _, c := range [][2]float64{{0.001, 0.01}, {0.01, 0.1}, {0.1, 0.2}, {0.4, 0.8}, {0.6, 0.6}} {
		if got := firstPassLevel(c[0]); math.Abs(got-c[1]) > 1e-15 {
			t.Errorf("firstPassLevel(%g) = %g, want %g", c[0], got, c[1])
		}
	}
	wobble := []float64{1, -1, 0.5, -0.5, 0.8, -0.8, 0.2, -0.2, 1.1, -1.1}
	x := make([]float64, 60)
	for i := range x {
		x[i] = wobble[i%len(wobble)]
		if i >= 30 {
			x[i] += 1.4
		}
	}
	if p := stepTest(x[20:30], x[30:40], 0.95, 0).P; !(p > 0.001 && p <= 0.01) {
		t.Fatalf("within the window p = %g, want in (0.001, 0.01]", p)
	}
	if got := indices(ChangePoints(x, ChangePointOptions{Window: 20})); !slices.Equal(got, []int{30}) {
		t.Errorf("%v, want [30]", got)
	}
}

// TestMergeDropsWeakest: weak change points at 20 (a real step, but with
// only 2 points after it before 22) and 22 (none): both are above 0.001;
// dropping the weaker (22) first leaves the step at 20 with its full
// segments, significant.
func TestMergeDropsWeakest(t *testing.T) {
	wobble := []float64{0.3, -0.2, 0.1, -0.3, 0.2, 0, -0.1, 0.25}
	x := make([]float64, 40)
	for i := range x {
		x[i] = wobble[i%len(wobble)]
		if i >= 20 {
			x[i] += 1
		}
	}
	before := describe(x, []int{20, 22}, 0.95, 0)
	if !(before[0].P > 0.001 && before[1].P > before[0].P) {
		t.Fatalf("set-up: p = %g, %g, want both above 0.001, 22's larger", before[0].P, before[1].P)
	}
	if got := indices(merge(x, []int{20, 22}, 0.001, 0.95, 0)); !slices.Equal(got, []int{20}) {
		t.Errorf("merge = %v, want [20]", got)
	}
}

// TestChangePointsBump: a level that held for a while and came back (a
// regression fixed some nights later) is found at both ends. Otava's split
// step, testing a candidate against the whole rest of its interval, found
// both ends of the 12% dip in 24 of these 100 seeds and of the 5% one in
// 28; testing the candidate's own sides [s, tau) and [tau, kappa), 99 and 84.
func TestChangePointsBump(t *testing.T) {
	for _, c := range []struct {
		n, from, to int
		level       float64
		want        int
	}{{19, 9, 14, 0.88, 95}, {40, 15, 25, 0.95, 80}} {
		both := 0
		for seed := uint64(1); seed <= 100; seed++ {
			x := noisy(seed, func(i int) float64 {
				if i >= c.from && i < c.to {
					return 1e6 * c.level
				}
				return 1e6
			})[:c.n]
			cps := ChangePoints(x, ChangePointOptions{})
			near := func(w int) bool {
				return slices.ContainsFunc(cps, func(p ChangePoint) bool { return abs(p.Index-w) <= 1 })
			}
			if near(c.from) && near(c.to) {
				both++
			}
		}
		t.Logf("%d runs, %.0f%% down over [%d, %d): both ends within +-1 in %d of 100 seeds", c.n, 100*(1-c.level), c.from, c.to, both)
		if both < c.want {
			t.Errorf("%d runs, dip over [%d, %d): both ends in %d of 100 seeds, want >= %d", c.n, c.from, c.to, both, c.want)
		}
	}
}

// TestChangePointsQuantum: runs that agree only because their figure fell
// into the same histogram bucket are not a certain change. Two segments
// of 3 identical values a bucket apart have no variance: without Quantum
// that is p = 0; with the bucket as Quantum each side has at least the
// rounding's variance, and 3 runs a side cannot show a one-bucket step at
// p 0.001. Six a side at the same levels can.
func TestChangePointsQuantum(t *testing.T) {
	q := math.Log(1.125) // one bucket of a histogram with 8 per power of two
	three := []float64{1, 1, 1, 1 + q, 1 + q, 1 + q}
	if cps := ChangePoints(three, ChangePointOptions{}); len(cps) != 1 || cps[0].P != 0 {
		t.Fatalf("without Quantum: %+v, want one certain change", cps)
	}
	if cps := ChangePoints(three, ChangePointOptions{Quantum: q}); len(cps) != 0 {
		t.Errorf("with Quantum: %+v, want none", cps)
	}
	six := append(slices.Repeat([]float64{1}, 6), slices.Repeat([]float64{1 + q}, 6)...)
	if cps := ChangePoints(six, ChangePointOptions{Quantum: q}); len(cps) != 1 || cps[0].Index != 6 {
		t.Errorf("with Quantum, 6 a side: %+v, want one at 6", cps)
	}
}
