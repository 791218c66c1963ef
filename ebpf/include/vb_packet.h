/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * vb_packet.h: what a vethbench packet looks like, shared by counter.c (at
 * a device's ingress) and drops.c (at skb:kfree_skb), so both recognise
 * exactly the same packets.
 *
 * A vethbench packet is a UDP datagram, over IPv4 (first fragment, any
 * header length) or IPv6 (UDP right after the fixed header), to the run's
 * destination port, whose payload (written by the generator) starts with:
 *   0..3   magic 'V' 'B' 'P' '1'
 *   4..7   sequence number, u32 little-endian
 *   8..15  send time, u64 little-endian, CLOCK_MONOTONIC ns (= bpf_ktime_get_ns)
 */
#ifndef __VB_PACKET_H
#define __VB_PACKET_H

#include "vb_types.h"
#include "bpf_helpers.h"
#include "bpf_endian.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vethbench's BPF programs read the little-endian payload fields natively: build with -target bpfel"
#endif

#define VB_MAGIC	0x31504256	/* "VBP1" read as a little-endian u32 */
#define VB_PAYLOAD_MIN	16

/* The UDP header and the first VB_PAYLOAD_MIN bytes of its payload. The
 * timestamp is split in two u32 so that every field is naturally aligned
 * (the verifier wants aligned stack access). */
struct vb_udp_head {
	struct udphdr udp;
	__u32 magic;
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

/* vb_udp_ours tells whether a UDP header and the payload after it are
 * vethbench's, sent to port (host byte order). */
static __always_inline int vb_udp_ours(const struct vb_udp_head *l4, __u16 port)
{
	if (l4->udp.dest != bpf_htons(port))
		return 0;
	/* The UDP length, not the frame length: a frame may be padded. */
	if (bpf_ntohs(l4->udp.len) < sizeof(struct udphdr) + VB_PAYLOAD_MIN)
		return 0;
	return l4->magic == VB_MAGIC;
}

#endif /* __VB_PACKET_H */
