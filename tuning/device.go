package tuning

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/safchain/ethtool"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/topology"
)

// notApplicableError: the knob does not exist on this device (a virtual
// device without the ethtool operation, a feature it marks fixed, XDP mode
// it lacks). Reported as "not applicable", never as a failure.
type notApplicableError struct{ reason string }

func (e *notApplicableError) Error() string { return e.reason }

func notApplicable(format string, a ...any) error {
	return &notApplicableError{reason: fmt.Sprintf(format, a...)}
}

// devEnv is what the device knobs of one device work with.
type devEnv struct {
	dev topology.Device
	k   device
	// all is every device of the topology, where the veth XDP queue
	// conflict looks for the peer.
	all []topology.Device
	// unshaped is the root qdisc's kind before shape_mbit put a tbf
	// there: what restoring the knob puts back.
	unshaped string
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
		l, err := e.k.link()
		if err != nil {
			return "", err
		}
		return strconv.Itoa(l.txQueueLen), nil
	},
	set: func(e *devEnv, v string) error {
		n, _ := strconv.Atoi(v)
		if err := e.k.setTxQueueLen(n); err != nil {
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
// its default back.
func deleteRoot(e *devEnv, q rootQdisc) error {
	if q.handle == 0 {
		return nil // the kernel's own default: nothing to delete
	}
	if err := e.k.deleteRootQdisc(q); err != nil {
		return fmt.Errorf("delete root qdisc %s: %w", q.kind, err)
	}
	return nil
}

var qdiscOps = &deviceOps{
	get: func(e *devEnv) (string, error) {
		q, err := e.k.rootQdisc()
		return q.kind, err
	},
	set:     setQdisc,
	restore: restoreQdisc,
}

func setQdisc(e *devEnv, kind string) error {
	cur, err := e.k.rootQdisc()
	if err != nil {
		return err
	}
	if cur.kind == kind {
		return nil
	}
	// The kernel does not change a qdisc's kind in place.
	if err := deleteRoot(e, cur); err != nil {
		return err
	}
	err = e.k.addRootQdisc(kind)
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
	cur, err := e.k.rootQdisc()
	if err != nil || cur.kind == before {
		return err
	}
	if err := deleteRoot(e, cur); err != nil {
		return err
	}
	if cur, err = e.k.rootQdisc(); err != nil || cur.kind == before {
		return err
	}
	// The default the kernel gave back is not what the device had.
	return setQdisc(e, before)
}

// featureOps handles one ethtool feature by its kernel name.
func featureOps(feature string) *deviceOps {
	state := func(e *devEnv) (ethtool.FeatureState, error) {
		feats, err := e.k.features()
		if errors.Is(err, unix.EOPNOTSUPP) {
			return ethtool.FeatureState{}, notApplicable("the device has no ethtool features (EOPNOTSUPP)")
		}
		if err != nil {
			return ethtool.FeatureState{}, fmt.Errorf("ethtool features: %w", err)
		}
		s, ok := feats[feature]
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
			if err := e.k.setFeature(feature, v == "on"); err != nil {
				return devError("set "+feature, err)
			}
			return nil
		},
		restore: func(e *devEnv, before string) error {
			s, err := state(e)
			if err != nil || !s.Available {
				return nil // nothing was changed
			}
			if err := e.k.setFeature(feature, before == "on"); err != nil {
				return fmt.Errorf("restore %s: %w", feature, err)
			}
			return nil
		},
	}
}

// featureHint explains a feature that reads back other than asked, from
// the feature's requested and active state.
func featureHint(e *devEnv, feature, asked string) string {
	feats, err := e.k.features()
	if err != nil {
		return ""
	}
	s := feats[feature]
	if asked == "on" && s.Requested && !s.Active {
		switch {
		case strings.HasPrefix(feature, "tx-") && !feats["tx-checksum-ip-generic"].Active:
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
			v, err := e.k.readSysfs(file)
			if err != nil {
				return "", sysfsError("read", file, err)
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
			err := e.k.writeSysfs(file, w)
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
			if err != nil {
				return sysfsError("write", file, err)
			}
			return nil
		},
	}
}

// sysfsError explains a failed access to /sys/class/net/DEV/file; a file
// the kernel does not have is ErrNotSupported.
func sysfsError(op, file string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &unsupportedError{reason: fmt.Sprintf("kernel has no /sys/class/net/DEV/%s", file)}
	}
	return fmt.Errorf("%s %s: %w", op, file, err)
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
