// Package tuning owns the knobs vethbench can read, set and restore on the
// devices and namespaces it creates: qdisc and txqueuelen, MTU, queue
// counts, ethtool features (GRO, GSO, TSO...), sysctls. For now it reads
// them back (ReadDevice), so that every result records the effective value
// of every knob on both ends, swept or not.
//
// Netlink and ethtool handles are opened inside the device's namespace
// through bench/netns and used from outside.
//
// Privileges: CAP_NET_ADMIN in the namespace (reading ethtool features needs
// no privilege, but the namespace handle does). Errors: a knob that cannot be
// read is recorded in DeviceKnobs.Errors with its reason, and the others are
// still read; EOPNOTSUPP from a virtual device means the knob does not apply
// to it and is recorded as such, not as a failure.
package tuning
