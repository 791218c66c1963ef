package reports

import (
	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/reports/result"
)

// mergedHistogram adds up a case's trial latency histograms bucket by
// bucket (SCHEMA.md: histograms of trials add).
func mergedHistogram(c *result.Case) []uint64 {
	hs := make([][]uint64, len(c.Trials))
	for i, t := range c.Trials {
		hs[i] = t.Latency.Histogram
	}
	return mergedHistogramOf(hs)
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

// bucketBounds is histogram.BucketBounds, reading buckets past the last as the
// last, open-ended one (whose lower bound it returns as both bounds).
func bucketBounds(i int) (lo, hi uint64) {
	if i >= histogram.NumBuckets-1 {
		lo, _ = histogram.BucketBounds(histogram.NumBuckets - 1)
		return lo, lo
	}
	return histogram.BucketBounds(i)
}
