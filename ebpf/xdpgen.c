// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//go:build ignore

/*
 * Two XDP programs for the `xdp` traffic generator.
 *
 * vb_xdp_gen is run with BPF_PROG_RUN and BPF_F_TEST_XDP_LIVE_FRAMES (the
 * way xdp-trafficgen works): the kernel runs it over copies of one frame
 * held in a page pool, and every frame it returns XDP_REDIRECT for is
 * transmitted through ndo_xdp_xmit of the device bpf_redirect named. Per
 * frame it writes the flow's next sequence number and the send time into
 * the vethbench header and, if the frame carries a UDP checksum (IPv6
 * always, IPv4 frames built by vethbench never), updates it
 * incrementally. The kernel recycles the pages of one BPF_PROG_RUN call
 * without restoring their contents, so a frame may hold the stamp of an
 * earlier round: the update starts from the bytes present, never from an
 * assumed template.
 *
 * Its state is plain globals (.bss), not maps: every instance is run by
 * one thread at a time (each sending thread loads its own), and one call
 * sends one flow's frame, so the Go side sets the flow's next sequence
 * number before a call and reads it back after, through the mapped
 * section, without a system call. A global costs no helper call and no
 * lookup. What a frame costs is then mostly bpf_ktime_get_ns (some 35 ns
 * on the project's VM, with retpolines, about a fifth of what the whole
 * path costs per frame): stamp_every lets the clock be read once per
 * batch instead, see vb_gen_now.
 *
 * vb_xdp_sink is attached to a receiving device: it counts and drops
 * vethbench frames to sink_port and passes everything else. It is the
 * cheapest possible receiver, for measuring a generator's own ceiling.
 *
 * Both read the headers at fixed offsets: IPv4 without options or IPv6
 * with UDP right after the fixed header, as vethbench's generators build
 * them (vb_packet.h describes the payload).
 */

#include "vb_types.h"
#include "bpf_helpers.h"
#include "bpf_endian.h"
#include "vb_packet.h"

char __license[] SEC("license") = "Dual BSD/GPL";

/* linux/bpf.h: the XDP context and verdicts (stable ABI). */
struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

enum xdp_action {
	XDP_ABORTED = 0,
	XDP_DROP,
	XDP_PASS,
	XDP_TX,
	XDP_REDIRECT,
};

/* Set at load time. */
volatile const __u32 ifindex = 0;	/* device the generated frames leave through */
volatile const __u16 sink_port = 0;	/* UDP destination port vb_xdp_sink drops */

struct vb_gen_counts {
	__u64 frames;	/* stamped and redirected */
	__u64 bytes;	/* their length, Ethernet header included */
	__u64 bad;	/* not a vethbench frame: dropped */
};

/* vb_xdp_gen's state, one instance's, set and read by the Go side
 * between calls (see the top of the file). */
__u64 next_seq;		/* the sequence number the call's next frame gets */
__u32 stamp_every;	/* frames per clock read: 1, or the call's batch */
__u32 stamp_left;	/* frames the current stamp still serves; set to 0 before a call */
__u64 stamp;		/* the current send time */
__u64 spread_max;	/* the longest a stamp served: its read to its batch's last frame, ns */
__u64 spread_sum;	/* the time every stamp measured served, ns */
__u64 spread_n;		/* the stamps measured */
struct vb_gen_counts gen_counts;

struct vb_sink_counts {
	__u64 packets;	/* vethbench frames to sink_port, dropped */
	__u64 bytes;
	__u64 passed;	/* everything else, passed on */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vb_sink_counts);
} vb_sink_counters SEC(".maps");

/* vb_xdp_udp returns the UDP header of an IPv4 (no options, first
 * fragment) or IPv6 (UDP next) frame whose first VB_PAYLOAD_MIN payload
 * bytes are in the frame, or NULL. */
static __always_inline struct vb_udp_head *vb_xdp_udp(void *data, void *end)
{
	__u16 proto;

	if (data + ETH_HLEN > end)
		return NULL;
	proto = *(__u16 *)(data + 12);
	if (proto == bpf_htons(ETH_P_IP)) {
		struct vb_v4_head *h = data + ETH_HLEN;

		if ((void *)(h + 1) > end)
			return NULL;
		if (h->ip.ver_ihl != 0x45 || h->ip.protocol != IPPROTO_UDP)
			return NULL;
		if (h->ip.frag_off & bpf_htons(IP_OFFSET))
			return NULL;
		return &h->l4;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct vb_v6_head *h = data + ETH_HLEN;

		if ((void *)(h + 1) > end)
			return NULL;
		if ((h->ip6.vtc_flow[0] >> 4) != 6 || h->ip6.nexthdr != IPPROTO_UDP)
			return NULL;
		return &h->l4;
	}
	return NULL;
}

/* vb_fold folds a one's complement sum of at most 2^35 into 16 bits. */
static __always_inline __u16 vb_fold(__u64 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s;
}

/*
 * vb_gen_now returns the send time to stamp: the clock read for this frame
 * when stamp_every is 1 (or 0), else the one read at the first frame of
 * its batch. The Go side sets stamp_left to 0 before each call and
 * stamp_every to the size of the call's batches (the batch asked for, or
 * the whole call if shorter), and the kernel runs a call's frames in such
 * batches from its start, so the reads fall on the batches' first frames;
 * whatever happens to a call (a short batch when a page is missing, a
 * restart after a signal), no stamp serves more than stamp_every frames.
 *
 * At a batch's last frame it reads the clock once more: the time the
 * stamp served, how much earlier than that frame it was and so how much
 * the coarser stamps add to its one-way latency (less to the frames
 * before it). spread_max keeps the longest, spread_sum and spread_n their
 * mean. A short last batch, unmeasured, serves less than a full one.
 */
static __always_inline __u64 vb_gen_now(void)
{
	__u64 d;

	if (stamp_left <= 1) {
		stamp = bpf_ktime_get_ns();
		stamp_left = stamp_every;
		return stamp;
	}
	if (--stamp_left == 1) {
		d = bpf_ktime_get_ns() - stamp;
		if (d > spread_max)
			spread_max = d;
		spread_sum += d;
		spread_n++;
	}
	return stamp;
}

SEC("xdp")
int vb_xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct vb_udp_head *l4;
	__u64 seq, now;

	l4 = vb_xdp_udp(data, end);
	if (!l4 || (l4->magic & VB_MAGIC_MASK) != VB_MAGIC) {
		gen_counts.bad++;
		return XDP_DROP;
	}
	seq = next_seq++;
	now = vb_gen_now();

	if (l4->udp.check) {
		/*
		 * RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m'), m and m' the old
		 * and new 12 bytes of sequence and time, which sit at an even
		 * offset from the UDP header. 32-bit words add up to the
		 * same one's complement sum as their 16-bit halves, and a
		 * 32-bit ~ complements both halves. Everything is read in
		 * host (little-endian) order, the checksum field included:
		 * byte-swapping commutes with one's complement addition, so
		 * the result is right in network order.
		 */
		__u64 s = (__u16)~l4->udp.check;
		__u16 sum;

		/* Each term widened on its own: a sum of __u32s would wrap
		 * at 2^32 and lose the carry one's complement needs. */
		s += (__u64)(__u32)~l4->seq;
		s += (__u64)(__u32)~l4->ts_lo;
		s += (__u64)(__u32)~l4->ts_hi;
		s += (__u64)(__u32)seq;
		s += (__u64)(__u32)now;
		s += now >> 32;
		sum = ~vb_fold(s);
		/* A computed 0 is sent as 0xffff: 0 means "no checksum". */
		l4->udp.check = sum ? sum : 0xffff;
	}
	l4->seq = seq;
	l4->ts_lo = now;
	l4->ts_hi = now >> 32;

	/* One thread at a time runs an instance: plain increments do not race. */
	gen_counts.frames++;
	gen_counts.bytes += end - data;
	return bpf_redirect(ifindex, 0);
}

SEC("xdp")
int vb_xdp_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct vb_sink_counts *c;
	struct vb_udp_head *l4;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&vb_sink_counters, &zero);
	if (!c)
		return XDP_PASS;
	l4 = vb_xdp_udp(data, end);
	if (!l4 || !vb_udp_ours(l4, sink_port)) {
		c->passed++;
		return XDP_PASS;
	}
	c->packets++;
	c->bytes += end - data;
	return XDP_DROP;
}
