package stats

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// DefaultResamples is the bootstrap size of docs/statistics.md, used when a caller
// passes resamples <= 0.
const DefaultResamples = 10000

// pcgStream is the second PCG word; the first is the caller's seed.
const pcgStream = 0x76657468_62656e63 // "vethbenc"

// RatioCI is a ratio (new over base) with a percentile-bootstrap confidence
// interval. Resamples and Seed are what produced [Lo, Hi]: rerunning with
// them gives the same interval bit for bit.
type RatioCI struct {
	Ratio, Lo, Hi, Level float64
	Resamples            int
	Seed                 uint64
}

// newRand is the bootstrap's generator: math/rand/v2's PCG seeded with
// (seed, pcgStream).
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, pcgStream)) }

func bootParams(level float64, resamples int) (float64, int) {
	if !(level > 0 && level < 1) {
		level = 0.95
	}
	if resamples <= 0 {
		resamples = DefaultResamples
	}
	return level, resamples
}

// medianResampler draws the median of a bootstrap resample (n draws with
// replacement) of a sample without sorting: it counts how often each order
// statistic of the sorted sample is drawn and walks the counts to the middle.
type medianResampler struct {
	s      []float64 // sorted sample
	counts []int
}

func newMedianResampler(x []float64) *medianResampler {
	s := slices.Clone(x)
	slices.Sort(s)
	return &medianResampler{s: s, counts: make([]int, len(s))}
}

func (r *medianResampler) draw(rng *rand.Rand) float64 {
	n := len(r.s)
	clear(r.counts)
	// Two indices per 64-bit draw, each by Lemire's multiply-shift on 32
	// bits without rejection: the bias is below n/2^32 (1e-8 for n = 40),
	// far under the bootstrap's own Monte Carlo error, and it halves the
	// generator calls.
	un := uint64(n)
	for i := 0; i < n; i += 2 {
		v := rng.Uint64()
		r.counts[(v&0xffffffff)*un>>32]++
		if i+1 < n {
			r.counts[(v>>32)*un>>32]++
		}
	}
	lo, hi := (n-1)/2, n/2 // 0-based middle positions of the resample
	var vlo float64
	cum, found := 0, false
	for i, c := range r.counts {
		cum += c
		if !found && cum > lo {
			vlo, found = r.s[i], true
		}
		if cum > hi {
			return (vlo + r.s[i]) / 2
		}
	}
	panic("stats: unreachable")
}

// percentiles returns the (1-level)/2 and (1+level)/2 empirical quantiles
// (gonum stat.Empirical: the smallest value whose ECDF reaches p) of v,
// which it sorts in place.
func percentiles(v []float64, level float64) (lo, hi float64) {
	slices.Sort(v)
	if slices.ContainsFunc(v, math.IsNaN) {
		return math.NaN(), math.NaN()
	}
	return stat.Quantile((1-level)/2, stat.Empirical, v, nil),
		stat.Quantile((1+level)/2, stat.Empirical, v, nil)
}

// Percentiles returns the (1-level)/2 and (1+level)/2 empirical quantiles
// of v, as the bootstrap intervals here take them, sorting v in place;
// NaN when v holds a NaN.
func Percentiles(v []float64, level float64) (lo, hi float64) { return percentiles(v, level) }

// MedianResampler draws the medians of ordinary bootstrap resamples of a
// sample (as RatioOfMedians and GeomeanRatio do), for bootstraps built
// elsewhere.
type MedianResampler struct{ r *medianResampler }

// NewMedianResampler resamples x, which it copies.
func NewMedianResampler(x []float64) MedianResampler {
	return MedianResampler{newMedianResampler(x)}
}

// Draw returns the median of one resample.
func (m MedianResampler) Draw(rng *rand.Rand) float64 { return m.r.draw(rng) }

// Median is the sample's own median.
func (m MedianResampler) Median() float64 { return sortedMedian(m.r.s) }

// RatioOfMedians returns median(new)/median(base) with a percentile
// bootstrap confidence interval at the given level: each resample draws
// len(base) values from base and len(new) from new, independently, with
// replacement, and takes the ratio of their medians. The result is
// deterministic for a seed (math/rand/v2 PCG). level outside (0, 1) means
// 0.95 and resamples <= 0 means DefaultResamples; the values used are
// recorded in the result. Values should be positive (rates, times). With an
// empty side, Ratio, Lo and Hi are NaN.
func RatioOfMedians(base, new []float64, level float64, resamples int, seed uint64) RatioCI {
	level, resamples = bootParams(level, resamples)
	ci := RatioCI{Level: level, Resamples: resamples, Seed: seed}
	if len(base) == 0 || len(new) == 0 {
		ci.Ratio, ci.Lo, ci.Hi = math.NaN(), math.NaN(), math.NaN()
		return ci
	}
	ci.Ratio = Median(new) / Median(base)
	rb, rn := newMedianResampler(base), newMedianResampler(new)
	rng := newRand(seed)
	ratios := make([]float64, resamples)
	for i := range ratios {
		b := rb.draw(rng)
		ratios[i] = rn.draw(rng) / b
	}
	ci.Lo, ci.Hi = percentiles(ratios, level)
	return ci
}

// GeomeanRatio summarises several cases at once: the geometric mean (gonum
// stat.GeometricMean) over cases of median(new)/median(base), where
// pairs[i] = {base, new} of case i. Its percentile bootstrap interval
// resamples within each case (both sides, independently), never across
// cases, since the cases are fixed, not drawn. Deterministic for a seed;
// level and resamples default as in RatioOfMedians. With no cases, or an
// empty side in any case, Ratio, Lo and Hi are NaN.
func GeomeanRatio(pairs [][2][]float64, level float64, resamples int, seed uint64) RatioCI {
	level, resamples = bootParams(level, resamples)
	ci := RatioCI{Level: level, Resamples: resamples, Seed: seed}
	nan := func() RatioCI {
		ci.Ratio, ci.Lo, ci.Hi = math.NaN(), math.NaN(), math.NaN()
		return ci
	}
	if len(pairs) == 0 {
		return nan()
	}
	point := make([]float64, len(pairs))
	rs := make([][2]*medianResampler, len(pairs))
	for i, p := range pairs {
		if len(p[0]) == 0 || len(p[1]) == 0 {
			return nan()
		}
		point[i] = Median(p[1]) / Median(p[0])
		rs[i] = [2]*medianResampler{newMedianResampler(p[0]), newMedianResampler(p[1])}
	}
	ci.Ratio = stat.GeometricMean(point, nil)
	rng := newRand(seed)
	g := make([]float64, resamples)
	r := make([]float64, len(pairs))
	for i := range g {
		for c := range rs {
			b := rs[c][0].draw(rng)
			r[c] = rs[c][1].draw(rng) / b
		}
		g[i] = stat.GeometricMean(r, nil)
	}
	ci.Lo, ci.Hi = percentiles(g, level)
	return ci
}
