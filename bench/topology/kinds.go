package topology

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"

	"github.com/vethbench/vethbench/internal/netns"
)

// Each builder below draws its topology; "ID" is the run id.

// veth: two namespaces joined by one veth pair.
//
//	[snd] vbID-s 10.231.0.1 <--veth--> vbID-r 10.231.0.2 [rcv]
func (b *builder) veth() error {
	ns, err := b.nss("sender", "receiver")
	if err != nil {
		return err
	}
	snd, rcv := ns[0], ns[1]
	s, r, err := b.link(snd, "s", b.addr(0, hostSender), rcv, "r", b.addr(0, hostReceiver))
	if err != nil {
		return err
	}
	b.record("sender", s.name, "veth", snd, EndSend)
	b.record("receiver", r.name, "veth", rcv, EndReceive)
	b.endpoints(s, r)
	return nil
}

// link joins two namespaces with a veth pair, a the sending end and z the
// receiving one, addresses both ends (an
// invalid prefix leaves an end without address), brings them up, waits
// until they are, and adds static neighbours between addressed ends.
func (b *builder) link(a *netns.NS, aRole string, aPfx netip.Prefix, z *netns.NS, zRole string, zPfx netip.Prefix) (iface, iface, error) {
	aName, zName := b.name(aRole), b.name(zRole)
	if err := b.vethPair(a, aName, z, zName); err != nil {
		return iface{}, iface{}, err
	}
	x, err := b.up(a, aName, aPfx)
	if err != nil {
		return x, iface{}, err
	}
	y, err := b.up(z, zName, zPfx)
	if err != nil {
		return x, y, err
	}
	if err := b.waitUp(x, y); err != nil {
		return x, y, err
	}
	if aPfx.IsValid() && zPfx.IsValid() {
		err = b.neighbors(x, y)
	}
	return x, y, err
}

// bridge: Docker's docker0 model. Two container namespaces, each joined by a
// veth pair to a Linux bridge in a host namespace that holds the gateway.
//
//	[snd] vbID-s 10.231.0.1 --veth-- vbID-hs --+
//	                                           vbID-br 10.231.0.254 [host]
//	[rcv] vbID-r 10.231.0.2 --veth-- vbID-hr --+
func (b *builder) bridge() error {
	host, err := b.ns("host")
	if err != nil {
		return err
	}
	brName := b.name("br")
	attrs := b.linkAttrs(brName, false)
	attrs.NumTxQueues, attrs.NumRxQueues = 0, 0 // the bridge keeps the kernel's queue counts
	if err := b.add(host, &netlink.Bridge{LinkAttrs: attrs}); err != nil {
		return err
	}
	gw, err := b.up(host, brName, b.addr(0, hostGateway))
	if err != nil {
		return err
	}
	b.record("bridge", brName, "bridge", host, EndNone)
	var ends [2]iface
	for i, c := range []struct {
		suffix, portSuffix string
		host               int
		role               string
		end, portEnd       End
	}{
		{"s", "hs", hostSender, "sender", EndSend, EndReceive},
		{"r", "hr", hostReceiver, "receiver", EndReceive, EndSend},
	} {
		cont, err := b.ns(c.role)
		if err != nil {
			return err
		}
		port := b.name(c.portSuffix)
		// Traffic flows sender -> port-sender, bridge, port-receiver -> receiver.
		if c.role == "receiver" {
			err = b.vethPair(host, port, cont, b.name(c.suffix))
		} else {
			err = b.vethPair(cont, b.name(c.suffix), host, port)
		}
		if err != nil {
			return err
		}
		if err := withHandle(host, func(h *netlink.Handle) error {
			l, err := h.LinkByName(port)
			if err != nil {
				return fmt.Errorf("find %q: %w", port, err)
			}
			if err := h.LinkSetMasterByIndex(l, gw.index); err != nil {
				return fmt.Errorf("attach %q to the bridge: %w", port, err)
			}
			return nil
		}); err != nil {
			return err
		}
		p, err := b.up(host, port, netip.Prefix{})
		if err != nil {
			return err
		}
		if ends[i], err = b.up(cont, b.name(c.suffix), b.addr(0, c.host)); err != nil {
			return err
		}
		if err := b.waitUp(p, ends[i]); err != nil {
			return err
		}
		b.record(c.role, ends[i].name, "veth", cont, c.end)
		b.record(c.role+"-port", port, "veth", host, c.portEnd)
	}
	if err := b.waitUp(gw); err != nil {
		return err
	}
	if err := b.neighbors(ends[0], ends[1]); err != nil {
		return err
	}
	b.endpoints(ends[0], ends[1])
	return nil
}

// router: the routed model (Calico and similar). The sender and receiver are
// on two subnets joined by a router namespace that forwards.
//
//	[snd] vbID-s 10.231.1.1 --veth-- vbID-ra 10.231.1.254 [router] vbID-rb 10.231.2.254 --veth-- vbID-r 10.231.2.2 [rcv]
func (b *builder) router() error {
	ns, err := b.nss("sender", "router", "receiver")
	if err != nil {
		return err
	}
	snd, rt, rcv := ns[0], ns[1], ns[2]
	if err := b.forwarding(rt); err != nil {
		return err
	}
	s, ra, err := b.link(snd, "s", b.addr(1, hostSender), rt, "ra", b.addr(1, hostGateway))
	if err != nil {
		return err
	}
	rb, r, err := b.link(rt, "rb", b.addr(2, hostGateway), rcv, "r", b.addr(2, hostReceiver))
	if err != nil {
		return err
	}
	if err := b.defaultRoute(s, ra.addr); err != nil {
		return err
	}
	if err := b.defaultRoute(r, rb.addr); err != nil {
		return err
	}
	b.record("sender", s.name, "veth", snd, EndSend)
	b.record("router-in", ra.name, "veth", rt, EndReceive)
	b.record("router-out", rb.name, "veth", rt, EndSend)
	b.record("receiver", r.name, "veth", rcv, EndReceive)
	b.endpoints(s, r)
	return nil
}

// hostnat: a container reaching the outside through its host, which
// forwards and masquerades (nftables), as Docker and Podman do for outbound
// traffic. All three are namespaces vethbench made.
//
//	[snd: container] vbID-s 10.231.3.2 --veth-- vbID-hc 10.231.3.254 [host: forward + masquerade] vbID-ho 10.231.4.254 --veth-- vbID-r 10.231.4.2 [rcv: outside]
func (b *builder) hostNAT() error {
	ns, err := b.nss("sender", "host", "receiver")
	if err != nil {
		return err
	}
	snd, host, rcv := ns[0], ns[1], ns[2]
	if err := b.forwarding(host); err != nil {
		return err
	}
	s, hc, err := b.link(snd, "s", b.addr(3, hostReceiver), host, "hc", b.addr(3, hostGateway))
	if err != nil {
		return err
	}
	ho, r, err := b.link(host, "ho", b.addr(4, hostGateway), rcv, "r", b.addr(4, hostReceiver))
	if err != nil {
		return err
	}
	if err := b.defaultRoute(s, hc.addr); err != nil {
		return err
	}
	if err := masquerade(host, ho.name); err != nil {
		return err
	}
	b.record("sender", s.name, "veth", snd, EndSend)
	b.record("host-in", hc.name, "veth", host, EndReceive)
	b.record("host-out", ho.name, "veth", host, EndSend)
	b.record("receiver", r.name, "veth", rcv, EndReceive)
	b.endpoints(s, r)
	b.t.SenderSeenAs = ho.addr
	return nil
}

// loopback: sender and receiver in one namespace over lo, the baseline with
// no device in between.
func (b *builder) loopback() error {
	n, err := b.ns("loopback")
	if err != nil {
		return err
	}
	var lo iface
	err = withHandle(n, func(h *netlink.Handle) error {
		l, err := h.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("find lo: %w", err)
		}
		if b.t.Spec.MTU != loopbackMTU {
			if err := h.LinkSetMTU(l, b.t.Spec.MTU); err != nil {
				return fmt.Errorf("set lo mtu: %w", err)
			}
		}
		lo = iface{ns: n, name: "lo", index: l.Attrs().Index, addr: netip.MustParseAddr("127.0.0.1")}
		return nil
	})
	if err != nil {
		return err
	}
	if b.t.Spec.Family == IPv6 {
		lo.addr = netip.IPv6Loopback()
	}
	b.record("loopback", "lo", "loopback", n, EndBoth)
	b.endpoints(lo, lo)
	return nil
}
