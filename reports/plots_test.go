package reports

import (
	"math"
	"testing"

	"github.com/vethbench/vethbench/internal/histogram"
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
	if histogram.BucketOf(100_000) != bucket(100_000) {
		t.Fatalf("bucket formula disagrees with histogram.BucketOf")
	}
	xy := percentileCurve(h)
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
