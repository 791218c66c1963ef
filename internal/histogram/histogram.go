package histogram

import (
	"fmt"
	"math"
	"math/bits"
)

// The latency histogram is log-linear: every power of two is split into
// 1<<subBits equal sub-buckets. Values 0..7 ns have a bucket each; a value
// v >= 8 with e = floor(log2 v) goes to bucket (e-2)*8 + ((v >> (e-3)) & 7).
// Values of 2^maxLog2 ns (about 18 minutes) and more share the last bucket.
// ebpf/counter.c (vb_bucket_of) computes the same function; a test in package
// vbpf runs both.
const (
	subBits = 3
	maxLog2 = 40

	// NumBuckets is the number of latency buckets.
	NumBuckets = (maxLog2-(subBits-1))<<subBits + 1 // 305

	// Resolution is the largest relative width of a latency bucket: for
	// any bucket [lo, hi] with lo >= 8 (except the open-ended last one),
	// hi-lo+1 <= Resolution*lo. A percentile read from the histogram is
	// the bucket's midpoint, so it is within Resolution/2 of the bucket's
	// every value, and the true percentile lies inside [lo, hi].
	Resolution = 0.125
)

// BucketOf returns the bucket a latency of v nanoseconds is counted in. It
// mirrors vb_bucket_of in counter.c.
func BucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	if v>>maxLog2 != 0 {
		return NumBuckets - 1
	}
	e := bits.Len64(v) - 1
	return (e-subBits+1)<<subBits + int(v>>(e-subBits))&(1<<subBits-1)
}

// BucketBounds returns the inclusive bounds, in nanoseconds, of bucket i.
// The last bucket is open-ended: its hi is math.MaxUint64. It panics if i is
// not in [0, NumBuckets).
func BucketBounds(i int) (lo, hi uint64) {
	switch {
	case i < 0 || i >= NumBuckets:
		panic(fmt.Sprintf("histogram: bucket %d out of range [0, %d)", i, NumBuckets))
	case i < 1<<subBits:
		return uint64(i), uint64(i)
	case i == NumBuckets-1:
		return 1 << maxLog2, math.MaxUint64
	}
	e := i>>subBits + subBits - 1 // floor(log2) of the bucket's values
	k := uint64(i & (1<<subBits - 1))
	width := uint64(1) << (e - subBits)
	lo = (1<<subBits + k) * width
	return lo, lo + width - 1
}

// Histogram counts latencies in the buckets described by BucketBounds.
// Counts may be shorter than NumBuckets (missing buckets are empty), so the
// zero Histogram is an empty one.
type Histogram struct {
	Counts []uint64 `json:"counts"`
}

// Total is the number of values counted.
func (h Histogram) Total() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Merge returns the sum of h and o, as when adding up per-CPU histograms.
// Neither is modified.
func (h Histogram) Merge(o Histogram) Histogram {
	out := Histogram{Counts: make([]uint64, max(len(h.Counts), len(o.Counts)))}
	copy(out.Counts, h.Counts)
	for i, c := range o.Counts {
		out.Counts[i] += c
	}
	return out
}

// Add adds o's counts to h in place.
func (h *Histogram) Add(o Histogram) {
	if len(o.Counts) > len(h.Counts) {
		h.Counts = append(h.Counts, make([]uint64, len(o.Counts)-len(h.Counts))...)
	}
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
}

// Record counts one value of v nanoseconds, for latencies measured in user
// space (request/response loops) that are reported beside the BPF ones.
func (h *Histogram) Record(v uint64) {
	b := BucketOf(v)
	if b >= len(h.Counts) {
		h.Counts = append(h.Counts, make([]uint64, NumBuckets-len(h.Counts))...)
	}
	h.Counts[b]++
}

// Sub returns h minus prev, bucket by bucket: the values counted between two
// snapshots of the same histogram, prev being the earlier one.
func (h Histogram) Sub(prev Histogram) Histogram {
	out := Histogram{Counts: make([]uint64, max(len(h.Counts), len(prev.Counts)))}
	copy(out.Counts, h.Counts)
	for i, c := range prev.Counts {
		out.Counts[i] -= c
	}
	return out
}

// Quantile returns the q-quantile (0 <= q <= 1; 0.5 is the median) of the
// counted values: the bucket holding the value of rank ceil(q*Total), its
// inclusive bounds lo and hi (the true quantile is within them), and est, the
// bucket's midpoint (lo for the open-ended last bucket). The relative error
// of est is at most Resolution/2 for values of 8 ns and more, and zero below.
// ok is false if the histogram is empty or q is out of range.
func (h Histogram) Quantile(q float64) (est, lo, hi uint64, ok bool) {
	if !(q >= 0 && q <= 1) { // also rejects NaN
		return 0, 0, 0, false
	}
	total := h.Total()
	if total == 0 {
		return 0, 0, 0, false
	}
	rank := uint64(math.Ceil(q * float64(total)))
	rank = min(max(rank, 1), total)
	var cum uint64
	for i, c := range h.Counts {
		cum += c
		if cum < rank {
			continue
		}
		if i >= NumBuckets {
			// Only a hand-made Histogram can be this long; its extra
			// buckets are read as part of the open-ended last one.
			i = NumBuckets - 1
		}
		lo, hi = BucketBounds(i)
		est = lo + (hi-lo)/2
		if i == NumBuckets-1 {
			est = lo
		}
		return est, lo, hi, true
	}
	panic("unreachable: rank <= total")
}
