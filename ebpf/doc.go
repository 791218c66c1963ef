// Package vbpf owns vethbench's BPF programs and reads their results: a
// counter attached at a receiving device's ingress that counts every packet
// and byte, recognises vethbench's own UDP traffic, and records its one-way
// latency in a log-linear histogram.
//
// # What it owns
//
// counter.c and the headers it needs (vendored under include/, see
// include/update.sh) are compiled by bpf2go into counter_bpfel.o and
// counter_bpfel.go; both are generated, committed, and reproduced byte for
// byte by `go generate ./ebpf/...`. Every BPF program is named vb_*, so
// leak checks and `bpftool prog` can tell them from the host's.
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
// root. Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK: there the
// caller raises it first (cilium's rlimit.RemoveMemlock). Without root, the
// package's tests that need the kernel skip and say why.
//
// # Errors
//
// ErrNotSupported (which wraps cilium's ebpf.ErrNotSupported) means the
// kernel lacks what is needed: BPF itself, or both TCX and cls_bpf/clsact;
// it is reported as "unsupported", not as a failure of the run. A TCX
// failure for another reason (no such device, EPERM) is returned as is, with
// no fallback. A verifier rejection wraps *ebpf.VerifierError. ErrClosed is
// returned by Snapshot after Close. Other errors wrap the errno of the step
// that failed.
//
// A Counters on the cls_bpf path holds a netlink socket in the device's
// namespace, which keeps the namespace alive until Close.
package vbpf
