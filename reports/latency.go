package reports

import (
	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/reports/result"
)

// latencyScale is the bucket layout a trial's latency histogram was
// recorded with: its sub_bits, 3 in files that do not say.
func latencyScale(l result.Latency) histogram.Scale {
	return histogram.Scale{SubBits: l.HistogramSubBits()}
}

// mergedHistogram adds up a case's trial latency histograms bucket by
// bucket (SCHEMA.md: histograms of trials add), in the layout of its first
// trial. vethbench records every trial of a case at one scale; a trial of
// another (a hand-made file) is left out rather than added bucket by bucket.
func mergedHistogram(c *result.Case) histogram.Histogram {
	if len(c.Trials) == 0 {
		return histogram.Histogram{}
	}
	s := latencyScale(c.Trials[0].Latency)
	var hs [][]uint64
	for _, t := range c.Trials {
		if latencyScale(t.Latency).Bits() == s.Bits() {
			hs = append(hs, t.Latency.Histogram)
		}
	}
	return histogram.Histogram{Scale: s, Counts: mergedHistogramOf(hs)}
}

func mergedHistogramOf(hs [][]uint64) []uint64 {
	var h []uint64
	for _, t := range hs {
		if n := len(t); n > len(h) {
			h = append(h, make([]uint64, n-len(h))...)
		}
		for i, v := range t {
			h[i] += v
		}
	}
	return h
}

// bucketBounds is s.BucketBounds, reading buckets past the last as the
// last, open-ended one (whose lower bound it returns as both bounds).
func bucketBounds(s histogram.Scale, i int) (lo, hi uint64) {
	if last := s.NumBuckets() - 1; i >= last {
		lo, _ = s.BucketBounds(last)
		return lo, lo
	}
	return s.BucketBounds(i)
}
