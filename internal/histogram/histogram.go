package histogram

import (
	"fmt"
	"math"
	"math/bits"
)

// maxLog2: values of 2^maxLog2 ns (about 18 minutes) and more share a
// scale's last bucket.
const maxLog2 = 40

// MaxSubBits bounds Scale.SubBits: 2^12 sub-buckets per power of two
// (0.024%) already need 118,785 buckets.
const MaxSubBits = 12

// Scale is the bucket layout of a log-linear histogram: every power of two
// is split into 2^SubBits equal sub-buckets. With b = SubBits, values below
// 2^b ns have a bucket each; a value v >= 2^b with e = floor(log2 v) goes to
// bucket (e-b+1)*2^b + ((v >> (e-b)) & (2^b-1)); values of 2^40 ns and
// more share the last bucket. A bucket is at most 2^-b of its lower bound
// wide (Resolution).
//
// The zero Scale is the layout of vethbench's first histograms, SubBits 3
// (Coarse), so that a zero Histogram and result files written before scales
// were recorded read as they were written. Methods panic on a SubBits
// outside [0, MaxSubBits], a programming error.
type Scale struct {
	SubBits int `json:"sub_bits,omitempty"`
}

// The scales vethbench uses.
var (
	// Coarse: 8 sub-buckets per power of two, 12.5% wide, 305 buckets.
	// Every histogram before scales were values; the zero Scale.
	Coarse = Scale{SubBits: 3}
	// OneWay: 32 sub-buckets per power of two, 3.1% wide, 1153 buckets.
	// The BPF ingress counter's one-way latency histogram
	// (ebpf/counter.c, VB_LAT_SUB_BITS).
	OneWay = Scale{SubBits: 5}
	// RoundTrip: 128 sub-buckets per power of two, 0.78% wide, 4353
	// buckets. Round trips timed in user space (the rr generator).
	RoundTrip = Scale{SubBits: 7}
)

// Bits is the number of sub-bucket bits: SubBits, or 3 for the zero Scale.
func (s Scale) Bits() int {
	switch {
	case s.SubBits == 0:
		return 3
	case s.SubBits < 0 || s.SubBits > MaxSubBits:
		panic(fmt.Sprintf("histogram: SubBits %d out of range [0, %d]", s.SubBits, MaxSubBits))
	}
	return s.SubBits
}

// same tells whether s and o are one layout (the zero Scale is Coarse).
func (s Scale) same(o Scale) bool { return s.Bits() == o.Bits() }

// NumBuckets is the number of buckets of the scale.
func (s Scale) NumBuckets() int {
	b := s.Bits()
	return (maxLog2-(b-1))<<b + 1
}

// Resolution is the largest relative width of a bucket: for any bucket
// [lo, hi] with lo >= 2^SubBits (except the open-ended last one),
// hi-lo+1 <= Resolution*lo. A percentile read from the histogram is the
// bucket's midpoint, so it is within Resolution/2 of the bucket's every
// value, and the true percentile lies inside [lo, hi].
func (s Scale) Resolution() float64 { return math.Ldexp(1, -s.Bits()) }

// BucketOf returns the bucket a latency of v nanoseconds is counted in.
// For OneWay it mirrors vb_bucket_of in ebpf/counter.c.
func (s Scale) BucketOf(v uint64) int {
	b := s.Bits()
	if v < 1<<b {
		return int(v)
	}
	if v>>maxLog2 != 0 {
		return s.NumBuckets() - 1
	}
	e := bits.Len64(v) - 1
	return (e-b+1)<<b + int(v>>(e-b))&(1<<b-1)
}

// BucketBounds returns the inclusive bounds, in nanoseconds, of bucket i.
// The last bucket is open-ended: its hi is math.MaxUint64. It panics if i is
// not in [0, NumBuckets).
func (s Scale) BucketBounds(i int) (lo, hi uint64) {
	b, n := s.Bits(), s.NumBuckets()
	switch {
	case i < 0 || i >= n:
		panic(fmt.Sprintf("histogram: bucket %d out of range [0, %d)", i, n))
	case i < 1<<b:
		return uint64(i), uint64(i)
	case i == n-1:
		return 1 << maxLog2, math.MaxUint64
	}
	e := i>>b + b - 1 // floor(log2) of the bucket's values
	k := uint64(i & (1<<b - 1))
	width := uint64(1) << (e - b)
	lo = (1<<b + k) * width
	return lo, lo + width - 1
}

// Histogram counts latencies in the buckets of its Scale. Counts may be
// shorter than Scale.NumBuckets() (missing buckets are empty), so the zero
// Histogram is an empty one (of the zero Scale, Coarse).
//
// Histograms of one scale add up. An empty Histogram (no Counts) takes the
// scale of one added to it, merged with it or subtracted from it, so
// accumulators may start from the zero value; otherwise combining two
// scales panics, a programming error.
type Histogram struct {
	Scale  Scale    `json:"scale"`
	Counts []uint64 `json:"counts"`
}

// New returns an empty histogram of scale s with all its buckets present.
func New(s Scale) Histogram {
	return Histogram{Scale: s, Counts: make([]uint64, s.NumBuckets())}
}

// Total is the number of values counted.
func (h Histogram) Total() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// scaleWith returns the scale of a combination of h and o.
func (h Histogram) scaleWith(o Histogram) Scale {
	switch {
	case len(o.Counts) == 0:
		return h.Scale
	case len(h.Counts) == 0:
		return o.Scale
	case !h.Scale.same(o.Scale):
		panic(fmt.Sprintf("histogram: combining scales of %d and %d sub-bucket bits", h.Scale.Bits(), o.Scale.Bits()))
	}
	return h.Scale
}

// Merge returns the sum of h and o, as when adding up per-CPU histograms.
// Neither is modified.
func (h Histogram) Merge(o Histogram) Histogram {
	out := Histogram{Scale: h.scaleWith(o), Counts: make([]uint64, max(len(h.Counts), len(o.Counts)))}
	copy(out.Counts, h.Counts)
	for i, c := range o.Counts {
		out.Counts[i] += c
	}
	return out
}

// Add adds o's counts to h in place.
func (h *Histogram) Add(o Histogram) {
	h.Scale = h.scaleWith(o)
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
	b := h.Scale.BucketOf(v)
	if b >= len(h.Counts) {
		h.Counts = append(h.Counts, make([]uint64, h.Scale.NumBuckets()-len(h.Counts))...)
	}
	h.Counts[b]++
}

// Sub returns h minus prev, bucket by bucket: the values counted between two
// snapshots of the same histogram, prev being the earlier one.
func (h Histogram) Sub(prev Histogram) Histogram {
	out := Histogram{Scale: h.scaleWith(prev), Counts: make([]uint64, max(len(h.Counts), len(prev.Counts)))}
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
// of est is at most Resolution/2 for values of 2^SubBits ns and more, and
// zero below. ok is false if the histogram is empty or q is out of range.
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
	last := h.Scale.NumBuckets() - 1
	var cum uint64
	for i, c := range h.Counts {
		cum += c
		if cum < rank {
			continue
		}
		if i > last {
			// Only a hand-made Histogram can be this long; its extra
			// buckets are read as part of the open-ended last one.
			i = last
		}
		lo, hi = h.Scale.BucketBounds(i)
		est = lo + (hi-lo)/2
		if i == last {
			est = lo
		}
		return est, lo, hi, true
	}
	panic("unreachable: rank <= total")
}
