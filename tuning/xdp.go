package tuning

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// xdpOps attaches the trivial XDP_PASS program (XDPProgramName) through a
// BPF link per device, and only ever detaches its own.
var xdpOps = &deviceOps{
	get: func(e *devEnv) (string, error) {
		l, err := e.k.link()
		if err != nil {
			return "", err
		}
		return l.xdp, nil
	},
	set: func(e *devEnv, mode string) error {
		if err := e.k.detachXDP(); err != nil {
			return err
		}
		l, err := e.k.link()
		if err != nil {
			return err
		}
		if l.xdp != XDPOff {
			return fmt.Errorf("an XDP program vethbench did not attach is on the device (%s)", l.xdp)
		}
		if mode == XDPOff {
			return nil
		}
		if err := e.k.attachXDP(mode); err != nil {
			return xdpError(e, l, mode, err)
		}
		return nil
	},
	restore: func(e *devEnv, before string) error {
		// Only vethbench's own program is ever attached by the knob.
		return e.k.detachXDP()
	},
}

// xdpError explains a failed attach: a mode the device lacks is not
// applicable; veth's queue and MTU rules are spelled out.
func xdpError(e *devEnv, l linkInfo, mode string, err error) error {
	long := map[string]string{XDPNative: "native (driver)", XDPGeneric: "generic (skb)"}[mode]
	if errors.Is(err, unix.EOPNOTSUPP) {
		return notApplicable("%s has no %s XDP (EOPNOTSUPP)", e.dev.Kind, long)
	}
	if l.kind == "veth" && mode == XDPNative {
		switch {
		case errors.Is(err, unix.ENOSPC):
			conflict := fmt.Sprintf("this end has %d RX queue(s) and its peer more TX queues", l.rxQueues)
			if peer, pl, ok := e.k.vethPeer(e.all); ok {
				conflict = fmt.Sprintf("%s has %d RX queue(s) and its peer %s (%s) has %d TX queues",
					e.dev.Ifname, l.rxQueues, peer.Role, peer.Ifname, pl.txQueues)
			}
			return fmt.Errorf("queue conflict: veth native XDP needs this end's RX queues >= its peer's TX queues, "+
				"and %s (kernel: ENOSPC); give the receiving ends at least as many RX queues as the sending ends "+
				"have TX queues (topology peer_rx_queues >= tx_queues, --peer-rx-queues >= --tx-queues)", conflict)
		case errors.Is(err, unix.ERANGE):
			return fmt.Errorf("veth native XDP refuses a peer MTU above one page of frame (kernel: ERANGE); "+
				"the MTU here is %d: %w", l.mtu, err)
		case errors.Is(err, unix.ENOTCONN):
			return fmt.Errorf("veth native XDP needs the peer attached (kernel: ENOTCONN): %w", err)
		}
	}
	return fmt.Errorf("attach XDP in %s mode: %w", long, err)
}

// deviceHasNAPI tells whether a receiving veth polls with NAPI: only with
// GRO on or a native XDP program. Other kinds: unknown (ok false).
func deviceHasNAPI(e *devEnv) (has, ok bool) {
	if e.dev.Kind != "veth" {
		return false, false
	}
	l, err := e.k.link()
	if err != nil {
		return false, false
	}
	if l.xdp == XDPNative {
		return true, true
	}
	feats, err := e.k.features()
	if err != nil {
		return false, false
	}
	return feats["rx-gro"].Active, true
}
