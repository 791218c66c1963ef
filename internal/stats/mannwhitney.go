package stats

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// ExactMax is the largest sample size, per side, for which MannWhitneyU uses
// the exact null distribution of U (when there are no ties). Both sides must
// be at most ExactMax; beyond it the normal approximation is used, as R's
// wilcox.test does (it switches at 50).
const ExactMax = 50

// MannWhitney is a two-sided Mann-Whitney U test of per-trial values.
type MannWhitney struct {
	// U is the statistic of x: the number of pairs (x_i, y_j) with
	// x_i > y_j, ties counting one half. It equals SciPy's U1 and R's W.
	U float64
	// P is the two-sided p-value.
	P float64
	// Exact reports whether P comes from the exact distribution of U (no
	// ties, both sides <= ExactMax) rather than the normal approximation.
	Exact bool
}

// MannWhitneyU is a two-sided Mann-Whitney U (Wilcoxon rank-sum) test of x
// against y. Without ties and with both samples of at most ExactMax values it
// uses the exact null distribution of U (counted by dynamic programming);
// otherwise the normal approximation with the tie correction of the variance
// and a continuity correction of 1/2, the defaults of SciPy's
// mannwhitneyu(method="asymptotic") and R's wilcox.test(exact=FALSE).
// If either sample is empty or holds a NaN, U and P are NaN. If every value
// is the same (the variance of U is zero) P is 1.
func MannWhitneyU(x, y []float64) MannWhitney {
	n, m := len(x), len(y)
	if n == 0 || m == 0 || slices.ContainsFunc(x, math.IsNaN) || slices.ContainsFunc(y, math.IsNaN) {
		return MannWhitney{U: math.NaN(), P: math.NaN()}
	}
	u, tieSum := rankSumU(x, y)
	if tieSum == 0 && n <= ExactMax && m <= ExactMax {
		return MannWhitney{U: u, P: exactP(n, m, u), Exact: true}
	}
	return MannWhitney{U: u, P: normalP(n, m, u, tieSum)}
}

// rankSumU ranks x and y together (midranks for ties) and returns the U of
// x, R1 - n(n+1)/2, and the tie term sum(t^3 - t) over groups of t equal
// values.
func rankSumU(x, y []float64) (u, tieSum float64) {
	n := len(x)
	type obs struct {
		v   float64
		ofX bool
	}
	all := make([]obs, 0, n+len(y))
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	slices.SortFunc(all, func(a, b obs) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	var r1 float64
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		// Positions i..j-1 (ranks i+1..j) share the midrank.
		mid := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			if all[k].ofX {
				r1 += mid
			}
		}
		if t := float64(j - i); t > 1 {
			tieSum += t*t*t - t
		}
		i = j
	}
	return r1 - float64(n)*float64(n+1)/2, tieSum
}

// uCounts returns, for u = 0..n*m, the number of the C(n+m, n) orderings of n
// x's and m y's in which x's U (the number of (x, y) pairs with the y first)
// is u. It walks the combined sequence one place at a time: c[a][u] counts
// the prefixes holding a x's with statistic u; an x placed after b y's adds
// b to u. All additions are of non-negative numbers, so the float64 counts
// (up to C(100, 50) ~ 1e29) carry only rounding error, no cancellation.
func uCounts(n, m int) []float64 {
	nm := n * m
	c := make([][]float64, n+1)
	for a := range c {
		c[a] = make([]float64, nm+1)
	}
	c[0][0] = 1
	for k := 0; k < n+m; k++ { // k items placed so far
		// Descending a: c[a+1] takes the old c[a] before c[a] itself changes.
		for a := min(k, n-1); a >= 0; a-- {
			b := k - a // y's before the x placed now
			if b > m {
				continue // prefix already holds too many y's: dead path
			}
			src, dst := c[a], c[a+1]
			for u := a * b; u >= 0; u-- {
				if src[u] != 0 {
					dst[u+b] += src[u]
				}
			}
		}
		// Placing a y leaves (a, u) unchanged: nothing to do.
	}
	return c[n]
}

// exactP is the two-sided exact p-value of an integer U with sizes n, m:
// 2 * min(P(U' <= u), P(U' >= u)), capped at 1 (R's and SciPy's rule).
func exactP(n, m int, u float64) float64 {
	cnt := uCounts(n, m)
	k := int(u)
	var lo, hi, total float64
	for i, c := range cnt {
		total += c
		if i <= k {
			lo += c
		}
		if i >= k {
			hi += c
		}
	}
	return math.Min(1, 2*math.Min(lo, hi)/total)
}

// normalP is the two-sided p-value of U from the normal approximation, with
// the variance corrected for ties and a continuity correction of 1/2 towards
// the mean.
func normalP(n, m int, u, tieSum float64) float64 {
	fn, fm := float64(n), float64(m)
	nn := fn + fm
	mu := fn * fm / 2
	v := fn * fm / 12 * ((nn + 1) - tieSum/(nn*(nn-1)))
	if !(v > 0) {
		return 1 // all values equal: no evidence of any difference
	}
	d := math.Max(0, math.Abs(u-mu)-0.5)
	z := d / math.Sqrt(v)
	return math.Min(1, 2*distuv.UnitNormal.Survival(z))
}

// MinP is the smallest two-sided Mann-Whitney p-value that samples of n and m
// values can give, 2/C(n+m, n) (complete separation), capped at 1. If it is
// at least alpha, no data of that size can show a difference at level alpha.
// The binomial coefficient is built by exact integer steps in float64 (exact
// up to 2^53), not gonum's log-gamma GeneralizedBinomial, so that boundary
// cases such as MinP(3, 3) == 0.1 compare exactly.
func MinP(n, m int) float64 {
	if n < 0 || m < 0 {
		return math.NaN()
	}
	k := min(n, m)
	c := 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n+m-k+i) / float64(i)
	}
	return math.Min(1, 2/c)
}
