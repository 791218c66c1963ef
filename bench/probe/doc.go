// Package probe finds out, by trying, what the running kernel supports of
// what vethbench uses: device kinds (veth, macvlan, ipvlan, bridge, netkit,
// dummy, vxlan), XDP in native and generic mode on each, TC attachment (TCX
// and cls_bpf), qdiscs, BTF, the tracepoints vethbench hooks, fentry and
// kprobes, the global sysctls vethbench tunes, the CPU it runs on, and
// whether the kernel charges softirq time to the thread it interrupts (IRQ
// time accounting, which decides what a thread's CPU clock means).
//
// Nothing is guessed from the kernel version: each item is the outcome of
// creating, attaching or opening the thing itself. The one exception is
// IRQ time accounting, where a build configuration without
// CONFIG_IRQ_TIME_ACCOUNTING settles the answer; otherwise (the kernel may
// still disable it at boot) it is measured (MeasureIRQTime), and reported
// "unknown" when other work on the CPUs hides the answer. Devices and
// qdiscs are made in fresh anonymous namespaces (internal/netns) that are
// closed afterwards, and every probe removes what it made even when it
// fails; no interface of the initial namespace is touched, no packet
// leaves a scratch namespace (the IRQ time measurement sends UDP to itself
// over one's loopback), and no sysctl is written (writability is tested by
// opening the file for writing and closing it).
//
// Privileges: root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_BPF, CAP_PERFMON)
// for most probes. Without the privilege to create a namespace (EPERM or
// EACCES), Run still reports what needs none (the kernel, the CPU, the
// sysctls' values, IRQ time accounting when the build settles it) and one
// item "all" of Status "needs root" for each group it could not probe.
// Run reports an error only when it cannot probe at all (no namespace can
// be created for another reason) or when its context ends.
// A probe that fails is an item with Status "error"; a kernel that lacks
// something is an item with Status "no" whose Detail says what is missing
// and which errno said so; a measurement that could not tell is "unknown".
// One probe's failure never stops the others. DetectIRQTime and
// MeasureIRQTime return no error: what they could not find out is
// IRQTimeUnknown with the reason.
package probe
