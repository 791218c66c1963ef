// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//go:build ignore

/*
 * Stage stamps: where the time of a vethbench UDP datagram's one-way trip
 * goes. Each datagram is stamped at every boundary of its path that its
 * case has (attached, see below), the first time it is seen there, and the
 * time since its previous boundary is counted in the histogram of the
 * stage that ends there, so that a datagram's stages add up to its
 * send->read time:
 *
 *   0 send     the send time the generator wrote into the payload
 *   1 queue    tp_btf/net_dev_queue: dev_queue_xmit, before the sender
 *              device's qdisc                      (vb_stage_queue)
 *   2 xmit     tp_btf/net_dev_start_xmit: the driver takes the skb, after
 *              the qdisc                           (vb_stage_xmit)
 *   3 ingress  the receiving device's ingress (TCX or cls_bpf, next to
 *              counter.c's vb_ingress)             (vb_stage_ingress)
 *   4 read     tp_btf/consume_skb: the receiving socket's recvmsg frees
 *              the skb it copied (UDP: skb_consume_udp ->
 *              __consume_stateless_skb), where it does (vb_stage_read)
 *
 * Stage s runs from boundary s to boundary s+1: 0 sender stack, 1 qdisc,
 * 2 device hop, 3 socket; VB_ST_TOTAL is the whole trip timed, send -> the
 * case's last boundary (read, or ingress where read is left out). A
 * datagram that reaches a boundary without having passed the one before
 * (not the case's, or not on its path) counts the time since the last
 * boundary it did pass in the stage ending here, which is then "merged"
 * for it.
 *
 * One set of these programs serves every case of the process (stages.go
 * loads the tracing ones once, whoever needs them first): a tracepoint
 * sees every packet of the machine, and a copy per case would run N times
 * per packet with N cases alive. A case is its destination port:
 * vb_stage_cases, indexed by port, holds the case's config (its index,
 * and which boundaries it has), filled from Go; a datagram to a port
 * without one is not ours. A boundary attached for another case but
 * absent from this one's config is ignored for its datagrams, exactly as
 * if it were not attached: its stage merges into the next. Each case's histograms and counts are
 * maps of its own, created in Go and put at its index in vb_stage_hists
 * and vb_stage_cnt (arrays of maps), so that a case reads and frees its
 * own and the programs need no fixed per-case array sized for the worst
 * sweep.
 *
 * Per-datagram state lives in vb_stage_slots, one array for all cases,
 * indexed by a hash of (UDP destination port, source port, sequence
 * number); the slot names its datagram by those and its send time, since
 * sequences start again at 0 in every window and two cases may send from
 * the same source port (their own namespaces). A slot that holds another
 * datagram is taken over: the datagram starts over from its send time, and
 * if the other datagram had not reached its case's last boundary,
 * "evicted" counts it, to that datagram's case.
 * Starting over at a boundary after the first one present is "restarted":
 * either the datagram did not pass the earlier ones (traffic injected with
 * XDP passes no queue or xmit) or another datagram took its slot (then its
 * earlier stages count twice). A datagram's boundaries happen one after
 * another, so its slot needs no lock; two datagrams on one slot at once is
 * the eviction case, counted.
 */

#include "vb_types.h"
#include "bpf_helpers.h"
#include "bpf_endian.h"
#include "bpf_core_read.h"
#include "vb_kernel.h"
#include "vb_packet.h"
#include "vb_latency.h"

char __license[] SEC("license") = "Dual BSD/GPL";

/* The latency histogram's layout and vb_bucket_of, counter.c's:
 * vb_latency.h; vb_stage_bucket_probe lets a test check them against the Go
 * mirror here too. */

/* Boundaries, in path order; mirrored by Boundary in stages.go. */
#define VB_B_SEND	0
#define VB_B_QUEUE	1
#define VB_B_XMIT	2
#define VB_B_INGRESS	3
#define VB_B_READ	4
#define VB_BOUNDARIES	5

/* Histogram entries: stage s (boundary s -> s+1), and the whole trip. */
#define VB_STAGES	4
#define VB_ST_TOTAL	VB_STAGES
#define VB_ST_ENTRIES	(VB_STAGES + 1)

/* Per-datagram slots: a power of two (the hash is masked). */
#define VB_STAGE_SLOTS	65536

#define VB_HDR_UNSET	0xffff

/* Cases alive at once: the size of the arrays of per-case maps; mirrored
 * by stageCases in stages.go. */
#define VB_STAGE_CASES	256

/*
 * The receiving device's case, set at load time for vb_stage_ingress only
 * (each case loads its own, attached to its own device): the ingress
 * boundary is one device, and another case's datagram crossing it (a
 * topology sharing a device) is not at its ingress. The tracing programs,
 * shared, find the case by the datagram's port instead.
 */
volatile const __u16 ingress_port = 0;

/* A case's config, vb_stage_cases' value; written by stages.go. */
struct vb_stage_case {
	__u32 index;		/* the case's slot in vb_stage_hists and vb_stage_cnt */
	__u8 first;		/* the first boundary present after send: a datagram
				 * whose slot is not its own there starts from its
				 * send time as a matter of course; anywhere later,
				 * that is a restart (see above) */
	__u8 last;		/* the last boundary present: where the whole trip,
				 * VB_ST_TOTAL, ends */
	__u8 present;		/* bit b: boundary b is present for the case */
	__u8 pad;
};

struct vb_slot {
	__u16 sport;		/* UDP source port, network order */
	__u16 dport;		/* UDP destination port, host order: the case */
	__u8 last;		/* last boundary stamped, 0: empty */
	__u8 done;		/* last is the case's last boundary */
	__u16 index;		/* the case's index, where an eviction counts */
	__u32 seq;
	__u32 pad;
	__u64 ts;		/* the datagram's send time: every flow's sequence
				 * starts again at 0 under a new window tag, so
				 * (ports, seq) alone name a datagram only within
				 * one window */
	__u64 stamp;		/* bpf_ktime_get_ns at the last boundary */
};

struct vb_stage_hist {
	__u64 count;		/* datagrams counted in this stage */
	__u64 sum;		/* sum of their times, ns */
	__u64 merged;		/* of count: started before this stage's first boundary */
	__u64 buckets[VB_LAT_BUCKETS];
};

struct vb_stage_counts {
	__u64 seen[VB_BOUNDARIES];	/* vethbench datagrams seen at each boundary, every sighting */
	__u64 late[VB_BOUNDARIES];	/* sightings at or before the datagram's last boundary: ignored */
	__u64 restarted;	/* no stamp of the datagram's after the first boundary: timed from its send time */
	__u64 evicted;		/* a slot taken from a datagram not yet read */
	__u64 bad_ts;		/* a zero or future send time, or a clock going back: not counted */
	__u64 gso;		/* GSO skbs (more than one datagram): skipped */
};

/* Mappable: where the kernel does not mark the read, the receiver reads a
 * datagram's slot from user space to time its socket stage (stages_read.go). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VB_STAGE_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct vb_slot);
} vb_stage_slots SEC(".maps");

/* Indexed by port: every UDP packet of the machine looks its port up here,
 * and an array lookup, which the verifier inlines, is cheaper than a hash
 * map's (BenchmarkStagesCost, quiet, one morning: a single case cost 11-12%
 * of the rate with a hash map, 6-9% with this array, 8-10% with the
 * per-case constant port before the programs were shared). A port without
 * a case has present == 0. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);	/* the case's destination port, host order */
	__type(value, struct vb_stage_case);
} vb_stage_cases SEC(".maps");

/* One case's histograms, stage s at s and the whole trip at VB_ST_TOTAL:
 * per-CPU, created by stages.go for each case from vb_stage_hists_inner,
 * a template never loaded itself. (A template of its own, not a struct
 * declared in the outer map: clang 14
 * emits the value type of a map only pointed to by another as a forward
 * declaration, without the size the loader needs.) */
struct vb_stage_hists_inner {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VB_ST_ENTRIES);
	__type(key, __u32);
	__type(value, struct vb_stage_hist);
} vb_stage_hists_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VB_STAGE_CASES);
	__type(key, __u32);
	__array(values, struct vb_stage_hists_inner);
} vb_stage_hists SEC(".maps");

/* One case's counts: per-CPU, created by stages.go for each
 * case from vb_stage_cnt_inner, a template never loaded itself. (A
 * template of its own, not a struct declared in the outer map: clang 14
 * emits the value type of a map only pointed to by another as a forward
 * declaration, without the size the loader needs.) */
struct vb_stage_cnt_inner {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vb_stage_counts);
} vb_stage_cnt_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VB_STAGE_CASES);
	__type(key, __u32);
	__array(values, struct vb_stage_cnt_inner);
} vb_stage_cnt SEC(".maps");

/* vb_case_counts returns case index's counts, NULL if it has none (closed). */
static __always_inline struct vb_stage_counts *vb_case_counts(__u32 index)
{
	__u32 zero = 0;
	void *inner;

	inner = bpf_map_lookup_elem(&vb_stage_cnt, &index);
	if (!inner)
		return NULL;
	return bpf_map_lookup_elem(inner, &zero);
}

/* What a boundary learns of a datagram. */
struct vb_dgram {
	__u64 ts;	/* send time from the payload */
	__u32 seq;
	__u16 sport;	/* network order */
	__u16 dport;	/* host order */
};

static __always_inline void vb_record(void *hists, __u32 entry, __u64 v, int merged)
{
	struct vb_stage_hist *h;
	__u64 b;

	h = bpf_map_lookup_elem(hists, &entry);
	if (!h)
		return;
	b = vb_bucket_of(v);
	/* As counter.c: keep the bound on the register used to index. */
	barrier_var(b);
	if (b >= VB_LAT_BUCKETS)
		b = VB_LAT_BUCKETS - 1;
	/* Per-CPU, and a program does not run again on a CPU where it runs
	 * (the tracing ones count a miss instead): plain adds do not race. */
	h->count++;
	h->sum += v;
	if (merged)
		h->merged++;
	h->buckets[b]++;
}

/* vb_present tells whether boundary is one of the case's: a sighting at a
 * boundary the case lacks is ignored, not even seen. */
static __always_inline int vb_present(const struct vb_stage_case *cfg, __u32 boundary)
{
	return boundary < VB_BOUNDARIES && (cfg->present & (1u << boundary));
}

/* vb_stamp stamps datagram d of case cfg at boundary (1..4). */
static __always_inline void vb_stamp(const struct vb_stage_case *cfg, const struct vb_dgram *d, __u32 boundary)
{
	struct vb_stage_counts *c;
	struct vb_slot *s;
	__u32 key, from, index = cfg->index;
	__u64 now, start;
	void *hists;

	if (!vb_present(cfg, boundary))
		return;
	c = vb_case_counts(index);
	hists = bpf_map_lookup_elem(&vb_stage_hists, &index);
	if (!c || !hists)
		return;
	c->seen[boundary]++;
	now = bpf_ktime_get_ns();
	if (d->ts == 0 || d->ts > now) {
		c->bad_ts++;
		return;
	}
	/* Sequence numbers run on per flow: consecutive ones take
	 * consecutive slots; the ports spread flows and cases apart, by the
	 * product's high half (its low half would depend on sport alone:
	 * cases sending from one source port would share slots). */
	key = (d->seq ^ (((((__u32)d->dport << 16) | d->sport) * 0x9e3779b1u) >> 16)) & (VB_STAGE_SLOTS - 1);
	s = bpf_map_lookup_elem(&vb_stage_slots, &key);
	if (!s)
		return;
	if (s->last && s->dport == d->dport && s->sport == d->sport && s->seq == d->seq && s->ts == d->ts) {
		if (s->last >= boundary) {
			c->late[boundary]++;	/* seen here or further already */
			return;
		}
		from = s->last;
		start = s->stamp;
	} else {
		if (s->last && !s->done) {
			/* Counted to the case that lost its datagram,
			 * while it is alive. */
			struct vb_stage_counts *v = vb_case_counts(s->index);

			if (v)
				v->evicted++;
		}
		if (boundary > cfg->first)
			c->restarted++;
		from = VB_B_SEND;
		start = d->ts;
	}
	if (now < start) {
		c->bad_ts++;
		return;
	}
	vb_record(hists, boundary - 1, now - start, from + 1 < boundary);
	if (boundary == cfg->last)
		vb_record(hists, VB_ST_TOTAL, now - d->ts, 0);
	s->sport = d->sport;
	s->dport = d->dport;
	s->seq = d->seq;
	s->ts = d->ts;
	s->stamp = now;
	s->last = boundary;
	s->done = boundary == cfg->last;
	s->index = index;
}

/* vb_count_gso counts a GSO skb to case cfg at boundary, if it has it. */
static __always_inline void vb_count_gso(const struct vb_stage_case *cfg, __u32 boundary)
{
	struct vb_stage_counts *c;

	if (!vb_present(cfg, boundary))
		return;
	c = vb_case_counts(cfg->index);
	if (c)
		c->gso++;
}

/*
 * vb_skb_dgram reads a vethbench datagram from a tracepoint's skb, at its
 * network header (set on the transmit path by the IP layer, on the receive
 * path by the IP receive): its case's config if it is one of a case's,
 * NULL if not; it counts a GSO skb to its case (at boundary) and returns
 * NULL. Only linear data is read: a vethbench datagram's headers are
 * linear, except a UDP GSO skb's payload.
 */
static __always_inline const struct vb_stage_case *vb_skb_dgram(struct sk_buff *skb, struct vb_dgram *d, __u32 boundary)
{
	union {
		__u8 ver_ihl;
		struct vb_v4_head v4;
		struct vb_v6_head v6;
	} h = {};
	/*
	 * Zeroed first: 6.18's verifier, tracking the precision of the
	 * slot key (derived from the sequence number) back through the path
	 * that reads l4 on its own (IPv4 options), hit a bug of its own ("stack
	 * slot 9, total slots 9", the load failing with EFAULT) on stack
	 * that path's state had not written yet.
	 */
	struct vb_udp_head l4 = {};
	unsigned char *head = skb->head;
	__u32 nh = skb->network_header, tail = skb->tail, linear, l4_off, ihl, key;
	const struct vb_stage_case *cfg;
	__u16 port;

	if (nh == 0 || nh == VB_HDR_UNSET || nh >= tail)
		return NULL;
	/* The buffer extends past tail (skb_shared_info follows end): reading
	 * the IPv6 size is safe for IPv4 too; the bounds decide what is used. */
	if (bpf_probe_read_kernel(&h, sizeof(h), head + nh) < 0)
		return NULL;
	switch (h.ver_ihl >> 4) {
	case 4:
		ihl = h.v4.ip.ver_ihl & 0xf;
		if (ihl < 5 || h.v4.ip.protocol != IPPROTO_UDP)
			return NULL;
		if (h.v4.ip.frag_off & bpf_htons(IP_OFFSET))
			return NULL;
		l4_off = nh + ihl * 4;
		if (ihl == 5)
			l4 = h.v4.l4;
		else if (bpf_probe_read_kernel(&l4, sizeof(l4), head + l4_off) < 0)
			return NULL;
		break;
	case 6:
		if (h.v6.ip6.nexthdr != IPPROTO_UDP)
			return NULL;
		l4_off = nh + sizeof(h.v6.ip6);
		l4 = h.v6.l4;
		break;
	default:
		return NULL;
	}
	if (l4_off + sizeof(struct udphdr) > tail)
		return NULL;
	/* The case, by its port: one lookup per UDP packet, whatever the
	 * number of cases. */
	port = bpf_ntohs(l4.udp.dest);
	key = port;
	cfg = bpf_map_lookup_elem(&vb_stage_cases, &key);
	if (!cfg || !cfg->present || !vb_udp_to(&l4.udp, port))
		return NULL;
	linear = tail - (__u32)(skb->data - head);
	if (skb->len > linear) {
		/* Paged data: a GSO skb (UDP_SEGMENT) carries many datagrams,
		 * with the payload header of the first in a page. */
		struct skb_shared_info *si = (void *)(head + skb->end);
		__u16 segs = 0;

		if (BPF_CORE_READ_INTO(&segs, si, gso_segs) == 0 && segs > 1) {
			vb_count_gso(cfg, boundary);
			return NULL;
		}
	}
	if (l4_off + sizeof(l4) > tail || !vb_udp_ours(&l4, port))
		return NULL;
	d->ts = ((__u64)l4.ts_hi << 32) | l4.ts_lo;
	d->seq = l4.seq;
	d->sport = l4.udp.source;
	d->dport = port;
	return cfg;
}

static __always_inline void vb_tp(struct sk_buff *skb, __u32 boundary)
{
	const struct vb_stage_case *cfg;
	struct vb_dgram d = {};

	cfg = vb_skb_dgram(skb, &d, boundary);
	if (cfg)
		vb_stamp(cfg, &d, boundary);
}

/* net_dev_queue(struct sk_buff *skb) */
SEC("tp_btf/net_dev_queue")
int vb_stage_queue(__u64 *ctx)
{
	vb_tp((struct sk_buff *)ctx[0], VB_B_QUEUE);
	return 0;
}

/* net_dev_start_xmit(const struct sk_buff *skb, const struct net_device *dev) */
SEC("tp_btf/net_dev_start_xmit")
int vb_stage_xmit(__u64 *ctx)
{
	vb_tp((struct sk_buff *)ctx[0], VB_B_XMIT);
	return 0;
}

/*
 * consume_skb(struct sk_buff *skb) before 6.3, (skb, void *location) since.
 * UDP's recvmsg frees the skb it copied with skb_consume_udp ->
 * __consume_stateless_skb, which fires it, in the reader's recvmsg; since
 * UDP frees an unshared skb with skb_attempt_defer_free instead (6.18
 * here), it fires later, on the CPU that allocated the skb, or not at all:
 * then the Go side leaves this boundary out (docs/counters.md, "Stages").
 */
SEC("tp_btf/consume_skb")
int vb_stage_read(__u64 *ctx)
{
	vb_tp((struct sk_buff *)ctx[0], VB_B_READ);
	return 0;
}

/* At the receiving device's ingress, parsed as counter.c's vb_ingress
 * parses (vb_skb_udp): the datagrams to ingress_port, its case's. */
SEC("tc")
int vb_stage_ingress(struct __sk_buff *skb)
{
	const struct vb_stage_case *cfg;
	struct vb_udp_head l4;
	struct vb_dgram d;
	__u16 port = ingress_port;
	__u32 key, l4_off, ip_len;

	if (!vb_skb_udp(skb, &l4, &l4_off, &ip_len))
		return TCX_NEXT;
	if (!vb_udp_ours(&l4, port))
		return TCX_NEXT;
	/* The config as the tracing programs find it: absent before the
	 * case is registered and after it closes. */
	key = port;
	cfg = bpf_map_lookup_elem(&vb_stage_cases, &key);
	if (!cfg || !cfg->present)
		return TCX_NEXT;
	if (skb->gso_segs > 1) {
		vb_count_gso(cfg, VB_B_INGRESS);
		return TCX_NEXT;
	}
	d.ts = ((__u64)l4.ts_hi << 32) | l4.ts_lo;
	d.seq = l4.seq;
	d.sport = l4.udp.source;
	d.dport = port;
	vb_stamp(cfg, &d, VB_B_INGRESS);
	return TCX_NEXT;
}

/* For tests only, as counter.c's vb_bucket_probe: returns vb_bucket_of of
 * the little-endian u64 after the Ethernet header. */
SEC("tc")
int vb_stage_bucket_probe(struct __sk_buff *skb)
{
	__u64 v;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &v, sizeof(v)) < 0)
		return -2;
	return vb_bucket_of(v);
}
