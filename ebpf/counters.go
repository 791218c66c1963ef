package vbpf

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/internal/netns"
)

// ErrNotSupported is wrapped by errors about what the running kernel lacks
// (no BPF, neither TCX nor cls_bpf; for AttachDrops no BTF or no drop
// reasons). It wraps cilium's ebpf.ErrNotSupported, so
// errors.Is(err, ebpf.ErrNotSupported) holds as well.
var ErrNotSupported = fmt.Errorf("bpf counters: %w", ebpf.ErrNotSupported)

// ErrClosed is returned by Snapshot after Close.
var ErrClosed = errors.New("bpf counters closed")

// The hooks Counters.Hook reports.
const (
	HookTCX    = "tcx"     // a TCX link at ingress (kernel 6.6+)
	HookClsBPF = "cls_bpf" // a direct-action cls_bpf filter on a clsact qdisc
)

// ProgramName is the name of the BPF program counting at ingress, as bpftool
// and the test leak checker see it.
const ProgramName = "vb_ingress"

// Proto is the kind of traffic the counters take for vethbench's.
type Proto uint8

// The protocols. The zero value is ProtoUDP.
const (
	// ProtoUDP: UDP datagrams to the port whose payload starts with
	// vethbench's header (magic "VBP", window tag, sequence number, send
	// time).
	ProtoUDP Proto = iota
	// ProtoTCP: TCP segments to the port (for the drop counter: to or
	// from it). A stream carries no per-packet header: there is no
	// latency, and the port alone marks vethbench's traffic.
	ProtoTCP
)

// String returns "udp" or "tcp".
func (p Proto) String() string {
	switch p {
	case ProtoUDP:
		return "udp"
	case ProtoTCP:
		return "tcp"
	}
	return "proto(" + strconv.Itoa(int(p)) + ")"
}

// ipProto returns the value of the programs' proto global (vb_packet.h's
// VB_PROTO_*): the IP protocol number.
func (p Proto) ipProto() (uint8, error) {
	switch p {
	case ProtoUDP:
		return unix.IPPROTO_UDP, nil
	case ProtoTCP:
		return unix.IPPROTO_TCP, nil
	}
	return 0, fmt.Errorf("bpf counters: unknown protocol %v", p)
}

// setVars bakes port and protocol into a collection spec (counter.c and
// drops.c both have the read-only globals dst_port and proto).
func setVars(spec *ebpf.CollectionSpec, portVar, protoVar string, port uint16, p Proto) error {
	ipp, err := p.ipProto()
	if err != nil {
		return err
	}
	for _, x := range []struct {
		name string
		val  any
	}{{portVar, port}, {protoVar, ipp}} {
		v, ok := spec.Variables[x.name]
		if !ok {
			return fmt.Errorf("bpf counters: object has no %s variable", x.name)
		}
		if err := v.Set(x.val); err != nil {
			return fmt.Errorf("set %s: %w", x.name, err)
		}
	}
	return nil
}

// Options configure AttachIngress.
type Options struct {
	DstPort     uint16 // destination port that marks vethbench traffic (the server's)
	Proto       Proto  // what vethbench traffic is; ProtoUDP if unset
	ForceClsBPF bool   // use the netlink cls_bpf path even where TCX exists (tests, old kernels)
	// CostNS is a validation knob, never for real measurements: the
	// program spends about this many ns more CPU on every vethbench skb,
	// spinning on the clock after counting it (counter.c's cost_ns), so
	// that a known effect can be injected. At most MaxCostNS; 0 is off and
	// costs nothing (the verifier removes the spin).
	CostNS uint32
}

// MaxCostNS is the largest Options.CostNS (counter.c's VB_COST_MAX_NS): the
// spin is bounded for the verifier, and 20 us a packet already caps a
// path at 50k pps.
const MaxCostNS = 20000

// Snapshot holds the counters summed over CPUs, since the program was
// loaded. Use Sub for the deltas between two readings.
//
// Matched counts skbs. A GSO skb (UDP_SEGMENT, TSO) that veth passed to
// its peer whole, or a GRO skb, is one skb and one entry in the device's
// rx_packets, but carries many datagrams or segments: Segs counts those
// (max(1, gso_segs) per skb). Latency has one value per UDP skb counted in
// a window (all of them unless OpenWindow was used: see Window), the first
// datagram's, so with UDP GSO its total is Matched-BadTimestamp-Stale, not
// Segs.
type Snapshot struct {
	Packets      uint64              `json:"packets"`       // every packet at ingress
	Bytes        uint64              `json:"bytes"`         // their skb->len, Ethernet header included (as rx_bytes)
	Matched      uint64              `json:"matched"`       // vethbench skbs (see Proto)
	MatchedBytes uint64              `json:"matched_bytes"` // their skb->len
	Segs         uint64              `json:"segs"`          // datagrams or TCP segments in the matched skbs
	PayloadBytes uint64              `json:"payload_bytes"` // UDP or TCP payload of the matched skbs, all segments
	BadTimestamp uint64              `json:"bad_timestamp"` // UDP: matched skbs with a zero or future timestamp; not in Latency
	Stale        uint64              `json:"stale"`         // UDP: matched skbs whose window slot was given to a later tag: in no Window, not in Latency
	CostShort    uint64              `json:"cost_short"`    // matched skbs whose Options.CostNS spin stopped at its bound, short of CostNS (a clock read under 5 ns)
	Latency      histogram.Histogram `json:"latency"`       // UDP: one-way latency of the other matched skbs, ns, at LatencyScale; TCP: empty
}

// Sub returns s minus prev, an earlier snapshot of the same Counters.
func (s Snapshot) Sub(prev Snapshot) Snapshot {
	return Snapshot{
		Packets:      s.Packets - prev.Packets,
		Bytes:        s.Bytes - prev.Bytes,
		Matched:      s.Matched - prev.Matched,
		MatchedBytes: s.MatchedBytes - prev.MatchedBytes,
		Segs:         s.Segs - prev.Segs,
		PayloadBytes: s.PayloadBytes - prev.PayloadBytes,
		BadTimestamp: s.BadTimestamp - prev.BadTimestamp,
		Stale:        s.Stale - prev.Stale,
		CostShort:    s.CostShort - prev.CostShort,
		Latency:      s.Latency.Sub(prev.Latency),
	}
}

// TagSlots is the number of windows the counter tells apart at once: a
// window's datagrams are counted in slot tag % TagSlots (counter.c's
// VB_TAG_SLOTS) until OpenWindow gives the slot to a later tag.
const TagSlots = 4

// Window holds the counts of one measurement window's UDP datagrams, those
// carrying its tag (traffic.Header.Tag), summed over CPUs: the fields of
// Snapshot of the same names, for the window's datagrams alone, however
// late they arrived.
type Window struct {
	Matched      uint64              `json:"matched"`
	Segs         uint64              `json:"segs"`
	PayloadBytes uint64              `json:"payload_bytes"`
	BadTimestamp uint64              `json:"bad_timestamp"`
	Latency      histogram.Histogram `json:"latency"`
}

// Sub returns w minus prev, an earlier reading of the same slot.
func (w Window) Sub(prev Window) Window {
	return Window{
		Matched:      w.Matched - prev.Matched,
		Segs:         w.Segs - prev.Segs,
		PayloadBytes: w.PayloadBytes - prev.PayloadBytes,
		BadTimestamp: w.BadTimestamp - prev.BadTimestamp,
		Latency:      w.Latency.Sub(prev.Latency),
	}
}

// Counters is the counting program attached at one device's ingress.
type Counters struct {
	mu     sync.Mutex
	objs   ingressObjects
	hook   string
	tcx    link.Link // HookTCX
	cls    *clsHook  // HookClsBPF
	closed bool
}

// ingressObjects is what AttachIngress loads: the counting program and its
// maps (LoadAndAssign loads only these, not the test-only vb_bucket_probe).
type ingressObjects struct {
	Prog    *ebpf.Program `ebpf:"vb_ingress"`
	Counts  *ebpf.Map     `ebpf:"vb_counters"`
	Tags    *ebpf.Map     `ebpf:"vb_tags"`
	Windows *ebpf.Map     `ebpf:"vb_windows"`
}

func (o *ingressObjects) close() error {
	var errs []error
	for _, c := range []interface{ Close() error }{o.Prog, o.Counts, o.Tags, o.Windows} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// loadSpec returns the collection spec with the port, protocol and cost
// set.
func loadSpec(opts Options) (*ebpf.CollectionSpec, error) {
	if opts.DstPort == 0 {
		return nil, errors.New("bpf counters: destination port 0")
	}
	if opts.CostNS > MaxCostNS {
		return nil, fmt.Errorf("bpf counters: cost %d ns above the maximum %d", opts.CostNS, MaxCostNS)
	}
	spec, err := loadCounter()
	if err != nil {
		return nil, err
	}
	if err := setVars(spec, counterVarDstPort, counterVarProto, opts.DstPort, opts.Proto); err != nil {
		return nil, err
	}
	v, ok := spec.Variables[counterVarCostNs]
	if !ok {
		return nil, fmt.Errorf("bpf counters: object has no %s variable", counterVarCostNs)
	}
	if err := v.Set(opts.CostNS); err != nil {
		return nil, fmt.Errorf("set %s: %w", counterVarCostNs, err)
	}
	return spec, nil
}

// load loads the program and maps into the kernel without attaching them.
func load(opts Options) (*Counters, error) {
	spec, err := loadSpec(opts)
	if err != nil {
		return nil, err
	}
	c := &Counters{}
	if err := spec.LoadAndAssign(&c.objs, nil); err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: load %s: %w", ErrNotSupported, ProgramName, err)
		}
		// %+v would print the whole verifier log; %v keeps the end of it.
		return nil, fmt.Errorf("load %s: %w", ProgramName, err)
	}
	return c, nil
}

// AttachIngress loads the program and attaches it at ingress of ifname inside
// ns: with TCX (at the head of the device's TCX chain) where the kernel has
// it, else (or with opts.ForceClsBPF) as a direct-action cls_bpf filter on
// the device's clsact qdisc, which it creates if there is none. It never
// uses XDP. The caller must Close the result.
func AttachIngress(ns *netns.NS, ifname string, opts Options) (*Counters, error) {
	if ns == nil {
		return nil, errors.New("bpf counters: nil namespace")
	}
	c, err := load(opts)
	if err != nil {
		return nil, err
	}
	var tcxErr error
	if !opts.ForceClsBPF {
		tcxErr = c.attachTCX(ns, ifname)
		if tcxErr == nil {
			return c, nil
		}
		if !errors.Is(tcxErr, ebpf.ErrNotSupported) {
			c.objs.close()
			return nil, tcxErr
		}
	}
	if err := c.attachClsBPF(ns, ifname); err != nil {
		c.objs.close()
		if tcxErr != nil && errors.Is(err, ErrNotSupported) {
			return nil, fmt.Errorf("%w: kernel has neither TCX nor cls_bpf: %v; %w", ErrNotSupported, tcxErr, err)
		}
		return nil, err
	}
	return c, nil
}

// attachTCX attaches from inside ns: link_create resolves the ifindex in the
// caller's namespace.
func (c *Counters) attachTCX(ns *netns.NS, ifname string) error {
	var l link.Link
	err := ns.Do(func() error {
		iface, err := net.InterfaceByName(ifname)
		if err != nil {
			return fmt.Errorf("find %q: %w", ifname, err)
		}
		l, err = link.AttachTCX(link.TCXOptions{
			Interface: iface.Index,
			Program:   c.objs.Prog,
			Attach:    ebpf.AttachTCXIngress,
			// First in the chain: count what later programs may drop.
			Anchor: link.Head(),
		})
		if err != nil {
			return fmt.Errorf("attach tcx ingress of %q: %w", ifname, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.tcx, c.hook = l, HookTCX
	return nil
}

// clsHook is a cls_bpf filter this package added, and how to remove it.
type clsHook struct {
	h        *netlink.Handle // opened inside the device's namespace
	dev      netlink.Link
	filter   *netlink.BpfFilter // as the kernel reported it: priority and handle
	ownQdisc bool               // the clsact qdisc was created by us
}

func clsactOf(dev netlink.Link) *netlink.Clsact {
	return &netlink.Clsact{QdiscAttrs: netlink.QdiscAttrs{
		LinkIndex: dev.Attrs().Index,
		Handle:    netlink.MakeHandle(0xffff, 0),
		Parent:    netlink.HANDLE_CLSACT,
	}}
}

// notSupportedTC tells a kernel without clsact or cls_bpf from other failures.
func notSupportedTC(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTSUP)
}

func (c *Counters) attachClsBPF(ns *netns.NS, ifname string) (err error) {
	h, err := ns.NetlinkHandle()
	if err != nil {
		return err
	}
	hk := &clsHook{h: h}
	defer func() {
		if err != nil {
			hk.close()
		}
	}()
	hk.dev, err = h.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("find %q: %w", ifname, err)
	}

	qdiscs, err := h.QdiscList(hk.dev)
	if err != nil {
		return fmt.Errorf("list qdiscs of %q: %w", ifname, err)
	}
	have := false
	for _, q := range qdiscs {
		// An ingress qdisc also takes filters at parent ffff:fff2.
		if q.Type() == "clsact" || q.Type() == "ingress" {
			have = true
		}
	}
	if !have {
		err := h.QdiscAdd(clsactOf(hk.dev))
		switch {
		case err == nil:
			hk.ownQdisc = true
		case errors.Is(err, unix.EEXIST): // someone was faster; not ours
		case notSupportedTC(err):
			return fmt.Errorf("%w: add clsact qdisc to %q: %w", ErrNotSupported, ifname, err)
		default:
			return fmt.Errorf("add clsact qdisc to %q: %w", ifname, err)
		}
	}

	info, err := c.objs.Prog.Info()
	if err != nil {
		return fmt.Errorf("program info: %w", err)
	}
	progID, ok := info.ID()
	if !ok {
		return fmt.Errorf("%w: kernel does not report program ids", ErrNotSupported)
	}
	// Priority and handle 0: the kernel picks a priority ahead of existing
	// filters, so this one sees every packet, and a free handle. The
	// filter is then found again by its program id, to delete exactly it.
	f := &netlink.BpfFilter{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: hk.dev.Attrs().Index,
			Parent:    netlink.HANDLE_MIN_INGRESS,
			Protocol:  unix.ETH_P_ALL,
		},
		Fd:           c.objs.Prog.FD(),
		Name:         ProgramName,
		DirectAction: true,
	}
	if err := h.FilterAdd(f); err != nil {
		if notSupportedTC(err) {
			return fmt.Errorf("%w: add cls_bpf filter to %q: %w", ErrNotSupported, ifname, err)
		}
		return fmt.Errorf("add cls_bpf filter to %q: %w", ifname, err)
	}
	filters, err := h.FilterList(hk.dev, netlink.HANDLE_MIN_INGRESS)
	if err != nil {
		return fmt.Errorf("list ingress filters of %q: %w", ifname, err)
	}
	for _, x := range filters {
		if bf, ok := x.(*netlink.BpfFilter); ok && bf.Id == int(progID) && bf.Handle != 0 {
			hk.filter = bf
			break
		}
	}
	if hk.filter == nil {
		return fmt.Errorf("cls_bpf filter with program %d not found on %q after adding it", progID, ifname)
	}
	c.cls, c.hook = hk, HookClsBPF
	return nil
}

// close removes the filter, then the qdisc if it is ours and holds no other
// filter, then closes the netlink handle.
func (hk *clsHook) close() error {
	var errs []error
	gone := func(err error) bool { // the device or filter went away already
		return errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT)
	}
	if hk.filter != nil {
		if err := hk.h.FilterDel(hk.filter); err != nil && !gone(err) {
			errs = append(errs, fmt.Errorf("delete cls_bpf filter: %w", err))
		}
		hk.filter = nil
	}
	if hk.ownQdisc {
		others := 0
		for _, parent := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
			fs, err := hk.h.FilterList(hk.dev, parent)
			if err != nil {
				if !gone(err) {
					errs = append(errs, fmt.Errorf("list filters: %w", err))
				}
				others++ // when in doubt, leave the qdisc
				continue
			}
			others += len(fs)
		}
		if others == 0 {
			if err := hk.h.QdiscDel(clsactOf(hk.dev)); err != nil && !gone(err) && !errors.Is(err, unix.EINVAL) {
				errs = append(errs, fmt.Errorf("delete clsact qdisc: %w", err))
			}
		}
		hk.ownQdisc = false
	}
	if hk.h != nil {
		hk.h.Close()
		hk.h = nil
	}
	return errors.Join(errs...)
}

// Hook reports how the program is attached: HookTCX or HookClsBPF.
func (c *Counters) Hook() string { return c.hook }

// Snapshot reads the counters and the latency histogram (every window's),
// summed over CPUs. The maps are read one after the other while packets
// keep arriving.
func (c *Counters) Snapshot() (Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return Snapshot{}, ErrClosed
	}
	var s Snapshot
	var counts []counterVbCounts
	if err := c.objs.Counts.Lookup(uint32(0), &counts); err != nil {
		return Snapshot{}, fmt.Errorf("read counters: %w", err)
	}
	for _, v := range counts {
		s.Packets += v.Packets
		s.Bytes += v.Bytes
		s.Matched += v.Matched
		s.MatchedBytes += v.MatchedBytes
		s.Segs += v.Segs
		s.PayloadBytes += v.PayloadBytes
		s.BadTimestamp += v.BadTs
		s.Stale += v.Stale
		s.CostShort += v.CostShort
	}
	s.Latency = histogram.New(LatencyScale)
	for slot := range uint32(TagSlots) {
		w, err := c.readSlot(slot)
		if err != nil {
			return Snapshot{}, err
		}
		s.Latency.Add(w.Latency)
	}
	return s, nil
}

// readSlot reads one window slot, summed over CPUs. The caller holds mu.
func (c *Counters) readSlot(slot uint32) (Window, error) {
	var per []counterVbWindow
	if err := c.objs.Windows.Lookup(slot, &per); err != nil {
		return Window{}, fmt.Errorf("read window slot %d: %w", slot, err)
	}
	w := Window{Latency: histogram.New(LatencyScale)}
	for _, v := range per {
		w.Matched += v.Matched
		w.Segs += v.Segs
		w.PayloadBytes += v.PayloadBytes
		w.BadTimestamp += v.BadTs
		for i, n := range v.Buckets {
			w.Latency.Counts[i] += n
		}
	}
	return w, nil
}

// tagSet marks a vb_tags entry as given to the tag in its low byte
// (counter.c's VB_TAG_SET); 0 is a slot never given, which counts every tag.
const tagSet = 0x100

// OpenWindow gives tag its slot (tag % TagSlots): from now on the slot
// counts only UDP datagrams carrying tag, and datagrams of the slot's
// previous tag count as Stale. It returns the slot's counts at that moment,
// which Window's later readings are taken from. Call it before the first
// datagram carrying tag is sent, and only once every datagram of the
// slot's previous tag has arrived or been given up on: the runner reads
// a window's counts before it reuses its slot.
func (c *Counters) OpenWindow(tag uint8) (Window, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return Window{}, ErrClosed
	}
	slot := uint32(tag) % TagSlots
	if err := c.objs.Tags.Update(slot, uint32(tagSet|uint32(tag)), ebpf.UpdateAny); err != nil {
		return Window{}, fmt.Errorf("give window slot %d to tag %d: %w", slot, tag, err)
	}
	// A datagram of the previous tag that read the slot's owner just
	// before the update may still be adding to the slot: the reading
	// below can miss it only if it arrived TagSlots windows late, at this
	// very moment.
	return c.readSlot(slot)
}

// Window reads the counts of tag's slot since the program was loaded; the
// counts of tag's window are this minus what OpenWindow returned. It fails
// if the slot was given to another tag since.
func (c *Counters) Window(tag uint8) (Window, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return Window{}, ErrClosed
	}
	slot := uint32(tag) % TagSlots
	var owner uint32
	if err := c.objs.Tags.Lookup(slot, &owner); err != nil {
		return Window{}, fmt.Errorf("read window slot %d's tag: %w", slot, err)
	}
	if owner != tagSet|uint32(tag) {
		return Window{}, fmt.Errorf("window slot %d holds tag %#x, not tag %d", slot, owner, tag)
	}
	return c.readSlot(slot)
}

// Close detaches the program and frees it and its maps. On the cls_bpf path
// it deletes its filter and the clsact qdisc if AttachIngress created it and
// no other filter is left on it. Close is idempotent.
func (c *Counters) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	if c.tcx != nil {
		if err := c.tcx.Close(); err != nil {
			errs = append(errs, fmt.Errorf("detach tcx: %w", err))
		}
		c.tcx = nil
	}
	if c.cls != nil {
		errs = append(errs, c.cls.close())
		c.cls = nil
	}
	errs = append(errs, c.objs.close())
	return errors.Join(errs...)
}

// LatencyScale is the bucket layout of the one-way latency histogram:
// counter.c's VB_LAT_SUB_BITS. counterVbWindow holds exactly its buckets
// (TestLatencyScaleMatchesMap) and vb_bucket_of computes its BucketOf
// (TestBucketOfMatchesC).
var LatencyScale = histogram.OneWay
