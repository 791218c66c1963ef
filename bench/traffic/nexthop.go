package traffic

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// ErrNoL2Path is wrapped by ResolveL2's errors about the namespace's
// tables: no route to the destination, a route over a device without
// Ethernet framing, or no usable neighbour entry for the next hop.
var ErrNoL2Path = errors.New("no layer-2 path")

// L2Path is how a frame from a namespace reaches a destination: the device
// it leaves by, that device's MAC address, the next hop's MAC address (the
// gateway's, or the destination's own on a directly connected subnet) and
// the source address the kernel would pick. It is what a generator that
// builds its own Ethernet frames (packet, xdp) needs to address them.
type L2Path struct {
	Ifname  string
	Ifindex int
	SrcMAC  net.HardwareAddr
	DstMAC  net.HardwareAddr
	Src     netip.Addr
	// NextHop is the address whose neighbour entry gave DstMAC.
	NextHop netip.Addr
}

func (p L2Path) String() string {
	return fmt.Sprintf("%s (ifindex %d) %s %s -> %s via %s", p.Ifname, p.Ifindex, p.Src, p.SrcMAC, p.DstMAC, p.NextHop)
}

// nudValid are the neighbour states whose link-layer address may be used:
// the kernel's NUD_VALID.
const nudValid = unix.NUD_PERMANENT | unix.NUD_NOARP | unix.NUD_REACHABLE |
	unix.NUD_PROBE | unix.NUD_STALE | unix.NUD_DELAY

// ResolveL2 asks the routing table inside ns (nil: the caller's namespace)
// for the route to dst, then the neighbour table for the next hop on the
// route's device. It only reads the tables: vethbench topologies install
// static neighbour entries, and a missing one is an error, never an ARP or
// ND exchange (which would put packets on the measured path).
func ResolveL2(ns *netns.NS, dst netip.Addr) (L2Path, error) {
	dst = dst.Unmap()
	if !dst.IsValid() || dst.IsUnspecified() {
		return L2Path{}, fmt.Errorf("%w: destination %v: need an address", ErrInvalid, dst)
	}
	var h *netlink.Handle
	var err error
	if ns == nil {
		h, err = netlink.NewHandle()
	} else {
		h, err = ns.NetlinkHandle()
	}
	if err != nil {
		return L2Path{}, err
	}
	defer h.Close()
	routes, err := h.RouteGet(dst.AsSlice())
	if err != nil {
		return L2Path{}, fmt.Errorf("%w: route to %s: %w", ErrNoL2Path, dst, err)
	}
	if len(routes) == 0 {
		return L2Path{}, fmt.Errorf("%w: route to %s: the kernel returned none", ErrNoL2Path, dst)
	}
	r := routes[0]
	switch r.Type {
	case unix.RTN_UNICAST:
	case unix.RTN_LOCAL:
		return L2Path{}, fmt.Errorf("%w: %s is an address of the sending namespace itself: frames to it never leave by a device", ErrNoL2Path, dst)
	default:
		return L2Path{}, fmt.Errorf("%w: route to %s is of type %d, not unicast", ErrNoL2Path, dst, r.Type)
	}
	link, err := h.LinkByIndex(r.LinkIndex)
	if err != nil {
		return L2Path{}, fmt.Errorf("device %d of the route to %s: %w", r.LinkIndex, dst, err)
	}
	a := link.Attrs()
	if a.EncapType != "ether" || len(a.HardwareAddr) != 6 {
		return L2Path{}, fmt.Errorf("%w: route to %s leaves by %s, which is not an Ethernet device (%s)", ErrNoL2Path, dst, a.Name, a.EncapType)
	}
	p := L2Path{Ifname: a.Name, Ifindex: a.Index, SrcMAC: a.HardwareAddr, NextHop: dst}
	if gw, ok := netip.AddrFromSlice(r.Gw); ok {
		p.NextHop = gw.Unmap()
	} else if via, ok := r.Via.(*netlink.Via); ok {
		if gw, ok := netip.AddrFromSlice(via.Addr); ok {
			p.NextHop = gw.Unmap()
		}
	}
	if p.Src, err = routeSource(h, link, r, dst); err != nil {
		return L2Path{}, err
	}
	if p.DstMAC, err = neighbour(h, a, p.NextHop); err != nil {
		return L2Path{}, err
	}
	return p, nil
}

// routeSource is the source address of the route (the kernel fills it in
// a route lookup's answer) or, failing that, the device's first global
// address of dst's family.
func routeSource(h *netlink.Handle, link netlink.Link, r netlink.Route, dst netip.Addr) (netip.Addr, error) {
	if src, ok := netip.AddrFromSlice(r.Src); ok && !src.IsUnspecified() {
		return src.Unmap(), nil
	}
	fam := netlink.FAMILY_V4
	if dst.Is6() {
		fam = netlink.FAMILY_V6
	}
	addrs, err := h.AddrList(link, fam)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("addresses of %s: %w", link.Attrs().Name, err)
	}
	for _, ad := range addrs {
		if a, ok := netip.AddrFromSlice(ad.IP); ok && ad.Scope == unix.RT_SCOPE_UNIVERSE {
			return a.Unmap(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%w: no source address for %s on %s", ErrNoL2Path, dst, link.Attrs().Name)
}

// neighbour returns the link-layer address of the neighbour entry for ip on
// the device.
func neighbour(h *netlink.Handle, dev *netlink.LinkAttrs, ip netip.Addr) (net.HardwareAddr, error) {
	fam := netlink.FAMILY_V4
	if ip.Is6() {
		fam = netlink.FAMILY_V6
	}
	neighs, err := h.NeighList(dev.Index, fam)
	if err != nil {
		return nil, fmt.Errorf("neighbours of %s: %w", dev.Name, err)
	}
	for _, n := range neighs {
		a, ok := netip.AddrFromSlice(n.IP)
		if !ok || a.Unmap() != ip {
			continue
		}
		if n.State&nudValid == 0 || len(n.HardwareAddr) != 6 {
			return nil, fmt.Errorf("%w: neighbour entry for %s on %s is not usable (state %#x, lladdr %v); vethbench topologies install static entries, and the packet generator does not resolve addresses itself",
				ErrNoL2Path, ip, dev.Name, n.State, n.HardwareAddr)
		}
		return n.HardwareAddr, nil
	}
	return nil, fmt.Errorf("%w: no neighbour entry for next hop %s on %s; vethbench topologies install static entries, and the packet generator does not resolve addresses itself",
		ErrNoL2Path, ip, dev.Name)
}
