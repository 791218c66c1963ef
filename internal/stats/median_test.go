package stats

import (
	"math"
	"testing"
)

func seq(n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(n - i) // unsorted on purpose
	}
	return x
}

func TestMedian(t *testing.T) {
	if got := Median(seq(10)); got != 5.5 {
		t.Errorf("median of 1..10 = %v, want 5.5 (R's definition)", got)
	}
	if got := Median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median = %v, want 2", got)
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

// Known answers from docs/statistics.md.
func TestMedianCIKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		n      int
		lo, hi float64 // order statistics x(lo), x(hi) of 1..n
		level  float64
		ok     bool
	}{
		{n: 6, lo: 1, hi: 6, level: 0.96875, ok: true},
		{n: 10, lo: 2, hi: 9, level: 0.978515625, ok: true},
		{n: 5, lo: 1, hi: 5, level: 0.9375, ok: false},
	} {
		iv := MedianCI(seq(tc.n), 0.95)
		if iv.Lo != tc.lo || iv.Hi != tc.hi || math.Abs(iv.Level-tc.level) > 1e-12 {
			t.Errorf("n=%d: [%v, %v] at %v, want [%v, %v] at %v", tc.n, iv.Lo, iv.Hi, iv.Level, tc.lo, tc.hi, tc.level)
		}
		if iv.Reached(0.95) != tc.ok {
			t.Errorf("n=%d: Reached = %v, want %v", tc.n, iv.Reached(0.95), tc.ok)
		}
	}
}

func TestMedianCINarrowsWithN(t *testing.T) {
	prev := math.Inf(1)
	for _, n := range []int{10, 30, 100} {
		iv := MedianCI(seq(n), 0.95)
		w := (iv.Hi - iv.Lo) / float64(n)
		if !(iv.Lo <= iv.Median && iv.Median <= iv.Hi) || iv.Level < 0.95 {
			t.Fatalf("n=%d: %+v", n, iv)
		}
		if w >= prev {
			t.Errorf("n=%d: relative width %v did not shrink (was %v)", n, w, prev)
		}
		prev = w
	}
}

func TestMedianCIEmpty(t *testing.T) {
	iv := MedianCI(nil, 0.95)
	if iv.N != 0 || !math.IsNaN(iv.Median) || iv.Reached(0.95) {
		t.Fatalf("empty input gave %+v", iv)
	}
}
