package compare

// Block samples: the absolute comparison of a case on its per-block values
// (result.PairedCase). The blocks of one run are a time series: the
// machine's speed drifts in regimes that last many blocks, so neighbouring
// blocks are alike, and a test that takes them for independent draws
// (Mann-Whitney, an i.i.d. bootstrap) would be sure of far too much. Each
// side's blocks are cut into a few contiguous batches instead (batch
// means, with a fixed number of batches): a batch spans many regimes, so
// batches are close to independent, and a t with their few degrees of
// freedom pays for how little they say about the variance. Why batches
// and not a moving-block bootstrap is in docs/statistics.md.

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/vethbench/vethbench/internal/stats"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Batches is how many contiguous batches each side's blocks are cut into.
const Batches = 5

// MinBlocks is the fewest blocks a side needs for a case to be compared on
// its blocks rather than its trials: two per batch.
const MinBlocks = 2 * Batches

// blockStream is the second PCG word of the summary's bootstrap when some
// case was compared on blocks; the first is the comparison's seed.
const blockStream = 0x626c6f636b73 // "blocks"

// flatten concatenates segments (a case's series in each question that
// measured it, in the file's order).
func flatten(segs [][]float64) []float64 {
	var out []float64
	for _, s := range segs {
		out = append(out, s...)
	}
	return out
}

// batchValues cuts v into k contiguous batches of sizes differing by at
// most one and returns the median of each batch's log values. Values must
// be positive and len(v) >= k.
func batchValues(v []float64, k int) []float64 {
	out := make([]float64, k)
	n := len(v)
	for i := range k {
		b := make([]float64, 0, n/k+1)
		for _, x := range v[i*n/k : (i+1)*n/k] {
			b = append(b, math.Log(x))
		}
		slices.Sort(b)
		out[i] = (b[(len(b)-1)/2] + b[len(b)/2]) / 2
	}
	return out
}

// batchRatio is the absolute comparison of one case on block samples.
type batchRatio struct {
	// Ratio is exp(mean NEW batch value - mean BASE batch value): the
	// ratio of the geometric means of the batches' median blocks.
	Ratio, Lo, Hi, Level float64
	// D and SE are the log ratio and its standard error, DF the
	// Welch-Satterthwaite degrees of freedom (Inf when SE is 0).
	D, SE, DF float64
	// P is the two-sided p-value of Welch's t test of "the log ratio is 0".
	P float64
}

// compareBatches compares the block samples of a case, base and nw, each
// at least Batches positive values: Welch's t on the two sides' batch
// values (batchValues), an interval at level and a p-value.
func compareBatches(base, nw []float64, level float64) batchRatio {
	xb, xn := batchValues(base, Batches), batchValues(nw, Batches)
	mb, vb := stat.MeanVariance(xb, nil)
	mn, vn := stat.MeanVariance(xn, nil)
	k := float64(Batches)
	sb, sn := vb/k, vn/k
	out := batchRatio{Level: level, D: mn - mb, SE: math.Sqrt(sb + sn), DF: math.Inf(1)}
	out.Ratio = math.Exp(out.D)
	if out.SE == 0 {
		out.Lo, out.Hi, out.P = out.Ratio, out.Ratio, 1
		if out.D != 0 {
			out.P = 0
		}
		return out
	}
	out.DF = (sb + sn) * (sb + sn) / (sb*sb/(k-1) + sn*sn/(k-1))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: out.DF}
	q := t.Quantile(1 - (1-level)/2)
	out.Lo, out.Hi = math.Exp(out.D-q*out.SE), math.Exp(out.D+q*out.SE)
	out.P = math.Min(1, 2*t.Survival(math.Abs(out.D)/out.SE))
	return out
}

// geoCase is one case of the summary's geometric mean when some case was
// compared on blocks: either per-trial values (base, new) or a block
// comparison's log ratio with its t (batch).
type geoCase struct {
	base, new []float64
	batch     *batchRatio
}

// blockGeomean is the summary's geometric mean of the ratios when some
// cases were compared on blocks: a percentile bootstrap whose every
// resample takes each trial case's ratio of medians from an ordinary
// resample of its trials (as stats.GeomeanRatio does) and each block
// case's log ratio from its own t distribution (D + SE t_DF), so that a
// block case brings its honest, batch-based uncertainty rather than that
// of its blocks taken for independent.
func blockGeomean(cases []geoCase, level float64, resamples int, seed uint64) (ratio, lo, hi float64) {
	rng := rand.New(rand.NewPCG(seed, blockStream))
	point := make([]float64, len(cases))
	type draw func() float64
	draws := make([]draw, len(cases))
	for i, c := range cases {
		if b := c.batch; b != nil {
			point[i] = b.Ratio
			t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: b.DF, Src: rng}
			draws[i] = func() float64 {
				if b.SE == 0 {
					return b.Ratio
				}
				return math.Exp(b.D + b.SE*t.Rand())
			}
			continue
		}
		rb, rn := stats.NewMedianResampler(c.base), stats.NewMedianResampler(c.new)
		point[i] = rn.Median() / rb.Median()
		draws[i] = func() float64 {
			x := rb.Draw(rng)
			return rn.Draw(rng) / x
		}
	}
	ratio = stat.GeometricMean(point, nil)
	g := make([]float64, resamples)
	r := make([]float64, len(cases))
	for i := range g {
		for c := range draws {
			r[c] = draws[c]()
		}
		g[i] = stat.GeometricMean(r, nil)
	}
	lo, hi = stats.Percentiles(g, level)
	return ratio, lo, hi
}

// memory is the blocks' correlation time, (1+rho)/(1-rho) for the lag-1
// autocorrelation rho of their log values (negative rho counts as 0, and
// rho is capped at 0.98): how many blocks one independent value is worth,
// were the drift an AR(1) process.
func memory(v []float64) float64 {
	if len(v) < 3 {
		return 1
	}
	l := make([]float64, len(v))
	for i, x := range v {
		l[i] = math.Log(x)
	}
	rho := min(max(stats.Lag1(l), 0), 0.98)
	return (1 + rho) / (1 - rho)
}
