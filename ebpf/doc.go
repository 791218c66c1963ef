// Package vbpf owns vethbench's BPF programs and reads their results: a
// counter attached at a receiving device's ingress that counts every packet
// and byte, recognises vethbench's own UDP traffic, and records its one-way
// latency in a log-linear histogram; and a drop counter on the
// skb:kfree_skb tracepoint that counts every vethbench packet the kernel
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
// port, payload starting with "VBP1") is written once, in
// include/vb_packet.h, for both programs.
//
// AttachIngress loads the program vb_ingress with the UDP port of the run
// baked in (a read-only global set at load time) and attaches it at the
// ingress of one device inside a namespace made by bench/netns. Counters
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
// vethbench packets: UDP over IPv4 (any header length, first fragments only)
// or IPv6 (UDP directly after the fixed header), to Options.DstPort, whose
// payload is at least 16 bytes and starts with the magic "VBP1", followed by
// a little-endian uint32 sequence number and a little-endian uint64 send
// time in CLOCK_MONOTONIC nanoseconds (the clock of bpf_ktime_get_ns). The
// latency of a matched packet is the time at ingress minus the send time;
// a zero or future send time counts in BadTimestamp instead.
//
// # The drop counter
//
// AttachDrops loads vb_drop, with the run's UDP port baked in, on the
// skb:kfree_skb tracepoint. The kernel calls it when it frees a packet it
// did not use, with an enum skb_drop_reason: NO_SOCKET (no socket on the
// port), SOCKET_RCVBUFF (the receive buffer was full), CPU_BACKLOG (veth's
// receiver backlog, netdev_max_backlog, was full), QDISC_DROP, NEIGH_*,
// NETFILTER_DROP, ... The program finds the IP and UDP headers in the
// dropped skb, and if it is a vethbench packet to its port (the same test
// as the ingress counter) adds one to the reason's counter. Drops.Snapshot
// returns them by name: the names are read from the running kernel's BTF
// when the counter is attached (the enum differs between kernel versions),
// without the SKB_DROP_REASON_ prefix; a value the enum does not name is
// "reason_<n>", and the kernel's subsystem reasons (values of 0x10000 and
// more: mac80211, openvswitch...) share OverflowReason. One counter serves
// every device kind alike, where the devices' own counters differ (veth
// counts a full backlog both as the sender's tx_dropped and the receiver's
// rx_dropped; macvlan, the router namespace's forwarding and NAT drops
// count elsewhere), so "sent = received + dropped" can be checked with one
// number per reason. A GRO skb that carries several vethbench datagrams
// counts them all (gso_segs).
//
// The tracepoint is global: it sees every drop in every namespace, of every
// process on the host. Only the port keeps runs apart, so concurrent
// vethbench processes (and tests) must use different DstPorts: the runner
// picks one per run. Nothing is attached to a device or namespace.
//
// Not counted: a packet freed as used (consume_skb; that is a different
// tracepoint), so a packet delivered to its socket never runs the program;
// frames dropped before they are skbs (XDP_DROP, a full veth XDP ring);
// UDP GSO skbs dropped before segmentation, whose payload sits in page
// fragments the program does not read (vethbench's generator does not use
// UDP GSO); IPv6 packets with extension headers, non-first IPv4 fragments,
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
package vbpf
