// Package kstat reads the kernel's own packet counters inside a namespace:
// a device's rtnetlink statistics (rx/tx packets, bytes, drops) and its
// root qdisc's drops (Reader.Device), and the namespace's SNMP counters
// from /proc/net/snmp and snmp6 (Reader.SNMP: UDP receive-buffer errors, IP
// discards...). The runner closes its packet accounting with these beside
// the eBPF drop counter, and falls back on them where that cannot run:
// every packet the generator sent was either received by the socket or
// dropped where one of these counters saw it (docs/method.md).
//
// A Reader opens one netlink handle in its namespace, so per-trial reads
// cost no namespace switch. SNMP files are read from /proc/thread-self/net
// inside the namespace: /proc/self/net would show the main thread's
// namespace instead.
//
// Privileges: CAP_SYS_ADMIN to enter the namespace. Errors wrap the failing
// netlink call, read or parse; a device that does not exist is an error.
package kstat
