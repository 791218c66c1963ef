// Package histogram owns the bucket math of vethbench's latency histograms,
// shared by the code that fills them (the BPF ingress counter, read by
// package vbpf; the rr generator in bench/traffic, with Record), the runner
// that reduces them to percentiles, and the reports that merge and draw them
// from result files.
//
// The buckets are log-linear, and their layout is a value, a Scale: every
// power of two is split into 2^SubBits equal sub-buckets, values below
// 2^SubBits ns have a bucket each, and values of 2^40 ns (about 18
// minutes) and more share one open-ended last bucket. vethbench uses
// OneWay (32 sub-buckets, 3.1% wide) for the BPF one-way latency and
// RoundTrip (128 sub-buckets, 0.78% wide) for round trips timed in user
// space; Coarse (8 sub-buckets, 12.5%) is the layout of the first result
// files and the zero Scale. A Scale's BucketOf maps a value to its bucket
// and BucketBounds a bucket to its inclusive bounds; ebpf/counter.c
// computes OneWay's BucketOf in BPF (vb_bucket_of), and a test in package
// vbpf checks that the two agree on every bucket. A bucket is at most
// Resolution (2^-SubBits) of its lower bound wide, so Quantile's estimate,
// the bucket's midpoint, is within Resolution/2 of the true quantile, whose
// bounds it returns too.
//
// A Histogram knows its Scale. Histograms of one scale are additive:
// per-CPU maps and trials are summed with Merge or Add, and Sub gives the
// values counted between two snapshots. A Histogram's Counts may be shorter
// than its scale's NumBuckets (missing buckets are empty), so result files
// can trim trailing zeros; an empty Histogram takes the scale of what is
// added to it.
//
// Privileges: none; it imports nothing of vethbench and no kernel library.
// Errors: none. Quantile reports ok=false for an empty histogram or a q
// outside [0, 1]. Panics are programming errors: BucketBounds on a bucket
// index out of range, a SubBits outside [0, MaxSubBits], combining two
// non-empty histograms of different scales.
package histogram
