package reports

import (
	"math"
	"testing"

	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/reports/result"
)

func TestSI(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 950: "950", 1000: "1k", 250000: "250k", 1234567: "1.23M", 2.5e9: "2.5G"} {
		if got := si(v); got != want {
			t.Errorf("si(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestSITicks(t *testing.T) {
	ts := siTicks{}.Ticks(0, 330000)
	var labels []string
	for _, tk := range ts {
		labels = append(labels, tk.Label)
	}
	if got, want := len(ts), 7; got != want || labels[1] != "50k" || labels[6] != "300k" {
		t.Errorf("ticks 0..330k = %v, want 0, 50k, ..., 300k", labels)
	}
}

func TestUSLabel(t *testing.T) {
	for v, want := range map[float64]string{0.5: "500 ns", 1: "1 µs", 20: "20 µs", 1000: "1 ms", 20000: "20 ms", 2e6: "2 s"} {
		if got := usLabel(v); got != want {
			t.Errorf("usLabel(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestPercentileCurve checks the curve of a histogram against the bucket
// layout of SCHEMA.md: a value v >= 8 with e = floor(log2 v) is in bucket
// (e-2)*8 + ((v >> (e-3)) & 7).
func TestPercentileCurve(t *testing.T) {
	bucket := func(v uint64) int {
		e := 63 - leadingZeros(v)
		return (e-2)*8 + int((v>>(e-3))&7)
	}
	h := make([]uint64, 200)
	h[bucket(100_000)] = 90 // 100 µs
	h[bucket(1_000_000)] = 10
	if histogram.Coarse.BucketOf(100_000) != bucket(100_000) {
		t.Fatalf("bucket formula disagrees with histogram.Coarse.BucketOf")
	}
	xy := percentileCurve(histogram.Histogram{Counts: h}) // the zero Scale: 3 sub-bucket bits
	if len(xy) != 2 {
		t.Fatalf("%d points, want 2", len(xy))
	}
	if math.Abs(xy[0].X-nines(0.45)) > 1e-9 || math.Abs(xy[1].X-nines(0.95)) > 1e-9 {
		t.Errorf("percentiles %v, %v; want mid-ranks 45%% and 95%%", xy[0].X, xy[1].X)
	}
	if xy[0].Y < 100/1.07 || xy[0].Y > 100*1.07 || xy[1].Y < 1000/1.07 || xy[1].Y > 1000*1.07 {
		t.Errorf("latencies %v µs, %v µs; want about 100 and 1000", xy[0].Y, xy[1].Y)
	}
	merged := mergedHistogramOf([][]uint64{{1, 2}, {0, 1, 5}})
	if len(merged) != 3 || merged[0] != 1 || merged[1] != 3 || merged[2] != 5 {
		t.Errorf("merged = %v, want [1 3 5]", merged)
	}
}

func leadingZeros(v uint64) int {
	n := 0
	for i := 63; i >= 0 && v&(1<<uint(i)) == 0; i-- {
		n++
	}
	return n
}

// A trial's histogram is read in the layout its sub_bits names: at 5 (the
// eBPF histogram's), bucket OneWay.BucketOf(100 us) is 100 us, and 100 and
// 103 us are two points; a file without sub_bits is read at 3.
func TestLatencyFollowsSubBits(t *testing.T) {
	rec := func(s histogram.Scale, vals ...uint64) []uint64 {
		h := histogram.Histogram{Scale: s}
		for _, v := range vals {
			h.Record(v)
		}
		return h.Counts
	}
	fine := &result.Case{Trials: []result.Trial{
		{Latency: result.Latency{SubBits: 5, Histogram: rec(histogram.OneWay, 100_000)}},
		{Latency: result.Latency{SubBits: 5, Histogram: rec(histogram.OneWay, 103_000)}},
	}}
	h := mergedHistogram(fine)
	if h.Scale.Bits() != 5 || h.Total() != 2 {
		t.Fatalf("merged %d values at %d sub-bucket bits, want 2 at 5", h.Total(), h.Scale.Bits())
	}
	xy := percentileCurve(h)
	if len(xy) != 2 || math.Abs(xy[0].Y-100)/100 > 1.0/64 || math.Abs(xy[1].Y-103)/103 > 1.0/64 {
		t.Errorf("curve %v, want 100 and 103 µs within 1.6%%", xy)
	}
	old := &result.Case{Trials: []result.Trial{{Latency: result.Latency{Histogram: rec(histogram.Coarse, 100_000, 103_000)}}}}
	if xy := percentileCurve(mergedHistogram(old)); len(xy) != 1 || math.Abs(xy[0].Y-100)/100 > 1.0/16 {
		t.Errorf("a file without sub_bits: curve %v, want one point about 100 µs", xy)
	}
}
