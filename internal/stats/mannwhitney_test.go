package stats

import (
	"math"
	"testing"
)

func approx(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), 1e-300)
}

// perm101 is k*37 mod 101 for k = 0..100: the integers 0..100, each once,
// shuffled. The SciPy reference cases below build their data from it with
// the same expressions, so no long float lists need pasting.
func perm101() []float64 {
	p := make([]float64, 101)
	for k := range p {
		p[k] = float64(k * 37 % 101)
	}
	return p
}

func addTo(x []float64, c float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v + c
	}
	return y
}

// Known answers from docs/statistics.md (SciPy's docstring, R's example).
func TestMannWhitneyKnownAnswers(t *testing.T) {
	x := []float64{19, 22, 16, 29, 24}
	y := []float64{20, 11, 17, 12}
	r := MannWhitneyU(x, y)
	if r.U != 17 || !r.Exact || !approx(r.P, 0.1111111111, 1e-9) {
		t.Errorf("SciPy example: %+v, want U=17 exact p=0.1111111111", r)
	}
	// The same data through the normal approximation (SciPy
	// method="asymptotic", use_continuity=True).
	u, ties := rankSumU(x, y)
	if p := normalP(len(x), len(y), u, ties); !approx(p, 0.1113468865, 1e-9) {
		t.Errorf("SciPy example, asymptotic: p=%.10f, want 0.1113468865", p)
	}

	x = []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}
	y = []float64{1.15, 0.88, 0.90, 0.74, 1.21}
	r = MannWhitneyU(x, y)
	if r.U != 35 || !r.Exact || !approx(r.P, 0.2544123, 1e-6) {
		t.Errorf("R example: %+v, want W=35 exact p=0.2544123", r)
	}
	// One-sided (greater) exact p of R's example is 0.1272061: the upper
	// tail of the exact distribution.
	cnt := uCounts(10, 5)
	var up, tot float64
	for i, c := range cnt {
		tot += c
		if i >= 35 {
			up += c
		}
	}
	if !approx(up/tot, 0.1272061, 1e-6) {
		t.Errorf("R example, P(U >= 35) = %.7f, want 0.1272061", up/tot)
	}
}

// Reference values produced offline with SciPy 1.10.1 (Debian bookworm's
// python3-scipy), scipy.stats.mannwhitneyu(x, y, alternative="two-sided",
// method=..., use_continuity=True); statistic is U of x. Not used at test
// time: the numbers are pasted here.
func TestMannWhitneySciPyReference(t *testing.T) {
	p := perm101()
	var f1x, f1y, f2x, f2y []float64
	for i := range 60 {
		f1x = append(f1x, float64(i*7919%1013))
	}
	for j := range 70 {
		f1y = append(f1y, float64(j*104729%1009+150))
	}
	for i := range 120 {
		f2x = append(f2x, float64(i*31%97))
	}
	for j := range 80 {
		f2y = append(f2y, float64(j*17%89+5))
	}
	nx := p[:60]
	var ny []float64
	ny = append(ny, addTo(p[60:101], 15.5)...)
	for k := range 14 {
		ny = append(ny, 200.5+float64(k))
	}
	for _, tc := range []struct {
		name  string
		x, y  []float64
		u, p  float64
		exact bool
	}{
		// Ties, small samples: asymptotic with tie and continuity correction.
		{"ties1", []float64{1, 2, 2, 3, 3, 3, 4, 5}, []float64{2, 3, 4, 4, 5, 6, 6, 7, 8}, 13, 0.028372715346028934, false},
		{"ties2", []float64{1.1, 1.2, 1.2, 1.3, 1.5, 1.5}, []float64{1.2, 1.5, 1.6, 1.6, 1.7, 1.8, 1.9}, 5, 0.02494984159009965, false},
		{"ties3", []float64{5, 5, 5, 5}, []float64{5, 5, 5, 6}, 6, 0.4532547047537364, false},
		// Larger samples (beyond ExactMax), integer data with ties:
		// x_i = i*7919 mod 1013 (i<60), y_j = j*104729 mod 1009 + 150 (j<70).
		{"large1", f1x, f1y, 1547, 0.009872539532474307, false},
		// x_i = i*31 mod 97 (i<120), y_j = j*17 mod 89 + 5 (j<80).
		{"large2", f2x, f2y, 4654.5, 0.7176388152996546, false},
		// No ties, 60 x 55: x = perm[:60], y = perm[60:]+15.5 and 200.5..213.5.
		{"large-noties", nx, ny, 850, 7.593330381752666e-06, false},
		// No ties, n=51 > ExactMax: x = perm[:51], y = perm[51:]+0.5.
		{"n51", p[:51], addTo(p[51:101], 0.5), 1258, 0.9107648310084769, false},
		// Exact (method="exact"), no ties.
		{"exact20x25", p[:20], addTo(p[20:45], 0.5), 253, 0.9549290077683316, true},
		{"exact50x50", p[:50], addTo(p[50:100], 20.5), 811, 0.0022699323922214915, true},
		{"exact12x8", p[:12], addTo(p[12:20], 30.5), 17, 0.015860919266492024, true},
	} {
		r := MannWhitneyU(tc.x, tc.y)
		if r.U != tc.u || r.Exact != tc.exact || !approx(r.P, tc.p, 1e-9) {
			t.Errorf("%s: %+v, want U=%v P=%.16g Exact=%v", tc.name, r, tc.u, tc.p, tc.exact)
		}
	}
}

// R's wilcox.test(x, y, exact=FALSE, correct=TRUE) on R's example gives the
// same as SciPy's asymptotic method: 0.2446236 (computed with SciPy 1.10.1).
func TestMannWhitneyAsymptoticRExample(t *testing.T) {
	x := []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}
	y := []float64{1.15, 0.88, 0.90, 0.74, 1.21}
	u, ties := rankSumU(x, y)
	if p := normalP(len(x), len(y), u, ties); !approx(p, 0.24462360512698333, 1e-9) {
		t.Errorf("p = %.16g, want 0.24462360512698333", p)
	}
}

// The counting DP against brute force: every way of choosing which of the
// n+m ranks belong to x.
func TestUCountsBruteForce(t *testing.T) {
	for n := 1; n <= 6; n++ {
		for m := 1; m <= 6; m++ {
			want := make([]float64, n*m+1)
			nn := n + m
			for mask := 0; mask < 1<<nn; mask++ {
				if popcount(mask) != n {
					continue
				}
				// U of x = sum over x's of the number of y's below it.
				u, ys := 0, 0
				for pos := range nn {
					if mask&(1<<pos) != 0 {
						u += ys
					} else {
						ys++
					}
				}
				want[u]++
			}
			got := uCounts(n, m)
			for u := range want {
				if got[u] != want[u] {
					t.Fatalf("n=%d m=%d: count(U=%d) = %v, want %v", n, m, u, got[u], want[u])
				}
			}
		}
	}
}

func popcount(x int) int {
	c := 0
	for ; x != 0; x &= x - 1 {
		c++
	}
	return c
}

func TestUCountsLarge(t *testing.T) {
	cnt := uCounts(ExactMax, ExactMax)
	var tot float64
	for u, c := range cnt {
		tot += c
		if c < 0 || math.Abs(c-cnt[len(cnt)-1-u]) > 1e-12*c {
			t.Fatalf("U=%d: count %v not symmetric (%v)", u, c, cnt[len(cnt)-1-u])
		}
	}
	if want := 1 / MinP(ExactMax, ExactMax) * 2; !approx(tot, want, 1e-12) {
		t.Errorf("total %v, want C(100,50) = %v", tot, want)
	}
}

func TestMannWhitneySymmetry(t *testing.T) {
	x := []float64{3.1, 2.7, 4.4, 5.0, 3.9, 4.1}
	y := []float64{2.2, 3.0, 2.5, 3.3, 2.9}
	a, b := MannWhitneyU(x, y), MannWhitneyU(y, x)
	if a.U+b.U != 30 || !approx(a.P, b.P, 1e-12) {
		t.Errorf("x,y: %+v; y,x: %+v", a, b)
	}
}

func TestMannWhitneyDegenerate(t *testing.T) {
	if r := MannWhitneyU(nil, []float64{1}); !math.IsNaN(r.U) || !math.IsNaN(r.P) {
		t.Errorf("empty x gave %+v", r)
	}
	if r := MannWhitneyU([]float64{1, math.NaN()}, []float64{1}); !math.IsNaN(r.P) {
		t.Errorf("NaN in x gave %+v", r)
	}
	if r := MannWhitneyU([]float64{2, 2, 2}, []float64{2, 2}); r.P != 1 || r.U != 3 {
		t.Errorf("all tied gave %+v, want U=3 P=1", r)
	}
}

// Known answers from docs/statistics.md, and MinP is what complete
// separation actually gives.
func TestMinP(t *testing.T) {
	if got := MinP(3, 3); got != 0.1 {
		t.Errorf("MinP(3,3) = %v, want 0.1", got)
	}
	if got := MinP(4, 4); !approx(got, 0.028571, 1e-4) || got != 2.0/70 {
		t.Errorf("MinP(4,4) = %v, want 2/70 = 0.028571", got)
	}
	if got := MinP(0, 5); got != 1 {
		t.Errorf("MinP(0,5) = %v, want 1", got)
	}
	for _, nm := range [][2]int{{3, 3}, {4, 4}, {3, 7}, {10, 10}, {12, 5}} {
		x, y := make([]float64, nm[0]), make([]float64, nm[1])
		for i := range x {
			x[i] = float64(i)
		}
		for j := range y {
			y[j] = float64(100 + j)
		}
		r := MannWhitneyU(x, y)
		if !approx(r.P, MinP(nm[0], nm[1]), 1e-12) {
			t.Errorf("n=%d m=%d separated: p=%v, MinP=%v", nm[0], nm[1], r.P, MinP(nm[0], nm[1]))
		}
	}
}
