package tuning

import (
	"github.com/safchain/ethtool"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/netns"
)

// kernel is every call the knobs make to the kernel. sysKernel is the
// kernel itself; the tests' fake keeps devices and sysctls in memory, so
// that the order of apply, read-back and restore and the status rules are
// tested without root.
//
// Its methods return the kernel's own errors (an errno, fs.ErrNotExist):
// what an error means for a knob ("not applicable", "unsupported",
// "refused") is decided above this interface, once for both.
type kernel interface {
	// device opens what the device knobs need for ifname inside n; the
	// caller closes it.
	device(n *netns.NS, ifname string) (device, error)
	// readSysctl and writeSysctl access /proc/sys inside n. A nil n is the
	// caller's own namespace: the initial one, where host-wide sysctls
	// live, once checkHost has said so.
	readSysctl(n *netns.NS, name string) (string, error)
	writeSysctl(n *netns.NS, name, value string) error
	// checkHost fails unless the caller is in the initial network
	// namespace, so that a host-wide sysctl written reaches the host.
	checkHost() error
	// close releases what the devices shared (the XDP program); close the
	// devices first.
	close() error
}

// device is one network device, through handles opened inside its
// namespace and used from here.
type device interface {
	link() (linkInfo, error)
	setTxQueueLen(n int) error
	// rootQdisc reads the root qdisc; kind noqueue and handle 0 when the
	// device has none.
	rootQdisc() (rootQdisc, error)
	// deleteRootQdisc deletes q, which gives the device its default back
	// (noqueue on veth, otherwise default_qdisc or mq).
	deleteRootQdisc(q rootQdisc) error
	// addRootQdisc creates a root qdisc of kind, without parameters.
	addRootQdisc(kind string) error
	// addRootTbf creates a root tbf qdisc (shape_mbit).
	addRootTbf(t tbfParams) error
	// features reads every ethtool feature, by the kernel's names.
	features() (map[string]ethtool.FeatureState, error)
	// setFeature requests one feature on or off; the kernel may answer
	// with success and keep it as it was (features reads what it did).
	setFeature(name string, on bool) error
	// readSysfs and writeSysfs access /sys/class/net/DEV/file.
	readSysfs(file string) (string, error)
	writeSysfs(file, value string) error
	// attachXDP attaches vethbench's XDP_PASS program in mode (XDPNative
	// or XDPGeneric); detachXDP removes it, if attachXDP attached it.
	attachXDP(mode string) error
	detachXDP() error
	// vethPeer finds the other end of this veth among devs.
	vethPeer(devs []topology.Device) (peer topology.Device, l linkInfo, ok bool)
	// close detaches the XDP program if it is still attached, and closes
	// the handles.
	close() error
}

// linkInfo is what the knobs read of a device's link attributes.
type linkInfo struct {
	kind       string // netlink kind: veth, macvlan, bridge...
	mtu        int
	txQueueLen int
	txQueues   int
	rxQueues   int
	xdp        string // the attached program's mode: XDPOff, XDPNative, XDPGeneric, "offload"...
}

// rootQdisc describes a device's root qdisc as the kernel reports it.
type rootQdisc struct {
	kind   string // "noqueue" when the device has no root qdisc
	handle uint32
	limit  int    // pfifo: packets, bfifo and tbf: bytes; 0 for other kinds
	rate   uint64 // tbf: bytes per second
}
