package topology

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/netns"
)

// ErrNotSupported means the running kernel cannot build the topology.
var ErrNotSupported = errors.New("not supported")

// NamePrefix starts every device name vethbench creates.
const NamePrefix = "vb"

// Topology is a realized Spec. Sender and Receiver are where traffic leaves
// and arrives; Devices lists every device made, for reading knobs back.
type Topology struct {
	Spec     Spec
	Sender   Endpoint
	Receiver Endpoint
	Devices  []Device

	namespaces []*netns.NS // closed in reverse order
	closed     bool
}

// Addresses used inside the private namespaces. They never leave them: the
// namespaces have no route to anything but each other.
var (
	senderV4   = netip.MustParsePrefix("10.231.0.1/24")
	receiverV4 = netip.MustParsePrefix("10.231.0.2/24")
	senderV6   = netip.MustParsePrefix("fd00:7665:7468::1/64")
	receiverV6 = netip.MustParsePrefix("fd00:7665:7468::2/64")
)

// NewRunID returns a random run id for device names.
func NewRunID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Realize builds the topology. On error everything made so far is removed.
func Realize(ctx context.Context, s Spec) (*Topology, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.WithDefaults()
	if s.RunID == "" {
		s.RunID = NewRunID()
	}
	t := &Topology{Spec: s}
	var err error
	switch s.Kind {
	case KindVeth:
		err = t.buildVeth(ctx)
	case KindLoopback:
		err = t.buildLoopback(ctx)
	}
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("realize %s: %w", s.Kind, err)
	}
	return t, nil
}

// Close tears the topology down: closing the namespaces destroys every
// device in them. It is idempotent.
func (t *Topology) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	var errs []error
	for _, n := range slices.Backward(t.namespaces) {
		errs = append(errs, n.Close())
	}
	t.namespaces = nil
	return errors.Join(errs...)
}

// Namespaces returns the namespaces the topology owns, in creation order.
func (t *Topology) Namespaces() []*netns.NS { return t.namespaces }

func (t *Topology) newNS(ctx context.Context) (*netns.NS, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n, err := netns.New()
	if err != nil {
		return nil, err
	}
	t.namespaces = append(t.namespaces, n)
	if err := withHandle(n, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("find lo: %w", err)
		}
		if err := h.LinkSetUp(lo); err != nil {
			return fmt.Errorf("set lo up: %w", err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return n, nil
}

func (t *Topology) devName(role string) string {
	// "vb" + 6 hex + "-" + role initial(s): at most 15 bytes.
	name := NamePrefix + t.Spec.RunID + "-" + role
	if len(name) > unix.IFNAMSIZ-1 {
		name = name[:unix.IFNAMSIZ-1]
	}
	return name
}

func (t *Topology) prefixes() (snd, rcv netip.Prefix) {
	if t.Spec.Family == IPv6 {
		return senderV6, receiverV6
	}
	return senderV4, receiverV4
}

func (t *Topology) buildVeth(ctx context.Context) error {
	sndNS, err := t.newNS(ctx)
	if err != nil {
		return err
	}
	rcvNS, err := t.newNS(ctx)
	if err != nil {
		return err
	}
	s := t.Spec
	sndName, rcvName := t.devName("s"), t.devName("r")
	// NewLinkAttrs leaves txqueuelen and the netns id unset (-1); a zero
	// LinkAttrs would create the device with txqueuelen 0.
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = sndName, s.MTU
	attrs.NumTxQueues, attrs.NumRxQueues = s.TxQueues, s.RxQueues
	veth := &netlink.Veth{
		LinkAttrs:       attrs,
		PeerTxQLen:      -1,
		PeerName:        rcvName,
		PeerNamespace:   netlink.NsFd(rcvNS.Fd()),
		PeerMTU:         uint32(s.MTU),
		PeerNumTxQueues: uint32(s.TxQueues),
		PeerNumRxQueues: uint32(s.RxQueues),
	}
	err = withHandle(sndNS, func(h *netlink.Handle) error {
		if err := h.LinkAdd(veth); err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) {
				return fmt.Errorf("%w: kernel has no veth", ErrNotSupported)
			}
			return fmt.Errorf("create veth %q: %w", sndName, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sndPfx, rcvPfx := t.prefixes()
	snd, err := setupEnd(sndNS, sndName, sndPfx)
	if err != nil {
		return err
	}
	rcv, err := setupEnd(rcvNS, rcvName, rcvPfx)
	if err != nil {
		return err
	}
	// The kernel attaches the qdiscs (until then a device drops what it
	// is given) when it marks the link operationally up, asynchronously.
	if err := waitOperUp(ctx, sndNS, sndName); err != nil {
		return err
	}
	if err := waitOperUp(ctx, rcvNS, rcvName); err != nil {
		return err
	}
	// Static neighbours: no ARP/ND exchange during a measurement window.
	if err := addNeighbor(sndNS, snd.Ifindex, rcvPfx.Addr(), rcv.mac); err != nil {
		return err
	}
	if err := addNeighbor(rcvNS, rcv.Ifindex, sndPfx.Addr(), snd.mac); err != nil {
		return err
	}
	t.Sender = Endpoint{NS: sndNS, Ifname: sndName, Ifindex: snd.Ifindex, Addr: sndPfx.Addr()}
	t.Receiver = Endpoint{NS: rcvNS, Ifname: rcvName, Ifindex: rcv.Ifindex, Addr: rcvPfx.Addr()}
	t.Devices = []Device{
		{Role: "sender", Ifname: sndName, Kind: "veth", NS: sndNS},
		{Role: "receiver", Ifname: rcvName, Kind: "veth", NS: rcvNS},
	}
	return nil
}

func (t *Topology) buildLoopback(ctx context.Context) error {
	n, err := t.newNS(ctx)
	if err != nil {
		return err
	}
	var idx int
	err = withHandle(n, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("find lo: %w", err)
		}
		idx = lo.Attrs().Index
		if t.Spec.MTU != 1500 { // lo defaults to 65536; only an explicit MTU changes it
			if err := h.LinkSetMTU(lo, t.Spec.MTU); err != nil {
				return fmt.Errorf("set lo mtu: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	addr := netip.MustParseAddr("127.0.0.1")
	if t.Spec.Family == IPv6 {
		addr = netip.IPv6Loopback()
	}
	t.Sender = Endpoint{NS: n, Ifname: "lo", Ifindex: idx, Addr: addr}
	t.Receiver = t.Sender
	t.Devices = []Device{{Role: "loopback", Ifname: "lo", Kind: "loopback", NS: n}}
	return nil
}

type endInfo struct {
	Ifindex int
	mac     net.HardwareAddr
}

// setupEnd looks the device up again (its index is only meaningful in its
// own namespace), addresses it and brings it up.
func setupEnd(n *netns.NS, name string, pfx netip.Prefix) (endInfo, error) {
	var info endInfo
	err := withHandle(n, func(h *netlink.Handle) error {
		l, err := h.LinkByName(name)
		if err != nil {
			return fmt.Errorf("find %q: %w", name, err)
		}
		addr := &netlink.Addr{IPNet: prefixToIPNet(pfx)}
		if pfx.Addr().Is6() {
			addr.Flags = unix.IFA_F_NODAD // usable at once, no duplicate detection wait
		}
		if err := h.AddrAdd(l, addr); err != nil {
			return fmt.Errorf("address %q: %w", name, err)
		}
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("set %q up: %w", name, err)
		}
		info = endInfo{Ifindex: l.Attrs().Index, mac: l.Attrs().HardwareAddr}
		return nil
	})
	return info, err
}

// operUpTimeout bounds the wait for a device to come up; linkwatch
// normally takes well under a millisecond, at worst about a second.
const operUpTimeout = 3 * time.Second

// waitOperUp waits until the device is operationally up.
func waitOperUp(ctx context.Context, n *netns.NS, name string) error {
	return withHandle(n, func(h *netlink.Handle) error {
		deadline := time.Now().Add(operUpTimeout)
		for {
			l, err := h.LinkByName(name)
			if err != nil {
				return fmt.Errorf("find %q: %w", name, err)
			}
			if l.Attrs().OperState == netlink.OperUp {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%q still %s after %v", name, l.Attrs().OperState, operUpTimeout)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
	})
}

func addNeighbor(n *netns.NS, ifindex int, ip netip.Addr, mac net.HardwareAddr) error {
	return withHandle(n, func(h *netlink.Handle) error {
		fam := netlink.FAMILY_V4
		if ip.Is6() {
			fam = netlink.FAMILY_V6
		}
		err := h.NeighSet(&netlink.Neigh{
			LinkIndex:    ifindex,
			Family:       fam,
			State:        netlink.NUD_PERMANENT,
			IP:           ip.AsSlice(),
			HardwareAddr: mac,
		})
		if err != nil {
			return fmt.Errorf("neighbour %s: %w", ip, err)
		}
		return nil
	})
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// withHandle runs f with a netlink handle bound to the namespace.
func withHandle(n *netns.NS, f func(h *netlink.Handle) error) error {
	h, err := n.NetlinkHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	return f(h)
}
