package stats

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Outliers returns, in ascending order, the indices of the values of x that
// lie outside Tukey's fences [Q1 - 1.5 IQR, Q3 + 1.5 IQR], where Q1 and Q3
// are the quartiles by linear interpolation between order statistics (R's
// default quantile type 7, NumPy's default "linear"; gonum's stat.Quantile
// offers only the Empirical and LinInterp definitions, which differ). It flags;
// it never drops: callers report the trials and keep them in every
// estimate. NaN values are ignored (neither used nor flagged). It returns nil
// when nothing is flagged.
func Outliers(x []float64) []int {
	s := make([]float64, 0, len(x))
	for _, v := range x {
		if !math.IsNaN(v) {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	q1, q3 := quantile7(s, 0.25), quantile7(s, 0.75)
	lo, hi := q1-1.5*(q3-q1), q3+1.5*(q3-q1)
	var out []int
	for i, v := range x {
		if v < lo || v > hi {
			out = append(out, i)
		}
	}
	return out
}

// quantile7 is R's type-7 quantile of sorted, non-empty s: the value at
// 0-based position h = (n-1)p, interpolated linearly.
func quantile7(s []float64, p float64) float64 {
	h := float64(len(s)-1) * p
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

// CV is the coefficient of variation of x, the sample standard deviation
// (n-1 denominator, gonum stat.MeanStdDev) over the mean, for noise
// reports. It is NaN for fewer than two values.
func CV(x []float64) float64 {
	if len(x) < 2 {
		return math.NaN()
	}
	mean, sd := stat.MeanStdDev(x, nil)
	return sd / mean
}
