/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one-way latency histogram's layout, shared by counter.c (the ingress
 * counter's latency) and stages.c (each stage's): log-linear, 32
 * sub-buckets per power of two (3.1% relative width): histogram.OneWay.
 * Values 0..31 get their own bucket; for v >= 32 with e = floor(log2 v),
 * bucket = (e-4)*32 + ((v >> (e-5)) & 31). e runs up to 39, so buckets
 * 0..1151 cover [0, 2^40) ns and bucket 1152 takes v >= 2^40 (about 18
 * minutes). Mirrored by Scale.BucketOf in internal/histogram; tests run
 * both on every bucket's bounds.
 */
#ifndef __VB_LATENCY_H
#define __VB_LATENCY_H

#define VB_LAT_SUB_BITS	5
#define VB_LAT_MAX_LOG2	40
#define VB_LAT_BUCKETS	(((VB_LAT_MAX_LOG2 - (VB_LAT_SUB_BITS - 1)) << VB_LAT_SUB_BITS) + 1)	/* 1153 */

/* floor(log2 v) for v > 0, without loops. */
static __always_inline __u32 vb_log2(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8)  { v >>= 8;  r += 8; }
	if (v >> 4)  { v >>= 4;  r += 4; }
	if (v >> 2)  { v >>= 2;  r += 2; }
	if (v >> 1)  { r += 1; }
	return r;
}

static __always_inline __u32 vb_bucket_of(__u64 v)
{
	__u32 e;

	if (v < (1 << VB_LAT_SUB_BITS))
		return v;
	if (v >> VB_LAT_MAX_LOG2)
		return VB_LAT_BUCKETS - 1;
	e = vb_log2(v);
	return ((e - VB_LAT_SUB_BITS + 1) << VB_LAT_SUB_BITS) +
	       ((v >> (e - VB_LAT_SUB_BITS)) & ((1 << VB_LAT_SUB_BITS) - 1));
}

#endif /* __VB_LATENCY_H */
