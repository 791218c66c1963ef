// Package vbpf owns vethbench's BPF programs and reads their results:
//
//   - vb_ingress (AttachIngress, Counters): at a receiving device's ingress,
//     with TCX or, on kernels without it, a cls_bpf filter on clsact; never
//     XDP, which would switch a veth's receive path to NAPI. It counts every
//     packet and byte, and vethbench's own skbs, the datagrams or segments
//     they carry (GSO and GRO aggregates included) and their payload, and
//     records the one-way latency of UDP traffic in an internal/histogram
//     Histogram (LatencyScale). UDP datagrams are also counted per
//     measurement window, by the tag in their header, in TagSlots slots
//     the caller gives out (OpenWindow, Window). Options.CostNS, a
//     validation knob, makes it spend that many ns more CPU on every
//     vethbench skb (a bounded spin on the clock; 0, the default, removes
//     it at load), a known effect for checking vethbench's sensitivity.
//   - vb_drop (AttachDrops, Drops): on the skb:kfree_skb tracepoint, as
//     tp_btf or, failing that, raw_tp. It counts every vethbench datagram or
//     segment the kernel drops, in any namespace, by the kernel's drop
//     reason, named from the running kernel's BTF; UDP drops also per
//     window tag, as the ingress counter counts (OpenWindow, Window,
//     Untagged).
//   - vb_stage_queue, vb_stage_xmit, vb_stage_ingress and vb_stage_read
//     (LoadStages, Stages): per-stage one-way latency of UDP datagrams,
//     stamped on tp_btf/net_dev_queue and net_dev_start_xmit, at the
//     receiving device's ingress (TCX or cls_bpf, as vb_ingress) and, on
//     kernels where it marks the read (before 6.18), tp_btf/consume_skb;
//     elsewhere, with ReadByReceiver, the receiving application marks the
//     read (Stages.Read, reading the datagram's stamp from the mapped slot
//     array); a histogram per stage. A boundary the kernel lacks is left out
//     (Missing, an error wrapping ErrNotSupported) and its stage merges
//     into the next. The tracing programs and the maps they use are shared
//     by every live Stages of the process (attached once, by the first
//     case that needs them, detached with the last): a datagram finds its
//     case by its port in a map, so a packet runs each once whatever the
//     number of cases; each case has its own histograms and counts, and
//     its own ingress stamp. Two live Stages on one port is an error.
//   - vb_xdp_gen (LoadXDPGen, XDPGen) and vb_xdp_sink (AttachXDPSink,
//     XDPSink): the xdp traffic generator, run with BPF_PROG_RUN live frames
//     and redirected into a veth, and the cheapest receiver, which counts
//     and drops vethbench frames. CheckXDPXmit and LiveFrameMax say whether
//     and how the kernel takes such frames. vb_xdp_bare (LoadXDPBare,
//     XDPBare) only redirects, run the same way: the ceiling of that path,
//     which the generator is measured against.
//
// What a vethbench packet is (UDP to the run's port with the "VBP" header,
// or TCP to the run's port, Options.Proto) is baked into each program at
// load time. The C sources, their headers (vendored under include/, see
// include/update.sh) and the bpf2go output (*_bpfel.o, *_bpfel.go) are
// committed; `go generate ./ebpf/...` reproduces the generated files byte
// for byte. Every program is named vb_*, so leak checks and bpftool tell
// them from the host's. Close removes what an Attach or Load added, and
// only that (for the shared stage programs, a case's share); it is
// idempotent. The drop counter's and the stages' tracepoints are global:
// concurrent runs must use different ports. What is counted, why these
// hooks, and what they cost are in docs/counters.md.
//
// Privileges: loading needs CAP_BPF (or CAP_SYS_ADMIN), attaching to a
// device CAP_NET_ADMIN in its namespace, entering the namespace
// CAP_SYS_ADMIN, and the tracing program CAP_BPF and CAP_PERFMON: in short,
// root. Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK, which the
// caller raises first (cilium's rlimit.RemoveMemlock).
//
// Errors: errors.Is(err, ErrNotSupported) (which also matches cilium's
// ebpf.ErrNotSupported) means the running kernel lacks what is needed: BPF
// itself, both TCX and cls_bpf; for AttachDrops BTF, a kfree_skb tracepoint
// with a drop reason (5.17+), or both tp_btf and raw_tp; for the XDP
// generator live frames (5.18+); for CheckXDPXmit the netdev netlink family
// (6.3+). Callers report it as "unsupported", not as a failure. A TCX or
// tp_btf failure for another reason (no such device, EPERM, a verifier
// rejection, which wraps *ebpf.VerifierError) is returned as is, with no
// fallback. ErrNoXDPXmit means a device does not take redirected XDP frames
// now (a veth whose peer runs no NAPI). ErrClosed comes from Snapshot and
// Missed after Close. Other errors wrap the errno of the step that failed.
package vbpf
