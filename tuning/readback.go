package tuning

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/safchain/ethtool"
	"github.com/vishvananda/netlink"
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
	k := result.DeviceKnobs{Ifname: ifname}
	var (
		h      *netlink.Handle
		eth    *ethtool.Ethtool
		ethErr error
	)
	err := n.Do(func() error {
		var err error
		if h, err = netlink.NewHandle(); err != nil {
			return err
		}
		eth, ethErr = ethtool.NewEthtool()
		return nil
	})
	if eth != nil {
		defer eth.Close()
	}
	if err != nil {
		return k, fmt.Errorf("netlink handle: %w", err)
	}
	defer h.Close()

	l, err := h.LinkByName(ifname)
	if err != nil {
		return k, fmt.Errorf("find %q: %w", ifname, err)
	}
	a := l.Attrs()
	k.Kind = l.Type()
	k.MTU = a.MTU
	k.TxQueueLen = a.TxQLen
	k.TxQueues = a.NumTxQueues
	k.RxQueues = a.NumRxQueues
	k.XDP = xdpModeOf(a.Xdp)
	if k.XDP == XDPOff {
		k.XDP = "none"
	}

	if q, err := readRootQdisc(n, ifname); err != nil {
		k.Errors = append(k.Errors, fmt.Sprintf("qdisc: %v", err))
	} else {
		k.Qdisc, k.QdiscLimit = q.kind, q.limit
	}
	readNAPI(n, ifname, &k)

	if ethErr != nil {
		k.Errors = append(k.Errors, fmt.Sprintf("ethtool: %v", ethErr))
		return k, nil
	}
	feats, err := eth.Features(ifname)
	switch {
	case errors.Is(err, unix.EOPNOTSUPP):
		k.Errors = append(k.Errors, "features: not applicable to this device")
	case err != nil:
		k.Errors = append(k.Errors, fmt.Sprintf("features: %v", err))
	default:
		k.Features = make(map[string]bool, len(Features))
		for _, name := range Features {
			if v, ok := feats[name]; ok {
				k.Features[name] = v
			}
		}
	}
	return k, nil
}

// readNAPI reads the NAPI settings of /sys/class/net/DEV through a sysfs
// of the device's namespace.
func readNAPI(n *netns.NS, ifname string, k *result.DeviceKnobs) {
	vals := map[string]string{}
	err := n.DoSysfs(func(root string) error {
		for _, f := range []string{"threaded", "gro_flush_timeout", "napi_defer_hard_irqs"} {
			b, err := os.ReadFile(filepath.Join(root, "class/net", ifname, f))
			if err != nil {
				k.Errors = append(k.Errors, fmt.Sprintf("%s: %v", f, err))
				continue
			}
			vals[f] = strings.TrimSpace(string(b))
		}
		return nil
	})
	if err != nil {
		k.Errors = append(k.Errors, fmt.Sprintf("sysfs: %v", err))
		return
	}
	if v, ok := vals["threaded"]; ok {
		k.ThreadedNAPI = threadedValue(v)
	}
	for f, dst := range map[string]*int64{"gro_flush_timeout": &k.GROFlushTimeout, "napi_defer_hard_irqs": &k.NAPIDeferHardIRQs} {
		if v, ok := vals[f]; ok {
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				k.Errors = append(k.Errors, fmt.Sprintf("%s: %q is not an integer", f, v))
			}
			*dst = x
		}
	}
}
