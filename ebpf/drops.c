// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//go:build ignore

/*
 * vb_drop counts the vethbench packets the kernel drops, per drop reason. It
 * runs on the skb:kfree_skb tracepoint, which fires when the last reference
 * to an skb is dropped with a reason (enum skb_drop_reason); freeing a
 * packet that was used (consume_skb) fires skb:consume_skb instead, which
 * is not watched. vb_drop is the tp_btf program (BTF-typed arguments, plain
 * loads from the skb); vb_drop_raw is the same logic as a raw tracepoint,
 * reading the skb with bpf_probe_read_kernel, for kernels that cannot
 * attach tp_btf. Both need the kernel's BTF for the CO-RE relocations of
 * the sk_buff fields (vb_kernel.h).
 *
 * The tracepoint is global: it sees drops in every namespace. Only packets
 * that vb_packet.h calls vethbench's, to this object's dst_port (in TCP
 * mode: to or from it), are counted, so concurrent runs with different
 * ports do not see each other's drops. A GSO or GRO skb counts the
 * datagrams or segments it carries.
 *
 * UDP drops are also counted by the window tag in the datagram's payload
 * (vb_packet.h), as counter.c counts the datagrams that arrive, so that a
 * window's accounting closes however late its datagrams are dropped.
 */

#include "vb_types.h"
#include "bpf_helpers.h"
#include "bpf_endian.h"
#include "bpf_core_read.h"
#include "vb_kernel.h"
#include "vb_packet.h"

char __license[] SEC("license") = "Dual BSD/GPL";

/*
 * One counter per drop reason. enum skb_drop_reason has 128 values in 6.18;
 * reasons of subsystems (values with bits in SKB_DROP_REASON_SUBSYS_MASK)
 * and any value of VB_DROP_SLOTS-1 or more share the last slot. Mirrored by
 * dropSlots in drops.go.
 */
#define VB_DROP_SLOTS	512	/* a power of two: see vb_count */

/* A header offset that was never set: (u16)~0 (and 0, as __alloc_skb
 * leaves network_header, which is never a real one: there is headroom). */
#define VB_HDR_UNSET	0xffff

/* Destination port of vethbench traffic, set at load time. */
volatile const __u16 dst_port = 0;

/* What vethbench traffic is, set at load time: VB_PROTO_UDP (vethbench's
 * datagrams to dst_port) or VB_PROTO_TCP (TCP segments to or from
 * dst_port: the data and the ACKs). */
volatile const __u8 proto = VB_PROTO_UDP;

/* An end offset that is not known: past any tail. */
#define VB_END_UNKNOWN	0xffffffff

struct vb_drop_counts {
	__u64 reasons[VB_DROP_SLOTS];
};

/*
 * vb_drops' entries: VB_DROPS_ALL counts every drop; VB_DROPS_WINDOW + slot
 * the drops of the datagrams carrying the tag vb_drop_tags[slot] names (a
 * slot never given takes every tag), as counter.c's vb_tags; and
 * VB_DROPS_UNTAGGED the other UDP drops: datagrams whose tag is out of
 * reach (a paged payload: UDP GSO) or whose slot went to a later tag.
 * TCP drops are in VB_DROPS_ALL only.
 */
#define VB_DROPS_ALL		0
#define VB_DROPS_UNTAGGED	1
#define VB_DROPS_WINDOW		2
#define VB_DROPS_ENTRIES	(VB_DROPS_WINDOW + VB_TAG_SLOTS)

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VB_DROPS_ENTRIES);
	__type(key, __u32);
	__type(value, struct vb_drop_counts);
} vb_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VB_TAG_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} vb_drop_tags SEC(".maps");

/* The fields of the dropped skb that the parser needs. */
struct vb_skb {
	const unsigned char *head;
	const unsigned char *data;
	__u32 len;		/* linear and paged data */
	__u32 tail;		/* offsets from head */
	__u32 end;
	__be16 protocol;
	__u16 network_header;
	__u16 mac_header;
};

/* tp_btf: skb is a BTF-typed pointer; the verifier turns these loads into
 * fault-safe PROBE_MEM loads, far cheaper than a helper call each. */
static __always_inline void vb_skb_btf(struct sk_buff *skb, struct vb_skb *s)
{
	s->head = skb->head;
	s->data = skb->data;
	s->len = skb->len;
	s->tail = skb->tail;
	s->end = skb->end;
	s->protocol = skb->protocol;
	s->network_header = skb->network_header;
	s->mac_header = skb->mac_header;
}

/* raw_tp: skb is a plain number; every field takes a bpf_probe_read_kernel. */
static __always_inline void vb_skb_probe(struct sk_buff *skb, struct vb_skb *s)
{
	BPF_CORE_READ_INTO(&s->head, skb, head);
	BPF_CORE_READ_INTO(&s->data, skb, data);
	BPF_CORE_READ_INTO(&s->len, skb, len);
	BPF_CORE_READ_INTO(&s->tail, skb, tail);
	BPF_CORE_READ_INTO(&s->end, skb, end);
	BPF_CORE_READ_INTO(&s->protocol, skb, protocol);
	BPF_CORE_READ_INTO(&s->network_header, skb, network_header);
	BPF_CORE_READ_INTO(&s->mac_header, skb, mac_header);
}

#define VB_NO		0	/* an IP header, and not a vethbench packet */
#define VB_YES		1	/* a vethbench packet */
#define VB_NOT_IP	2	/* no IP header of skb->protocol's family here */

/*
 * vb_match_at looks for an IPv4 or IPv6 header at head + off. Every header
 * byte it uses must lie in the linear data (before tail). A vethbench
 * datagram's headers and first 16 payload bytes always do, except in a UDP
 * GSO skb and the datagrams segmented from it, whose payload sits in page
 * fragments, out of reach of a tracing program: a UDP datagram whose
 * payload header is not in the linear data, in an skb that has paged data,
 * is taken on its port and length alone. In TCP mode only the ports are
 * needed. On a match, *end is the offset from head where the UDP datagram
 * (UDP) or the IP packet (TCP) ends, VB_END_UNKNOWN if the IP header does
 * not say, and *tag is VB_TAG_SET | the datagram's window tag where its
 * payload header was read, else left alone.
 */
static __always_inline int vb_match_at(const struct vb_skb *s, __u32 off, __u32 *end, __u32 *tag)
{
	union {
		__u8 ver_ihl;
		struct vb_v4_head v4;
		struct vb_v6_head v6;
	} h;
	struct vb_udp_head l4;	/* TCP: only the ports, at the same place */
	__u32 ihl, l4_off, ip_len, l4_min;
	__u8 want;

	if (proto == VB_PROTO_TCP) {
		want = IPPROTO_TCP;
		l4_min = 4;	/* the ports */
	} else {
		want = IPPROTO_UDP;
		l4_min = sizeof(struct udphdr);
	}
	if (off >= s->tail)
		return VB_NOT_IP;
	/* The buffer always extends past tail (skb_shared_info follows
	 * end), so reading the larger IPv6 size is safe for IPv4 too; the
	 * bounds below decide what may be used. */
	if (bpf_probe_read_kernel(&h, sizeof(h), s->head + off) < 0)
		return VB_NOT_IP;

	switch (h.ver_ihl >> 4) {
	case 4:
		if (s->protocol && s->protocol != bpf_htons(ETH_P_IP))
			return VB_NOT_IP;
		ihl = h.v4.ip.ver_ihl & 0xf;
		if (ihl < 5)
			return VB_NOT_IP;
		if (h.v4.ip.protocol != want)
			return VB_NO;
		if (h.v4.ip.frag_off & bpf_htons(IP_OFFSET))
			return VB_NO;	/* a later fragment: no L4 header */
		l4_off = off + ihl * 4;
		if (l4_off + l4_min > s->tail)
			return VB_NO;
		if (ihl == 5)
			l4 = h.v4.l4;
		else if (bpf_probe_read_kernel(&l4, sizeof(l4), s->head + l4_off) < 0)
			return VB_NO;
		ip_len = bpf_ntohs(h.v4.ip.tot_len);
		break;
	case 6:
		if (s->protocol && s->protocol != bpf_htons(ETH_P_IPV6))
			return VB_NOT_IP;
		if (h.v6.ip6.nexthdr != want)
			return VB_NO;
		l4_off = off + sizeof(h.v6.ip6);
		if (l4_off + l4_min > s->tail)
			return VB_NO;
		l4 = h.v6.l4;
		ip_len = bpf_ntohs(h.v6.ip6.payload_len);
		if (ip_len)
			ip_len += sizeof(h.v6.ip6);
		break;
	default:
		return VB_NOT_IP;
	}

	if (proto == VB_PROTO_TCP) {
		if (l4.udp.source != bpf_htons(dst_port) && l4.udp.dest != bpf_htons(dst_port))
			return VB_NO;
		/* A BIG TCP aggregate (over 64 KiB) has an IP length of 0. */
		*end = ip_len ? off + ip_len : VB_END_UNKNOWN;
		return VB_YES;
	}
	if (l4_off + sizeof(l4) <= s->tail) {
		if (!vb_udp_ours(&l4, dst_port))
			return VB_NO;
		*tag = VB_TAG_SET | VB_TAG(l4.magic);
	} else if (s->len <= s->tail - (__u32)(s->data - s->head)) {
		return VB_NO;	/* all linear: the datagram is cut short */
	} else if (!vb_udp_to(&l4.udp, dst_port)) {
		return VB_NO;	/* the payload header is paged (GSO): port and length only */
	}
	*end = l4_off + bpf_ntohs(l4.udp.len);
	return VB_YES;
}

/*
 * vb_ours tells whether the dropped skb is a vethbench packet. Where the IP
 * header is depends on where the packet was dropped:
 *  - network_header, when it is set and differs from mac_header: the
 *    normal case on both the transmit and the receive path. It is trusted:
 *    if it holds an IP header that is not ours, the answer is no.
 *  - mac_header + ETH_HLEN, when network_header is unset (an skb built
 *    from an XDP frame or by a driver, dropped before the receive path
 *    resets it) or equals mac_header (both reset at the frame's start).
 *    Every device vethbench measures is Ethernet; a VLAN tag makes
 *    skb->protocol 802.1Q, which is not looked into.
 *  - data, as a last resort (on a device without a link-layer header, such
 *    as tun, mac_header == network_header is the IP header; or nothing
 *    was set yet).
 * A match needs the protocol, the port and (UDP, unless the payload is
 * paged) the 4-byte magic at the right places, so trying a wrong offset
 * costs a read but hardly ever counts a stranger.
 */
static __always_inline int vb_ours(const struct vb_skb *s, __u32 *end, __u32 *tag)
{
	__u32 nh = s->network_header, mh = s->mac_header;
	__u64 data_off = s->data - s->head;
	__u32 first;
	int trusted = 0, r;

	if (s->protocol && s->protocol != bpf_htons(ETH_P_IP) && s->protocol != bpf_htons(ETH_P_IPV6))
		return 0;	/* ARP, LLDP...: not even IP */

	if (nh != 0 && nh != VB_HDR_UNSET && nh != mh) {
		first = nh;
		trusted = 1;
	} else if (mh != VB_HDR_UNSET) {
		first = mh + ETH_HLEN;
	} else {
		first = data_off;
	}
	if (first <= VB_HDR_UNSET) {
		r = vb_match_at(s, first, end, tag);
		if (r == VB_YES)
			return 1;
		if (r == VB_NO && trusted)
			return 0;
	}
	if (data_off != first && data_off <= VB_HDR_UNSET)
		return vb_match_at(s, data_off, end, tag) == VB_YES;
	return 0;
}

/*
 * vb_segments is the number of datagrams or segments in a matched skb
 * whose UDP datagram or IP packet ends at end: one, unless the skb is a GSO
 * (UDP_SEGMENT, TSO) or GRO skb, which carries gso_segs of them, all
 * dropped with it. Such an skb has data beyond its linear part; a plain
 * vethbench datagram or a TCP ACK is all linear, and costs no look at
 * skb_shared_info.
 */
static __always_inline __u32 vb_segments(const struct vb_skb *s, __u32 end)
{
	struct skb_shared_info *si;
	__u16 size = 0, segs = 0;

	if (end <= s->tail)
		return 1;
	si = (void *)(s->head + s->end);
	if (BPF_CORE_READ_INTO(&size, si, gso_size) < 0 || size == 0)
		return 1;
	if (BPF_CORE_READ_INTO(&segs, si, gso_segs) < 0 || segs == 0)
		return 1;
	return segs;
}

static __always_inline void vb_count(const struct vb_skb *s, __u32 reason)
{
	struct vb_drop_counts *c;
	__u32 zero = 0, end = 0, tag = 0, segs, slot, entry, tslot, *owner;

	if (!vb_ours(s, &end, &tag))
		return;
	segs = vb_segments(s, end);
	c = bpf_map_lookup_elem(&vb_drops, &zero);
	if (!c)
		return;
	slot = reason < VB_DROP_SLOTS - 1 ? reason : VB_DROP_SLOTS - 1;
	/* The mask changes nothing (slot < VB_DROP_SLOTS, a power of two)
	 * but is a bound the verifier sees on the very register used to
	 * index, whatever clang does with the comparison above. */
	barrier_var(slot);
	slot &= VB_DROP_SLOTS - 1;
	/*
	 * Per-CPU, and the kernel does not run a program again on a CPU
	 * where it is already running (it counts a recursion miss instead),
	 * so a plain add does not race.
	 */
	c->reasons[slot] += segs;

	if (proto == VB_PROTO_TCP)
		return;	/* a stream has no tags */
	entry = VB_DROPS_UNTAGGED;
	if (tag) {
		tslot = tag & (VB_TAG_SLOTS - 1);
		owner = bpf_map_lookup_elem(&vb_drop_tags, &tslot);
		if (owner && (!*owner || *owner == tag))
			entry = VB_DROPS_WINDOW + tslot;
	}
	c = bpf_map_lookup_elem(&vb_drops, &entry);
	if (c)
		c->reasons[slot] += segs;
}

/* kfree_skb(struct sk_buff *skb, void *location, enum skb_drop_reason reason,
 * struct sock *rx_sk): the reason is there since 5.17, rx_sk since 6.11. */
SEC("tp_btf/kfree_skb")
int vb_drop(__u64 *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	struct vb_skb s = {};

	vb_skb_btf(skb, &s);
	vb_count(&s, ctx[2]);
	return 0;
}

SEC("raw_tp/kfree_skb")
int vb_drop_raw(__u64 *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	struct vb_skb s = {};

	vb_skb_probe(skb, &s);
	vb_count(&s, ctx[2]);
	return 0;
}
