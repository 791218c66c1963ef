package probe

import (
	"errors"
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// qdiscKinds are tried as the root qdisc, in this order.
var qdiscKinds = []string{
	"noqueue", "pfifo_fast", "pfifo", "bfifo", "fq", "fq_codel", "sfq", "tbf",
	"htb", "prio", "netem", "cake", "mq", "clsact",
}

// qdiscModule names the kernel code behind a qdisc kind, for the reason
// given when the kernel lacks it.
func qdiscModule(kind string) string {
	switch kind {
	case "clsact":
		return "sch_ingress (clsact)"
	case "pfifo", "bfifo":
		return "sch_fifo (" + kind + ")"
	}
	return "sch_" + kind
}

// tc probes TCX and cls_bpf on one veth pair and the qdiscs on another
// (with two queues, which mq needs), in one scratch namespace.
func (p *prober) tc() {
	failAll := func(err error) {
		p.fail(GroupTC, "tcx", err)
		p.fail(GroupTC, "cls_bpf", err)
		for _, q := range qdiscKinds {
			p.fail(GroupQdisc, q, err)
		}
	}
	ns, h, release, err := scratch()
	if err != nil {
		failAll(err)
		return
	}
	defer release()

	var made []netlink.Link
	defer func() { _ = removeLinks(h, made) }()

	dev, err := p.vethPair(h, "ta", "tb", 1, &made)
	if err != nil {
		p.fail(GroupTC, "tcx", fmt.Errorf("veth to attach to: %w", err))
		p.fail(GroupTC, "cls_bpf", fmt.Errorf("veth to attach to: %w", err))
	} else {
		prog, err := loadProg("vb_probe_tc", ebpf.SchedCLS, ebpf.AttachNone, "", 0 /* TC_ACT_OK */)
		if err != nil {
			p.fail(GroupTC, "tcx", err)
			p.fail(GroupTC, "cls_bpf", err)
		} else {
			p.add(tcxItem(ns, dev, prog))
			p.add(clsBPFItem(h, dev, prog))
			prog.Close()
		}
	}

	qdev, err := p.vethPair(h, "qa", "qb", 2, &made)
	if err != nil {
		for _, q := range qdiscKinds {
			p.fail(GroupQdisc, q, fmt.Errorf("veth to attach to: %w", err))
		}
		return
	}
	for _, q := range qdiscKinds {
		p.add(qdiscItem(h, qdev, q))
	}
}

func tcxItem(ns *netns.NS, dev netlink.Link, prog *ebpf.Program) Item {
	it := Item{Group: GroupTC, Name: "tcx"}
	var l link.Link
	// bpf(LINK_CREATE) resolves the ifindex in the caller's namespace.
	err := ns.Do(func() error {
		iface, err := net.InterfaceByName(dev.Attrs().Name)
		if err != nil {
			return err
		}
		l, err = link.AttachTCX(link.TCXOptions{Interface: iface.Index, Program: prog, Attach: ebpf.AttachTCXIngress})
		return err
	})
	switch {
	case err != nil && unsupported(err):
		it.Status, it.Detail = No, fmt.Sprintf("kernel has no TCX (6.6+): %v", err)
	case err != nil:
		it.Status, it.Detail = Error, fmt.Sprintf("attach tcx ingress: %v", err)
	default:
		it.Status, it.Detail = Yes, "BPF link attached at ingress and detached"
		if err := l.Close(); err != nil {
			it.Status, it.Detail = Error, fmt.Sprintf("detach tcx link: %v", err)
		}
	}
	return it
}

// notSupportedTC: a qdisc or classifier kind the kernel does not know.
func notSupportedTC(err error) bool {
	return errors.Is(err, unix.ENOENT) || unsupported(err)
}

func clsactOf(dev netlink.Link) *netlink.Clsact {
	return &netlink.Clsact{QdiscAttrs: netlink.QdiscAttrs{
		LinkIndex: dev.Attrs().Index,
		Handle:    netlink.MakeHandle(0xffff, 0),
		Parent:    netlink.HANDLE_CLSACT,
	}}
}

func clsBPFItem(h *netlink.Handle, dev netlink.Link, prog *ebpf.Program) Item {
	it := Item{Group: GroupTC, Name: "cls_bpf"}
	q := clsactOf(dev)
	if err := h.QdiscAdd(q); err != nil {
		if notSupportedTC(err) {
			it.Status, it.Detail = No, fmt.Sprintf("kernel has no clsact qdisc (%s adding it)", because(err))
		} else {
			it.Status, it.Detail = Error, fmt.Sprintf("add clsact qdisc: %v", err)
		}
		return it
	}
	f := &netlink.BpfFilter{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: dev.Attrs().Index,
			Parent:    netlink.HANDLE_MIN_INGRESS,
			Handle:    1,
			Priority:  1,
			Protocol:  unix.ETH_P_ALL,
		},
		Fd:           prog.FD(),
		Name:         "vb_probe_tc",
		DirectAction: true,
	}
	err := h.FilterAdd(f)
	switch {
	case err != nil && notSupportedTC(err):
		it.Status, it.Detail = No, fmt.Sprintf("kernel has no cls_bpf classifier (%s adding a bpf filter)", because(err))
	case err != nil:
		it.Status, it.Detail = Error, fmt.Sprintf("add cls_bpf filter: %v", err)
	default:
		it.Status, it.Detail = Yes, "direct-action filter attached at clsact ingress and removed"
		if err := h.FilterDel(f); err != nil {
			it.Status, it.Detail = Error, fmt.Sprintf("delete cls_bpf filter: %v", err)
		}
	}
	if err := h.QdiscDel(q); err != nil {
		it.Status = Error
		it.Detail = fmt.Sprintf("%s; then deleting the clsact qdisc failed: %v", it.Detail, err)
	}
	return it
}

// newQdisc builds kind as dev's root qdisc (clsact: as clsact), with the
// options the kernel insists on for the kinds that need them.
func newQdisc(kind string, dev netlink.Link) netlink.Qdisc {
	a := netlink.QdiscAttrs{
		LinkIndex: dev.Attrs().Index,
		Handle:    netlink.MakeHandle(1, 0),
		Parent:    netlink.HANDLE_ROOT,
	}
	switch kind {
	case "clsact":
		return clsactOf(dev)
	case "htb":
		return netlink.NewHtb(a)
	case "prio":
		return netlink.NewPrio(a)
	case "netem":
		return netlink.NewNetem(a, netlink.NetemQdiscAttrs{})
	case "tbf":
		const rate, burst = 125_000_000, 64 << 10 // 1 Gbit/s in bytes/s, 64 KiB
		return &netlink.Tbf{QdiscAttrs: a, Rate: rate, Limit: burst, Buffer: netlink.Xmittime(rate, burst)}
	}
	// Every other kind takes no options or has defaults for all of them.
	return &netlink.GenericQdisc{QdiscAttrs: a, QdiscType: kind}
}

// qdiscItem adds kind, checks the kernel lists it, and deletes it, which
// gives the device its default root qdisc back.
func qdiscItem(h *netlink.Handle, dev netlink.Link, kind string) Item {
	it := Item{Group: GroupQdisc, Name: kind}
	q := newQdisc(kind, dev)
	if err := h.QdiscAdd(q); err != nil {
		if notSupportedTC(err) {
			it.Status, it.Detail = No, fmt.Sprintf("kernel has no %s (%s adding it)", qdiscModule(kind), because(err))
		} else {
			it.Status, it.Detail = Error, fmt.Sprintf("add %s qdisc: %v", kind, err)
		}
		return it
	}
	it.Status, it.Detail = Yes, "added as root qdisc and deleted"
	if kind == "clsact" {
		it.Detail = "added and deleted"
	} else if kind == "mq" {
		it.Detail = "added as root qdisc of a 2-queue veth and deleted"
	}
	found := false
	if qs, err := h.QdiscList(dev); err != nil {
		it.Status, it.Detail = Error, fmt.Sprintf("list qdiscs after adding %s: %v", kind, err)
	} else {
		for _, x := range qs {
			if x.Type() == kind && x.Attrs().Handle == q.Attrs().Handle {
				found = true
			}
		}
		if !found {
			it.Status, it.Detail = Error, fmt.Sprintf("added %s but the kernel does not list it", kind)
		}
	}
	if err := h.QdiscDel(q); err != nil {
		it.Status = Error
		it.Detail = fmt.Sprintf("%s; then deleting it failed: %v", it.Detail, err)
	}
	return it
}
