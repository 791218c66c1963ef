/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause */
/*
 * vb_types.h: the little of the kernel's UAPI that counter.c and drops.c
 * need, written out so that the build never reads the host's /usr/include.
 * See update.sh.
 *
 * struct __sk_buff is copied from linux-libc-dev 6.1.192-2,
 * /usr/include/linux/bpf.h; it is part of the stable BPF ABI (fields are only
 * ever appended), and counter.c reads only len, protocol and gso_segs (5.1+).
 */
#ifndef __VB_TYPES_H
#define __VB_TYPES_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;

typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;
typedef __u16 __le16;
typedef __u32 __le32;
typedef __u64 __le64;
typedef __u16 __sum16;
typedef __u32 __wsum;

/* linux/bpf.h */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_ARRAY_OF_MAPS = 12,
};

/* linux/bpf.h: map_flags */
#define BPF_F_MMAPABLE	(1U << 10)

#define __bpf_md_ptr(type, name)	\
union {					\
	type name;			\
	__u64 :64;			\
} __attribute__((aligned(8)))

struct bpf_flow_keys;
struct bpf_sock;

struct __sk_buff {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 queue_mapping;
	__u32 protocol;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 vlan_proto;
	__u32 priority;
	__u32 ingress_ifindex;
	__u32 ifindex;
	__u32 tc_index;
	__u32 cb[5];
	__u32 hash;
	__u32 tc_classid;
	__u32 data;
	__u32 data_end;
	__u32 napi_id;

	/* Accessed by BPF_PROG_TYPE_sk_skb types from here to ... */
	__u32 family;
	__u32 remote_ip4;	/* Stored in network byte order */
	__u32 local_ip4;	/* Stored in network byte order */
	__u32 remote_ip6[4];	/* Stored in network byte order */
	__u32 local_ip6[4];	/* Stored in network byte order */
	__u32 remote_port;	/* Stored in network byte order */
	__u32 local_port;	/* stored in host byte order */
	/* ... here. */

	__u32 data_meta;
	__bpf_md_ptr(struct bpf_flow_keys *, flow_keys);
	__u64 tstamp;
	__u32 wire_len;
	__u32 gso_segs;
	__bpf_md_ptr(struct bpf_sock *, sk);
	__u32 gso_size;
	__u8  tstamp_type;
	__u32 :24;		/* Padding, future use. */
	__u64 hwtstamp;
};

/* linux/pkt_cls.h: "no verdict, go on"; TCX_NEXT (linux/bpf.h, 6.6+) has the same value. */
#define TC_ACT_UNSPEC	(-1)
#define TCX_NEXT	(-1)

/* linux/if_ether.h, linux/in.h, net/ip.h */
#define ETH_HLEN	14
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define IPPROTO_UDP	17
#define IP_OFFSET	0x1FFF

/* linux/ip.h, without bitfields: version and IHL share the first byte. */
struct iphdr {
	__u8	ver_ihl;
	__u8	tos;
	__be16	tot_len;
	__be16	id;
	__be16	frag_off;
	__u8	ttl;
	__u8	protocol;
	__sum16	check;
	__be32	saddr;
	__be32	daddr;
};

/* linux/ipv6.h */
struct ipv6hdr {
	__u8	vtc_flow[4];	/* version, traffic class, flow label */
	__be16	payload_len;
	__u8	nexthdr;
	__u8	hop_limit;
	__u8	saddr[16];
	__u8	daddr[16];
};

/* linux/udp.h */
struct udphdr {
	__be16	source;
	__be16	dest;
	__be16	len;
	__sum16	check;
};

#endif /* __VB_TYPES_H */
