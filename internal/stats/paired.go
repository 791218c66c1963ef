package stats

import (
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// PairedMethod names the interval PairedRatio computes, for result files.
const PairedMethod = "t interval on block log-ratios, lag-1 autocorrelation adjusted"

// Paired is a paired ratio x/base over blocks: the geometric mean of the
// block ratios, its interval at Level, and the p-value of "no difference".
type Paired struct {
	Ratio, Lo, Hi, Level float64
	// N is the blocks used (pairs with both values positive and finite);
	// NEff the effective number after the autocorrelation adjustment.
	N    int
	NEff float64
	// Rho is the lag-1 autocorrelation of the log-ratios, as estimated;
	// only a positive one widens the interval.
	Rho float64
	// P is the two-sided p-value of a t test of "the mean log-ratio is
	// 0", with NEff-1 degrees of freedom.
	P float64
}

// HalfWidth is the interval's relative half-width, (Hi-Lo)/2/Ratio; 1 when
// there is no interval.
func (p Paired) HalfWidth() float64 {
	if !(p.Ratio > 0) || math.IsNaN(p.Lo) || math.IsNaN(p.Hi) {
		return 1
	}
	return (p.Hi - p.Lo) / 2 / p.Ratio
}

// PairedRatio compares x with base block by block: x[i] and base[i] were
// measured in the same block, a stretch of time short enough that the
// machine's speed drifts little within it. The ratio is exp(mean log
// x[i]/base[i]), and its interval a Student-t interval on that mean.
// Log-ratios of rates are close to symmetric, so the t interval fits
// them; consecutive blocks may still share a regime of the machine's
// drift, so the variance of the mean is widened by (1+rho)/(1-rho), the
// AR(1) factor, when the lag-1 autocorrelation rho is positive (capped at
// 0.9). Blocks where either value is not positive and finite are
// skipped. With fewer than 2 usable blocks the interval is NaN.
func PairedRatio(base, x []float64, level float64) Paired {
	if !(level > 0 && level < 1) {
		level = 0.95
	}
	var d []float64
	for i := range min(len(base), len(x)) {
		b, v := base[i], x[i]
		if b > 0 && v > 0 && !math.IsInf(b, 0) && !math.IsInf(v, 0) {
			d = append(d, math.Log(v/b))
		}
	}
	out := Paired{Level: level, N: len(d), Ratio: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), P: math.NaN()}
	if len(d) == 0 {
		return out
	}
	mean := stat.Mean(d, nil)
	out.Ratio = math.Exp(mean)
	if len(d) < 2 {
		return out
	}
	sd := stat.StdDev(d, nil)
	out.Rho = lag1(d, mean)
	rho := math.Min(math.Max(out.Rho, 0), 0.9)
	n := float64(len(d))
	out.NEff = n * (1 - rho) / (1 + rho)
	if out.NEff < 2 {
		out.NEff = 2
	}
	se := sd / math.Sqrt(out.NEff)
	if se == 0 {
		out.Lo, out.Hi = out.Ratio, out.Ratio
		out.P = 1
		if mean != 0 {
			out.P = 0
		}
		return out
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: out.NEff - 1}
	q := t.Quantile(1 - (1-level)/2)
	out.Lo, out.Hi = math.Exp(mean-q*se), math.Exp(mean+q*se)
	out.P = math.Min(1, 2*t.Survival(math.Abs(mean)/se))
	return out
}

// lag1 is the lag-1 autocorrelation of d around mean.
func lag1(d []float64, mean float64) float64 {
	var num, den float64
	for i, v := range d {
		den += (v - mean) * (v - mean)
		if i > 0 {
			num += (v - mean) * (d[i-1] - mean)
		}
	}
	if den == 0 {
		return 0
	}
	return num / den
}
