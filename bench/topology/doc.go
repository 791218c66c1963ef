// Package topology owns the shapes vethbench measures: a Spec (plain data,
// validated without privileges) and Realize, which builds it out of fresh
// anonymous network namespaces, devices, addresses and routes.
//
// Every device is created directly inside a namespace vethbench made (the
// netlink request is sent from a handle opened in that namespace, and a veth
// peer is placed with IFLA_NET_NS_FD), so no device ever appears in the
// initial namespace, and a killed process leaves nothing behind: the
// namespaces die with their file descriptors and take their devices along.
// Device names carry the prefix "vb" and a run id, within the 15-byte limit.
//
// Topology.Close is idempotent and undoes in reverse order.
//
// Privileges: CAP_SYS_ADMIN and CAP_NET_ADMIN. Errors: ErrInvalid for a bad
// spec (before anything is created); ErrNotSupported when the kernel lacks a
// device kind (reported to the user as "unsupported"); other errors wrap the
// netlink errno with the step that failed.
package topology
