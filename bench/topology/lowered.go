package topology

import (
	"net/netip"

	"github.com/vishvananda/netlink"

	"github.com/vethbench/vethbench/internal/netns"
)

// Modes of macvlan and ipvlan that vethbench builds; the first is the
// default.
var (
	MacvlanModes = []string{"bridge", "vepa", "passthru"}
	IPvlanModes  = []string{"l2", "l3", "l3s"}
)

// lowered: macvlan or ipvlan. Both hang their devices off a lower device;
// this kernel may have no dummy, so the lower device is one end of a veth
// pair in a "host" namespace, with its peer up beside it so it has carrier.
//
// macvlan bridge and every ipvlan mode switch between the two devices
// inside the driver:
//
//	[snd] vbID-s 10.231.0.1 (macvlan) --+
//	                                     vbID-l (veth, lower) --veth-- vbID-lp [host]
//	[rcv] vbID-r 10.231.0.2 (macvlan) --+
//
// macvlan vepa sends everything out of the lower device and relies on the
// switch to reflect it back: here the peer is a port of a bridge with
// hairpin mode on, which is exactly that switch.
//
// macvlan passthru allows one macvlan per lower device: the sender's macvlan
// takes over the lower device, and the receiver is the veth peer itself.
//
//	[snd] vbID-s 10.231.0.1 (macvlan passthru) -- vbID-l [host] --veth-- vbID-r 10.231.0.2 [rcv]
func (b *builder) lowered() error {
	s := b.t.Spec
	kind := string(s.Kind)
	ns, err := b.nss("host", "sender", "receiver")
	if err != nil {
		return err
	}
	host, snd, rcv := ns[0], ns[1], ns[2]
	passthru := s.Kind == KindMacvlan && s.Mode == "passthru"
	peerNS, peerRole := host, "lp"
	if passthru {
		peerNS, peerRole = rcv, "r"
	}
	var peerPfx netip.Prefix
	if passthru {
		peerPfx = b.addr(0, hostReceiver)
	}
	lower, peer, err := b.link(host, "l", netip.Prefix{}, peerNS, peerRole, peerPfx)
	if err != nil {
		return err
	}
	b.record("lower", lower.name, "veth", host, EndSend)
	if s.Kind == KindMacvlan && s.Mode == "vepa" {
		if err := b.hairpin(host, peer); err != nil {
			return err
		}
	}
	sndDev, err := b.slave(host, lower.index, snd, "s", b.addr(0, hostSender))
	if err != nil {
		return err
	}
	b.record("sender", sndDev.name, kind, snd, EndSend)
	rcvDev := peer
	if passthru {
		b.record("receiver", peer.name, "veth", rcv, EndReceive)
	} else {
		b.record("lower-peer", peer.name, "veth", host, EndReceive)
		if rcvDev, err = b.slave(host, lower.index, rcv, "r", b.addr(0, hostReceiver)); err != nil {
			return err
		}
		b.record("receiver", rcvDev.name, kind, rcv, EndReceive)
	}
	if err := b.waitUp(sndDev, rcvDev); err != nil {
		return err
	}
	if !(s.Kind == KindIPvlan && s.Mode != "l2") { // ipvlan l3/l3s devices do no neighbour resolution
		if err := b.neighbors(sndDev, rcvDev); err != nil {
			return err
		}
	}
	b.endpoints(sndDev, rcvDev)
	return nil
}

// slave creates a macvlan or ipvlan device on the lower device (index in
// host) directly inside n: the request goes out from host, where the lower
// device is, and IFLA_NET_NS_FD places the new device in n.
func (b *builder) slave(host *netns.NS, lowerIndex int, n *netns.NS, role string, pfx netip.Prefix) (iface, error) {
	s := b.t.Spec
	attrs := b.linkAttrs(b.name(role), role == "r")
	attrs.ParentIndex = lowerIndex
	attrs.Namespace = netlink.NsFd(n.Fd())
	var l netlink.Link
	if s.Kind == KindMacvlan {
		l = &netlink.Macvlan{LinkAttrs: attrs, Mode: macvlanMode[s.Mode]}
	} else {
		l = &netlink.IPVlan{LinkAttrs: attrs, Mode: ipvlanMode[s.Mode]}
	}
	if err := b.add(host, l); err != nil {
		return iface{}, err
	}
	return b.up(n, attrs.Name, pfx)
}

// hairpin puts port into a new bridge with hairpin mode on, so frames come
// back out of the port they arrived on: the reflective relay VEPA needs.
func (b *builder) hairpin(host *netns.NS, port iface) error {
	brName := b.name("hp")
	attrs := netlink.NewLinkAttrs()
	attrs.Name = brName
	if err := b.add(host, &netlink.Bridge{LinkAttrs: attrs}); err != nil {
		return err
	}
	br, err := b.up(host, brName, netip.Prefix{})
	if err != nil {
		return err
	}
	err = withHandle(host, func(h *netlink.Handle) error {
		l, err := h.LinkByIndex(port.index)
		if err != nil {
			return err
		}
		if err := h.LinkSetMasterByIndex(l, br.index); err != nil {
			return err
		}
		return h.LinkSetHairpin(l, true)
	})
	if err != nil {
		return err
	}
	b.record("hairpin-bridge", brName, "bridge", host, EndNone)
	return b.waitUp(br)
}

var (
	macvlanMode = map[string]netlink.MacvlanMode{
		"bridge": netlink.MACVLAN_MODE_BRIDGE, "vepa": netlink.MACVLAN_MODE_VEPA, "passthru": netlink.MACVLAN_MODE_PASSTHRU,
	}
	ipvlanMode = map[string]netlink.IPVlanMode{
		"l2": netlink.IPVLAN_MODE_L2, "l3": netlink.IPVLAN_MODE_L3, "l3s": netlink.IPVLAN_MODE_L3S,
	}
)
