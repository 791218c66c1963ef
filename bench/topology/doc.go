// Package topology owns the shapes vethbench measures (veth, bridge,
// router, hostnat, macvlan, ipvlan, loopback): a Spec, plain data validated
// without privileges, and Realize, which builds it out of fresh anonymous
// network namespaces, devices, addresses, routes, static neighbour entries
// (and, for hostnat, an nftables masquerade), and returns a Topology naming
// its sender, its receiver and every device it made.
//
// Every device is created directly inside a namespace vethbench made (the
// netlink request is sent from a handle opened in that namespace, and a veth
// peer is placed with IFLA_NET_NS_FD), so no device ever appears in the
// initial namespace, and a killed process leaves nothing behind: the
// namespaces die with their file descriptors and take their devices along.
// Device names are NamePrefix ("vb"), the run id and a role, within the
// 15-byte limit. Realize removes what it made when it fails;
// Topology.Close is idempotent and undoes in reverse order.
//
// Privileges: CAP_SYS_ADMIN and CAP_NET_ADMIN. Errors: Spec.Validate's
// errors wrap ErrInvalid and carry a *field.Error naming the field, before
// anything is created. An error wrapping ErrNotSupported is an
// *UnsupportedError saying what the kernel lacks ("kernel has no ipvlan
// support"), reported to the user as "unsupported". Other errors wrap the
// netlink errno with the step that failed.
package topology
