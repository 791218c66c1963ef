package tuning

import (
	"errors"
	"fmt"

	"github.com/safchain/ethtool"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/netns"
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
	k.XDP = "none"
	if a.Xdp != nil && a.Xdp.Attached {
		k.XDP = xdpMode(a.Xdp.AttachMode)
	}

	qs, err := h.QdiscList(l)
	if err != nil {
		k.Errors = append(k.Errors, fmt.Sprintf("qdisc: %v", err))
	}
	for _, q := range qs {
		if q.Attrs().Parent == netlink.HANDLE_ROOT {
			k.Qdisc = q.Type()
		}
	}
	if k.Qdisc == "" && err == nil {
		// A device without a root qdisc entry transmits without queueing.
		k.Qdisc = "noqueue"
	}

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

func xdpMode(m uint32) string {
	switch m {
	case 1:
		return "generic"
	case 2:
		return "native"
	case 3:
		return "offload"
	case 4:
		return "multi"
	}
	return fmt.Sprintf("mode %d", m)
}
