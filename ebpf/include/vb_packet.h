/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * vb_packet.h: what a vethbench packet looks like, shared by counter.c (at
 * a device's ingress) and drops.c (at skb:kfree_skb), so both recognise
 * exactly the same packets.
 *
 * Both programs run in one of two modes, chosen at load time by the
 * read-only global proto (VB_PROTO_UDP or VB_PROTO_TCP, the IP protocol
 * numbers):
 *
 * UDP: a vethbench packet is a UDP datagram, over IPv4 (first fragment,
 * any header length) or IPv6 (UDP right after the fixed header), to the
 * run's destination port, whose payload (written by the generator) starts
 * with:
 *   0..2   magic 'V' 'B' 'P'
 *   3      window tag: the runner's measurement window it was sent in
 *   4..7   sequence number, u32 little-endian, per flow and tag
 *   8..15  send time, u64 little-endian, CLOCK_MONOTONIC ns (= bpf_ktime_get_ns)
 * A UDP GSO skb (UDP_SEGMENT) carries many such datagrams behind one UDP
 * header; only the first one's payload header is where a parser looks.
 *
 * TCP: a byte stream has no per-packet header, so a vethbench segment is
 * any TCP segment, over IPv4 (first fragment, any header length) or IPv6
 * (TCP right after the fixed header), to the run's port (the server's); the
 * drop counter also takes segments from that port (the server's answers
 * and ACKs). The port alone tells vethbench's traffic from the host's.
 */
#ifndef __VB_PACKET_H
#define __VB_PACKET_H

#include "vb_types.h"
#include "bpf_helpers.h"
#include "bpf_endian.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vethbench's BPF programs read the little-endian payload fields natively: build with -target bpfel"
#endif

/* The values of the programs' proto global: IP protocol numbers. */
#define VB_PROTO_TCP	6
#define VB_PROTO_UDP	17

#ifndef IPPROTO_TCP
#define IPPROTO_TCP	6	/* linux/in.h; vb_types.h has IPPROTO_UDP */
#endif

#define VB_MAGIC	0x00504256	/* "VBP" and the tag, read as a little-endian u32, tag masked off */
#define VB_MAGIC_MASK	0x00ffffff
#define VB_TAG(magic)	((magic) >> 24)	/* the window tag of a vb_udp_head's magic */

/*
 * Windows: the runner tags every measurement window and gives each tag a
 * slot, tag % VB_TAG_SLOTS, in a program's tag map by writing VB_TAG_SET |
 * tag there before the first datagram carrying it is sent (0: a slot never
 * given, which takes every tag). counter.c counts a window's datagrams in
 * its slot, drops.c its drops.
 */
#define VB_TAG_SLOTS	4
#define VB_TAG_SET	0x100
#define VB_PAYLOAD_MIN	16

/* The UDP header and the first VB_PAYLOAD_MIN bytes of its payload. The
 * timestamp is split in two u32 so that every field is naturally aligned
 * (the verifier wants aligned stack access). */
struct vb_udp_head {
	struct udphdr udp;
	__u32 magic;	/* "VBP" and the window tag: see VB_MAGIC, VB_TAG */
	__u32 seq;
	__u32 ts_lo;
	__u32 ts_hi;
};

struct vb_v4_head {
	struct iphdr ip;		/* without options */
	struct vb_udp_head l4;
};

struct vb_v6_head {
	struct ipv6hdr ip6;
	struct vb_udp_head l4;
};

/* linux/tcp.h, without bitfields: the data offset (header length in
 * words) is the high nibble of byte 12. */
struct vb_tcphdr {
	__be16	source;
	__be16	dest;
	__be32	seq;
	__be32	ack_seq;
	__u8	doff_res;
	__u8	flags;
	__be16	window;
	__sum16	check;
	__sum16	urg_ptr;
};

#define VB_TCP_DOFF(th)	((th)->doff_res >> 4)

struct vb_v4_tcp_head {
	struct iphdr ip;		/* without options */
	struct vb_tcphdr tcp;
};

struct vb_v6_tcp_head {
	struct ipv6hdr ip6;
	struct vb_tcphdr tcp;
};

/* vb_udp_to tells whether a UDP header is to port (host byte order) and
 * long enough to hold vethbench's payload header. */
static __always_inline int vb_udp_to(const struct udphdr *udp, __u16 port)
{
	if (udp->dest != bpf_htons(port))
		return 0;
	/* The UDP length, not the frame length: a frame may be padded. */
	return bpf_ntohs(udp->len) >= sizeof(struct udphdr) + VB_PAYLOAD_MIN;
}

/* vb_udp_ours tells whether a UDP header and the payload after it are
 * vethbench's, sent to port (host byte order). */
static __always_inline int vb_udp_ours(const struct vb_udp_head *l4, __u16 port)
{
	return vb_udp_to(&l4->udp, port) && (l4->magic & VB_MAGIC_MASK) == VB_MAGIC;
}

/*
 * vb_skb_udp loads the UDP header and the vethbench payload head of an skb
 * at a tc hook (its data starts at the Ethernet header) into l4: 1 for an
 * IPv4 or IPv6 UDP datagram that is not a later fragment, with the UDP
 * header's offset in *l4_off and the IP packet's length in *ip_len (0 when
 * the header does not say, as for a GSO skb); 0 for anything else. One
 * load covers the common case, an IPv4 header without options. Whether the
 * datagram is vethbench's is the caller's check (vb_udp_ours). counter.c's
 * vb_ingress and stages.c's vb_stage_ingress parse with it.
 */
static __always_inline int vb_skb_udp(struct __sk_buff *skb, struct vb_udp_head *l4, __u32 *l4_off, __u32 *ip_len)
{
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct vb_v4_head h;
		__u32 ihl;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &h, sizeof(h)) < 0)
			return 0;
		if ((h.ip.ver_ihl >> 4) != 4 || h.ip.protocol != IPPROTO_UDP)
			return 0;
		if (h.ip.frag_off & bpf_htons(IP_OFFSET))
			return 0;	/* a later fragment: no UDP header */
		ihl = h.ip.ver_ihl & 0xf;
		if (ihl < 5)
			return 0;
		*l4_off = ETH_HLEN + ihl * 4;
		if (ihl == 5)
			*l4 = h.l4;
		else if (bpf_skb_load_bytes(skb, *l4_off, l4, sizeof(*l4)) < 0)
			return 0;
		*ip_len = bpf_ntohs(h.ip.tot_len);
		return 1;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct vb_v6_head h;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &h, sizeof(h)) < 0)
			return 0;
		if ((h.ip6.vtc_flow[0] >> 4) != 6 || h.ip6.nexthdr != IPPROTO_UDP)
			return 0;
		*l4 = h.l4;
		*l4_off = ETH_HLEN + sizeof(h.ip6);
		*ip_len = bpf_ntohs(h.ip6.payload_len);
		if (*ip_len)
			*ip_len += sizeof(h.ip6);
		return 1;
	}
	return 0;
}

#endif /* __VB_PACKET_H */
