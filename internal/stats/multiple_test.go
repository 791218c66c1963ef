package stats

import (
	"math"
	"slices"
	"testing"
)

// Known answer from docs/statistics.md (R's p.adjust(p, "BH")).
func TestBenjaminiHochbergKnown(t *testing.T) {
	p := []float64{0.50, 0.01, 0.001, 0.69, 0.02, 0.05, 0.0025}
	want := []float64{0.58333, 0.023333, 0.007, 0.69, 0.035, 0.07, 0.00875}
	rej := []bool{false, true, true, false, true, false, true}
	q := BenjaminiHochberg(p)
	for i := range p {
		if math.Abs(q[i]-want[i]) > 5e-6 {
			t.Errorf("q[%d] = %v, want %v", i, q[i], want[i])
		}
		if (q[i] < 0.05) != rej[i] {
			t.Errorf("q[%d] = %v: rejected at 0.05 = %v, want %v", i, q[i], q[i] < 0.05, rej[i])
		}
	}
	if q[0] != 0.5*7/6 || q[1] != 0.01*7/3 {
		t.Errorf("q[0], q[1] = %v, %v, want 7/12 and 0.07/3 exactly", q[0], q[1])
	}
	if p[0] != 0.50 {
		t.Error("input modified")
	}
}

func TestBenjaminiHochbergProperties(t *testing.T) {
	p := []float64{0.9, 0.04, 0.04, 0.3, 0.001, 0.8, 0.04, 0.2}
	q := BenjaminiHochberg(p)
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7}
	slices.SortFunc(idx, func(a, b int) int {
		if p[a] < p[b] {
			return -1
		}
		if p[a] > p[b] {
			return 1
		}
		return 0
	})
	for k := 1; k < len(idx); k++ {
		if q[idx[k]] < q[idx[k-1]] {
			t.Errorf("not monotone: p=%v q=%v after p=%v q=%v", p[idx[k]], q[idx[k]], p[idx[k-1]], q[idx[k-1]])
		}
	}
	for i := range p {
		if q[i] < p[i] || q[i] > 1 {
			t.Errorf("q[%d] = %v outside [p, 1] (p=%v)", i, q[i], p[i])
		}
		if p[i] == 0.04 && q[i] != q[1] {
			t.Errorf("tied p-values got different q")
		}
	}
	// Capped at 1: 1 * 2/1 would be 2.
	if q := BenjaminiHochberg([]float64{1, 0.9}); q[0] != 1 || q[1] != 1 {
		t.Errorf("cap: %v", q)
	}
	// NaN kept and not counted, as R's p.adjust: BH(0.01, 0.04) = (0.02, 0.04).
	q = BenjaminiHochberg([]float64{0.04, math.NaN(), 0.01})
	if q[0] != 0.04 || !math.IsNaN(q[1]) || q[2] != 0.02 {
		t.Errorf("NaN handling: %v", q)
	}
	if q := BenjaminiHochberg(nil); len(q) != 0 {
		t.Errorf("empty: %v", q)
	}
	// One test: no adjustment.
	if q := BenjaminiHochberg([]float64{0.03}); q[0] != 0.03 {
		t.Errorf("single: %v", q)
	}
}
