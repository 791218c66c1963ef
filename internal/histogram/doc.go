// Package histogram owns the bucket math of vethbench's latency histograms,
// shared by the code that fills them (the BPF ingress counter, read by
// package vbpf; the rr generator in bench/traffic, with Record), the runner
// that reduces them to percentiles, and the reports that merge and draw them
// from result files.
//
// The buckets are log-linear: 0..7 ns one bucket each, then eight equal
// buckets per power of two up to 2^40 ns (about 18 minutes), then one
// open-ended bucket; NumBuckets in all. BucketOf maps a value to its bucket
// and BucketBounds a bucket to its inclusive bounds; ebpf/counter.c computes
// the same function in BPF (vb_bucket_of), and a test in package vbpf checks
// that the two agree. A bucket is at most Resolution (12.5%) of its lower
// bound wide, so Quantile's estimate, the bucket's midpoint, is within 6.25%
// of the true quantile, whose bounds it returns too. Histograms are
// additive: per-CPU maps and trials are summed with Merge or Add, and Sub
// gives the values counted between two snapshots. A Histogram's Counts may
// be shorter than NumBuckets (missing buckets are empty), so result files
// can trim trailing zeros.
//
// Privileges: none; it imports nothing of vethbench and no kernel library.
// Errors: none. Quantile reports ok=false for an empty histogram or a q
// outside [0, 1]; BucketBounds panics on a bucket index out of range, a
// programming error.
package histogram
