package tuning

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/safchain/ethtool"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/netns"
)

// XDPProgramName is the name of the program the xdp knob attaches.
const XDPProgramName = "vb_knob_xdp"

// sysKernel is the kernel itself: netlink and ethtool handles opened inside
// a device's namespace through internal/netns, sysfs through
// netns.DoSysfs (since /sys shows the devices of the namespace that
// mounted it), /proc/sys read and written from inside the namespace.
type sysKernel struct {
	prog *ebpf.Program // the xdp knob's program, loaded by the first attach
}

func (k *sysKernel) device(n *netns.NS, ifname string) (device, error) {
	d := &sysDevice{k: k, ns: n, ifname: ifname}
	err := n.Do(func() error {
		var err error
		if d.h, err = netlink.NewHandle(); err != nil {
			return fmt.Errorf("netlink handle: %w", err)
		}
		d.eth, d.ethErr = ethtool.NewEthtool()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// sysctlPath maps net.ipv4.conf.all.rp_filter to its /proc/sys file.
// Sysctl names never contain '/', and only names from the allow-list get
// here.
func sysctlPath(name string) string {
	return "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
}

func (k *sysKernel) readSysctl(n *netns.NS, name string) (string, error) {
	b, err := n.ReadFile(sysctlPath(name))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func (k *sysKernel) writeSysctl(n *netns.NS, name, value string) error {
	return n.WriteFile(sysctlPath(name), []byte(value+"\n"))
}

// checkHost fails unless the calling thread is in the network namespace
// of pid 1, where host-wide sysctls live. Where pid 1's namespace cannot
// be read (a pid namespace, no privileges), it trusts the caller.
func (k *sysKernel) checkHost() error {
	init, err := os.Readlink("/proc/1/ns/net")
	if err != nil {
		return nil
	}
	self, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		return fmt.Errorf("read own network namespace: %w", err)
	}
	if self != init {
		return fmt.Errorf("host-wide sysctls are written from the initial network namespace (%s), and vethbench runs in %s", init, self)
	}
	return nil
}

func (k *sysKernel) close() error {
	if k.prog == nil {
		return nil
	}
	err := k.prog.Close()
	k.prog = nil
	return err
}

// program loads the trivial XDP_PASS program once. It is loaded as
// multi-buffer aware (BPF_F_XDP_HAS_FRAGS) where the kernel allows, so a
// veth with an MTU above a page can take it natively; it only returns
// XDP_PASS, so it is correct for any frame.
func (k *sysKernel) program() (*ebpf.Program, error) {
	if k.prog != nil {
		return k.prog, nil
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
	k.prog = p
	return p, nil
}

// sysDevice holds handles opened inside the device's namespace. The
// netlink handle keeps the namespace alive until close, so restore still
// reaches a device whose topology was closed first.
type sysDevice struct {
	k      *sysKernel
	ns     *netns.NS
	ifname string
	h      *netlink.Handle
	eth    *ethtool.Ethtool // nil when ethErr says why
	ethErr error
	// xdp is the BPF link attachXDP made. Closing it detaches the program;
	// it dies with the process, so a killed run leaves no program behind.
	xdp link.Link
}

func (d *sysDevice) nlLink() (netlink.Link, error) {
	l, err := d.h.LinkByName(d.ifname)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", d.ifname, err)
	}
	return l, nil
}

func (d *sysDevice) link() (linkInfo, error) {
	l, err := d.nlLink()
	if err != nil {
		return linkInfo{}, err
	}
	return linkInfoOf(l), nil
}

func linkInfoOf(l netlink.Link) linkInfo {
	a := l.Attrs()
	return linkInfo{kind: l.Type(), mtu: a.MTU, txQueueLen: a.TxQLen, txQueues: a.NumTxQueues,
		rxQueues: a.NumRxQueues, xdp: xdpModeOf(a.Xdp)}
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

func (d *sysDevice) setTxQueueLen(n int) error {
	l, err := d.nlLink()
	if err != nil {
		return err
	}
	return d.h.LinkSetTxQLen(l, n)
}

// rootQdisc dumps the device's qdiscs with a raw request, since
// vishvananda/netlink does not decode pfifo's and bfifo's limit.
func (d *sysDevice) rootQdisc() (rootQdisc, error) {
	ifname := d.ifname
	var q rootQdisc
	err := d.ns.Do(func() error {
		ifi, err := netlink.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("find %s: %w", ifname, err)
		}
		index := int32(ifi.Attrs().Index)
		req := nl.NewNetlinkRequest(unix.RTM_GETQDISC, unix.NLM_F_DUMP)
		req.AddData(&nl.TcMsg{Family: nl.FAMILY_ALL, Ifindex: index})
		msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWQDISC)
		if err != nil {
			return fmt.Errorf("list qdiscs of %s: %w", ifname, err)
		}
		for _, m := range msgs {
			tc := nl.DeserializeTcMsg(m)
			if tc.Ifindex != index || tc.Parent != netlink.HANDLE_ROOT {
				continue
			}
			attrs, err := nl.ParseRouteAttr(m[tc.Len():])
			if err != nil {
				return fmt.Errorf("parse qdisc of %s: %w", ifname, err)
			}
			var opts []byte
			for _, a := range attrs {
				switch a.Attr.Type {
				case nl.TCA_KIND:
					q.kind = strings.TrimRight(string(a.Value), "\x00")
				case nl.TCA_OPTIONS:
					opts = a.Value
				}
			}
			q.handle = tc.Handle
			switch {
			case (q.kind == "pfifo" || q.kind == "bfifo") && len(opts) >= 4:
				q.limit = int(binary.NativeEndian.Uint32(opts)) // struct tc_fifo_qopt
			case q.kind == "tbf":
				if q.rate, q.limit, err = parseTbf(opts); err != nil {
					return fmt.Errorf("parse tbf of %s: %w", ifname, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return rootQdisc{}, err
	}
	if q.kind == "" {
		// A device without a root qdisc entry transmits without queueing.
		q.kind = "noqueue"
	}
	return q, nil
}

func (d *sysDevice) deleteRootQdisc(q rootQdisc) error {
	l, err := d.nlLink()
	if err != nil {
		return err
	}
	return d.h.QdiscDel(&netlink.GenericQdisc{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: l.Attrs().Index, Handle: q.handle, Parent: netlink.HANDLE_ROOT},
		QdiscType:  q.kind,
	})
}

func (d *sysDevice) addRootQdisc(kind string) error {
	l, err := d.nlLink()
	if err != nil {
		return err
	}
	a := netlink.QdiscAttrs{LinkIndex: l.Attrs().Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT}
	var q netlink.Qdisc = &netlink.GenericQdisc{QdiscAttrs: a, QdiscType: kind}
	if kind == "prio" {
		q = netlink.NewPrio(a) // prio refuses to be created without its priomap
	}
	return d.h.QdiscReplace(q)
}

// parseTbf reads a tbf's rate (bytes per second) and limit (bytes) from
// its nested options, as vishvananda/netlink's own parser does.
func parseTbf(opts []byte) (rate uint64, limit int, err error) {
	attrs, err := nl.ParseRouteAttr(opts)
	if err != nil {
		return 0, 0, err
	}
	for _, a := range attrs {
		switch a.Attr.Type {
		case nl.TCA_TBF_PARMS:
			if len(a.Value) < nl.SizeofTcTbfQopt {
				return 0, 0, fmt.Errorf("tbf parameters of %d bytes", len(a.Value))
			}
			p := nl.DeserializeTcTbfQopt(a.Value)
			limit = int(p.Limit)
			if rate == 0 {
				rate = uint64(p.Rate.Rate)
			}
		case nl.TCA_TBF_RATE64:
			if len(a.Value) >= 8 {
				rate = binary.NativeEndian.Uint64(a.Value)
			}
		}
	}
	return rate, limit, nil
}

func (d *sysDevice) addRootTbf(t tbfParams) error {
	l, err := d.nlLink()
	if err != nil {
		return err
	}
	return d.h.QdiscReplace(&netlink.Tbf{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: l.Attrs().Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT},
		Rate:       t.rate,
		Limit:      t.limit,
		Buffer:     netlink.Xmittime(t.rate, t.burst),
	})
}

func (d *sysDevice) features() (map[string]ethtool.FeatureState, error) {
	if d.eth == nil {
		return nil, fmt.Errorf("ethtool: %w", d.ethErr)
	}
	return d.eth.FeaturesWithState(d.ifname)
}

func (d *sysDevice) setFeature(name string, on bool) error {
	if d.eth == nil {
		return fmt.Errorf("ethtool: %w", d.ethErr)
	}
	return d.eth.Change(d.ifname, map[string]bool{name: on})
}

// errNoDevice: the device itself is gone from its sysfs.
var errNoDevice = errors.New("no such device")

func devSysfsPath(root, ifname, file string) (string, error) {
	dir := filepath.Join(root, "class/net", ifname)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("%s: %w", ifname, errNoDevice)
	}
	return filepath.Join(dir, file), nil
}

func (d *sysDevice) readSysfs(file string) (string, error) {
	var v string
	err := d.ns.DoSysfs(func(root string) error {
		path, err := devSysfsPath(root, d.ifname, file)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		v = strings.TrimSpace(string(b))
		return err
	})
	return v, err
}

func (d *sysDevice) writeSysfs(file, value string) error {
	return d.ns.DoSysfs(func(root string) error {
		path, err := devSysfsPath(root, d.ifname, file)
		if err != nil {
			return err
		}
		return os.WriteFile(path, []byte(value+"\n"), 0o644)
	})
}

func (d *sysDevice) attachXDP(mode string) error {
	l, err := d.nlLink()
	if err != nil {
		return err
	}
	prog, err := d.k.program()
	if err != nil {
		return err
	}
	flags := link.XDPDriverMode
	if mode == XDPGeneric {
		flags = link.XDPGenericMode
	}
	// BPF_LINK_CREATE resolves the ifindex in the caller's namespace.
	return d.ns.Do(func() error {
		var err error
		d.xdp, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: l.Attrs().Index, Flags: flags})
		return err
	})
}

func (d *sysDevice) detachXDP() error {
	if d.xdp == nil {
		return nil
	}
	err := d.xdp.Close()
	d.xdp = nil
	if err != nil {
		return fmt.Errorf("detach XDP: %w", err)
	}
	return nil
}

// vethPeer finds the other end of this veth among devs: the device whose
// index is this link's IFLA_LINK in the namespace its IFLA_LINK_NETNSID
// names.
func (d *sysDevice) vethPeer(devs []topology.Device) (topology.Device, linkInfo, bool) {
	l, err := d.nlLink()
	if err != nil {
		return topology.Device{}, linkInfo{}, false
	}
	a := l.Attrs()
	if a.ParentIndex == 0 {
		return topology.Device{}, linkInfo{}, false
	}
	for _, p := range devs {
		if p.Kind != "veth" || p.Ifname == d.ifname && p.NS == d.ns {
			continue
		}
		if a.NetNsID >= 0 {
			id, err := d.h.GetNetNsIdByFd(p.NS.Fd())
			if err != nil || id != a.NetNsID {
				continue
			}
		} else if p.NS != d.ns {
			continue
		}
		pl, err := linkIn(p.NS, p.Ifname)
		if err != nil || pl.Attrs().Index != a.ParentIndex {
			continue
		}
		return p, linkInfoOf(pl), true
	}
	return topology.Device{}, linkInfo{}, false
}

func linkIn(n *netns.NS, ifname string) (netlink.Link, error) {
	h, err := n.NetlinkHandle()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return h.LinkByName(ifname)
}

func (d *sysDevice) close() error {
	err := d.detachXDP()
	d.h.Close()
	if d.eth != nil {
		d.eth.Close()
	}
	return err
}
