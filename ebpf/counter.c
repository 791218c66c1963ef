// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//go:build ignore

/*
 * vb_ingress counts every packet that reaches a device's ingress hook (TCX,
 * or cls_bpf in direct-action mode) and vethbench's own packets among them:
 * skbs, bytes, the datagrams or segments they carry (a GSO or GRO skb
 * carries gso_segs of them) and their payload bytes; for UDP traffic also
 * the one-way latency from the timestamp the generator wrote into the
 * payload. UDP datagrams are also counted per measurement window, by the
 * window tag in their payload (see "Windows" below). It never changes the
 * datapath: it returns TCX_NEXT/TC_ACT_UNSPEC (both -1) for every packet.
 * Only when asked (cost_ns, a validation knob) does it add a known CPU cost
 * per vethbench packet.
 *
 * What a vethbench packet is (UDP mode: UDP to dst_port, payload starting
 * with the magic "VBP", the window tag, a sequence number and the send
 * time; TCP mode: TCP to dst_port) is in vb_packet.h, shared with drops.c.
 */

#include "vb_types.h"
#include "bpf_helpers.h"
#include "bpf_endian.h"
#include "vb_packet.h"
#include "vb_latency.h"

char __license[] SEC("license") = "Dual BSD/GPL";

#define VB_PASS		TCX_NEXT	/* == TC_ACT_UNSPEC */

/* The latency histogram's layout and vb_bucket_of: vb_latency.h. */

/* Destination port of vethbench traffic, set at load time. */
volatile const __u16 dst_port = 0;

/* What vethbench traffic is, set at load time: VB_PROTO_UDP (vethbench's
 * datagrams, with the magic) or VB_PROTO_TCP (any TCP segment to
 * dst_port). A constant to the verifier, which drops the other mode's code. */
volatile const __u8 proto = VB_PROTO_UDP;

/*
 * Validation knob: extra CPU per vethbench skb, set at load time (0: off, and
 * then the verifier drops the spin: the cost is nothing). With cost_ns > 0,
 * after counting a vethbench skb the program spins reading the clock until
 * cost_ns have passed since the spin's start, a known effect with which
 * vethbench checks its own sensitivity (examples/sensitivity.yaml). The start
 * is the clock read the UDP latency took when there was one (so the spin adds
 * cost_ns and about half a clock read), else a read of its own (one read
 * more). The Go side refuses more than VB_COST_MAX_NS.
 *
 * The loop is bounded for the verifier, which walks every iteration and
 * keeps a pending state per iteration (6.1 refuses more than 8192): it stops
 * after VB_SPIN_MAX_READS clock reads even if cost_ns has not passed, which
 * happens only with a clock read under VB_COST_MAX_NS / VB_SPIN_MAX_READS
 * (4.9 ns), and is counted in cost_short.
 */
#define VB_COST_MAX_NS		20000
#define VB_SPIN_MAX_READS	4096
volatile const __u32 cost_ns = 0;

struct vb_counts {
	__u64 packets;		/* every packet seen */
	__u64 bytes;		/* skb->len of every packet, Ethernet header included */
	__u64 matched;		/* vethbench skbs (see vb_packet.h) */
	__u64 matched_bytes;	/* their skb->len */
	__u64 bad_ts;		/* UDP: matched skbs with a zero or future timestamp */
	__u64 segs;		/* datagrams or segments in the matched skbs: max(1, gso_segs) each */
	__u64 payload_bytes;	/* UDP or TCP payload in the matched skbs, all segments */
	__u64 stale;		/* UDP: matched skbs whose window slot holds another tag: in no window */
	__u64 cost_short;	/* matched skbs whose cost_ns spin hit VB_SPIN_MAX_READS first */
};

/*
 * Windows (vb_packet.h). The runner gives every measurement window a tag
 * (the payload's fourth byte) and, before the generator sends the first
 * datagram carrying it, gives the tag its slot, tag % VB_TAG_SLOTS, by
 * writing VB_TAG_SET | tag into vb_tags. vb_windows then counts the slot's
 * datagrams and their latency, however late they arrive, until the slot is
 * given to a later tag; a datagram whose slot holds another tag (it arrived
 * VB_TAG_SLOTS or more windows late) counts as stale instead. A slot never
 * given (0, as loaded) takes every tag, so without a runner every datagram
 * is counted. The slots are never cleared: the runner reads a slot when it
 * gives it out and subtracts.
 */

struct vb_window {
	__u64 matched;		/* skbs of the window's datagrams */
	__u64 segs;		/* datagrams in them */
	__u64 payload_bytes;	/* their UDP payload, all segments */
	__u64 bad_ts;		/* of matched: zero or future timestamp */
	__u64 buckets[VB_LAT_BUCKETS];	/* one-way latency of the others */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vb_counts);
} vb_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VB_TAG_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} vb_tags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VB_TAG_SLOTS);
	__type(key, __u32);
	__type(value, struct vb_window);
} vb_windows SEC(".maps");

/* What the parser learns of a vethbench skb. */
struct vb_match {
	__u64 ts;		/* UDP: the send time in the (first) datagram */
	__u32 payload;		/* L4 payload bytes, of all segments */
	__u32 tag;		/* UDP: the window tag of the (first) datagram */
};

/*
 * vb_payload is the L4 payload length of a packet whose L4 header ends at
 * l4_end (an offset from the Ethernet header) and whose IP header gives
 * ip_len bytes from the IP header on: IPv4's total length, IPv6's payload
 * length plus 40. The IP length leaves out the padding a short frame may
 * carry; where it is 0 (a BIG TCP aggregate over 64 KiB, an IPv6 jumbogram)
 * or larger than the frame, the frame's length is taken instead. A GSO or
 * GRO skb's IP header covers the whole aggregate, behind one L4 header.
 */
static __always_inline __u32 vb_payload(__u32 frame_len, __u32 ip_len, __u32 l4_end)
{
	__u32 end = ETH_HLEN + ip_len;

	if (ip_len == 0 || end > frame_len)
		end = frame_len;
	return end > l4_end ? end - l4_end : 0;
}

/* vb_parse_udp returns 1 if skb is one of vethbench's UDP datagrams (or a
 * GSO/GRO skb whose first datagram is one), with its send timestamp. */
static __always_inline int vb_parse_udp(struct __sk_buff *skb, struct vb_match *m)
{
	struct vb_udp_head l4;
	__u32 l4_off, ip_len;

	if (!vb_skb_udp(skb, &l4, &l4_off, &ip_len))
		return 0;
	if (!vb_udp_ours(&l4, dst_port))
		return 0;
	m->ts = ((__u64)l4.ts_hi << 32) | l4.ts_lo;
	m->tag = VB_TAG(l4.magic);
	m->payload = vb_payload(skb->len, ip_len, l4_off + sizeof(struct udphdr));
	return 1;
}

/* vb_parse_tcp returns 1 if skb is a TCP segment (or a GSO/GRO aggregate
 * of segments) to dst_port. */
static __always_inline int vb_parse_tcp(struct __sk_buff *skb, struct vb_match *m)
{
	struct vb_tcphdr th;
	__u32 l4_off, ip_len, doff;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct vb_v4_tcp_head h;
		__u32 ihl;

		/* Exactly the smallest IPv4 TCP packet: one load, as for UDP. */
		if (bpf_skb_load_bytes(skb, ETH_HLEN, &h, sizeof(h)) < 0)
			return 0;
		if ((h.ip.ver_ihl >> 4) != 4 || h.ip.protocol != IPPROTO_TCP)
			return 0;
		if (h.ip.frag_off & bpf_htons(IP_OFFSET))
			return 0;
		ihl = h.ip.ver_ihl & 0xf;
		if (ihl < 5)
			return 0;
		l4_off = ETH_HLEN + ihl * 4;
		if (ihl == 5)
			th = h.tcp;
		else if (bpf_skb_load_bytes(skb, l4_off, &th, sizeof(th)) < 0)
			return 0;
		ip_len = bpf_ntohs(h.ip.tot_len);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct vb_v6_tcp_head h;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &h, sizeof(h)) < 0)
			return 0;
		if ((h.ip6.vtc_flow[0] >> 4) != 6 || h.ip6.nexthdr != IPPROTO_TCP)
			return 0;
		th = h.tcp;
		l4_off = ETH_HLEN + sizeof(h.ip6);
		ip_len = bpf_ntohs(h.ip6.payload_len);
		if (ip_len)
			ip_len += sizeof(h.ip6);
	} else {
		return 0;
	}

	if (th.dest != bpf_htons(dst_port))
		return 0;
	doff = VB_TCP_DOFF(&th);
	if (doff < 5)
		return 0;	/* not a TCP header: the kernel drops it too */
	m->payload = vb_payload(skb->len, ip_len, l4_off + doff * 4);
	return 1;
}

/*
 * vb_count counts skb in c and, if it is vethbench's, in its window; it
 * returns 1 for a vethbench skb, with *now the clock read taken for its
 * latency (0 where there was none).
 */
static __always_inline int vb_count(struct __sk_buff *skb, struct vb_counts *c, __u64 *now)
{
	__u32 len = skb->len, segs, slot, *owner;
	__u64 b;	/* 64-bit: the bound checked must be the index used (below) */
	struct vb_match m = {};
	struct vb_window *w;
	__u64 ts;

	/* Per-CPU and in softirq: plain increments do not race. */
	c->packets++;
	c->bytes += len;

	if (proto == VB_PROTO_TCP) {
		if (!vb_parse_tcp(skb, &m))
			return 0;
	} else if (!vb_parse_udp(skb, &m)) {
		return 0;
	}
	/* gso_segs is 0 or 1 for a single packet; a GSO skb (UDP_SEGMENT,
	 * TSO) that veth passed on unsegmented, or a GRO skb, carries
	 * gso_segs datagrams or segments. */
	segs = skb->gso_segs;
	segs = segs ? segs : 1;
	c->matched++;
	c->matched_bytes += len;
	c->segs += segs;
	c->payload_bytes += m.payload;
	if (proto == VB_PROTO_TCP)
		return 1;	/* a stream has no tags or timestamps */

	/* The window: a GSO skb's datagrams were sent together, with the
	 * first one's tag. */
	slot = m.tag & (VB_TAG_SLOTS - 1);
	owner = bpf_map_lookup_elem(&vb_tags, &slot);
	w = bpf_map_lookup_elem(&vb_windows, &slot);
	if (!owner || !w)
		return 1;
	if (*owner && *owner != (VB_TAG_SET | m.tag)) {
		c->stale++;
		return 1;
	}
	w->matched++;
	w->segs += segs;
	w->payload_bytes += m.payload;

	/* One latency value per skb: only the first datagram of a UDP GSO
	 * skb has its payload header where the parser looks. */
	*now = bpf_ktime_get_ns();
	ts = m.ts;
	if (ts == 0 || ts > *now) {
		c->bad_ts++;
		w->bad_ts++;
		return 1;
	}
	b = vb_bucket_of(*now - ts);
	/* Keep clang from dropping the bound the verifier needs. With a 32-bit
	 * b, clang checked one zero-extended copy and indexed with another,
	 * which 6.1's verifier rejects ("R0 unbounded memory access"). */
	barrier_var(b);
	if (b >= VB_LAT_BUCKETS)
		b = VB_LAT_BUCKETS - 1;
	w->buckets[b]++;
	return 1;
}

/* vb_spin spends cost_ns (at most VB_COST_MAX_NS) from start, or from its
 * own first clock read when start is 0, reading the clock (see cost_ns). */
static __always_inline void vb_spin(struct vb_counts *c, __u64 start)
{
	__u64 cost = cost_ns;
	int i;

	if (cost > VB_COST_MAX_NS)
		cost = VB_COST_MAX_NS;
	if (!start)
		start = bpf_ktime_get_ns();
	for (i = 0; i < VB_SPIN_MAX_READS; i++) {
		if (bpf_ktime_get_ns() - start >= cost)
			return;
	}
	c->cost_short++;
}

SEC("tc")
int vb_ingress(struct __sk_buff *skb)
{
	struct vb_counts *c;
	__u32 zero = 0;
	__u64 now = 0;

	c = bpf_map_lookup_elem(&vb_counters, &zero);
	if (!c)
		return VB_PASS;
	/* cost_ns is a constant to the verifier: with 0 the spin is dead
	 * code, removed at load. */
	if (vb_count(skb, c, &now) && cost_ns)
		vb_spin(c, now);
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
