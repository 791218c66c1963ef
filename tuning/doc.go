// Package tuning owns the knobs vethbench reads, sets and restores, and the
// journal that makes host-wide changes survive a crash.
//
// # Knobs
//
// The catalog (Knobs, Lookup) names every knob as sweep specs and results
// spell it, with its scope and the device ends it acts on:
//
//	device, sending ends (EndSend, EndBoth):     txqueuelen, qdisc, gso, tso, udp_segmentation, tx_checksum
//	device, receiving ends (EndReceive, EndBoth): gro, gro_list, udp_gro_forwarding, xdp,
//	                                              threaded_napi, gro_flush_timeout, napi_defer_hard_irqs
//	namespace (every namespace of a topology):   sysctl.net.ipv4.udp_early_demux, ... (an allow-list)
//	host (the initial namespace):                sysctl.net.core.netdev_max_backlog, ... (an allow-list)
//
// Knob.Parse checks a value and returns its canonical form without
// privileges; Catalog adapts it to the sweep spec parser. Sysctls off the
// allow-list are refused, with the list in the error.
//
// Apply validates every setting before touching anything, sets the knobs in
// catalog order (txqueuelen before qdisc, since pfifo and bfifo take their
// limit from it; gro and xdp before the NAPI knobs, since they give a veth
// its NAPI instances), reads every value back once all are set, and returns
// one Applied per knob and target with a restore function. The statuses:
// "ok"; "changed" (the kernel took another value, with the reason where it
// is known); "refused" (the kernel said no: Detail has its error, e.g. the
// veth XDP queue conflict); "not applicable" (the device lacks the
// operation: EOPNOTSUPP from a virtual device, a feature it marks fixed, an
// XDP mode it lacks; not a failure); "unsupported" (the kernel lacks
// something, e.g. sch_fq; Applied.Err wraps ErrNotSupported). Detail also
// marks inert values: txqueuelen under noqueue, NAPI knobs on a veth
// without NAPI.
//
// ReadDevice, ReadNamespace and ReadHost read every knob whether swept or
// not, so that each result records the effective value of all of them.
//
// # Safety
//
// Device and namespace values die with the topology's namespaces; restore
// puts them back anyway. Host-wide sysctls are written only in the initial
// network namespace, and only after their original values are in the
// Journal on disk (DefaultJournalDir, one file per process, replaced
// atomically and fsync'd). restore writes them back and drops them from the
// journal; after a crash or SIGKILL, Journal.RestoreStale (at the next
// start, and `vethbench cleanup`) restores the values of processes that are
// gone, recognised by pid and start time, and leaves a value someone else
// has changed since alone. Apply refuses a host sysctl that another live
// vethbench holds, naming its pid.
//
// Handles are opened inside a device's namespace through internal/netns and
// used from outside; sysfs knobs go through netns.DoSysfs, since /sys shows
// the devices of the namespace that mounted it.
//
// Privileges: CAP_NET_ADMIN and CAP_SYS_ADMIN (namespaces, sysfs mounts,
// host sysctls), CAP_BPF for the xdp knob. Reading knobs needs only the
// namespace handles. Errors: a knob that cannot be read is recorded in
// DeviceKnobs.Errors and the others are still read; Apply's own errors
// (invalid settings wrapping ErrInvalid, a journal failure, a sysctl held
// by another process, a cancelled context) come with everything restored.
package tuning
