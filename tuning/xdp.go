package tuning

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// XDPProgramName is the name of the program the xdp knob attaches.
const XDPProgramName = "vb_knob_xdp"

// xdpState holds what the xdp knob attached during one Apply: one program
// and a BPF link per device. Closing a link detaches the program; the
// links die with the process, so a killed run leaves no program behind.
type xdpState struct {
	mu    sync.Mutex
	prog  *ebpf.Program
	links map[*devEnv]link.Link
}

func newXDPState() *xdpState { return &xdpState{links: map[*devEnv]link.Link{}} }

// program loads the trivial XDP_PASS program once. It is loaded as
// multi-buffer aware (BPF_F_XDP_HAS_FRAGS) where the kernel allows, so a
// veth with an MTU above a page can take it natively; it only returns
// XDP_PASS, so it is correct for any frame.
func (s *xdpState) program() (*ebpf.Program, error) {
	if s.prog != nil {
		return s.prog, nil
	}
	spec := &ebpf.ProgramSpec{
		Name:         XDPProgramName,
		Type:         ebpf.XDP,
		License:      "GPL",
		Flags:        unix.BPF_F_XDP_HAS_FRAGS,
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2 /* XDP_PASS */), asm.Return()},
	}
	p, err := ebpf.NewProgramWithOptions(spec, ebpf.ProgramOptions{LogDisabled: true})
	if err != nil {
		spec.Flags = 0 // kernels before 5.18 do not know the flag
		p, err = ebpf.NewProgramWithOptions(spec, ebpf.ProgramOptions{LogDisabled: true})
	}
	if err != nil {
		return nil, fmt.Errorf("load XDP program: %w", err)
	}
	s.prog = p
	return p, nil
}

// detach closes the link attached to e, if any.
func (s *xdpState) detach(e *devEnv) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[e]
	if !ok {
		return nil
	}
	delete(s.links, e)
	if err := l.Close(); err != nil {
		return fmt.Errorf("detach XDP: %w", err)
	}
	return nil
}

func (s *xdpState) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for e, l := range s.links {
		errs = append(errs, l.Close())
		delete(s.links, e)
	}
	if s.prog != nil {
		errs = append(errs, s.prog.Close())
		s.prog = nil
	}
	return errors.Join(errs...)
}

// xdpModeOf names the attach mode of a device's XDP program as the knob
// spells it; IFLA_XDP_ATTACHED says driver (1), skb (2), hw (3), multi (4).
func xdpModeOf(x *netlink.LinkXdp) string {
	if x == nil || !x.Attached {
		return XDPOff
	}
	switch x.AttachMode {
	case nl.XDP_ATTACHED_DRV:
		return XDPNative
	case nl.XDP_ATTACHED_SKB:
		return XDPGeneric
	case nl.XDP_ATTACHED_HW:
		return "offload"
	case 4: // XDP_ATTACHED_MULTI
		return "multi"
	}
	return fmt.Sprintf("mode %d", x.AttachMode)
}

var xdpOps = &deviceOps{
	get: func(e *devEnv) (string, error) {
		l, err := e.link()
		if err != nil {
			return "", err
		}
		return xdpModeOf(l.Attrs().Xdp), nil
	},
	set: func(e *devEnv, mode string) error {
		if err := e.xdp.detach(e); err != nil {
			return err
		}
		l, err := e.link()
		if err != nil {
			return err
		}
		if cur := xdpModeOf(l.Attrs().Xdp); cur != XDPOff {
			return fmt.Errorf("an XDP program vethbench did not attach is on the device (%s)", cur)
		}
		if mode == XDPOff {
			return nil
		}
		prog, err := e.xdp.program()
		if err != nil {
			return err
		}
		flags := link.XDPDriverMode
		if mode == XDPGeneric {
			flags = link.XDPGenericMode
		}
		var xl link.Link
		// BPF_LINK_CREATE resolves the ifindex in the caller's namespace.
		err = e.dev.NS.Do(func() error {
			var err error
			xl, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: l.Attrs().Index, Flags: flags})
			return err
		})
		if err != nil {
			return xdpError(e, l, mode, err)
		}
		e.xdp.mu.Lock()
		e.xdp.links[e] = xl
		e.xdp.mu.Unlock()
		return nil
	},
	restore: func(e *devEnv, before string) error {
		// Only vethbench's own program is ever attached by the knob.
		return e.xdp.detach(e)
	},
}

// xdpError explains a failed attach: a mode the device lacks is not
// applicable; veth's queue and MTU rules are spelled out.
func xdpError(e *devEnv, l netlink.Link, mode string, err error) error {
	long := map[string]string{XDPNative: "native (driver)", XDPGeneric: "generic (skb)"}[mode]
	if errors.Is(err, unix.EOPNOTSUPP) {
		return notApplicable("%s has no %s XDP (EOPNOTSUPP)", e.dev.Kind, long)
	}
	if l.Type() == "veth" && mode == XDPNative {
		switch {
		case errors.Is(err, unix.ENOSPC):
			rx := l.Attrs().NumRxQueues
			conflict := fmt.Sprintf("this end has %d RX queue(s) and its peer more TX queues", rx)
			if peer, tx, ok := vethPeer(e, l); ok {
				conflict = fmt.Sprintf("%s has %d RX queue(s) and its peer %s has %d TX queues", e.dev.Ifname, rx, peer, tx)
			}
			return fmt.Errorf("queue conflict: veth native XDP needs this end's RX queues >= its peer's TX queues, "+
				"and %s (kernel: ENOSPC); give the receiving ends at least as many RX queues as the sending ends "+
				"have TX queues (topology peer_rx_queues >= tx_queues, --peer-rx-queues >= --tx-queues)", conflict)
		case errors.Is(err, unix.ERANGE):
			return fmt.Errorf("veth native XDP refuses a peer MTU above one page of frame (kernel: ERANGE); "+
				"the MTU here is %d: %w", l.Attrs().MTU, err)
		case errors.Is(err, unix.ENOTCONN):
			return fmt.Errorf("veth native XDP needs the peer attached (kernel: ENOTCONN): %w", err)
		}
	}
	return fmt.Errorf("attach XDP in %s mode: %w", long, err)
}

// vethPeer finds the other end of veth l among the topology's devices: the
// device whose index is l's IFLA_LINK in the namespace l's
// IFLA_LINK_NETNSID names. It returns the peer's role and name, and its TX
// queue count.
func vethPeer(e *devEnv, l netlink.Link) (string, int, bool) {
	a := l.Attrs()
	if e.topo == nil || a.ParentIndex == 0 {
		return "", 0, false
	}
	for _, d := range e.topo.Devices {
		if d.Kind != "veth" || d.Ifname == e.dev.Ifname && d.NS == e.dev.NS {
			continue
		}
		if a.NetNsID >= 0 {
			id, err := e.h.GetNetNsIdByFd(d.NS.Fd())
			if err != nil || id != a.NetNsID {
				continue
			}
		} else if d.NS != e.dev.NS {
			continue
		}
		pl, err := linkIn(d.NS, d.Ifname)
		if err != nil || pl.Attrs().Index != a.ParentIndex {
			continue
		}
		return fmt.Sprintf("%s (%s)", d.Role, d.Ifname), pl.Attrs().NumTxQueues, true
	}
	return "", 0, false
}

func linkIn(n *netns.NS, ifname string) (netlink.Link, error) {
	h, err := n.NetlinkHandle()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return h.LinkByName(ifname)
}

// deviceHasNAPI tells whether a receiving veth polls with NAPI: only with
// GRO on or a native XDP program. Other kinds: unknown (ok false).
func deviceHasNAPI(e *devEnv) (has, ok bool) {
	if e.dev.Kind != "veth" {
		return false, false
	}
	l, err := e.link()
	if err != nil {
		return false, false
	}
	if xdpModeOf(l.Attrs().Xdp) == XDPNative {
		return true, true
	}
	if e.eth == nil {
		return false, false
	}
	fs, err := e.eth.Features(e.dev.Ifname)
	if err != nil {
		return false, false
	}
	return fs["rx-gro"], true
}
