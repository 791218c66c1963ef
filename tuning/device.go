package tuning

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/safchain/ethtool"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/netns"
)

// notApplicableError: the knob does not exist on this device (a virtual
// device without the ethtool operation, a feature it marks fixed, XDP mode
// it lacks). Reported as "not applicable", never as a failure.
type notApplicableError struct{ reason string }

func (e *notApplicableError) Error() string { return e.reason }

func notApplicable(format string, a ...any) error {
	return &notApplicableError{reason: fmt.Sprintf(format, a...)}
}

// devEnv is what the device knobs of one device work with: handles opened
// inside the device's namespace and used from here.
type devEnv struct {
	topo   *topology.Topology
	dev    topology.Device
	h      *netlink.Handle
	eth    *ethtool.Ethtool // nil when ethErr says why
	ethErr error
	xdp    *xdpState
}

func openDevEnv(topo *topology.Topology, d topology.Device, xs *xdpState) (*devEnv, error) {
	e := &devEnv{topo: topo, dev: d, xdp: xs}
	err := d.NS.Do(func() error {
		var err error
		if e.h, err = netlink.NewHandle(); err != nil {
			return fmt.Errorf("netlink handle: %w", err)
		}
		e.eth, e.ethErr = ethtool.NewEthtool()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", d.Role, d.Ifname, err)
	}
	return e, nil
}

func (e *devEnv) close() {
	if e.h != nil {
		e.h.Close()
	}
	if e.eth != nil {
		e.eth.Close()
	}
}

func (e *devEnv) link() (netlink.Link, error) {
	l, err := e.h.LinkByName(e.dev.Ifname)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", e.dev.Ifname, err)
	}
	return l, nil
}

// deviceOps reads and sets one device knob. restore puts the value read
// before back; nil means set(before).
type deviceOps struct {
	get     func(e *devEnv) (string, error)
	set     func(e *devEnv, value string) error
	restore func(e *devEnv, before string) error
}

var txqueuelenOps = &deviceOps{
	get: func(e *devEnv) (string, error) {
		l, err := e.link()
		if err != nil {
			return "", err
		}
		return strconv.Itoa(l.Attrs().TxQLen), nil
	},
	set: func(e *devEnv, v string) error {
		n, _ := strconv.Atoi(v)
		l, err := e.link()
		if err != nil {
			return err
		}
		if err := e.h.LinkSetTxQLen(l, n); err != nil {
			return devError("set txqueuelen", err)
		}
		return nil
	},
}

// devError classifies a kernel error from changing a device.
func devError(what string, err error) error {
	if errors.Is(err, unix.EOPNOTSUPP) {
		return notApplicable("%s: the device does not support it (EOPNOTSUPP)", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// rootQdisc describes a device's root qdisc as the kernel reports it.
type rootQdisc struct {
	kind   string // "noqueue" when the device has no root qdisc
	handle uint32
	limit  int // pfifo: packets, bfifo: bytes; 0 for other kinds
}

// readRootQdisc dumps the qdiscs of ifname in n with a raw request, since
// vishvananda/netlink does not decode pfifo's and bfifo's limit.
func readRootQdisc(n *netns.NS, ifname string) (rootQdisc, error) {
	var q rootQdisc
	err := n.Do(func() error {
		ifi, err := netlink.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("find %s: %w", ifname, err)
		}
		index := int32(ifi.Attrs().Index)
		req := nl.NewNetlinkRequest(unix.RTM_GETQDISC, unix.NLM_F_DUMP)
		req.AddData(&nl.TcMsg{Family: nl.FAMILY_ALL, Ifindex: index})
		msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWQDISC)
		if err != nil {
			return fmt.Errorf("list qdiscs of %s: %w", ifname, err)
		}
		for _, m := range msgs {
			tc := nl.DeserializeTcMsg(m)
			if tc.Ifindex != index || tc.Parent != netlink.HANDLE_ROOT {
				continue
			}
			attrs, err := nl.ParseRouteAttr(m[tc.Len():])
			if err != nil {
				return fmt.Errorf("parse qdisc of %s: %w", ifname, err)
			}
			var opts []byte
			for _, a := range attrs {
				switch a.Attr.Type {
				case nl.TCA_KIND:
					q.kind = strings.TrimRight(string(a.Value), "\x00")
				case nl.TCA_OPTIONS:
					opts = a.Value
				}
			}
			q.handle = tc.Handle
			if (q.kind == "pfifo" || q.kind == "bfifo") && len(opts) >= 4 {
				q.limit = int(binary.NativeEndian.Uint32(opts)) // struct tc_fifo_qopt
			}
		}
		return nil
	})
	if err != nil {
		return rootQdisc{}, err
	}
	if q.kind == "" {
		// A device without a root qdisc entry transmits without queueing.
		q.kind = "noqueue"
	}
	return q, nil
}

func newRootQdisc(index int, kind string) netlink.Qdisc {
	a := netlink.QdiscAttrs{LinkIndex: index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT}
	if kind == "prio" {
		return netlink.NewPrio(a) // prio refuses to be created without its priomap
	}
	return &netlink.GenericQdisc{QdiscAttrs: a, QdiscType: kind}
}

// qdiscModule names the kernel code behind a qdisc, for "kernel has no".
func qdiscModule(kind string) string {
	switch kind {
	case "pfifo", "bfifo":
		return "sch_fifo (" + kind + ")"
	case "pfifo_fast", "noqueue":
		return kind
	}
	return "sch_" + kind
}

// deleteRoot removes a root qdisc vethbench added, which gives the device
// its default back (noqueue on veth, otherwise default_qdisc or mq).
func deleteRoot(e *devEnv, index int, q rootQdisc) error {
	if q.handle == 0 {
		return nil // the kernel's own default: nothing to delete
	}
	err := e.h.QdiscDel(&netlink.GenericQdisc{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: index, Handle: q.handle, Parent: netlink.HANDLE_ROOT},
		QdiscType:  q.kind,
	})
	if err != nil {
		return fmt.Errorf("delete root qdisc %s: %w", q.kind, err)
	}
	return nil
}

var qdiscOps = &deviceOps{
	get: func(e *devEnv) (string, error) {
		q, err := readRootQdisc(e.dev.NS, e.dev.Ifname)
		return q.kind, err
	},
	set:     setQdisc,
	restore: restoreQdisc,
}

func setQdisc(e *devEnv, kind string) error {
	l, err := e.link()
	if err != nil {
		return err
	}
	cur, err := readRootQdisc(e.dev.NS, e.dev.Ifname)
	if err != nil {
		return err
	}
	if cur.kind == kind {
		return nil
	}
	// The kernel does not change a qdisc's kind in place.
	if err := deleteRoot(e, l.Attrs().Index, cur); err != nil {
		return err
	}
	err = e.h.QdiscReplace(newRootQdisc(l.Attrs().Index, kind))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOENT):
		return &unsupportedError{reason: fmt.Sprintf("kernel has no %s (ENOENT adding qdisc %s)", qdiscModule(kind), kind)}
	case errors.Is(err, unix.EOPNOTSUPP):
		return notApplicable("the device takes no %s root qdisc (EOPNOTSUPP)", kind)
	}
	return fmt.Errorf("set root qdisc %s: %w", kind, err)
}

func restoreQdisc(e *devEnv, before string) error {
	l, err := e.link()
	if err != nil {
		return err
	}
	cur, err := readRootQdisc(e.dev.NS, e.dev.Ifname)
	if err != nil || cur.kind == before {
		return err
	}
	if err := deleteRoot(e, l.Attrs().Index, cur); err != nil {
		return err
	}
	if cur, err = readRootQdisc(e.dev.NS, e.dev.Ifname); err != nil || cur.kind == before {
		return err
	}
	// The default the kernel gave back is not what the device had.
	return setQdisc(e, before)
}

// featureOps handles one ethtool feature by its kernel name.
func featureOps(feature string) *deviceOps {
	state := func(e *devEnv) (ethtool.FeatureState, error) {
		if e.eth == nil {
			return ethtool.FeatureState{}, fmt.Errorf("ethtool: %w", e.ethErr)
		}
		fs, err := e.eth.FeaturesWithState(e.dev.Ifname)
		if errors.Is(err, unix.EOPNOTSUPP) {
			return ethtool.FeatureState{}, notApplicable("the device has no ethtool features (EOPNOTSUPP)")
		}
		if err != nil {
			return ethtool.FeatureState{}, fmt.Errorf("ethtool features: %w", err)
		}
		s, ok := fs[feature]
		if !ok {
			return s, notApplicable("the kernel knows no feature %s", feature)
		}
		return s, nil
	}
	return &deviceOps{
		get: func(e *devEnv) (string, error) {
			s, err := state(e)
			if err != nil {
				return "", err
			}
			return onOffOf(s.Active), nil
		},
		set: func(e *devEnv, v string) error {
			s, err := state(e)
			if err != nil {
				return err
			}
			if !s.Available {
				return notApplicable("%s is fixed %s on this device", feature, onOffOf(s.Active))
			}
			// The kernel answers a request it cannot meet with success and
			// a flag; the read-back after Apply shows what it did.
			if err := e.eth.Change(e.dev.Ifname, map[string]bool{feature: v == "on"}); err != nil {
				return devError("set "+feature, err)
			}
			return nil
		},
		restore: func(e *devEnv, before string) error {
			s, err := state(e)
			if err != nil || !s.Available {
				return nil // nothing was changed
			}
			if err := e.eth.Change(e.dev.Ifname, map[string]bool{feature: before == "on"}); err != nil {
				return fmt.Errorf("restore %s: %w", feature, err)
			}
			return nil
		},
	}
}

// featureHint explains a feature that reads back other than asked, from
// the feature's requested and active state.
func featureHint(e *devEnv, feature, asked string) string {
	if e.eth == nil {
		return ""
	}
	fs, err := e.eth.FeaturesWithState(e.dev.Ifname)
	if err != nil {
		return ""
	}
	s := fs[feature]
	if asked == "on" && s.Requested && !s.Active {
		switch {
		case strings.HasPrefix(feature, "tx-") && !fs["tx-checksum-ip-generic"].Active:
			return fmt.Sprintf("%s is requested on but stays off while tx-checksum-ip-generic (tx_checksum) is off", feature)
		case e.dev.Kind == "macvlan" || e.dev.Kind == "ipvlan":
			return fmt.Sprintf("%s is requested on but stays off: a %s has only the features its lower device has on", feature, e.dev.Kind)
		}
		return fmt.Sprintf("%s is requested on but the kernel keeps it off (a feature it depends on is off)", feature)
	}
	if asked == "off" && !s.Requested && s.Active {
		return fmt.Sprintf("%s is requested off but the kernel keeps it on", feature)
	}
	return ""
}

func onOffOf(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// sysfsOps handles a file of /sys/class/net/DEV: threaded (on/off),
// gro_flush_timeout and napi_defer_hard_irqs (integers).
func sysfsOps(knob string) *deviceOps {
	file := knob
	if knob == "threaded_napi" {
		file = "threaded"
	}
	return &deviceOps{
		get: func(e *devEnv) (string, error) {
			v, err := readDevSysfs(e.dev.NS, e.dev.Ifname, file)
			if err != nil {
				return "", err
			}
			if file == "threaded" {
				return threadedValue(v), nil
			}
			return v, nil
		},
		set: func(e *devEnv, v string) error {
			w := v
			if file == "threaded" {
				w = map[string]string{"on": "1", "off": "0"}[v]
			}
			err := writeDevSysfs(e.dev.NS, e.dev.Ifname, file, w)
			if file == "threaded" && errors.Is(err, unix.EOPNOTSUPP) {
				why := "the device has no NAPI instance to thread (EOPNOTSUPP)"
				if e.dev.Kind == "veth" {
					why += "; a veth gets one with gro on or native xdp"
				}
				return notApplicable("%s", why)
			}
			if errors.Is(err, unix.EOPNOTSUPP) {
				return notApplicable("%s: the device does not support it (EOPNOTSUPP)", file)
			}
			return err
		},
	}
}

// threadedValue names /sys/class/net/DEV/threaded's value.
func threadedValue(v string) string {
	switch v {
	case "0":
		return "off"
	case "1":
		return "on"
	case "2":
		return "busy-poll"
	}
	return v
}

// errNoDevice: the device itself is gone from its sysfs.
var errNoDevice = errors.New("no such device")

func devSysfsPath(root, ifname, file string) (string, error) {
	dir := filepath.Join(root, "class/net", ifname)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("%s: %w", ifname, errNoDevice)
	}
	return filepath.Join(dir, file), nil
}

func readDevSysfs(n *netns.NS, ifname, file string) (string, error) {
	var v string
	err := n.DoSysfs(func(root string) error {
		path, err := devSysfsPath(root, ifname, file)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		v = strings.TrimSpace(string(b))
		return err
	})
	if errors.Is(err, os.ErrNotExist) {
		return "", &unsupportedError{reason: fmt.Sprintf("kernel has no /sys/class/net/DEV/%s", file)}
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", file, err)
	}
	return v, nil
}

func writeDevSysfs(n *netns.NS, ifname, file, value string) error {
	err := n.DoSysfs(func(root string) error {
		path, err := devSysfsPath(root, ifname, file)
		if err != nil {
			return err
		}
		return os.WriteFile(path, []byte(value+"\n"), 0o644)
	})
	if errors.Is(err, os.ErrNotExist) {
		return &unsupportedError{reason: fmt.Sprintf("kernel has no /sys/class/net/DEV/%s", file)}
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
