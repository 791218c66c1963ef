// Package kstat reads the kernel's own packet counters inside a namespace:
// a device's rtnetlink statistics (rx/tx packets, bytes, drops), its root
// qdisc's drops, and the namespace's SNMP counters (/proc/net/snmp and
// snmp6: UDP receive-buffer errors, IP discards...). vethbench closes its
// packet accounting with these: every packet the generator sent was either
// received by the socket or dropped where one of these counters saw it.
//
// SNMP files are read from /proc/thread-self/net inside the namespace:
// /proc/self/net would show the main thread's namespace instead.
//
// Privileges: CAP_SYS_ADMIN to enter the namespace. Errors wrap the failing
// netlink call or read.
package kstat
