package tuning

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
	"github.com/vethbench/vethbench/reports/result"
)

// Features lists the ethtool features every result records, by their kernel
// names (ethtool -k shows the same names).
var Features = []string{
	"rx-gro",                  // GRO
	"rx-gro-list",             // fraglist GRO
	"rx-udp-gro-forwarding",   // UDP GRO when forwarding
	"tx-generic-segmentation", // GSO
	"tx-tcp-segmentation",     // TSO
	"tx-udp-segmentation",     // UDP GSO offload
	"tx-checksum-ip-generic",  // tx checksumming
	"rx-checksum",             // rx checksumming
	"tx-scatter-gather",
}

// ReadDevice reads every knob of ifname inside n. It returns an error only
// when the device cannot be found; unreadable knobs are listed in Errors.
func ReadDevice(n *netns.NS, ifname string) (result.DeviceKnobs, error) {
	return readDevice(&sysKernel{}, n, ifname)
}

func readDevice(k kernel, n *netns.NS, ifname string) (result.DeviceKnobs, error) {
	kn := result.DeviceKnobs{Ifname: ifname}
	d, err := k.device(n, ifname)
	if err != nil {
		return kn, err
	}
	defer d.close()
	l, err := d.link()
	if err != nil {
		return kn, err
	}
	kn.Kind = l.kind
	kn.MTU = l.mtu
	kn.TxQueueLen = l.txQueueLen
	kn.TxQueues = l.txQueues
	kn.RxQueues = l.rxQueues
	kn.XDP = l.xdp
	if kn.XDP == XDPOff {
		kn.XDP = "none"
	}

	if q, err := d.rootQdisc(); err != nil {
		kn.Errors = append(kn.Errors, fmt.Sprintf("qdisc: %v", err))
	} else {
		kn.Qdisc, kn.QdiscLimit, kn.QdiscRateBps = q.kind, q.limit, int64(q.rate*8)
	}
	readNAPI(d, &kn)

	feats, err := d.features()
	switch {
	case errors.Is(err, unix.EOPNOTSUPP):
		kn.Errors = append(kn.Errors, "features: not applicable to this device")
	case err != nil:
		kn.Errors = append(kn.Errors, fmt.Sprintf("features: %v", err))
	default:
		kn.Features = make(map[string]bool, len(Features))
		for _, name := range Features {
			if s, ok := feats[name]; ok {
				kn.Features[name] = s.Active
			}
		}
	}
	return kn, nil
}

// readNAPI reads the NAPI settings of /sys/class/net/DEV.
func readNAPI(d device, kn *result.DeviceKnobs) {
	if v, err := d.readSysfs("threaded"); err != nil {
		kn.Errors = append(kn.Errors, fmt.Sprintf("threaded: %v", err))
	} else {
		kn.ThreadedNAPI = threadedValue(v)
	}
	for _, f := range []struct {
		file string
		dst  *int64
	}{{"gro_flush_timeout", &kn.GROFlushTimeout}, {"napi_defer_hard_irqs", &kn.NAPIDeferHardIRQs}} {
		v, err := d.readSysfs(f.file)
		if err != nil {
			kn.Errors = append(kn.Errors, fmt.Sprintf("%s: %v", f.file, err))
			continue
		}
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			kn.Errors = append(kn.Errors, fmt.Sprintf("%s: %q is not an integer", f.file, v))
		}
		*f.dst = x
	}
}
