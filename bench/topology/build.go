package topology

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// builder holds the building blocks every kind is made of.
type builder struct {
	ctx context.Context
	t   *Topology
}

// ns creates a namespace owned by the topology, with lo up. Its name
// ("sender", "router", ...) labels its counters in results.
func (b *builder) ns(name string) (*netns.NS, error) {
	if err := b.ctx.Err(); err != nil {
		return nil, err
	}
	n, err := netns.New()
	if err != nil {
		return nil, err
	}
	b.t.namespaces = append(b.t.namespaces, Namespace{Name: name, NS: n})
	if b.t.Spec.Family == IPv4 {
		// No IPv6 in an IPv4 topology: router solicitations, MLD reports
		// and duplicate detection would be packets on the measured path.
		for _, p := range []string{"all", "default"} {
			if err := n.WriteFile("/proc/sys/net/ipv6/conf/"+p+"/disable_ipv6", []byte("1\n")); err != nil {
				return nil, fmt.Errorf("disable IPv6: %w", err)
			}
		}
	}
	err = withHandle(n, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("find lo: %w", err)
		}
		if err := h.LinkSetUp(lo); err != nil {
			return fmt.Errorf("set lo up: %w", err)
		}
		return nil
	})
	return n, err
}

// nss creates one namespace per name, in order.
func (b *builder) nss(names ...string) ([]*netns.NS, error) {
	out := make([]*netns.NS, len(names))
	for i, name := range names {
		n, err := b.ns(name)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// name returns the device name for a role: "vb" + run id + "-" + role,
// within the 15-byte limit.
func (b *builder) name(role string) string {
	name := NamePrefix + b.t.Spec.RunID + "-" + role
	if len(name) > unix.IFNAMSIZ-1 {
		name = name[:unix.IFNAMSIZ-1]
	}
	return name
}

// record adds a device to the topology's list.
func (b *builder) record(role, ifname, kind string, n *netns.NS, end End) {
	b.t.Devices = append(b.t.Devices, Device{Role: role, Ifname: ifname, Kind: kind, NS: n, End: end})
}

// linkAttrs returns attributes for a new device: a sending end of a link
// unless receiving is set. NewLinkAttrs leaves txqueuelen and the netns id
// unset (-1); a zero LinkAttrs would create the device with txqueuelen 0.
func (b *builder) linkAttrs(name string, receiving bool) netlink.LinkAttrs {
	s := b.t.Spec
	a := netlink.NewLinkAttrs()
	a.Name, a.MTU = name, s.MTU
	a.NumTxQueues, a.NumRxQueues = s.TxQueues, s.RxQueues
	if receiving {
		a.NumTxQueues, a.NumRxQueues = s.PeerTxQueues, s.PeerRxQueues
	}
	return a
}

// add creates a link through a handle in n. A kind the kernel does not know
// is ErrNotSupported.
func (b *builder) add(n *netns.NS, l netlink.Link) error {
	return withHandle(n, func(h *netlink.Handle) error {
		if err := h.LinkAdd(l); err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) {
				return unsupported("kernel has no %s support", l.Type())
			}
			return fmt.Errorf("create %s %q: %w", l.Type(), l.Attrs().Name, err)
		}
		return nil
	})
}

// vethPair creates a veth pair from the sending end up (in up) to the
// receiving end down (in down), without it ever appearing anywhere else:
// the request is sent from up, the peer is placed in down by descriptor.
func (b *builder) vethPair(up *netns.NS, upName string, down *netns.NS, downName string) error {
	s := b.t.Spec
	return b.add(up, &netlink.Veth{
		LinkAttrs:       b.linkAttrs(upName, false),
		PeerName:        downName,
		PeerNamespace:   netlink.NsFd(down.Fd()),
		PeerTxQLen:      -1,
		PeerMTU:         uint32(s.MTU),
		PeerNumTxQueues: uint32(s.PeerTxQueues),
		PeerNumRxQueues: uint32(s.PeerRxQueues),
	})
}

// iface is what the builder learns of a configured device.
type iface struct {
	ns    *netns.NS
	name  string
	index int
	mac   net.HardwareAddr
	addr  netip.Addr // invalid when the device has no address
}

// up looks the device up again (its index is only meaningful in its own
// namespace), adds the address if one is given and brings it up.
func (b *builder) up(n *netns.NS, name string, pfx netip.Prefix) (iface, error) {
	var info iface
	err := withHandle(n, func(h *netlink.Handle) error {
		l, err := h.LinkByName(name)
		if err != nil {
			return fmt.Errorf("find %q: %w", name, err)
		}
		if pfx.IsValid() {
			addr := &netlink.Addr{IPNet: prefixToIPNet(pfx)}
			if pfx.Addr().Is6() {
				addr.Flags = unix.IFA_F_NODAD // usable at once, no duplicate detection wait
			}
			if err := h.AddrAdd(l, addr); err != nil {
				return fmt.Errorf("address %q: %w", name, err)
			}
		}
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("set %q up: %w", name, err)
		}
		info = iface{ns: n, name: name, index: l.Attrs().Index, mac: l.Attrs().HardwareAddr, addr: pfx.Addr()}
		return nil
	})
	return info, err
}

// operUpTimeout bounds the wait for a device to come up; linkwatch
// normally takes well under a millisecond, at worst about a second.
const operUpTimeout = 3 * time.Second

// waitUp waits until every device is operationally up: the kernel attaches
// a device's qdiscs (until then it drops what it is given) when it marks
// the link up, asynchronously.
func (b *builder) waitUp(ifs ...iface) error {
	for _, i := range ifs {
		err := withHandle(i.ns, func(h *netlink.Handle) error {
			deadline := time.Now().Add(operUpTimeout)
			for {
				l, err := h.LinkByName(i.name)
				if err != nil {
					return fmt.Errorf("find %q: %w", i.name, err)
				}
				// Devices without carrier reporting (ipvlan l3) stay "unknown".
				st := l.Attrs().OperState
				if st == netlink.OperUp || st == netlink.OperUnknown {
					pending, err := v6Pending(h, l)
					// A dump racing with address changes is retried.
					if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
						return err
					}
					if err == nil && !pending {
						return nil
					}
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("%q still %s after %v", i.name, l.Attrs().OperState, operUpTimeout)
				}
				select {
				case <-b.ctx.Done():
					return b.ctx.Err()
				case <-time.After(time.Millisecond):
				}
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// v6Pending reports whether an IPv6 address of ours on l cannot receive
// yet. Even without duplicate detection (IFA_F_NODAD, which vethbench sets)
// the kernel installs an address's local route from a work queue after the
// link comes up; until then a packet to it is dropped as an address error
// (Ip6InAddrErrors). The address's flags do not show this; the route does.
func v6Pending(h *netlink.Handle, l netlink.Link) (bool, error) {
	addrs, err := h.AddrList(l, netlink.FAMILY_V6)
	if err != nil {
		return false, fmt.Errorf("list addresses of %q: %w", l.Attrs().Name, err)
	}
	for _, a := range addrs {
		// Link-local addresses do real duplicate detection (about a
		// second) and vethbench never sends from or to them.
		if a.Scope != unix.RT_SCOPE_UNIVERSE {
			continue
		}
		routes, err := h.RouteListFiltered(netlink.FAMILY_V6,
			&netlink.Route{Table: unix.RT_TABLE_LOCAL, Dst: &net.IPNet{IP: a.IP, Mask: net.CIDRMask(128, 128)}},
			netlink.RT_FILTER_TABLE|netlink.RT_FILTER_DST)
		if err != nil {
			return false, fmt.Errorf("list local routes: %w", err)
		}
		if len(routes) == 0 {
			return true, nil
		}
	}
	return false, nil
}

// neighbors adds permanent neighbour entries in both directions between two
// interfaces on one link, so no ARP/ND exchange runs while measuring.
func (b *builder) neighbors(x, y iface) error {
	if err := addNeighbor(x.ns, x.index, y.addr, y.mac); err != nil {
		return err
	}
	return addNeighbor(y.ns, y.index, x.addr, x.mac)
}

func addNeighbor(n *netns.NS, ifindex int, ip netip.Addr, mac net.HardwareAddr) error {
	return withHandle(n, func(h *netlink.Handle) error {
		fam := netlink.FAMILY_V4
		if ip.Is6() {
			fam = netlink.FAMILY_V6
		}
		err := h.NeighSet(&netlink.Neigh{
			LinkIndex: ifindex, Family: fam, State: netlink.NUD_PERMANENT,
			IP: ip.AsSlice(), HardwareAddr: mac,
		})
		if err != nil {
			return fmt.Errorf("neighbour %s: %w", ip, err)
		}
		return nil
	})
}

// defaultRoute routes everything from i's namespace through gw.
func (b *builder) defaultRoute(i iface, gw netip.Addr) error {
	return withHandle(i.ns, func(h *netlink.Handle) error {
		dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if gw.Is6() {
			dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		err := h.RouteAdd(&netlink.Route{LinkIndex: i.index, Dst: prefixToIPNet(dst), Gw: gw.AsSlice()})
		if err != nil {
			return fmt.Errorf("default route via %s: %w", gw, err)
		}
		return nil
	})
}

// forwarding turns IP forwarding on in a namespace of the topology's own
// (a per-namespace sysctl; the host's is never touched).
func (b *builder) forwarding(n *netns.NS) error {
	path := "/proc/sys/net/ipv4/ip_forward"
	if b.t.Spec.Family == IPv6 {
		path = "/proc/sys/net/ipv6/conf/all/forwarding"
	}
	if err := n.WriteFile(path, []byte("1\n")); err != nil {
		return fmt.Errorf("enable forwarding: %w", err)
	}
	return nil
}

// endpoints sets the topology's sender and receiver.
func (b *builder) endpoints(snd, rcv iface) {
	b.t.Sender = Endpoint{NS: snd.ns, Ifname: snd.name, Ifindex: snd.index, Addr: snd.addr}
	b.t.Receiver = Endpoint{NS: rcv.ns, Ifname: rcv.name, Ifindex: rcv.index, Addr: rcv.addr}
	b.t.SenderSeenAs = snd.addr
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
