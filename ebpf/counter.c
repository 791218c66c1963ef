// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//go:build ignore

/*
 * vb_ingress counts every packet that reaches a device's ingress hook (TCX,
 * or cls_bpf in direct-action mode) and, for vethbench's own UDP traffic,
 * the one-way latency from the timestamp the generator wrote into the
 * payload. It never changes the datapath: it returns TCX_NEXT/TC_ACT_UNSPEC
 * (both -1) for every packet.
 *
 * What a vethbench packet is (UDP to dst_port, payload starting with the
 * magic "VBP1", a sequence number and the send time) is in vb_packet.h,
 * shared with drops.c.
 */

#include "vb_types.h"
#include "bpf_helpers.h"
#include "bpf_endian.h"
#include "vb_packet.h"

char __license[] SEC("license") = "Dual BSD/GPL";

#define VB_PASS		TCX_NEXT	/* == TC_ACT_UNSPEC */

/*
 * Latency histogram: log-linear, 8 sub-buckets per power of two (12.5%
 * relative width). Values 0..7 get their own bucket; for v >= 8 with
 * e = floor(log2 v), bucket = (e-2)*8 + ((v >> (e-3)) & 7). e runs up to 39,
 * so buckets 0..303 cover [0, 2^40) ns and bucket 304 takes v >= 2^40
 * (about 18 minutes). Mirrored by BucketOf in histogram.go.
 */
#define VB_LAT_SUB_BITS	3
#define VB_LAT_MAX_LOG2	40
#define VB_LAT_BUCKETS	((VB_LAT_MAX_LOG2 - 2) * 8 + 1)	/* 305 */

/* UDP destination port of vethbench traffic, set at load time. */
volatile const __u16 dst_port = 0;

struct vb_counts {
	__u64 packets;		/* every packet seen */
	__u64 bytes;		/* skb->len of every packet, Ethernet header included */
	__u64 matched;		/* vethbench packets: UDP to dst_port with the magic */
	__u64 matched_bytes;
	__u64 bad_ts;		/* matched packets with a zero or future timestamp */
};

struct vb_hist {
	__u64 buckets[VB_LAT_BUCKETS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vb_counts);
} vb_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vb_hist);
} vb_latency SEC(".maps");

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

/* vb_parse returns 1 and the send timestamp if skb is vethbench traffic. */
static __always_inline int vb_parse(struct __sk_buff *skb, __u64 *ts)
{
	struct vb_udp_head l4;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct vb_v4_head h;
		__u32 ihl;

		/* One load covers the common case, an IPv4 header without options. */
		if (bpf_skb_load_bytes(skb, ETH_HLEN, &h, sizeof(h)) < 0)
			return 0;
		if ((h.ip.ver_ihl >> 4) != 4 || h.ip.protocol != IPPROTO_UDP)
			return 0;
		if (h.ip.frag_off & bpf_htons(IP_OFFSET))
			return 0;	/* a later fragment: no UDP header */
		ihl = h.ip.ver_ihl & 0xf;
		if (ihl < 5)
			return 0;
		if (ihl == 5)
			l4 = h.l4;
		else if (bpf_skb_load_bytes(skb, ETH_HLEN + ihl * 4, &l4, sizeof(l4)) < 0)
			return 0;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct vb_v6_head h;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &h, sizeof(h)) < 0)
			return 0;
		if ((h.ip6.vtc_flow[0] >> 4) != 6 || h.ip6.nexthdr != IPPROTO_UDP)
			return 0;
		l4 = h.l4;
	} else {
		return 0;
	}

	if (!vb_udp_ours(&l4, dst_port))
		return 0;
	*ts = ((__u64)l4.ts_hi << 32) | l4.ts_lo;
	return 1;
}

SEC("tc")
int vb_ingress(struct __sk_buff *skb)
{
	__u32 zero = 0, len = skb->len;
	__u64 b;	/* 64-bit: the bound checked must be the index used (below) */
	struct vb_counts *c;
	struct vb_hist *h;
	__u64 ts, now;

	c = bpf_map_lookup_elem(&vb_counters, &zero);
	if (!c)
		return VB_PASS;
	/* Per-CPU and in softirq: plain increments do not race. */
	c->packets++;
	c->bytes += len;

	if (!vb_parse(skb, &ts))
		return VB_PASS;
	now = bpf_ktime_get_ns();
	c->matched++;
	c->matched_bytes += len;
	if (ts == 0 || ts > now) {
		c->bad_ts++;
		return VB_PASS;
	}

	h = bpf_map_lookup_elem(&vb_latency, &zero);
	if (!h)
		return VB_PASS;
	b = vb_bucket_of(now - ts);
	/* Keep clang from dropping the bound the verifier needs. With a 32-bit
	 * b, clang checked one zero-extended copy and indexed with another,
	 * which 6.1's verifier rejects ("R0 unbounded memory access"). */
	barrier_var(b);
	if (b >= VB_LAT_BUCKETS)
		b = VB_LAT_BUCKETS - 1;
	h->buckets[b]++;
	return VB_PASS;
}

/*
 * vb_bucket_probe exists for tests only (the Go side never loads it for
 * counting): run with BPF_PROG_RUN on a frame whose first 8 bytes after the
 * Ethernet header hold a little-endian u64 v, it returns vb_bucket_of(v), so
 * the Go mirror BucketOf can be checked against the C function itself.
 */
SEC("tc")
int vb_bucket_probe(struct __sk_buff *skb)
{
	__u64 v;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &v, sizeof(v)) < 0)
		return -2;
	return vb_bucket_of(v);
}
