package probe

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// deviceKind is one device kind to create. make adds the device (and any
// lower device it needs) through h, appending every link it created to
// *made so the caller can remove them, and returns the device to probe.
type deviceKind struct {
	kind string
	xdp  bool // probe XDP on it
	make func(p *prober, h *netlink.Handle, made *[]netlink.Link) (netlink.Link, error)
	note string // what was made, for the detail
}

// deviceKinds are probed in this order; the XDP rows follow the same order.
var deviceKinds = []deviceKind{
	{kind: "veth", xdp: true, make: makeVeth, note: "a pair"},
	{kind: "macvlan", xdp: true, make: makeMacvlan, note: "bridge mode, on one end of a veth pair"},
	{kind: "ipvlan", xdp: true, make: makeIPVlan, note: "l2 mode, on one end of a veth pair"},
	{kind: "bridge", xdp: true, make: makeBridge},
	{kind: "netkit", make: makeNetkit, note: "a pair, l3 mode"},
	{kind: "dummy", make: makeDummy},
	{kind: "vxlan", make: makeVxlan, note: "VNI 42, port 4789"},
}

// xdpModes are the XDP attach modes probed on each kind.
var xdpModes = []struct {
	name, long string
	flags      int
	attached   uint8 // IFLA_XDP_ATTACHED when attached in this mode
}{
	{"native", "driver", unix.XDP_FLAGS_DRV_MODE, nl.XDP_ATTACHED_DRV},
	{"generic", "skb", unix.XDP_FLAGS_SKB_MODE, nl.XDP_ATTACHED_SKB},
}

// addError is a failure to add a link of the kind being probed, as opposed
// to a failure to add the lower device it needs.
type addError struct {
	kind string
	err  error
}

func (e *addError) Error() string { return fmt.Sprintf("create link kind %s: %v", e.kind, e.err) }
func (e *addError) Unwrap() error { return e.err }

// add creates l, records it in *made, and looks it up again: the kernel's
// view has the index and the attributes it filled in.
func add(h *netlink.Handle, l netlink.Link, made *[]netlink.Link) (netlink.Link, error) {
	if err := h.LinkAdd(l); err != nil {
		return nil, &addError{kind: l.Type(), err: err}
	}
	got, err := h.LinkByName(l.Attrs().Name)
	if err != nil {
		// It was created: make sure it is removed by name.
		*made = append(*made, l)
		return nil, fmt.Errorf("find %s %q after creating it: %w", l.Type(), l.Attrs().Name, err)
	}
	*made = append(*made, got)
	return got, nil
}

func attrs(name string) netlink.LinkAttrs {
	// NewLinkAttrs leaves txqueuelen unset (-1); a zero LinkAttrs would
	// create the device with txqueuelen 0.
	a := netlink.NewLinkAttrs()
	a.Name = name
	return a
}

// vethPair creates a veth pair a, b in h's namespace, both up, and returns a.
func (p *prober) vethPair(h *netlink.Handle, a, b string, queues int, made *[]netlink.Link) (netlink.Link, error) {
	at := attrs(p.devName(a))
	if queues > 1 {
		at.NumTxQueues, at.NumRxQueues = queues, queues
	}
	v := &netlink.Veth{LinkAttrs: at, PeerName: p.devName(b), PeerTxQLen: -1}
	if queues > 1 {
		v.PeerNumTxQueues, v.PeerNumRxQueues = uint32(queues), uint32(queues)
	}
	l, err := add(h, v, made)
	if err != nil {
		return nil, err
	}
	peer, err := h.LinkByName(p.devName(b))
	if err != nil {
		return nil, fmt.Errorf("find veth peer %q: %w", p.devName(b), err)
	}
	for _, x := range []netlink.Link{l, peer} {
		if err := h.LinkSetUp(x); err != nil {
			return nil, fmt.Errorf("set %q up: %w", x.Attrs().Name, err)
		}
	}
	return l, nil
}

func makeVeth(p *prober, h *netlink.Handle, made *[]netlink.Link) (netlink.Link, error) {
	return p.vethPair(h, "va", "vb", 1, made)
}

func makeMacvlan(p *prober, h *netlink.Handle, made *[]netlink.Link) (netlink.Link, error) {
	lower, err := p.vethPair(h, "mla", "mlb", 1, made)
	if err != nil {
		return nil, fmt.Errorf("lower device: %w", err)
	}
	a := attrs(p.devName("mv"))
	a.ParentIndex = lower.Attrs().Index
	return add(h, &netlink.Macvlan{LinkAttrs: a, Mode: netlink.MACVLAN_MODE_BRIDGE}, made)
}

func makeIPVlan(p *prober, h *netlink.Handle, made *[]netlink.Link) (netlink.Link, error) {
	lower, err := p.vethPair(h, "ila", "ilb", 1, made)
	if err != nil {
		return nil, fmt.Errorf("lower device: %w", err)
	}
	a := attrs(p.devName("iv"))
	a.ParentIndex = lower.Attrs().Index
	return add(h, &netlink.IPVlan{LinkAttrs: a, Mode: netlink.IPVLAN_MODE_L2}, made)
}

func makeBridge(p *prober, h *netlink.Handle, made *[]netlink.Link) (netlink.Link, error) {
	return add(h, &netlink.Bridge{LinkAttrs: attrs(p.devName("br"))}, made)
}

func makeNetkit(p *prober, h *netlink.Handle, made *[]netlink.Link) (netlink.Link, error) {
	nk := &netlink.Netkit{
		LinkAttrs:  attrs(p.devName("nka")),
		Mode:       netlink.NETKIT_MODE_L3,
		Policy:     netlink.NETKIT_POLICY_FORWARD,
		PeerPolicy: netlink.NETKIT_POLICY_FORWARD,
	}
	peer := attrs(p.devName("nkb"))
	nk.SetPeerAttrs(&peer)
	return add(h, nk, made)
}

func makeDummy(p *prober, h *netlink.Handle, made *[]netlink.Link) (netlink.Link, error) {
	return add(h, &netlink.Dummy{LinkAttrs: attrs(p.devName("dm"))}, made)
}

func makeVxlan(p *prober, h *netlink.Handle, made *[]netlink.Link) (netlink.Link, error) {
	return add(h, &netlink.Vxlan{LinkAttrs: attrs(p.devName("vx")), VxlanId: 42, Port: 4789}, made)
}

// devices probes every device kind, and XDP on the kinds that take it, in
// one scratch namespace.
func (p *prober) devices() {
	failAll := func(err error) {
		for _, k := range deviceKinds {
			p.fail(GroupDevice, k.kind, err)
		}
		for _, k := range deviceKinds {
			for _, m := range xdpModes {
				if k.xdp {
					p.fail(GroupXDP, k.kind+" "+m.name, err)
				}
			}
		}
	}
	ns, h, release, err := scratch()
	if err != nil {
		failAll(err)
		return
	}
	defer release()

	prog, progErr := loadProg("vb_probe_xdp", ebpf.XDP, ebpf.AttachNone, "", 2 /* XDP_PASS */)
	if prog != nil {
		defer prog.Close()
	}
	var xdpItems []Item
	for _, k := range deviceKinds {
		dev, xdp := p.deviceKind(ns, h, k, prog, progErr)
		p.add(dev)
		xdpItems = append(xdpItems, xdp...)
	}
	p.items = append(p.items, xdpItems...)
}

// deviceKind creates one kind, probes XDP on it, removes what it made and
// returns the device item and the XDP items.
func (p *prober) deviceKind(ns *netns.NS, h *netlink.Handle, k deviceKind, prog *ebpf.Program, progErr error) (Item, []Item) {
	var made []netlink.Link
	item := Item{Group: GroupDevice, Name: k.kind}
	var xdp []Item
	xdpAll := func(s Status, detail string) {
		if !k.xdp {
			return
		}
		for _, m := range xdpModes {
			xdp = append(xdp, Item{Group: GroupXDP, Name: k.kind + " " + m.name, Status: s, Detail: detail})
		}
	}

	dev, err := k.make(p, h, &made)
	if err == nil {
		// XDP is probed on a device that is up, as it would be used.
		if uerr := h.LinkSetUp(dev); uerr != nil {
			err = fmt.Errorf("set %q up: %w", dev.Attrs().Name, uerr)
		}
	}
	var ae *addError
	switch {
	case err == nil:
		item.Status, item.Detail = Yes, describe(h, dev, k.note)
		if k.xdp {
			if progErr != nil {
				xdpAll(Error, "load XDP program: "+progErr.Error())
			} else {
				xdp = p.xdpOn(ns, h, k.kind, dev, prog)
			}
		}
	case errors.As(err, &ae) && ae.kind == k.kind && unsupported(ae.err):
		item.Status = No
		item.Detail = fmt.Sprintf("kernel has no %s support (%s creating link kind %s)", k.kind, because(ae.err), k.kind)
		xdpAll(No, fmt.Sprintf("no %s device: kernel has no %s support", k.kind, k.kind))
	default:
		item.Status, item.Detail = Error, err.Error()
		xdpAll(Error, fmt.Sprintf("no %s device to probe: %v", k.kind, err))
	}

	if err := removeLinks(h, made); err != nil {
		item.Status = Error
		item.Detail = fmt.Sprintf("%s; then removing it failed: %v", item.Detail, err)
	}
	return item, xdp
}

// removeLinks deletes links in reverse order of creation. A veth peer goes
// with its pair, an upper device with its lower: a link already gone is
// not an error.
func removeLinks(h *netlink.Handle, made []netlink.Link) error {
	var errs []error
	for _, l := range slices.Backward(made) {
		if err := h.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("delete %q: %w", l.Attrs().Name, err))
		}
	}
	return errors.Join(errs...)
}

// describe says what was made and the defaults the kernel gave it.
func describe(h *netlink.Handle, l netlink.Link, note string) string {
	s := "created"
	if note != "" {
		s += " (" + note + ")"
	}
	if got, err := h.LinkByIndex(l.Attrs().Index); err == nil {
		l = got
	}
	qdisc := "?"
	if qs, err := h.QdiscList(l); err == nil {
		for _, q := range qs {
			if q.Attrs().Parent == netlink.HANDLE_ROOT {
				qdisc = q.Type()
			}
		}
	}
	a := l.Attrs()
	return fmt.Sprintf("%s; default qdisc %s, txqueuelen %d, mtu %d", s, qdisc, a.TxQLen, a.MTU)
}

// xdpOn attaches prog to dev in each mode, checks the kernel reports it
// attached in that mode, and detaches it.
func (p *prober) xdpOn(ns *netns.NS, h *netlink.Handle, kind string, dev netlink.Link, prog *ebpf.Program) []Item {
	var items []Item
	for _, m := range xdpModes {
		it := Item{Group: GroupXDP, Name: kind + " " + m.name}
		// The package-level netlink call opens its socket in the calling
		// thread's namespace, hence Do.
		set := func(fd int) error {
			return ns.Do(func() error { return netlink.LinkSetXdpFdWithFlags(dev, fd, m.flags) })
		}
		err := set(prog.FD())
		switch {
		case err != nil && unsupported(err):
			it.Status = No
			it.Detail = fmt.Sprintf("%s has no %s XDP (%s attaching in %s mode)", kind, m.name, because(err), m.long)
		case err != nil:
			it.Status, it.Detail = Error, fmt.Sprintf("attach in %s mode: %v", m.long, err)
		default:
			it.Status, it.Detail = Yes, fmt.Sprintf("attached and detached in %s mode", m.long)
			if kind == "veth" && m.name == "native" {
				it.Detail += "; it switches veth's receive path to NAPI"
			}
			if got, lerr := h.LinkByIndex(dev.Attrs().Index); lerr != nil {
				it.Status, it.Detail = Error, fmt.Sprintf("read back after attaching: %v", lerr)
			} else if x := got.Attrs().Xdp; x == nil || !x.Attached || x.AttachMode != uint32(m.attached) {
				it.Status, it.Detail = Error, fmt.Sprintf("attach in %s mode succeeded but the kernel reports %+v", m.long, x)
			}
			if derr := set(-1); derr != nil {
				it.Status, it.Detail = Error, fmt.Sprintf("detach from %s mode: %v", m.long, derr)
			}
		}
		items = append(items, it)
	}
	return items
}
