package tuning

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"

	"github.com/safchain/ethtool"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/netns"
)

// fakeKernel is the kernel in memory: devices by name, sysctls by
// namespace (nil: the host). It models what the status rules depend on
// (pfifo and bfifo take their limit from txqueuelen when created, a veth
// has NAPI only with rx-gro or native XDP and threaded refuses a device
// without NAPI, a feature stays off while one it needs is off, deleting a
// root qdisc gives noqueue back) and logs every change, in order, as
// "IFNAME what value" or "NAMESPACE sysctl NAME=VALUE".
type fakeKernel struct {
	devs map[string]*fakeDev
	// ns names the topology's namespaces, for the log; nil is "host".
	ns      map[*netns.NS]string
	sysctls map[*netns.NS]map[string]string
	// fail makes a call return an error, by "IFNAME op" or "NAMESPACE
	// op NAME" (ops: open, link, txqueuelen, qdisc, qdisc del, qdisc add,
	// features, feature NAME, read FILE, write FILE, xdp MODE, detach;
	// read, write for sysctls).
	fail    map[string]error
	hostErr error // what checkHost says
	// changing, if set, runs just before each change: tests cancel a
	// context, look at the journal or break a read-back there.
	changing func(entry string)
	calls    []string // every call, reads included
	log      []string // the changes
	opened   int      // device handles open
	closed   bool
}

func newFakeKernel(devs ...*fakeDev) *fakeKernel {
	k := &fakeKernel{devs: map[string]*fakeDev{}, ns: map[*netns.NS]string{}, sysctls: map[*netns.NS]map[string]string{},
		fail: map[string]error{}}
	for _, d := range devs {
		k.devs[d.name] = d
	}
	return k
}

// fakeDev is one device. Its zero qdisc is noqueue; modules lists the
// qdiscs the kernel has (adding another is ENOENT, as without its module).
type fakeDev struct {
	name     string
	link     linkInfo
	qdisc    rootQdisc
	modules  []string
	features map[string]ethtool.FeatureState
	// needs: a feature that stays off while the one it needs is off.
	needs  map[string]string
	sysfs  map[string]string
	peer   string // a veth's other end
	ourXDP bool   // the program attached is ours
}

// fakeVeth is a fresh veth as the kernel makes it: noqueue, txqueuelen
// 1000, GRO off (so no NAPI), the offloads on, the NAPI files at zero.
func fakeVeth(name, peer string) *fakeDev {
	on := ethtool.FeatureState{Available: true, Requested: true, Active: true}
	off := ethtool.FeatureState{Available: true}
	return &fakeDev{
		name: name, peer: peer,
		link:    linkInfo{kind: "veth", mtu: 1500, txQueueLen: 1000, txQueues: 1, rxQueues: 1, xdp: XDPOff},
		qdisc:   rootQdisc{kind: "noqueue"},
		modules: []string{"noqueue", "pfifo", "bfifo", "pfifo_fast", "prio", "sfq", "tbf"},
		features: map[string]ethtool.FeatureState{
			"rx-gro": off, "rx-gro-list": off, "rx-udp-gro-forwarding": off,
			"tx-generic-segmentation": on, "tx-tcp-segmentation": on, "tx-udp-segmentation": on,
			"tx-checksum-ip-generic": on, "rx-checksum": on, "tx-scatter-gather": on,
		},
		needs: map[string]string{"tx-tcp-segmentation": "tx-checksum-ip-generic", "tx-udp-segmentation": "tx-checksum-ip-generic"},
		sysfs: map[string]string{"threaded": "0", "gro_flush_timeout": "0", "napi_defer_hard_irqs": "0"},
	}
}

// state is everything a knob can change, for comparing before and after.
func (k *fakeKernel) state() string {
	s := ""
	for _, name := range slices.Sorted(maps.Keys(k.devs)) {
		d := k.devs[name]
		s += fmt.Sprintf("%s %+v %+v xdp-ours=%v %v %v\n", name, d.link, d.qdisc, d.ourXDP, d.features, d.sysfs)
	}
	byName := map[string]map[string]string{}
	for n, m := range k.sysctls {
		byName[k.nsName(n)] = m
	}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		s += fmt.Sprintf("%s %v\n", name, byName[name])
	}
	return s
}

func (k *fakeKernel) nsName(n *netns.NS) string {
	if n == nil {
		return "host"
	}
	return k.ns[n]
}

func (k *fakeKernel) check(call string) error {
	k.calls = append(k.calls, call)
	return k.fail[call]
}

// change makes a change and logs it.
func (k *fakeKernel) change(entry string, do func()) {
	if k.changing != nil {
		k.changing(entry)
	}
	do()
	k.log = append(k.log, entry)
}

func (k *fakeKernel) device(n *netns.NS, ifname string) (device, error) {
	if err := k.check(ifname + " open"); err != nil {
		return nil, err
	}
	d, ok := k.devs[ifname]
	if !ok {
		return nil, fmt.Errorf("fake: no device %s", ifname)
	}
	k.opened++
	return &fakeHandle{k: k, d: d}, nil
}

func (k *fakeKernel) readSysctl(n *netns.NS, name string) (string, error) {
	if err := k.check(k.nsName(n) + " read " + name); err != nil {
		return "", err
	}
	v, ok := k.sysctls[n][name]
	if !ok {
		return "", &fs.PathError{Op: "open", Path: sysctlPath(name), Err: unix.ENOENT}
	}
	return v, nil
}

func (k *fakeKernel) writeSysctl(n *netns.NS, name, value string) error {
	if err := k.check(k.nsName(n) + " write " + name); err != nil {
		return err
	}
	if _, ok := k.sysctls[n][name]; !ok {
		return &fs.PathError{Op: "open", Path: sysctlPath(name), Err: unix.ENOENT}
	}
	k.change(fmt.Sprintf("%s sysctl %s=%s", k.nsName(n), name, value), func() { k.sysctls[n][name] = value })
	return nil
}

func (k *fakeKernel) checkHost() error { return k.hostErr }

func (k *fakeKernel) close() error {
	if k.opened != 0 {
		return fmt.Errorf("fake: kernel closed with %d device handles open", k.opened)
	}
	k.closed = true
	return nil
}

// fakeHandle is one opened device.
type fakeHandle struct {
	k      *fakeKernel
	d      *fakeDev
	closed bool
}

func (h *fakeHandle) call(op string) error {
	if h.closed {
		return errors.New("fake: handle used after close")
	}
	return h.k.check(h.d.name + " " + op)
}

func (h *fakeHandle) link() (linkInfo, error) {
	if err := h.call("link"); err != nil {
		return linkInfo{}, err
	}
	return h.d.link, nil
}

func (h *fakeHandle) setTxQueueLen(n int) error {
	if err := h.call("txqueuelen"); err != nil {
		return err
	}
	h.k.change(fmt.Sprintf("%s txqueuelen %d", h.d.name, n), func() { h.d.link.txQueueLen = n })
	return nil
}

func (h *fakeHandle) rootQdisc() (rootQdisc, error) {
	if err := h.call("qdisc"); err != nil {
		return rootQdisc{}, err
	}
	return h.d.qdisc, nil
}

func (h *fakeHandle) deleteRootQdisc(q rootQdisc) error {
	if err := h.call("qdisc del"); err != nil {
		return err
	}
	if q.handle == 0 || q != h.d.qdisc {
		return unix.ENOENT
	}
	h.k.change(fmt.Sprintf("%s qdisc del %s", h.d.name, q.kind), func() { h.d.qdisc = rootQdisc{kind: "noqueue"} })
	return nil
}

func (h *fakeHandle) addRootQdisc(kind string) error {
	if err := h.call("qdisc add"); err != nil {
		return err
	}
	if !slices.Contains(h.d.modules, kind) {
		return unix.ENOENT
	}
	q := rootQdisc{kind: kind, handle: 0x10000}
	qlen := max(h.d.link.txQueueLen, 1)
	switch kind {
	case "noqueue":
		q.handle = 0
	case "pfifo":
		q.limit = qlen
	case "bfifo":
		q.limit = qlen * (h.d.link.mtu + 14) // psched_mtu: the MTU and the Ethernet header
	}
	h.k.change(fmt.Sprintf("%s qdisc add %s", h.d.name, kind), func() { h.d.qdisc = q })
	return nil
}

func (h *fakeHandle) addRootTbf(t tbfParams) error {
	if err := h.call("qdisc add"); err != nil {
		return err
	}
	if !slices.Contains(h.d.modules, "tbf") {
		return unix.ENOENT
	}
	q := rootQdisc{kind: "tbf", handle: 0x10000, rate: t.rate, limit: int(t.limit)}
	h.k.change(fmt.Sprintf("%s qdisc add tbf %d", h.d.name, t.rate), func() { h.d.qdisc = q })
	return nil
}

func (h *fakeHandle) features() (map[string]ethtool.FeatureState, error) {
	if err := h.call("features"); err != nil {
		return nil, err
	}
	return maps.Clone(h.d.features), nil
}

func (h *fakeHandle) setFeature(name string, on bool) error {
	if err := h.call("feature " + name); err != nil {
		return err
	}
	s, ok := h.d.features[name]
	if !ok {
		return fmt.Errorf("unsupported feature %q", name)
	}
	h.k.change(fmt.Sprintf("%s feature %s %s", h.d.name, name, onOffOf(on)), func() {
		s.Requested = on
		h.d.features[name] = s
		h.d.recompute()
	})
	return nil
}

// recompute does what the kernel does after every change: an available
// feature is active when requested and what it needs is active. Features
// that need nothing first, then the others.
func (d *fakeDev) recompute() {
	for _, needy := range []bool{false, true} {
		for f, s := range d.features {
			need, ok := d.needs[f]
			if !s.Available || ok != needy {
				continue
			}
			s.Active = s.Requested && (!ok || d.features[need].Active)
			d.features[f] = s
		}
	}
}

func (h *fakeHandle) hasNAPI() bool {
	return h.d.link.kind == "veth" && (h.d.link.xdp == XDPNative || h.d.features["rx-gro"].Active)
}

func (h *fakeHandle) readSysfs(file string) (string, error) {
	if err := h.call("read " + file); err != nil {
		return "", err
	}
	v, ok := h.d.sysfs[file]
	if !ok {
		return "", &fs.PathError{Op: "open", Path: "/sys/class/net/" + h.d.name + "/" + file, Err: unix.ENOENT}
	}
	return v, nil
}

func (h *fakeHandle) writeSysfs(file, value string) error {
	if err := h.call("write " + file); err != nil {
		return err
	}
	if _, ok := h.d.sysfs[file]; !ok {
		return &fs.PathError{Op: "open", Path: "/sys/class/net/" + h.d.name + "/" + file, Err: unix.ENOENT}
	}
	if file == "threaded" && !h.hasNAPI() {
		return &fs.PathError{Op: "write", Path: "/sys/class/net/" + h.d.name + "/threaded", Err: unix.EOPNOTSUPP}
	}
	if _, err := strconv.Atoi(value); err != nil {
		return &fs.PathError{Op: "write", Path: "/sys/class/net/" + h.d.name + "/" + file, Err: unix.EINVAL}
	}
	h.k.change(fmt.Sprintf("%s sysfs %s=%s", h.d.name, file, value), func() { h.d.sysfs[file] = value })
	return nil
}

func (h *fakeHandle) attachXDP(mode string) error {
	if err := h.call("xdp " + mode); err != nil {
		return err
	}
	if h.d.link.xdp != XDPOff {
		return unix.EBUSY
	}
	h.k.change(fmt.Sprintf("%s xdp attach %s", h.d.name, mode), func() { h.d.link.xdp, h.d.ourXDP = mode, true })
	return nil
}

func (h *fakeHandle) detachXDP() error {
	if err := h.call("detach"); err != nil {
		return err
	}
	if !h.d.ourXDP {
		return nil
	}
	h.k.change(h.d.name+" xdp detach", func() { h.d.link.xdp, h.d.ourXDP = XDPOff, false })
	return nil
}

func (h *fakeHandle) vethPeer(devs []topology.Device) (topology.Device, linkInfo, bool) {
	for _, d := range devs {
		if p, ok := h.k.devs[d.Ifname]; ok && d.Ifname == h.d.peer {
			return d, p.link, true
		}
	}
	return topology.Device{}, linkInfo{}, false
}

func (h *fakeHandle) close() error {
	if h.closed {
		return errors.New("fake: handle closed twice")
	}
	err := h.detachXDP()
	h.closed = true
	h.k.opened--
	return err
}

// fakePair is what topology.KindVeth builds, in a fakeKernel: the sender's
// veth0 in namespace "sender", the receiver's veth1 in "receiver", two
// per-namespace sysctls (and no br_netfilter), two host sysctls.
func fakePair() (*fakeKernel, *targets) {
	snd, rcv := new(netns.NS), new(netns.NS)
	k := newFakeKernel(fakeVeth("veth0", "veth1"), fakeVeth("veth1", "veth0"))
	k.ns[snd], k.ns[rcv] = "sender", "receiver"
	for _, n := range []*netns.NS{snd, rcv} {
		k.sysctls[n] = map[string]string{"net.ipv4.udp_early_demux": "1", "net.ipv4.conf.all.rp_filter": "0"}
	}
	k.sysctls[nil] = map[string]string{"net.core.netdev_max_backlog": "1000", "net.core.netdev_budget": "300"}
	t := &targets{
		devices: []topology.Device{
			{Role: "sender", Ifname: "veth0", Kind: "veth", NS: snd, End: topology.EndSend},
			{Role: "receiver", Ifname: "veth1", Kind: "veth", NS: rcv, End: topology.EndReceive},
		},
		namespaces: []topology.Namespace{{Name: "sender", NS: snd}, {Name: "receiver", NS: rcv}},
	}
	return k, t
}
