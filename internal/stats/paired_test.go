package stats

import (
	"math"
	"testing"
)

// TestPairedRatioHand checks PairedRatio against a hand computation: blocks
// whose log-ratios ln(1.02), ln(1.04), ln(1.01), ln(1.03) alternate, so the
// lag-1 autocorrelation is negative (-0.75) and does not narrow the
// interval; the t quantile for 3 degrees of freedom is 3.182446305.
func TestPairedRatioHand(t *testing.T) {
	base := []float64{100, 100, 100, 100}
	x := []float64{102, 104, 101, 103}
	p := PairedRatio(base, x, 0.95)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"ratio", p.Ratio, 1.0249390202545523},
		{"lo", p.Lo, 1.0046006108928374},
		{"hi", p.Hi, 1.0456891861799003},
		{"rho", p.Rho, -0.7499809619452817},
		{"neff", p.NEff, 4},
		{"p", p.P, 0.02969743830903937},
	} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %.12g, want %.12g", c.name, c.got, c.want)
		}
	}
	if p.N != 4 {
		t.Errorf("N = %d, want 4", p.N)
	}
	if hw := p.HalfWidth(); math.Abs(hw-(p.Hi-p.Lo)/2/p.Ratio) > 1e-15 {
		t.Errorf("HalfWidth = %v", hw)
	}
}

// TestPairedRatioAutocorrelated: a drifting series (log-ratios rising
// steadily, lag-1 autocorrelation 0.625 by hand) has fewer effective
// blocks, n(1-rho)/(1+rho) = 1.846, held at 2, so its interval is that of
// 2 independent blocks: wider than the plain t interval on 8.
func TestPairedRatioAutocorrelated(t *testing.T) {
	base := make([]float64, 8)
	x := make([]float64, 8)
	for i := range base {
		base[i] = 100
		x[i] = 101 + 0.5*float64(i)
	}
	p := PairedRatio(base, x, 0.95)
	if math.Abs(p.Rho-0.6249763159435169) > 1e-9 {
		t.Errorf("rho = %v, want 0.62498", p.Rho)
	}
	if p.NEff != 2 {
		t.Errorf("NEff = %v, want 2 (1.846 held at the floor)", p.NEff)
	}
	// t(0.975, 1 df) = 12.7062047; mean 0.0270665013, sd 0.0119206697.
	se := 0.011920669696151086 / math.Sqrt(2)
	lo, hi := math.Exp(0.027066501345300267-12.706204736174707*se), math.Exp(0.027066501345300267+12.706204736174707*se)
	if math.Abs(p.Lo-lo) > 1e-9 || math.Abs(p.Hi-hi) > 1e-9 {
		t.Errorf("interval [%v, %v], want [%v, %v]", p.Lo, p.Hi, lo, hi)
	}
}

// TestPairedRatioSkips: blocks where a value is 0, negative, NaN or Inf are
// left out; with fewer than 2 left there is no interval.
func TestPairedRatioSkips(t *testing.T) {
	p := PairedRatio([]float64{100, 0, 100, math.NaN(), 100}, []float64{110, 100, math.Inf(1), 100, -1}, 0.95)
	if p.N != 1 || math.Abs(p.Ratio-1.1) > 1e-12 || !math.IsNaN(p.Lo) || !math.IsNaN(p.Hi) {
		t.Errorf("got %+v, want N=1 ratio 1.1 and no interval", p)
	}
	if p.HalfWidth() != 1 {
		t.Errorf("HalfWidth without an interval = %v, want 1", p.HalfWidth())
	}
	if q := PairedRatio(nil, nil, 0.95); q.N != 0 || !math.IsNaN(q.Ratio) {
		t.Errorf("empty: %+v", q)
	}
	// Identical blocks: a zero-width interval at the ratio.
	if q := PairedRatio([]float64{100, 100, 100}, []float64{105, 105, 105}, 0.95); q.Lo != q.Ratio || q.Hi != q.Ratio || q.P != 0 {
		t.Errorf("constant ratio: %+v", q)
	}
}
