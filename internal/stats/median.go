package stats

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// Interval is a median with its confidence interval.
type Interval struct {
	Median float64
	Lo, Hi float64
	// Level is the exact coverage of [Lo, Hi]. It is below the requested
	// level when n is too small to reach it; [Lo, Hi] are then the extremes.
	Level    float64
	Min, Max float64
	N        int
}

// Reached reports whether the interval has the coverage that was asked for.
func (iv Interval) Reached(level float64) bool { return iv.N > 0 && iv.Level >= level }

// Median returns the sample median (the mean of the two middle values for
// even n, as R and NumPy do).
func Median(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := slices.Clone(x)
	slices.Sort(s)
	return sortedMedian(s)
}

func sortedMedian(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MedianCI returns the median of x and the narrowest symmetric order-statistic
// interval [x(k), x(n+1-k)] whose coverage is at least level. Coverage is
// P(x(k) <= true median <= x(n+1-k)) = 1 - 2*P(Binom(n, 1/2) <= k-1), exact
// for any continuous distribution.
func MedianCI(x []float64, level float64) Interval {
	n := len(x)
	if n == 0 {
		return Interval{Median: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	s := slices.Clone(x)
	slices.Sort(s)
	iv := Interval{Median: sortedMedian(s), Min: s[0], Max: s[n-1], N: n}
	b := distuv.Binomial{N: float64(n), P: 0.5}
	// k = 1 is the widest interval; widen k while coverage stays >= level.
	k := 1
	cov := coverage(b, 1)
	for k+1 <= (n+1)/2 {
		c := coverage(b, k+1)
		if c < level {
			break
		}
		k, cov = k+1, c
	}
	iv.Lo, iv.Hi, iv.Level = s[k-1], s[n-k], cov
	return iv
}

func coverage(b distuv.Binomial, k int) float64 {
	if k <= 1 {
		return 1 - 2*math.Pow(0.5, b.N)
	}
	return 1 - 2*b.CDF(float64(k-1))
}
