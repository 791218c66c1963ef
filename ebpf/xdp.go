package vbpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// Names of the XDP programs, as bpftool and the leak checker see them.
const (
	XDPGenProgramName  = "vb_xdp_gen"
	XDPSinkProgramName = "vb_xdp_sink"
	xdpProbeName       = "vb_xdp_probe"
)

// MaxLiveBatch is the largest batch one live-frames BPF_PROG_RUN takes
// (the kernel's TEST_XDP_MAX_BATCH); 0 asks for its default, 64.
const MaxLiveBatch = 256

// ErrNoXDPXmit means a device does not take redirected XDP frames at the
// moment: its ndo_xdp_xmit is missing or not ready. Frames redirected to
// it would be freed without a trace in its counters. A veth takes them
// only while its peer runs NAPI: with an XDP program attached to the peer,
// or GRO on at the peer.
var ErrNoXDPXmit = errors.New("device does not take redirected XDP frames")

// XDP attach modes that XDPSink.Mode reports.
const (
	XDPModeNative  = "native"  // in the driver (veth supports it)
	XDPModeGeneric = "generic" // on the skb, after the driver (any device)
)

// XDPGenStats are vb_xdp_gen's counters since it was loaded.
type XDPGenStats struct {
	Frames uint64 `json:"frames"` // stamped and returned XDP_REDIRECT for
	Bytes  uint64 `json:"bytes"`  // their length, Ethernet header included
	Bad    uint64 `json:"bad"`    // not a vethbench frame: dropped
}

// Sub returns s minus prev.
func (s XDPGenStats) Sub(prev XDPGenStats) XDPGenStats {
	return XDPGenStats{Frames: s.Frames - prev.Frames, Bytes: s.Bytes - prev.Bytes, Bad: s.Bad - prev.Bad}
}

// XDPGen is one instance of vb_xdp_gen, loaded for one device and a range
// of flows. Run it with Run from a thread inside the device's namespace.
// Its state lives in the program's globals, so its Runs take turns: a
// sender with several threads loads an instance per thread.
type XDPGen struct {
	// mu serializes Runs (the globals are one call's at a time) and
	// keeps Stats and Close from reading or unmapping the globals
	// while a call runs.
	mu         sync.Mutex
	closed     bool
	objs       xdpGenObjects
	anchor     *dispatcherAnchor
	flowBase   uint16
	seq        []uint64 // each flow's next sequence number
	batchStamp bool
	maxFrame   int
}

type xdpGenObjects struct {
	Prog       *ebpf.Program  `ebpf:"vb_xdp_gen"`
	NextSeq    *ebpf.Variable `ebpf:"next_seq"`
	StampEvery *ebpf.Variable `ebpf:"stamp_every"`
	StampLeft  *ebpf.Variable `ebpf:"stamp_left"`
	SpreadMax  *ebpf.Variable `ebpf:"spread_max"`
	SpreadSum  *ebpf.Variable `ebpf:"spread_sum"`
	SpreadN    *ebpf.Variable `ebpf:"spread_n"`
	Counts     *ebpf.Variable `ebpf:"gen_counts"`
}

func (o *xdpGenObjects) close() error {
	if o.Prog == nil {
		return nil
	}
	// The variables' memory goes with the collection's maps, which the
	// kernel frees when the program that holds them is closed.
	return o.Prog.Close()
}

// setXDPVars sets the named read-only globals of spec.
func setXDPVars(spec *ebpf.CollectionSpec, vals map[string]any) error {
	for name, val := range vals {
		v, ok := spec.Variables[name]
		if !ok {
			return fmt.Errorf("object has no %s variable", name)
		}
		if err := v.Set(val); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
	}
	return nil
}

// LoadXDPGen loads an instance of vb_xdp_gen that redirects every frame
// to ifindex and numbers the frames of each flow srcport-flowBase in
// [0, flows) from 0. It first checks that the kernel runs XDP programs on
// live frames (5.18+) and how large a frame it takes; the error wraps
// ErrNotSupported if it does not. The caller must Close the result.
func LoadXDPGen(ifindex int, flowBase uint16, flows int) (*XDPGen, error) {
	if ifindex <= 0 {
		return nil, fmt.Errorf("xdp generator: ifindex %d", ifindex)
	}
	if flows < 1 || int(flowBase)+flows-1 > math.MaxUint16 {
		return nil, fmt.Errorf("xdp generator: %d flows from source port %d do not fit in 16 bits", flows, flowBase)
	}
	maxFrame, err := LiveFrameMax()
	if err != nil {
		return nil, err
	}
	spec, err := loadXdpgen()
	if err != nil {
		return nil, err
	}
	if err := setXDPVars(spec, map[string]any{xdpgenVarIfindex: uint32(ifindex)}); err != nil {
		return nil, fmt.Errorf("xdp generator: %w", err)
	}
	g := &XDPGen{flowBase: flowBase, seq: make([]uint64, flows), maxFrame: maxFrame}
	if err := spec.LoadAndAssign(&g.objs, nil); err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: load %s: %w", ErrNotSupported, XDPGenProgramName, err)
		}
		return nil, fmt.Errorf("load %s: %w", XDPGenProgramName, err)
	}
	// Globals are read and written through the mapped data section
	// (5.5+, well before live frames).
	if err := g.objs.NextSeq.Set(uint64(0)); err != nil {
		g.objs.close()
		if errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: map the program's globals: %w", ErrNotSupported, err)
		}
		return nil, fmt.Errorf("xdp generator: set next_seq: %w", err)
	}
	if g.anchor, err = anchorDispatcher(g.objs.Prog, XDPGenProgramName); err != nil {
		g.objs.close()
		return nil, err
	}
	return g, nil
}

// SetBatchStamp chooses how Runs from now on stamp send times: on, the
// clock is read once per batch (the batch given to Run, or the whole call
// if it is shorter) and every frame of the batch carries that time; off
// (the default), once per frame.
//
// Reading the clock costs some 35 ns a frame on the project's VM, a fifth
// of the whole path's cost per frame; once per batch it costs almost
// nothing. The price is latency: a frame's stamp is then the time its
// batch began, earlier than the frame itself was made by up to the time
// the batch took to make, so one-way latencies read high by up to that
// much. StampSpread says how much that was. (The kernel sends a batch's
// frames on when the batch ends, so per-frame stamps are not the send
// time either: they are early by the rest of the batch.)
func (g *XDPGen) SetBatchStamp(on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.batchStamp = on
}

// dispatcherAnchor keeps an XDP program installed in the kernel's XDP
// dispatcher by attaching it (generic mode) to the loopback device of a
// namespace of its own, which is down and carries no traffic.
//
// Why: BPF_PROG_RUN with repeat > 1 installs the program in the dispatcher
// before the run and removes it after, and each change waits for an RCU
// grace period (synchronize_rcu in bpf_dispatcher_change_prog): about 24
// ms per call on this project's VM, whatever the repeat count. While the
// program is attached somewhere it stays installed, the runs only take a
// reference, and a call costs some 20 us instead.
type dispatcherAnchor struct {
	ns   *netns.NS
	link link.Link
}

func anchorDispatcher(prog *ebpf.Program, name string) (*dispatcherAnchor, error) {
	ns, err := netns.New()
	if err != nil {
		return nil, fmt.Errorf("%s: anchor namespace: %w", name, err)
	}
	a := &dispatcherAnchor{ns: ns}
	err = ns.Do(func() error {
		lo, err := net.InterfaceByName("lo")
		if err != nil {
			return fmt.Errorf("find lo: %w", err)
		}
		a.link, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: lo.Index, Flags: link.XDPGenericMode})
		if err != nil {
			if notSupportedXDP(err) {
				return fmt.Errorf("%w: attach generic XDP: %w", ErrNotSupported, err)
			}
			return fmt.Errorf("attach %s to an idle lo: %w", name, err)
		}
		return nil
	})
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("%s: anchor in the XDP dispatcher: %w", name, err)
	}
	return a, nil
}

func (a *dispatcherAnchor) close() error {
	var errs []error
	if err := a.link.Close(); err != nil {
		errs = append(errs, fmt.Errorf("detach dispatcher anchor: %w", err))
	}
	if err := a.ns.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close anchor namespace: %w", err))
	}
	return errors.Join(errs...)
}

// MaxFrame is the largest frame Run takes on this kernel (see LiveFrameMax).
func (g *XDPGen) MaxFrame() int { return g.maxFrame }

// Run makes one BPF_PROG_RUN call with BPF_F_TEST_XDP_LIVE_FRAMES: the
// kernel runs vb_xdp_gen repeat times over copies of frame, batch frames
// at a time (0: the kernel's default 64, at most MaxLiveBatch), and
// transmits what it redirects. It returns how many frames the program
// stamped for frame's flow during the call: normally repeat, more if a
// signal made the call start over, fewer on an error.
//
// The calling thread must be inside the namespace of the ifindex given to
// LoadXDPGen: the kernel resolves the redirect there. Runs of one XDPGen
// take turns.
func (g *XDPGen) Run(frame []byte, repeat, batch int) (uint64, error) {
	flow, err := g.flowOf(frame)
	if err != nil {
		return 0, err
	}
	if err := checkLiveRun(len(frame), repeat, batch, g.maxFrame); err != nil {
		return 0, fmt.Errorf("xdp generator: %w", err)
	}
	_, n, err := g.call(flow, &ebpf.RunOptions{
		Data:      frame,
		Repeat:    uint32(repeat),
		Flags:     unix.BPF_F_TEST_XDP_LIVE_FRAMES,
		BatchSize: uint32(batch),
	})
	if err != nil {
		return n, fmt.Errorf("bpf_prog_run %s (live frames, repeat %d, batch %d): %w", XDPGenProgramName, repeat, batch, err)
	}
	return n, nil
}

// call runs the program for flow's frame in opts: it sets the globals for
// the call, runs it and returns the last verdict and how many frames the
// program numbered.
func (g *XDPGen) call(flow int, opts *ebpf.RunOptions) (uint32, uint64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, 0, ErrClosed
	}
	// The kernel's batches: BatchSize frames (0: its default), the last
	// one of a call shorter; a call shorter than BatchSize is one batch.
	every := uint32(1)
	if g.batchStamp {
		every = opts.BatchSize
		if every == 0 {
			every = defaultLiveBatch
		}
		every = min(every, max(opts.Repeat, 1))
	}
	before := g.seq[flow]
	for _, v := range []struct {
		name string
		v    *ebpf.Variable
		val  any
	}{
		{xdpgenVarNextSeq, g.objs.NextSeq, before},
		{xdpgenVarStampEvery, g.objs.StampEvery, every},
		{xdpgenVarStampLeft, g.objs.StampLeft, uint32(0)},
	} {
		if err := v.v.Set(v.val); err != nil {
			return 0, 0, fmt.Errorf("set %s: %w", v.name, err)
		}
	}
	ret, err := g.objs.Prog.Run(opts)
	var after uint64
	if gerr := g.objs.NextSeq.Get(&after); gerr != nil {
		return 0, 0, errors.Join(err, fmt.Errorf("read %s: %w", xdpgenVarNextSeq, gerr))
	}
	g.seq[flow] = after
	return ret, after - before, err
}

// StampSpread says how long the send times of batch stamps served: for
// each batch, from the clock read at its first frame to its last frame,
// how much earlier than that frame its stamp was. The frames before the
// last were stamped less early.
type StampSpread struct {
	Batches uint64        // batches measured; 0 with per-frame stamps
	Mean    time.Duration // over the batches measured
	Max     time.Duration // the longest: how early a stamp was, at most
}

// Merge adds the batches of o.
func (s StampSpread) Merge(o StampSpread) StampSpread {
	n := s.Batches + o.Batches
	if n == 0 {
		return StampSpread{}
	}
	mean := (float64(s.Mean)*float64(s.Batches) + float64(o.Mean)*float64(o.Batches)) / float64(n)
	return StampSpread{Batches: n, Mean: time.Duration(mean), Max: max(s.Max, o.Max)}
}

// StampSpread is how long the stamps served since the generator was
// loaded (see SetBatchStamp): the zero value with per-frame stamps, and
// for calls of a single frame.
func (g *XDPGen) StampSpread() (StampSpread, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return StampSpread{}, ErrClosed
	}
	var most, sum, n uint64
	for _, v := range []struct {
		name string
		v    *ebpf.Variable
		out  *uint64
	}{{xdpgenVarSpreadMax, g.objs.SpreadMax, &most}, {xdpgenVarSpreadSum, g.objs.SpreadSum, &sum}, {xdpgenVarSpreadN, g.objs.SpreadN, &n}} {
		if err := v.v.Get(v.out); err != nil {
			return StampSpread{}, fmt.Errorf("read %s: %w", v.name, err)
		}
	}
	if n == 0 {
		return StampSpread{}, nil
	}
	return StampSpread{Batches: n, Mean: time.Duration(sum / n), Max: time.Duration(most)}, nil
}

// defaultLiveBatch is the kernel's batch when BatchSize is 0.
const defaultLiveBatch = 64

// flowOf finds the flow of a frame from its source port.
func (g *XDPGen) flowOf(f []byte) (int, error) {
	l4, ok := udpOffset(f)
	if !ok || len(f) < l4+8+16 || string(f[l4+8:l4+11]) != "VBP" {
		return 0, errors.New("xdp generator: frame is not a vethbench UDP frame over IPv4 (no options) or IPv6")
	}
	port := int(binary.BigEndian.Uint16(f[l4:]))
	flow := port - int(g.flowBase)
	if flow < 0 || flow >= len(g.seq) {
		return 0, fmt.Errorf("xdp generator: frame's source port %d outside the flows [%d, %d]", port, g.flowBase, int(g.flowBase)+len(g.seq)-1)
	}
	return flow, nil
}

// udpOffset returns the offset of the UDP header of an Ethernet frame
// carrying IPv4 without options or IPv6 with UDP next.
func udpOffset(f []byte) (int, bool) {
	if len(f) < 14 {
		return 0, false
	}
	switch binary.BigEndian.Uint16(f[12:14]) {
	case unix.ETH_P_IP:
		if len(f) < 14+20 || f[14] != 0x45 || f[14+9] != unix.IPPROTO_UDP {
			return 0, false
		}
		return 14 + 20, true
	case unix.ETH_P_IPV6:
		if len(f) < 14+40 || f[14]>>4 != 6 || f[14+6] != unix.IPPROTO_UDP {
			return 0, false
		}
		return 14 + 40, true
	}
	return 0, false
}

// NextSeq returns the sequence number vb_xdp_gen stamps next into flow's
// frames: the number of frames of that flow stamped so far.
func (g *XDPGen) NextSeq(flow int) (uint64, error) {
	if flow < 0 || flow >= len(g.seq) {
		return 0, fmt.Errorf("xdp generator: flow %d out of range [0, %d)", flow, len(g.seq))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, ErrClosed
	}
	return g.seq[flow], nil
}

// SetNextSeq sets the sequence number vb_xdp_gen stamps next into flow's
// frames: the runner starts every flow again at 0 with each window tag
// (see traffic.Header). It waits for a running call.
func (g *XDPGen) SetNextSeq(flow int, seq uint64) error {
	if flow < 0 || flow >= len(g.seq) {
		return fmt.Errorf("xdp generator: flow %d out of range [0, %d)", flow, len(g.seq))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	g.seq[flow] = seq
	return nil
}

// Stats reads the program's counters. It waits for a running call.
func (g *XDPGen) Stats() (XDPGenStats, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return XDPGenStats{}, ErrClosed
	}
	var c xdpgenVbGenCounts
	if err := g.objs.Counts.Get(&c); err != nil {
		return XDPGenStats{}, fmt.Errorf("read %s counters: %w", XDPGenProgramName, err)
	}
	return XDPGenStats{Frames: c.Frames, Bytes: c.Bytes, Bad: c.Bad}, nil
}

// Close waits for a running Run and frees the program and its globals.
// It is idempotent.
func (g *XDPGen) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	var errs []error
	if g.anchor != nil {
		errs = append(errs, g.anchor.close())
	}
	errs = append(errs, g.objs.close())
	return errors.Join(errs...)
}

var liveProbe struct {
	mu       sync.Mutex
	maxFrame int // 0: not probed yet
}

// LiveFrameMax reports the largest frame (Ethernet header to the end of
// the packet) that BPF_PROG_RUN takes in live-frames mode on this kernel:
// one page less the kernel's headroom, its per-page bookkeeping and the
// skb tail, about 3.4 KB with 4 KiB pages. It finds out once, with a
// program that drops every frame (nothing is sent), and caches the answer.
// An error wraps ErrNotSupported if the kernel has no live frames (before
// 5.18).
func LiveFrameMax() (int, error) {
	liveProbe.mu.Lock()
	defer liveProbe.mu.Unlock()
	if liveProbe.maxFrame > 0 {
		return liveProbe.maxFrame, nil
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: xdpProbeName,
		Type: ebpf.XDP,
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 1), // XDP_DROP
			asm.Return(),
		},
		License: "Dual BSD/GPL",
	})
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return 0, fmt.Errorf("%w: load XDP program: %w", ErrNotSupported, err)
		}
		return 0, fmt.Errorf("load %s: %w", xdpProbeName, err)
	}
	defer prog.Close()
	buf := make([]byte, 4096)
	fits := func(n int) (bool, error) {
		_, err := prog.Run(&ebpf.RunOptions{Data: buf[:n], Repeat: 1, Flags: unix.BPF_F_TEST_XDP_LIVE_FRAMES})
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EINVAL):
			return false, nil
		}
		return false, err
	}
	const least = 64 // every kernel with live frames takes a minimal frame
	ok, err := fits(least)
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.E2BIG) {
			return 0, fmt.Errorf("%w: BPF_PROG_RUN with live XDP frames: %w", ErrNotSupported, err)
		}
		return 0, fmt.Errorf("probe live XDP frames: %w", err)
	}
	if !ok {
		return 0, fmt.Errorf("%w: BPF_PROG_RUN rejects live XDP frames (EINVAL; kernel before 5.18?)", ErrNotSupported)
	}
	lo, hi := least, len(buf)+1 // lo fits, hi does not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		ok, err := fits(mid)
		if err != nil {
			return 0, fmt.Errorf("probe live XDP frame size %d: %w", mid, err)
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	liveProbe.maxFrame = lo
	return lo, nil
}

// netdev generic netlink family (include/uapi/linux/netdev.h, 6.3+).
const (
	netdevCmdDevGet         = 1
	netdevAttrDevIfindex    = 1
	netdevAttrDevXDPFeature = 3
	netdevXDPActNdoXmit     = 1 << 2
)

// CheckXDPXmit tells whether the device ifindex inside ns takes
// redirected XDP frames now: nil if it does, an error wrapping
// ErrNoXDPXmit if not. It asks the kernel for the device's XDP features
// (the netdev netlink family, 6.3+): on a kernel without them it cannot
// tell and returns an error wrapping ErrNotSupported.
func CheckXDPXmit(ns *netns.NS, ifindex int) error {
	var feats uint64
	var name string
	err := ns.Do(func() error {
		iface, err := net.InterfaceByIndex(ifindex)
		if err != nil {
			return fmt.Errorf("find ifindex %d: %w", ifindex, err)
		}
		name = iface.Name
		famMsgs, err := genlRequest(nl.GENL_ID_CTRL, nl.GENL_CTRL_CMD_GETFAMILY, nl.GENL_CTRL_VERSION,
			nl.GENL_CTRL_ATTR_FAMILY_NAME, nl.ZeroTerminated("netdev"))
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("%w: kernel has no netdev netlink family to report XDP features", ErrNotSupported)
			}
			return fmt.Errorf("resolve netdev netlink family: %w", err)
		}
		fam, ok := genlAttr(famMsgs, nl.GENL_CTRL_ATTR_FAMILY_ID)
		if !ok || len(fam) != 2 {
			return errors.New("resolve netdev netlink family: no family id in the answer")
		}
		msgs, err := genlRequest(binary.NativeEndian.Uint16(fam), netdevCmdDevGet, 1,
			netdevAttrDevIfindex, nl.Uint32Attr(uint32(ifindex)))
		if err != nil {
			return fmt.Errorf("get XDP features of %q: %w", name, err)
		}
		if v, ok := genlAttr(msgs, netdevAttrDevXDPFeature); ok && len(v) == 8 {
			feats = binary.NativeEndian.Uint64(v)
			return nil
		}
		return fmt.Errorf("%w: kernel reported no XDP features for %q", ErrNotSupported, name)
	})
	if err != nil {
		return err
	}
	if feats&netdevXDPActNdoXmit == 0 {
		return fmt.Errorf("%w: %q lacks ndo-xmit (a veth needs NAPI at its peer: an XDP program attached there, or GRO on)", ErrNoXDPXmit, name)
	}
	return nil
}

// genlRequest sends one generic netlink request with a single attribute
// from the calling thread's namespace and returns the answers. The header
// is written by hand: nl.Genlmsg serializes 4 bytes of a 2-byte struct, so
// its reserved field is garbage, which strictly validating families
// (netdev) reject with EINVAL.
func genlRequest(family uint16, cmd, version uint8, attr uint16, val []byte) ([][]byte, error) {
	req := nl.NewNetlinkRequest(int(family), 0)
	raw := []byte{cmd, version, 0, 0}
	raw = append(raw, nl.NewRtAttr(int(attr), val).Serialize()...)
	req.AddRawData(raw)
	return req.Execute(unix.NETLINK_GENERIC, 0)
}

// genlAttr finds a top-level attribute in generic netlink answers.
func genlAttr(msgs [][]byte, typ uint16) ([]byte, bool) {
	for _, m := range msgs {
		if len(m) < nl.SizeofGenlmsg {
			continue
		}
		attrs, err := nl.ParseRouteAttr(m[nl.SizeofGenlmsg:])
		if err != nil {
			continue
		}
		for _, a := range attrs {
			if a.Attr.Type == typ {
				return a.Value, true
			}
		}
	}
	return nil, false
}

// XDPSinkSnapshot holds vb_xdp_sink's counters summed over CPUs, since it
// was attached.
type XDPSinkSnapshot struct {
	Packets uint64 `json:"packets"` // vethbench frames to the port: dropped
	Bytes   uint64 `json:"bytes"`   // their length, Ethernet header included
	Passed  uint64 `json:"passed"`  // every other frame: passed to the stack
}

// Sub returns s minus prev.
func (s XDPSinkSnapshot) Sub(prev XDPSinkSnapshot) XDPSinkSnapshot {
	return XDPSinkSnapshot{Packets: s.Packets - prev.Packets, Bytes: s.Bytes - prev.Bytes, Passed: s.Passed - prev.Passed}
}

// XDPSink is vb_xdp_sink attached to a device: the cheapest receiver,
// which counts and drops vethbench frames before any skb is built.
type XDPSink struct {
	mu     sync.Mutex
	prog   *ebpf.Program
	counts *ebpf.Map
	link   link.Link
	mode   string
	closed bool
}

// AttachXDPSink loads vb_xdp_sink for dstPort and attaches it to ifname
// inside ns: in native (driver) mode, or in generic mode where the device
// has no native XDP (Mode says which). Attaching XDP to a veth switches
// its receive path to NAPI, and lets its peer take redirected frames. The
// caller must Close the result.
func AttachXDPSink(ns *netns.NS, ifname string, dstPort uint16) (*XDPSink, error) {
	if ns == nil {
		return nil, errors.New("xdp sink: nil namespace")
	}
	if dstPort == 0 {
		return nil, errors.New("xdp sink: destination port 0")
	}
	spec, err := loadXdpgen()
	if err != nil {
		return nil, err
	}
	if err := setXDPVars(spec, map[string]any{xdpgenVarSinkPort: dstPort}); err != nil {
		return nil, fmt.Errorf("xdp sink: %w", err)
	}
	var objs struct {
		Prog   *ebpf.Program `ebpf:"vb_xdp_sink"`
		Counts *ebpf.Map     `ebpf:"vb_sink_counters"`
	}
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: load %s: %w", ErrNotSupported, XDPSinkProgramName, err)
		}
		return nil, fmt.Errorf("load %s: %w", XDPSinkProgramName, err)
	}
	s := &XDPSink{prog: objs.Prog, counts: objs.Counts}
	// The link is created inside ns: link_create resolves the ifindex in
	// the caller's namespace.
	err = ns.Do(func() error {
		iface, err := net.InterfaceByName(ifname)
		if err != nil {
			return fmt.Errorf("find %q: %w", ifname, err)
		}
		opts := link.XDPOptions{Program: s.prog, Interface: iface.Index, Flags: link.XDPDriverMode}
		l, nerr := link.AttachXDP(opts)
		if nerr == nil {
			s.link, s.mode = l, XDPModeNative
			return nil
		}
		if !notSupportedXDP(nerr) {
			return fmt.Errorf("attach %s to %q (native): %w", XDPSinkProgramName, ifname, nerr)
		}
		opts.Flags = link.XDPGenericMode
		l, gerr := link.AttachXDP(opts)
		if gerr != nil {
			if notSupportedXDP(gerr) {
				return fmt.Errorf("%w: attach XDP to %q: native: %v; generic: %w", ErrNotSupported, ifname, nerr, gerr)
			}
			return fmt.Errorf("attach %s to %q (generic, native unsupported: %v): %w", XDPSinkProgramName, ifname, nerr, gerr)
		}
		s.link, s.mode = l, XDPModeGeneric
		return nil
	})
	if err != nil {
		s.prog.Close()
		s.counts.Close()
		return nil, err
	}
	return s, nil
}

// notSupportedXDP tells a device or kernel without (this mode of) XDP.
func notSupportedXDP(err error) bool {
	return errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTSUP)
}

// Mode is XDPModeNative or XDPModeGeneric.
func (s *XDPSink) Mode() string { return s.mode }

// Snapshot reads the counters, summed over CPUs.
func (s *XDPSink) Snapshot() (XDPSinkSnapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return XDPSinkSnapshot{}, ErrClosed
	}
	var per []xdpgenVbSinkCounts
	if err := s.counts.Lookup(uint32(0), &per); err != nil {
		return XDPSinkSnapshot{}, fmt.Errorf("read %s counters: %w", XDPSinkProgramName, err)
	}
	var r XDPSinkSnapshot
	for _, c := range per {
		r.Packets += c.Packets
		r.Bytes += c.Bytes
		r.Passed += c.Passed
	}
	return r, nil
}

// Close detaches the program (the device's receive path leaves NAPI
// unless GRO keeps it there) and frees it. It is idempotent.
func (s *XDPSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if err := s.link.Close(); err != nil {
		errs = append(errs, fmt.Errorf("detach %s: %w", XDPSinkProgramName, err))
	}
	errs = append(errs, s.prog.Close(), s.counts.Close())
	return errors.Join(errs...)
}
