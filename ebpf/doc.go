// Package vbpf owns vethbench's BPF programs and reads their results: a
// counter attached at a receiving device's ingress that counts every packet
// and byte, recognises vethbench's own traffic (UDP datagrams carrying its
// header, or TCP segments to its port) with the datagrams or segments a
// GSO or GRO skb carries, and records the one-way latency of UDP traffic
// in a log-linear histogram; and a drop counter on the skb:kfree_skb
// tracepoint that counts every vethbench datagram or segment the kernel
// drops, anywhere, by the kernel's drop reason.
//
// # What it owns
//
// counter.c and drops.c and the headers they need (vendored or written
// under include/, see include/update.sh) are compiled by bpf2go into
// counter_bpfel.o, drops_bpfel.o and their .go files; all are generated,
// committed, and reproduced byte for byte by `go generate ./ebpf/...`.
// Every BPF program is named vb_*, so leak checks and `bpftool prog` can
// tell them from the host's. What a vethbench packet is (UDP to the run's
// port, payload starting with "VBP1"; or TCP to the run's port) is written
// once, in include/vb_packet.h, for both programs.
//
// AttachIngress loads the program vb_ingress with the port of the run and
// the protocol (Options.Proto) baked in (read-only globals set at load
// time: the verifier sees them as constants and drops the other mode's
// code, so one object serves both) and attaches it at the ingress of one
// device inside a namespace made by internal/netns. Counters
// reads the per-CPU maps (Snapshot, Sub for a window's deltas) and Close
// removes everything AttachIngress added, and only that.
//
// # Why TCX, and never XDP
//
// The observer must not change what it observes. Attaching XDP to a veth
// switches its receive path to NAPI (the peer's transmit then queues to a
// ring polled by NAPI instead of the per-CPU backlog), a different datapath
// with different costs; so this package never uses XDP.
// It attaches with TCX (kernel 6.6+), first in the device's TCX chain, and
// falls back to a direct-action cls_bpf filter on a clsact qdisc (created if
// the device has none, and then removed by Close if no other filter is left
// on it), placed ahead of the filters already there. Both run in the
// device's receive path after the driver, where veth's rx_packets and
// rx_bytes are already counted, and both leave the datapath unchanged: the
// program returns TCX_NEXT / TC_ACT_UNSPEC for every packet. Packets that
// the veth pair drops before ingress (a full backlog queue) are in the
// device's drop counters, not here. On the cls_bpf path the counter runs
// after any TCX programs on the device.
//
// # What is counted
//
// Packets and Bytes count every packet at ingress; Bytes is skb->len, which
// includes the Ethernet header, as veth's rx_bytes does. Matched counts
// vethbench's skbs, MatchedBytes their skb->len. With ProtoUDP (the
// default) they are UDP over IPv4 (any header length, first fragments
// only) or IPv6 (UDP directly after the fixed header), to Options.DstPort,
// whose payload is at least 16 bytes and starts with the magic "VBP1",
// followed by a little-endian uint32 sequence number and a little-endian
// uint64 send time in CLOCK_MONOTONIC nanoseconds (the clock of
// bpf_ktime_get_ns). The latency of a matched skb is the time at ingress
// minus the send time; a zero or future send time counts in BadTimestamp
// instead. With ProtoTCP they are TCP segments over IPv4 (any header
// length, first fragments) or IPv6 (TCP directly after the fixed header)
// to Options.DstPort, the server's port, whatever their TCP options: the
// handshake, data, ACKs and FIN the client sends. A byte stream carries no
// timestamps, so Latency stays empty and BadTimestamp 0. Segments from the
// port (the server's answers) are not matched at ingress: a counter at the
// client's device sees them only if the client's own port is DstPort too,
// as the UDP request/response generator arranges (below).
//
// Segs counts the datagrams or segments in the matched skbs. A UDP GSO
// skb (UDP_SEGMENT: one sendmsg, many datagrams) or a TSO skb crosses a
// veth pair whole: veth has NETIF_F_GSO_UDP_L4 and TSO, so the peer
// receives one skb, one rx_packet, carrying skb_shinfo's gso_segs
// datagrams or segments; a GRO skb likewise. Each matched skb adds
// max(1, gso_segs) to Segs (the gso_segs of struct __sk_buff), so Matched
// stays a count of skbs, comparable with rx_packets, and Segs is what the
// sockets see. PayloadBytes is the UDP or TCP payload of the matched skbs,
// all their segments together (an aggregate carries one set of headers):
// the frame less its Ethernet, IP and UDP or TCP headers (with the TCP
// header's data offset), bounded by the IP header's length so that the
// padding of a short frame is not payload (where the IP length is 0, a BIG
// TCP aggregate over 64 KiB, the frame's length is used). For UDP it is what
// the receiving socket reads; for TCP the bytes written plus the bytes
// retransmitted. Measured on this project's VM (kernel 6.18), with the
// Debian 6.1 kernel of `make vmtest` passing the same tests:
//
//   - UDP GSO, 50 sends of 20 datagrams of 1000 B: Matched 50 (=
//     rx_packets, one latency value each), Segs 1000 and PayloadBytes
//     1,000,000, exactly what the receiving socket read; the same with GRO
//     on at the receiver (veth's NAPI path): GRO leaves GSO skbs alone.
//   - Bulk TCP, 8 MiB: some 150-180 matched skbs carrying some 5,800-5,900
//     segments, PayloadBytes 8,388,608 (no retransmission), with or without
//     GRO at the receiver (the sender's TSO skbs already are aggregates).
//
// A UDP GSO skb has one vethbench header where the parser looks, the
// first datagram's (the others' are further into the payload), so latency
// is sampled once per skb: Latency.Total() = Matched - BadTimestamp, not
// Segs, and the value is the first datagram's, sent first.
//
// The kernel's own counters count differently, which matters to a runner
// cross-checking them: Udp InDatagrams and RcvbufErrors count datagrams (a
// GSO skb is segmented before it is queued to a socket) but Udp NoPorts
// counts one per skb; Tcp InSegs counts one per skb that reaches TCP (a
// TSO or GRO aggregate is 1: InSegs = Matched) while Tcp OutSegs counts
// segments but leaves out retransmissions, which Tcp RetransSegs counts
// (Segs at the receiver = the sender's OutSegs + RetransSegs when nothing
// was dropped on the way); tcp_info's tcpi_segs_in and tcpi_segs_out count
// segments, retransmissions included.
//
// Request/response over UDP needs nothing of its own: the client binds the
// server's port number in its own namespace, so requests and responses are
// both vethbench datagrams to DstPort. A counter at each end's ingress
// counts one direction each, with latencies, and the drop counter counts
// drops in both directions.
//
// # The drop counter
//
// AttachDrops loads vb_drop, with the run's port and protocol baked in, on
// the skb:kfree_skb tracepoint. The kernel calls it when it frees a packet it
// did not use, with an enum skb_drop_reason: NO_SOCKET (no socket on the
// port), SOCKET_RCVBUFF (the receive buffer was full), CPU_BACKLOG (veth's
// receiver backlog, netdev_max_backlog, was full), QDISC_DROP, NEIGH_*,
// NETFILTER_DROP, ... The program finds the IP and UDP or TCP headers in
// the dropped skb, and if it is a vethbench packet (the same test as the
// ingress counter; with ProtoTCP, a TCP segment to or from the port, for
// the data and the ACKs of either direction matter) adds the datagrams or
// segments it carries to the reason's counter. Drops.Snapshot
// returns them by name: the names are read from the running kernel's BTF
// when the counter is attached (the enum differs between kernel versions),
// without the SKB_DROP_REASON_ prefix; a value the enum does not name is
// "reason_<n>", and the kernel's subsystem reasons (values of 0x10000 and
// more: mac80211, openvswitch...) share OverflowReason. One counter serves
// every device kind alike, where the devices' own counters differ (veth
// counts a full backlog both as the sender's tx_dropped and the receiver's
// rx_dropped; macvlan, the router namespace's forwarding and NAT drops
// count elsewhere), so "sent = received + dropped" can be checked with one
// number per reason.
//
// A dropped GSO or GRO skb counts all its datagrams or segments: the
// program reads skb_shinfo(skb)->gso_segs (skb_shared_info sits at
// skb->head + skb->end; its offsets are CO-RE relocations) for a matched
// skb whose UDP datagram or IP packet reaches past its linear data, and
// counts 1 otherwise (a plain datagram, an ACK), without that read. The
// payload of a UDP GSO skb, and of the datagrams the receiving UDP layer
// segments it into, sits in page fragments, which a tracing program cannot
// read: a UDP datagram whose vethbench header is not in the linear data,
// in an skb that has paged data, is taken on its port and UDP length (16
// payload bytes or more) alone. Measured (tests, 6.18 and 6.1): 30 UDP
// GSO sends of 16 datagrams to a closed port count NO_SOCKET 480, while
// Udp NoPorts grows by 30 (one per skb); into a full receive buffer, each
// dropped datagram counts once, SOCKET_RCVBUFF = Udp RcvbufErrors, and
// queued + dropped = sent. TCP data dropped by an nftables rule counts
// NETFILTER_DROP = the segments both ends sent (tcpi_segs_out), 20 or 22
// segments in 10 skbs; a SYN to a closed port counts NO_SOCKET once (the
// RST that comes back is consumed, not dropped).
//
// The tracepoint is global: it sees every drop in every namespace, of every
// process on the host. Only the port keeps runs apart, so concurrent
// vethbench processes (and tests) must use different DstPorts: the runner
// picks one per run. Nothing is attached to a device or namespace.
//
// With ProtoTCP, or for UDP datagrams with paged payload, the port alone
// tells vethbench's packets from others: any TCP connection using the port
// in any namespace is counted, so the port must be one nobody else uses.
//
// Not counted: a packet freed as used (consume_skb; that is a different
// tracepoint), so a packet delivered to its socket never runs the program;
// frames dropped before they are skbs (XDP_DROP, a full veth XDP ring);
// IPv6 packets with extension headers, non-first IPv4 fragments,
// VLAN-tagged frames. A copy of a packet made for a packet socket (tcpdump)
// and dropped there counts too: do not measure with a tap attached.
//
// Drops.Missed reports how often the kernel skipped the program because
// it was already running on that CPU (a drop in an interrupt that came
// during another drop's count): drops that may be missing. It is 0 in the
// tests; a run whose accounting does not close should look at it.
//
// # Why tp_btf
//
// vb_drop is a BTF-enabled tracepoint program (tp_btf/kfree_skb, kernel
// 5.5+): the kernel hands it the tracepoint's arguments typed from its BTF,
// so the skb is a typed pointer whose fields are plain loads, which the
// verifier checks against struct sk_buff and makes fault-safe, instead of
// one bpf_probe_read_kernel call per field. It is attached by BTF id with
// a bpf link: no tracefs (not mounted here), no kprobes (absent here). The
// fields' offsets come from CO-RE relocations (include/vb_kernel.h)
// resolved against the running kernel's BTF at load. Where tp_btf cannot be
// loaded or attached (the error wraps ErrNotSupported), AttachDrops falls
// back to vb_drop_raw, the same logic as a raw tracepoint
// (raw_tp/kfree_skb), which reads every field with bpf_probe_read_kernel;
// DropOptions.ForceRawTracepoint picks it on purpose (tests).
// Drops.Hook says which one runs.
//
// # Cost
//
// The program runs on every kfree_skb in the system, that is on every
// dropped packet of every namespace and process, and only on drops. On
// this project's VM (kernel 6.18, 2 vCPUs, measured with BPF_ENABLE_STATS
// during a flood of SOCKET_RCVBUFF drops, less the cost of an empty
// program): about 50 ns for a drop that is not vethbench's (the skb's
// fields, one 64-byte read of the headers), about 70 ns for a vethbench
// drop it counts; the raw_tp fallback about 300 ns, a read per field. At a
// million drops per second the counter costs some 7% of one CPU; the
// dropped packets themselves cost far more. A host that drops little
// (most do) does not notice it.
//
// # Kernels without BTF
//
// The drop counter needs the kernel's BTF (CONFIG_DEBUG_INFO_BTF,
// /sys/kernel/btf/vmlinux): for the reason names, for the sk_buff layout,
// and for tp_btf; and a kfree_skb tracepoint that passes the reason (5.17+).
// Without them AttachDrops returns an error wrapping ErrNotSupported that
// says which is missing, and a run reports drops from the devices'
// counters only. A raw tracepoint would not help without BTF: it would
// need the sk_buff offsets of each kernel build. The relocations also
// assume a 64-bit kernel (skb->tail and end are offsets there); a 32-bit
// kernel fails to load the program.
//
// # Histogram resolution
//
// Latencies go into NumBuckets log-linear buckets: 0..7 ns exactly, then
// eight equal buckets per power of two up to 2^40 ns, and one open-ended
// bucket above. A bucket is at most Resolution (12.5%) of its lower bound
// wide, so a percentile estimated from the histogram (Histogram.Quantile,
// the bucket's midpoint) is off by at most 6.25%, and its bounds are
// returned with it. Per-CPU histograms are summed (Histogram.Merge).
//
// # Privileges
//
// Loading needs CAP_BPF (or CAP_SYS_ADMIN), attaching CAP_NET_ADMIN in the
// device's namespace, and entering the namespace CAP_SYS_ADMIN; in short,
// root. The drop counter enters no namespace, but a tracing program needs
// CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN). Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK: there the
// caller raises it first (cilium's rlimit.RemoveMemlock). Without root, the
// package's tests that need the kernel skip and say why.
//
// # Errors
//
// ErrNotSupported (which wraps cilium's ebpf.ErrNotSupported) means the
// kernel lacks what is needed: BPF itself, or both TCX and cls_bpf/clsact;
// for the drop counter BTF, a kfree_skb tracepoint with a drop reason, or
// both tp_btf and raw_tp. It is reported as "unsupported", not as a
// failure of the run. A TCX or tp_btf failure for another reason (no such
// device, EPERM, a verifier rejection) is returned as is, with no
// fallback. A verifier rejection wraps *ebpf.VerifierError. ErrClosed is
// returned by Snapshot (and Drops.Missed) after Close. Other errors wrap
// the errno of the step that failed.
//
// A Counters on the cls_bpf path holds a netlink socket in the device's
// namespace, which keeps the namespace alive until Close.
//
// # The XDP generator and sink
//
// xdpgen.c holds two XDP programs for the `xdp` traffic generator.
// LoadXDPGen loads vb_xdp_gen for one sending device and a range of flows;
// XDPGen.Run runs it with BPF_PROG_RUN and BPF_F_TEST_XDP_LIVE_FRAMES
// (5.18+): the kernel runs it over copies of one frame, and every frame it
// returns bpf_redirect for leaves through the device's ndo_xdp_xmit. Per
// frame it writes the flow's next sequence number (an mmapped per-flow
// array, so Run reports exactly how many frames a call sent) and
// bpf_ktime_get_ns, and updates a non-zero UDP checksum incrementally from
// the bytes present: the kernel recycles a call's pages without restoring
// them. Run must be called from a thread inside the device's namespace;
// the kernel resolves the redirect there.
//
// Each BPF_PROG_RUN with repeat > 1 would install the program in the XDP
// dispatcher and remove it again, waiting for an RCU grace period each
// time (~24 ms per call here). XDPGen keeps it installed by attaching it,
// generic mode, to the lo of a private, idle namespace it owns; a call
// then costs ~20 us. LiveFrameMax reports the largest live frame (one
// page less the kernel's headroom: 3408 bytes here), probed with a drop
// program that sends nothing.
//
// CheckXDPXmit asks the netdev netlink family (6.3+) whether a device takes
// redirected frames now (ErrNoXDPXmit if not). A veth does only while its
// peer runs NAPI (an XDP program there, or GRO on); otherwise every
// redirected frame is freed with no trace in any device counter.
//
// AttachXDPSink attaches vb_xdp_sink (native, or generic where native XDP
// is missing; Mode says which) to a receiving device: it counts and drops
// vethbench UDP frames to its port and passes the rest. It is the
// cheapest receiver, for a generator's own ceiling; unlike the ingress
// counter it changes the datapath (NAPI), on purpose.
package vbpf
