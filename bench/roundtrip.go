package bench

import (
	"math"
	"slices"

	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/reports/result"
)

// rr's round trips are percentiles over every request of the window, the
// answered ones (in the histogram) and the lost ones (never answered
// within the drain), a lost request counting as slower than every answer.
// A percentile of rank k = ceil(q*(answered+lost)) is then the k-th
// smallest recorded round trip when k <= answered: the recorded values'
// q'-quantile with q' = k/answered, which lost requests raise but do not
// blur. When k > answered it falls on a lost request: it is at least the
// largest recorded round trip, and no more is known; the figure is then
// the lower bound of that round trip's bucket, marked as a lower bound.

// percentiles are the latency percentiles a result holds, with their
// names in result.Latency.LowerBounds.
var percentiles = []struct {
	name string
	q    float64
	of   func(*result.Latency) *float64
}{
	{result.PctP50, 0.50, func(l *result.Latency) *float64 { return &l.P50 }},
	{result.PctP90, 0.90, func(l *result.Latency) *float64 { return &l.P90 }},
	{result.PctP99, 0.99, func(l *result.Latency) *float64 { return &l.P99 }},
	{result.PctP999, 0.999, func(l *result.Latency) *float64 { return &l.P999 }},
}

// roundTripLatency is rr's latency over a window: the histogram of the
// answered requests' round trips and lost, the requests never answered.
func roundTripLatency(h histogram.Histogram, lost uint64) result.Latency {
	l := latencyOf(h, "round-trip", 0)
	if lost == 0 {
		return l
	}
	l.Lost = lost
	for _, p := range percentiles {
		v, bound := quantileWithLost(h, lost, p.q)
		*p.of(&l) = v
		if bound {
			l.LowerBounds = append(l.LowerBounds, p.name)
		}
	}
	return l
}

// quantileWithLost is the q-quantile of the values in h and lost more
// values known only to be larger than every one of them: the recorded
// value of rank ceil(q*(n+lost)) (n the values in h), the midpoint of its
// bucket as histogram.Quantile gives it; or, when that rank is above n,
// the lower bound of the largest recorded value's bucket (0 when nothing
// was recorded), and lowerBound true.
func quantileWithLost(h histogram.Histogram, lost uint64, q float64) (v float64, lowerBound bool) {
	n := h.Total()
	total := n + lost
	if total == 0 {
		return 0, false
	}
	k := min(max(uint64(math.Ceil(q*float64(total))), 1), total)
	if k > n {
		if n == 0 {
			return 0, true
		}
		_, lo, _, _ := h.Quantile(1)
		return float64(lo), true
	}
	// Quantile takes the value of rank ceil(q'*n); q' = (k-1/2)/n gives
	// rank k exactly, where k/n could round to a rank off by one.
	est, _, _, _ := h.Quantile((float64(k) - 0.5) / float64(n))
	return float64(est), false
}

// summarizeRoundTrips adds up the trials' lost and late requests and marks
// the latency medians that are lower bounds.
func summarizeRoundTrips(s *result.Summary, trials []result.Trial) {
	for _, t := range trials {
		s.Lost += t.Lost
		s.Late += t.Late
	}
	for _, p := range percentiles {
		vals := make([]float64, len(trials))
		bound := make([]bool, len(trials))
		for i := range trials {
			vals[i] = *p.of(&trials[i].Latency)
			bound[i] = trials[i].Latency.IsLowerBound(p.name)
		}
		if medianIsLowerBound(vals, bound) {
			s.LatencyLowerBounds = append(s.LatencyLowerBounds, p.name)
		}
	}
}

// medianIsLowerBound reports whether the median of vals could be higher
// were the values marked bound (lower bounds) known: whether one of them
// is at or below the upper of the middle order statistics. A lower bound
// above it can only rise further above, which leaves the median alone.
func medianIsLowerBound(vals []float64, bound []bool) bool {
	if len(vals) == 0 || !slices.Contains(bound, true) {
		return false
	}
	sorted := slices.Clone(vals)
	slices.Sort(sorted)
	upper := sorted[len(sorted)/2]
	for i, v := range vals {
		if bound[i] && v <= upper {
			return true
		}
	}
	return false
}
