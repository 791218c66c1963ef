package stats

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// PairedMethod names the interval PairedRatio computes, for result files.
const PairedMethod = "20% trimmed-mean t interval on block log-ratios (Yuen), lag-1 autocorrelation adjusted"

// PairedTrialsMethod names the interval PairedRatioTrials computes over
// two or more trials.
const PairedTrialsMethod = "t interval over trials (fresh topologies each) of their blocks' 20% trimmed-mean log-ratios"

// PairedTrim is the share of blocks PairedRatio trims from each end.
const PairedTrim = 0.2

// Paired is a paired ratio x/base over blocks: the trimmed geometric mean
// of the block ratios, its interval at Level, and the p-value of "no
// difference".
type Paired struct {
	Ratio, Lo, Hi, Level float64
	// N is the blocks used (pairs with both values positive and finite),
	// Trimmed how many of them were trimmed from each end; NEff the
	// effective number of blocks after the autocorrelation adjustment.
	N, Trimmed int
	NEff       float64
	// Trials is, for PairedRatioTrials, the trials whose values the
	// interval is over; 0 when it is over blocks.
	Trials int
	// Rho is the lag-1 autocorrelation of the winsorized log-ratios, as
	// estimated; only a positive one widens the interval.
	Rho float64
	// SE is the standard error of the trimmed mean log-ratio and DF the
	// degrees of freedom of its t (what the interval and P are made of,
	// for combining two runs' ratios).
	SE, DF float64
	// P is the two-sided p-value of a t test of "the trimmed mean
	// log-ratio is 0".
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
// machine's speed drifts little within it. It works on the log-ratios
// d[i] = ln(x[i]/base[i]), which are close to symmetric.
//
// A slice that another process preempted gives its block a wild ratio: on
// a loaded 2-vCPU VM about a tenth of the blocks were beyond ±19% while
// most were within a few percent. The mean and its t interval are at the
// mercy of those tails, so the estimate is the 20% trimmed mean of d
// (exp of it is the ratio) with Yuen's interval: the standard error from
// the winsorized variance, sqrt((n-1) s_w^2 / (h (h-1))), h = n - 2g blocks
// kept, g = floor(0.2 n) trimmed from each end, and h-1 degrees of freedom.
// Consecutive blocks may still share a regime of the machine's drift, so
// the variance is widened by (1+rho)/(1-rho), the AR(1) factor, when the
// lag-1 autocorrelation rho of the winsorized series (in block order) is
// positive (capped at 0.9), and the degrees of freedom shrink by the same
// factor. Blocks where either value is not positive and finite are
// skipped. With fewer than 2 blocks kept the interval is NaN.
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
	n := len(d)
	g := int(math.Floor(PairedTrim * float64(n)))
	h := n - 2*g
	out := Paired{Level: level, N: n, Trimmed: g, Ratio: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), P: math.NaN()}
	if n == 0 {
		return out
	}
	sorted := slices.Sorted(slices.Values(d))
	mean := stat.Mean(sorted[g:n-g], nil)
	out.Ratio = math.Exp(mean)
	if h < 2 {
		return out
	}
	lo, hi := sorted[g], sorted[n-g-1]
	w := make([]float64, n)
	for i, v := range d {
		w[i] = math.Min(math.Max(v, lo), hi)
	}
	wmean, sw2 := stat.MeanVariance(w, nil)
	out.Rho = lag1(w, wmean)
	rho := math.Min(math.Max(out.Rho, 0), 0.9)
	f := (1 - rho) / (1 + rho)
	out.NEff = float64(n) * f
	df := math.Max(float64(h)*f-1, 1)
	se := math.Sqrt(float64(n-1) * sw2 / float64(h*(h-1)) / f)
	out.SE, out.DF = se, df
	if se == 0 {
		out.Lo, out.Hi = out.Ratio, out.Ratio
		out.P = 1
		if mean != 0 {
			out.P = 0
		}
		return out
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	q := t.Quantile(1 - (1-level)/2)
	out.Lo, out.Hi = math.Exp(mean-q*se), math.Exp(mean+q*se)
	out.P = math.Min(1, 2*t.Survival(math.Abs(mean)/se))
	return out
}

// Lag1 is the lag-1 autocorrelation of d (in its order) around its mean; 0
// for fewer than 2 values or no variance.
func Lag1(d []float64) float64 {
	if len(d) < 2 {
		return 0
	}
	return lag1(d, stat.Mean(d, nil))
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

// PairedRatioTrials is PairedRatio for blocks grouped in trials, each trial
// measured in topologies of its own: trials[k] is the number of blocks of
// trial k, in order, the series being the trials' blocks one after the
// other. Two identically configured paths differ a little for as long as
// they exist (memory placement, hashing: 0.1-0.4% between two copies of one
// veth case here), which no number of blocks of the same instances can
// average out. So each trial gives one value, the trimmed mean of its
// blocks' log-ratios (as in PairedRatio), and the ratio is exp of their
// mean, with a Student-t interval over the trials (T-1 degrees of freedom):
// the instances' differences are in its spread. Trials with fewer than 2
// usable blocks are left out; with fewer than 2 trials left, it is
// PairedRatio over all blocks (an interval of those instances only).
func PairedRatioTrials(base, x []float64, trials []int, level float64) Paired {
	if !(level > 0 && level < 1) {
		level = 0.95
	}
	var means []float64
	blocks, at := 0, 0
	for _, k := range trials {
		lo, hi := min(at, len(base), len(x)), min(at+k, len(base), len(x))
		at += k
		p := PairedRatio(base[lo:hi], x[lo:hi], level)
		if p.N < 2 {
			continue
		}
		means = append(means, math.Log(p.Ratio))
		blocks += p.N
	}
	if len(means) < 2 {
		return PairedRatio(base, x, level)
	}
	out := Paired{Level: level, N: blocks, Trials: len(means)}
	mean, sd := stat.MeanStdDev(means, nil)
	out.Ratio = math.Exp(mean)
	out.SE, out.DF = sd/math.Sqrt(float64(len(means))), float64(len(means)-1)
	out.NEff = float64(len(means))
	if out.SE == 0 {
		out.Lo, out.Hi, out.P = out.Ratio, out.Ratio, 1
		if mean != 0 {
			out.P = 0
		}
		return out
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: out.DF}
	q := t.Quantile(1 - (1-level)/2)
	out.Lo, out.Hi = math.Exp(mean-q*out.SE), math.Exp(mean+q*out.SE)
	out.P = math.Min(1, 2*t.Survival(math.Abs(mean)/out.SE))
	return out
}
