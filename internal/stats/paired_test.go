package stats

import (
	"math"
	"testing"
)

// TestPairedRatioHand checks PairedRatio against a hand computation: 4
// blocks (too few to trim: floor(0.2*4) = 0) whose log-ratios ln(1.02),
// ln(1.04), ln(1.01), ln(1.03) alternate, so the lag-1 autocorrelation is
// negative (-0.75) and does not narrow the interval; the t quantile for 3
// degrees of freedom is 3.182446305.
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
// steadily) by hand: 8 blocks, 1 trimmed from each end (20%), so the
// ratio is the mean of the middle 6; the winsorized series has a lag-1
// autocorrelation of 0.7083, so the variance is widened by
// (1+rho)/(1-rho) = 5.857 and the 5 degrees of freedom shrink to
// 6 * 0.1707 - 1, held at 1.
func TestPairedRatioAutocorrelated(t *testing.T) {
	base := make([]float64, 8)
	x := make([]float64, 8)
	for i := range base {
		base[i] = 100
		x[i] = 101 + 0.5*float64(i)
	}
	p := PairedRatio(base, x, 0.95)
	if p.Trimmed != 1 || math.Abs(p.Rho-0.7083280378119443) > 1e-9 {
		t.Errorf("trimmed %d, rho %v; want 1 and 0.70833", p.Trimmed, p.Rho)
	}
	if math.Abs(p.NEff-8*0.17073533638283786) > 1e-9 {
		t.Errorf("NEff = %v, want 8 * 0.1707", p.NEff)
	}
	// t(0.975, 1 df) = 12.7062047; standard error 0.0117773561 by hand.
	m, se := math.Log(1.0274645159281284), 0.011777356115671685
	lo, hi := math.Exp(m-12.706204736174707*se), math.Exp(m+12.706204736174707*se)
	if math.Abs(p.Ratio-1.0274645159281284) > 1e-12 || math.Abs(p.Lo-lo) > 1e-9 || math.Abs(p.Hi-hi) > 1e-9 {
		t.Errorf("%v [%v, %v], want %v [%v, %v]", p.Ratio, p.Lo, p.Hi, 1.0274645159281284, lo, hi)
	}
}

// TestPairedRatioTrimsTails: two preempted slices (blocks at 0.70 and
// 1.40) among ratios near 1.02 barely move the trimmed estimate, whose
// interval stays narrow; the plain mean of the log-ratios would be 1.0139
// with a standard deviation of 0.164. By hand (10 blocks, 2 trimmed from
// each end, lag-1 autocorrelation -0.667 so no widening, t(0.975, 5 df) =
// 2.5705818): 1.019984 [1.008552, 1.031545], p = 0.0063249.
func TestPairedRatioTrimsTails(t *testing.T) {
	base := []float64{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}
	x := []float64{102, 70, 103, 101, 102, 140, 101, 103, 102, 102}
	p := PairedRatio(base, x, 0.95)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"ratio", p.Ratio, 1.01998365947629},
		{"lo", p.Lo, 1.0085519728665142},
		{"hi", p.Hi, 1.0315449214200696},
		{"rho", p.Rho, -0.6666600985326852},
		{"p", p.P, 0.006324930610768664},
	} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %.12g, want %.12g", c.name, c.got, c.want)
		}
	}
	if p.N != 10 || p.Trimmed != 2 || p.NEff != 10 || p.DF != 5 {
		t.Errorf("N %d trimmed %d NEff %v DF %v, want 10, 2, 10, 5", p.N, p.Trimmed, p.NEff, p.DF)
	}
	if want := math.Log(p.Hi/p.Ratio) / 2.570581835636314; math.Abs(p.SE-want) > 1e-12 {
		t.Errorf("SE %v, want %v", p.SE, want)
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

// TestPairedRatioTrials by hand: 3 trials of 4 blocks (too few to trim),
// each giving the mean of its log-ratios; the interval is a t interval over
// those 3 values (t(0.975, 2 df) = 4.3026527), p from the t with 2 df.
func TestPairedRatioTrials(t *testing.T) {
	base := make([]float64, 12)
	for i := range base {
		base[i] = 100
	}
	x := []float64{102, 104, 101, 103, 101, 100, 102, 101, 103, 102, 104, 103}
	p := PairedRatioTrials(base, x, []int{4, 4, 4}, 0.95)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"ratio", p.Ratio, 1.0215945854189874},
		{"lo", p.Lo, 0.9960217852012161},
		{"hi", p.Hi, 1.0478239657645174},
		{"se", p.SE, 0.00589191741917582},
		{"df", p.DF, 2},
		{"p", p.P, 0.06834819837683836},
	} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %.12g, want %.12g", c.name, c.got, c.want)
		}
	}
	if p.N != 12 || p.Trials != 3 {
		t.Errorf("N %d trials %d, want 12 and 3", p.N, p.Trials)
	}
	// One trial: the blocks' own interval, as PairedRatio gives it.
	one := PairedRatioTrials(base[:4], x[:4], []int{4}, 0.95)
	if want := PairedRatio(base[:4], x[:4], 0.95); one != want {
		t.Errorf("one trial: %+v, want PairedRatio's %+v", one, want)
	}
	// A series cut short in its third trial (a case that failed) keeps
	// the trials it has.
	short := PairedRatioTrials(base, x[:9], []int{4, 4, 4}, 0.95)
	if short.Trials != 2 || short.N != 8 {
		t.Errorf("cut short: %d trials, %d blocks; want 2 and 8", short.Trials, short.N)
	}
}
