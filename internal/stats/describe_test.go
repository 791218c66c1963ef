package stats

import (
	"math"
	"slices"
	"testing"
)

// Quartiles and flagged indices checked offline with NumPy 1.24
// (np.percentile, default "linear" = R type 7).
func TestOutliers(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 100} // Q1 3.25, Q3 7.75: fences -3.5, 14.5
	s := slices.Sorted(slices.Values(x))
	if q1, q3 := quantile7(s, 0.25), quantile7(s, 0.75); q1 != 3.25 || q3 != 7.75 {
		t.Errorf("quartiles %v, %v, want 3.25, 7.75", q1, q3)
	}
	if got := Outliers(x); !slices.Equal(got, []int{9}) {
		t.Errorf("Outliers = %v, want [9]", got)
	}
	// Q1 9.9, Q3 10.2: fences 9.45, 10.65; low and high outliers flagged in
	// input order.
	y := []float64{10.2, 9.8, 10.1, 10.0, 3.0, 10.3, 9.9, 17.5, 10.0}
	if got := Outliers(y); !slices.Equal(got, []int{4, 7}) {
		t.Errorf("Outliers = %v, want [4 7]", got)
	}
	if got := Outliers([]float64{5, 5, 5}); got != nil {
		t.Errorf("constant: %v", got)
	}
	if got := Outliers([]float64{1, math.NaN(), 2, 3, 2, 1000}); !slices.Equal(got, []int{5}) {
		t.Errorf("with NaN: %v, want [5]", got)
	}
	if got := Outliers(nil); got != nil {
		t.Errorf("empty: %v", got)
	}
	if len(y) != 9 || y[4] != 3.0 {
		t.Error("input modified")
	}
}

func TestCV(t *testing.T) {
	// NumPy: c.std(ddof=1)/c.mean() = 0.427617987059879.
	if got := CV([]float64{2, 4, 4, 4, 5, 5, 7, 9}); !approx(got, 0.427617987059879, 1e-12) {
		t.Errorf("CV = %v, want 0.427617987059879", got)
	}
	if got := CV([]float64{3, 3, 3}); got != 0 {
		t.Errorf("CV of constant = %v", got)
	}
	if !math.IsNaN(CV([]float64{1})) {
		t.Error("CV of one value is not NaN")
	}
}
