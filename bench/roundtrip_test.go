package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/reports/result"
)

// rtts returns a round-trip histogram of the given values in ns.
func rtts(vals ...uint64) histogram.Histogram {
	h := histogram.New(histogram.RoundTrip)
	for _, v := range vals {
		h.Record(v)
	}
	return h
}

// inBucketOf reports whether est is in the bucket of want.
func inBucketOf(h histogram.Histogram, est float64, want uint64) bool {
	lo, hi := h.Scale.BucketBounds(h.Scale.BucketOf(want))
	return est >= float64(lo) && est <= float64(hi)
}

// Known answers: 97 answered requests of 1..97 us and 3 lost. A percentile
// is the value of rank ceil(q*100) among all 100 requests, the lost ones
// the slowest: p50 is 50 us (not the answered ones' median, 49 us), p90
// 90 us; p99 and p99.9 fall on lost requests and are lower bounds, the
// largest recorded round trip's bucket's lower bound.
func TestRoundTripLatencyWithLost(t *testing.T) {
	var vals []uint64
	for i := range uint64(97) {
		vals = append(vals, (i+1)*1000)
	}
	h := rtts(vals...)
	l := roundTripLatency(h, 3)
	if l.Kind != "round-trip" || l.Count != 97 || l.Lost != 3 || l.SubBits != histogram.RoundTrip.SubBits {
		t.Fatalf("latency %+v", l)
	}
	if !inBucketOf(h, l.P50, 50_000) || !inBucketOf(h, l.P90, 90_000) {
		t.Errorf("p50 %.0f ns, p90 %.0f ns: want the values of rank 50 and 90 of 100, 50 and 90 us", l.P50, l.P90)
	}
	maxLo, _ := h.Scale.BucketBounds(h.Scale.BucketOf(97_000))
	if l.P99 != float64(maxLo) || l.P999 != float64(maxLo) {
		t.Errorf("p99 %.0f, p99.9 %.0f: want the lower bound %d of the largest round trip's bucket", l.P99, l.P999, maxLo)
	}
	if !slices.Equal(l.LowerBounds, []string{result.PctP99, result.PctP999}) {
		t.Errorf("lower bounds %v, want p99 and p99.9", l.LowerBounds)
	}
	if l.IsLowerBound(result.PctP50) || !l.IsLowerBound(result.PctP99) {
		t.Error("IsLowerBound disagrees with LowerBounds")
	}

	// Without lost requests: the histogram's own percentiles.
	l0, want := roundTripLatency(h, 0), latencyOf(h, "round-trip", 0)
	if !inBucketOf(h, l0.P50, 49_000) || l0.Lost != 0 || l0.LowerBounds != nil ||
		l0.P50 != want.P50 || l0.P90 != want.P90 || l0.P99 != want.P99 || l0.P999 != want.P999 {
		t.Errorf("no loss: %+v, want %+v", l0, want)
	}
}

// The rule's edge: a lost share of exactly 1-q leaves the q-quantile on
// the largest answered request, known; one more lost request makes it a
// lower bound. With nothing answered every percentile is a lower bound.
func TestRoundTripLatencyEdges(t *testing.T) {
	var vals []uint64
	for i := range uint64(99) {
		vals = append(vals, 10_000+uint64(i)*100)
	}
	h := rtts(vals...)
	l := roundTripLatency(h, 1) // 1 of 100 lost: 1% = 1 - 0.99
	if l.IsLowerBound(result.PctP99) || !inBucketOf(h, l.P99, vals[98]) {
		t.Errorf("1%% lost: p99 %.0f (lower bounds %v), want the largest answer %d, known", l.P99, l.LowerBounds, vals[98])
	}
	if !l.IsLowerBound(result.PctP999) || l.IsLowerBound(result.PctP90) {
		t.Errorf("1%% lost: lower bounds %v, want p99.9 only", l.LowerBounds)
	}
	l = roundTripLatency(rtts(vals[:98]...), 2) // 2 of 100
	if !l.IsLowerBound(result.PctP99) {
		t.Errorf("2%% lost: p99 %.0f not a lower bound", l.P99)
	}
	l = roundTripLatency(rtts(), 5)
	if len(l.LowerBounds) != 4 || l.P50 != 0 || l.Count != 0 || l.Lost != 5 {
		t.Errorf("nothing answered: %+v", l)
	}
}

// Against the exact answer: for random round trips and losses, each
// percentile lies in the bucket of the sorted requests' value of rank
// ceil(q*total), lost requests sorted last, or is the lower bound of the
// largest answer's bucket exactly when that rank is a lost request.
func TestRoundTripLatencyMatchesSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		n := 1 + r.IntN(3000)
		vals := make([]uint64, n)
		for i := range vals {
			vals[i] = uint64(math.Exp(r.Float64()*12)) + 5_000 // 5 us .. 160 ms
		}
		lost := uint64(r.IntN(n/10*(1+r.IntN(2)) + 1))
		h := rtts(vals...)
		l := roundTripLatency(h, lost)
		slices.Sort(vals)
		total := uint64(n) + lost
		for _, p := range percentiles {
			k := min(max(uint64(math.Ceil(p.q*float64(total))), 1), total)
			got := *p.of(&l)
			if k > uint64(n) {
				lo, _ := h.Scale.BucketBounds(h.Scale.BucketOf(vals[n-1]))
				if !l.IsLowerBound(p.name) || got != float64(lo) || got > float64(vals[n-1]) {
					t.Fatalf("n %d, lost %d, %s: %.0f (bounds %v), want the lower bound %d", n, lost, p.name, got, l.LowerBounds, lo)
				}
				continue
			}
			if l.IsLowerBound(p.name) || !inBucketOf(h, got, vals[k-1]) {
				t.Fatalf("n %d, lost %d, %s: %.0f (bounds %v), want %d, rank %d", n, lost, p.name, got, l.LowerBounds, vals[k-1], k)
			}
		}
	}
}

// A median over trials is a lower bound when a trial's lower bound is at
// or below its upper middle value: raising that trial could raise it.
func TestMedianIsLowerBound(t *testing.T) {
	for _, c := range []struct {
		vals  []float64
		bound []bool
		want  bool
	}{
		{[]float64{1, 2, 3}, []bool{false, false, false}, false},
		{[]float64{1, 2, 3}, []bool{false, false, true}, false},
		{[]float64{1, 2, 3}, []bool{false, true, false}, true},
		{[]float64{1, 2, 3}, []bool{true, false, false}, true},
		{[]float64{3, 1, 2}, []bool{true, false, false}, false},
		{[]float64{1, 2, 3, 4}, []bool{false, false, false, true}, false},
		{[]float64{1, 2, 3, 4}, []bool{false, false, true, false}, true},
		{[]float64{5}, []bool{true}, true},
		{nil, nil, false},
	} {
		if got := medianIsLowerBound(c.vals, c.bound); got != c.want {
			t.Errorf("%v bound %v: %v, want %v", c.vals, c.bound, got, c.want)
		}
	}
}

// The runner's arithmetic: an rr window's lost requests make its
// percentiles those of every request, and the summary adds the trials'
// lost and late requests and marks the medians a lower bound can raise.
func TestFiguresRoundTripLost(t *testing.T) {
	window := func(lost uint64, slow int) windowCounts {
		var vals []uint64
		for i := range 200 - slow {
			vals = append(vals, 20_000+uint64(i))
		}
		for range slow {
			vals = append(vals, 150_000_000) // answered after the timeout
		}
		return windowCounts{Unit: unitRequests, Generator: "rr", FrameSize: 100, Elapsed: time.Second,
			Sent: 200 + lost, Received: 200, Lost: lost, Late: uint64(slow), RTT: rtts(vals...)}
	}
	quiet := trialFigures(window(0, 0))
	late := trialFigures(window(0, 3))
	lost := trialFigures(window(5, 3))
	if !quiet.Closed || !lost.Closed || lost.Lost != 5 || lost.Late != 3 {
		t.Fatalf("accounting: %+v", lost)
	}
	// 3 of 200 late: p99 is a recorded 150 ms round trip, known.
	if late.Latency.LowerBounds != nil || late.Latency.P99 < 149e6 || quiet.Latency.P99 > 1e6 {
		t.Errorf("late responses: p99 %.0f (bounds %v), quiet p99 %.0f", late.Latency.P99, late.Latency.LowerBounds, quiet.Latency.P99)
	}
	// 5 of 205 lost: p99 (rank 203) and p99.9 fall on lost requests.
	if !slices.Equal(lost.Latency.LowerBounds, []string{result.PctP99, result.PctP999}) || lost.Latency.P99 < 148e6 {
		t.Errorf("lost requests: p99 %.0f, bounds %v", lost.Latency.P99, lost.Latency.LowerBounds)
	}
	trials := []result.Trial{quiet, lost, lost}
	s := summarize(trials, 0.95)
	if s.Lost != 10 || s.Late != 6 || !s.IsLowerBound(result.PctP99) || s.IsLowerBound(result.PctP50) {
		t.Errorf("summary: lost %d, late %d, lower bounds %v", s.Lost, s.Late, s.LatencyLowerBounds)
	}
	s = summarize([]result.Trial{quiet, quiet, lost}, 0.95)
	if s.IsLowerBound(result.PctP99) {
		t.Errorf("one bounded trial above the median: lower bounds %v", s.LatencyLowerBounds)
	}
}
