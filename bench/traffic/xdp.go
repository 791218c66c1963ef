package traffic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/internal/netns"
)

// Limits of an XDPConfig.
const (
	// DefaultXDPBatch is the kernel's default batch of a live-frames
	// BPF_PROG_RUN: frames run through the program before the redirected
	// ones are flushed to the device.
	DefaultXDPBatch = 64
	// MaxXDPBatch is the kernel's limit (TEST_XDP_MAX_BATCH). A veth's
	// ring holds 256 frames, so batches near it overflow the ring whenever
	// the peer's NAPI falls behind (see XDPSender).
	MaxXDPBatch = vbpf.MaxLiveBatch
)

// xdpCallTarget is how long one unlimited BPF_PROG_RUN call should take:
// the repeat count adapts to it, so that Run notices a stop within a few
// milliseconds while the per-call cost (some 20 us) stays around 1%.
const xdpCallTarget = 2 * time.Millisecond

// Bounds of the adaptive repeat count of an unlimited call.
const (
	xdpFirstRepeat = 4096
	xdpMaxRepeat   = 1 << 22
)

// XDPConfig describes the traffic of an XDPSender. It is plain data:
// Validate needs no privileges and touches nothing.
type XDPConfig struct {
	// Ifname and Ifindex name the sending device inside the sender's
	// namespace: every frame is transmitted through it (its
	// ndo_xdp_xmit) and arrives at its peer. ResolveL2 gives both.
	Ifname  string
	Ifindex int
	// SrcMAC and DstMAC address the frames. DstMAC must be the
	// receiving device's address (the peer of a veth), or its stack
	// drops them as meant for another host. An empty SrcMAC takes the
	// sending device's.
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.Addr
	DstPort        uint16
	SrcPortBase    uint16 // flow i uses source port SrcPortBase+i
	Flows          int    // distinct 5-tuples, each numbered from 0
	// FrameSize counts bytes from the Ethernet header to the end of the
	// UDP payload, without FCS (see PayloadLen). Live frames live in one
	// page each, which bounds it to about 3.4 KB (vbpf.LiveFrameMax,
	// checked by NewXDPSender).
	FrameSize int
	// MTU of the path, which bounds FrameSize; 0 means DefaultMTU.
	// NewXDPSender also checks FrameSize against the device's MTU.
	MTU int
	// Rate is the total frames per second over all flows, open loop as
	// for UDPConfig (each call runs the frames due); 0 sends as fast as
	// possible.
	Rate float64
	// Batch is the BatchSize of a live-frames run; 0 means
	// DefaultXDPBatch, at most MaxXDPBatch.
	Batch int
	// Workers is the number of threads running BPF_PROG_RUN loops, each
	// with its own flows (worker w owns flows w, w+Workers...) and an
	// equal share of Rate; 0 means 1, at most Flows. CPUs pins worker w
	// to CPUs[w % len(CPUs)]; empty pins nothing.
	Workers int
	CPUs    []int
	// BatchStamp reads the clock once per batch instead of once per
	// frame: every frame of a batch carries the time the batch began.
	// The clock read is most of what the generator adds to a frame's
	// cost; the price is latency that reads high by up to the time a
	// batch takes to make (XDPSender.StampSpread says how long).
	BatchStamp bool
	// Bare runs vb_xdp_bare instead of vb_xdp_gen, in the same loop: it
	// redirects the frames as built, unstamped (sequence and send time 0)
	// and uncounted, so Sent counts repeat per completed call. It is the
	// ceiling of the path the generator uses, which `make bench-peers`
	// measures the generator against; not traffic a receiver can check.
	Bare bool
}

// IPv6 reports whether the configured traffic is IPv6.
func (c XDPConfig) IPv6() bool { return c.Dst.Unmap().Is6() }

func (c XDPConfig) withDefaults() XDPConfig {
	c.Src, c.Dst = c.Src.Unmap(), c.Dst.Unmap()
	if c.Batch == 0 {
		c.Batch = DefaultXDPBatch
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	return c
}

// Validate checks the configuration and returns an error wrapping
// ErrInvalid that names the first bad field.
func (c XDPConfig) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	c = c.withDefaults()
	if c.Ifname == "" || len(c.Ifname) >= unix.IFNAMSIZ {
		return bad("Ifname %q: need the sending device's name (1 to %d bytes)", c.Ifname, unix.IFNAMSIZ-1)
	}
	if c.Ifindex <= 0 {
		return bad("Ifindex %d: need the sending device's index", c.Ifindex)
	}
	if len(c.SrcMAC) != 0 && len(c.SrcMAC) != 6 {
		return bad("SrcMAC %v: need a 6-byte MAC address (empty: the device's)", c.SrcMAC)
	}
	if len(c.DstMAC) != 6 {
		return bad("DstMAC %v: need the receiving device's 6-byte MAC address", c.DstMAC)
	}
	if !c.Src.IsValid() || c.Src.IsUnspecified() {
		return bad("Src %v: need the source address the frames carry", c.Src)
	}
	if c.Batch < 0 || c.Batch > MaxXDPBatch {
		return bad("Batch %d out of range [1, %d] (0: %d)", c.Batch, MaxXDPBatch, DefaultXDPBatch)
	}
	// The fields shared with UDP traffic are checked alike. The UDP
	// batch limit is larger, so Batch passes unchanged.
	u := UDPConfig{
		Src: c.Src, Dst: c.Dst, DstPort: c.DstPort, SrcPortBase: c.SrcPortBase,
		Flows: c.Flows, FrameSize: c.FrameSize, Rate: c.Rate, Batch: c.Batch,
		Workers: c.Workers, CPUs: c.CPUs, MTU: c.MTU,
	}
	return u.Validate()
}

// XDPSender generates traffic the way xdp-trafficgen does: the BPF
// program vb_xdp_gen is run with BPF_PROG_RUN in live-frames mode
// (BPF_F_TEST_XDP_LIVE_FRAMES) inside the sender's namespace, over copies
// of one frame per flow, and returns bpf_redirect(Ifindex) for each, so
// every frame goes out through the sending device's ndo_xdp_xmit and
// arrives at its peer. It skips the sender's sockets, IP stack, qdisc and
// skb allocation entirely: the cheapest way to offer frames to a receive
// path. The program writes each frame's sequence number and send time
// (bpf_ktime_get_ns) and fixes the UDP checksum.
//
// A veth takes redirected frames only while its peer runs NAPI: with an
// XDP program attached to the peer (vbpf.AttachXDPSink) or GRO on at the
// peer. Otherwise every frame is freed at once, counted nowhere but in the
// generator. NewXDPSender and every Run check this (the device's XDP
// features, kernel 6.3+) and fail with an error wrapping
// vbpf.ErrNoXDPXmit; XDPSender itself never changes the topology.
type XDPSender struct {
	span    sendSpan // the last Run's sending time
	ns      *netns.NS
	cfg     XDPConfig
	workers []*xdpWorker
	// xmitKnown: the kernel reports XDP features, so Run checks them.
	xmitKnown bool

	lag  lagMeter
	errs errnoCounts
	tag  tagSet

	state runState
}

var _ Tagger = (*XDPSender)(nil)

// xdpProgram is what the workers run: vb_xdp_gen, or vb_xdp_bare.
type xdpProgram interface {
	Run(frame []byte, repeat, batch int) (uint64, error)
	MaxFrame() int
	Close() error
}

// xdpWorker is one BPF_PROG_RUN loop and what it alone touches: its own
// instance of the program, whose state is one thread's at a time.
type xdpWorker struct {
	s      *XDPSender
	prog   xdpProgram
	gen    *vbpf.XDPGen // prog, unless Bare
	frames [][]byte     // one per flow it owns
	flows  []int        // their flows' indices (source port - SrcPortBase)
	tag    uint8        // the tag stamped into frames
	rate   float64      // frames/s of this worker; 0: unlimited
	cpu    int          // pinned to this CPU; -1: not pinned
	clock  monoClock
	stop   *atomic.Bool // the current Run's

	sent   atomic.Uint64
	tagged tagCounts
	cpuT   cpuMeter
	_      [48]byte // keep the hot counters of two workers off one cache line
}

// NewXDPSender validates cfg, checks the sending device inside ns (nil:
// the current namespace) and that it takes redirected frames, loads an
// instance of vb_xdp_gen per worker and builds one frame per flow. The caller closes the
// sender. Errors wrap ErrInvalid for a bad configuration (FrameSize above
// the device's MTU or what live frames hold included), vbpf.ErrNoXDPXmit
// when the device does not take redirected frames, and vbpf.ErrNotSupported
// when the kernel lacks live frames (5.18+).
func NewXDPSender(ns *netns.NS, cfg XDPConfig) (*XDPSender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	var devMAC net.HardwareAddr
	var devMTU int
	err := ns.Do(func() error {
		iface, err := net.InterfaceByIndex(cfg.Ifindex)
		if err != nil {
			return fmt.Errorf("xdp sender: find ifindex %d: %w", cfg.Ifindex, err)
		}
		if iface.Name != cfg.Ifname {
			return fmt.Errorf("%w: Ifindex %d is %q in the sender's namespace, not Ifname %q", ErrInvalid, cfg.Ifindex, iface.Name, cfg.Ifname)
		}
		devMAC, devMTU = iface.HardwareAddr, iface.MTU
		return nil
	})
	if err != nil {
		return nil, err
	}
	if most := MaxFrame(devMTU); cfg.FrameSize > most {
		return nil, fmt.Errorf("%w: FrameSize %d above the maximum %d for %s's MTU %d", ErrInvalid, cfg.FrameSize, most, cfg.Ifname, devMTU)
	}
	if len(cfg.SrcMAC) == 0 {
		if len(devMAC) != 6 {
			return nil, fmt.Errorf("%w: SrcMAC: %s has no Ethernet address to default to", ErrInvalid, cfg.Ifname)
		}
		cfg.SrcMAC = devMAC
	}
	s := &XDPSender{ns: ns, cfg: cfg}
	if err := s.checkXmit(); err != nil {
		return nil, err
	}
	frames := make([][]byte, cfg.Flows)
	for i := range frames {
		frames[i], err = BuildFrame(FrameSpec{
			SrcMAC: cfg.SrcMAC, DstMAC: cfg.DstMAC,
			Src:       netip.AddrPortFrom(cfg.Src, cfg.SrcPortBase+uint16(i)),
			Dst:       netip.AddrPortFrom(cfg.Dst, cfg.DstPort),
			FrameSize: cfg.FrameSize,
		})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	for w := range cfg.Workers {
		k := &xdpWorker{s: s, rate: cfg.Rate / float64(cfg.Workers), cpu: -1}
		if len(cfg.CPUs) > 0 {
			k.cpu = cfg.CPUs[w%len(cfg.CPUs)]
		}
		for f := w; f < cfg.Flows; f += cfg.Workers {
			k.frames = append(k.frames, frames[f])
			k.flows = append(k.flows, f)
		}
		if err := k.load(); err != nil {
			s.closePrograms()
			return nil, err
		}
		s.workers = append(s.workers, k)
	}
	return s, nil
}

// load loads the worker's instance of the program.
func (k *xdpWorker) load() error {
	cfg := k.s.cfg
	var err error
	if cfg.Bare {
		k.prog, err = vbpf.LoadXDPBare(cfg.Ifindex)
	} else {
		k.gen, err = vbpf.LoadXDPGen(cfg.Ifindex, cfg.SrcPortBase, cfg.Flows)
		if err == nil {
			k.gen.SetBatchStamp(cfg.BatchStamp)
			k.prog = k.gen
		}
	}
	if err != nil {
		return fmt.Errorf("xdp sender: %w", err)
	}
	if most := k.prog.MaxFrame(); cfg.FrameSize > most {
		k.prog.Close()
		return fmt.Errorf("%w: FrameSize %d above the %d bytes a live XDP frame holds on this kernel", ErrInvalid, cfg.FrameSize, most)
	}
	return nil
}

// closePrograms closes every worker's program.
func (s *XDPSender) closePrograms() error {
	var errs []error
	for _, k := range s.workers {
		errs = append(errs, k.prog.Close())
	}
	return errors.Join(errs...)
}

// checkXmit fails if the sending device does not take redirected frames
// now. A kernel that does not report XDP features (before 6.3) cannot be
// asked: then nothing is checked, here or in Run.
func (s *XDPSender) checkXmit() error {
	err := vbpf.CheckXDPXmit(s.ns, s.cfg.Ifindex)
	switch {
	case err == nil:
		s.xmitKnown = true
		return nil
	case errors.Is(err, vbpf.ErrNotSupported):
		s.xmitKnown = false
		return nil
	}
	return fmt.Errorf("xdp sender: %w", err)
}

// Config returns the configuration with defaults filled in.
func (s *XDPSender) Config() XDPConfig { return s.cfg }

// Sent counts the frames vb_xdp_gen stamped and returned XDP_REDIRECT
// for, from its per-flow counters, over all Runs (Bare: repeat per
// completed call). It may be read while Run
// is running. A redirected frame the device could not queue is dropped
// after this count: see the package documentation on accounting.
func (s *XDPSender) Sent() uint64 {
	var n uint64
	for _, k := range s.workers {
		n += k.sent.Load()
	}
	return n
}

// SentBytes is FrameSize * Sent.
func (s *XDPSender) SentBytes() uint64 { return s.Sent() * uint64(s.cfg.FrameSize) }

// ProgramStats reads vb_xdp_gen's own counters (frames and bytes
// redirected, frames it refused): the same frames Sent counts. A Bare
// sender's program counts nothing: it returns an error.
func (s *XDPSender) ProgramStats() (vbpf.XDPGenStats, error) {
	if s.cfg.Bare {
		return vbpf.XDPGenStats{}, errors.New("xdp sender: the bare program counts nothing")
	}
	var sum vbpf.XDPGenStats
	for _, k := range s.workers {
		st, err := k.gen.Stats()
		if err != nil {
			return vbpf.XDPGenStats{}, fmt.Errorf("xdp sender: %w", err)
		}
		sum.Frames += st.Frames
		sum.Bytes += st.Bytes
		sum.Bad += st.Bad
	}
	return sum, nil
}

// Errors counts the errors of BPF_PROG_RUN calls that did not stop Run,
// by errno name (ENOMEM: the kernel could not allocate the page pool).
func (s *XDPSender) Errors() map[string]uint64 { return s.errs.snapshot() }

// MaxLag is how far behind its schedule a rate-limited sender fell at
// worst, over all Runs; 0 for an unlimited rate.
func (s *XDPSender) MaxLag() time.Duration { return s.lag.max() }

// CPUTime is the CPU time of the worker threads over all Runs, including
// the receive path the kernel runs on them (on veth: the peer's NAPI poll,
// and with it the receiver's whole stack).
func (s *XDPSender) CPUTime() time.Duration {
	var t time.Duration
	for _, k := range s.workers {
		t += k.cpuT.total()
	}
	return t
}

// SetTag makes the frames sent from now on carry tag (see Tagger). A
// worker takes it up at its next BPF_PROG_RUN call, every frame of which
// carries one tag.
func (s *XDPSender) SetTag(tag uint8) { s.tag.set(tag) }

// SentTagged counts the frames sent carrying tag (see Tagger).
func (s *XDPSender) SentTagged(tag uint8) uint64 {
	return sumTagged(s.workers, func(k *xdpWorker) *tagCounts { return &k.tagged }, tag)
}

// StampSpread is how much earlier than its frame a send time was, over
// all Runs, as the programs measured it: for each batch, the time its
// stamp served, from the clock read to the batch's last frame. One-way
// latencies read high by up to that much beyond what per-frame stamps
// give. The zero value unless BatchStamp, or while every call was a
// single frame (a low rate): then each frame had its own stamp.
func (s *XDPSender) StampSpread() (vbpf.StampSpread, error) {
	var all vbpf.StampSpread
	for _, k := range s.workers {
		if k.gen == nil {
			continue
		}
		d, err := k.gen.StampSpread()
		if err != nil {
			return vbpf.StampSpread{}, fmt.Errorf("xdp sender: %w", err)
		}
		all = all.Merge(d)
	}
	return all, nil
}

// Threads is the number of worker threads.
func (s *XDPSender) Threads() int { return len(s.workers) }

// Run generates until ctx is done and returns nil, within a few
// milliseconds of the cancellation (one BPF_PROG_RUN call). It fails at
// once, with an error wrapping vbpf.ErrNoXDPXmit, if the device stopped
// taking redirected frames (GRO was turned off at the peer, its XDP
// program detached). It returns ErrClosed when Close stopped it. Counters
// and sequence numbers continue over Runs; the rate schedule starts
// afresh.
func (s *XDPSender) Run(ctx context.Context) error {
	stop, end, err := s.state.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	defer reserveProcs(len(s.workers))() // see procs.go
	if s.xmitKnown {
		if err := s.checkXmit(); err != nil {
			return err
		}
	}
	clock := newMonoClock()
	s.span.reset()
	if err := runWorkers(len(s.workers), stop, func(i int) error { return s.workers[i].run(clock, stop) }); err != nil {
		return err
	}
	return s.state.closedErr()
}

// run is one worker's loop, on a thread inside the sender's namespace
// (the kernel resolves the redirect's ifindex in the caller's namespace).
func (k *xdpWorker) run(clock monoClock, stop *atomic.Bool) error {
	k.clock, k.stop = clock, stop
	return k.s.ns.Do(func() error {
		unpin, err := pin(k.cpu)
		if err != nil {
			return err
		}
		defer unpin()
		k.cpuT.begin()
		defer k.cpuT.end()
		k.s.span.begin()
		defer k.s.span.end()
		return k.loop()
	})
}

// SendTime is how long the last Run sent: from the first worker starting
// its send loop to the last one leaving it, without the Run's own start
// and end.
func (s *XDPSender) SendTime() time.Duration { return s.span.get() }

func (k *xdpWorker) loop() error {
	s := k.s
	batch := s.cfg.Batch
	limited := k.rate > 0
	repeat := xdpFirstRepeat
	if limited {
		repeat = quantumBatch(k.rate, math.MaxInt)
	}
	// Behind schedule, a call runs what is due, up to this many frames:
	// bursts much larger than the device's ring would only be dropped.
	catchUp := max(repeat, batch)
	sch := newSchedule(k.rate, k.clock.now(), &s.lag)
	flow := 0
	for !k.stop.Load() {
		r, wait := sch.next(k.clock.now(), repeat, catchUp)
		if wait > 0 {
			k.sleep(wait)
			continue
		}
		if err := k.retag(); err != nil {
			return err
		}
		start := k.clock.now()
		got, err := k.prog.Run(k.frames[flow], r, batch)
		took := k.clock.now() - start
		k.sent.Add(got)
		k.tagged[k.tag].Add(got)
		if err != nil {
			var errno unix.Errno
			if !errors.As(err, &errno) || !transientRunErr(errno) {
				return fmt.Errorf("xdp sender: %w", err)
			}
			s.errs.add(errno)
		}
		// A call that ran short (an error) skips the rest of its frames,
		// as a refused send does; one that ran long (a signal made the
		// kernel start over) moves the schedule on by what it sent.
		sch.advance(max(int(got), r))
		if !limited && got > 0 && took > 0 {
			// Aim the next call at xdpCallTarget, halfway from this one.
			want := float64(got) * float64(xdpCallTarget) / float64(took)
			repeat = int(min(max((float64(repeat)+want)/2, float64(batch)), xdpMaxRepeat))
		}
		if flow++; flow == len(k.frames) {
			flow = 0
		}
	}
	return nil
}

// retag takes up the tag SetTag set, if it changed: it writes it into the
// worker's frames (the program stamps sequence numbers and times, and
// leaves the tag as the frame carries it, so a call's frames all carry the
// tag of its start) and starts the worker's flows again at sequence 0.
func (k *xdpWorker) retag() error {
	tag := k.s.tag.get()
	if tag == k.tag {
		return nil
	}
	k.tag = tag
	l := Layout(k.s.cfg.IPv6())
	for i, f := range k.frames {
		StampFrame(f, l, tag, 0, 0)
		if k.gen != nil {
			if err := k.gen.SetNextSeq(k.flows[i], 0); err != nil {
				return fmt.Errorf("xdp sender: %w", err)
			}
		}
	}
	return nil
}

// transientRunErr tells the errors of a BPF_PROG_RUN call after which the
// next call may well succeed: memory for the page pool, a signal.
func transientRunErr(e unix.Errno) bool {
	return e == unix.ENOMEM || e == unix.EINTR || e == unix.EAGAIN
}

// sleep waits for d or until Run is stopped, as the UDP worker does.
func (k *xdpWorker) sleep(d time.Duration) { sleepFor(d, k.stop) }

// Close stops a running Run (which then returns ErrClosed), waits for it
// and frees the program. Close is idempotent.
func (s *XDPSender) Close() error {
	if !s.state.close() {
		return nil
	}
	if err := s.closePrograms(); err != nil {
		return fmt.Errorf("xdp sender: %w", err)
	}
	return nil
}

// The compile-time check that XDPSender is a Generator.
var _ Generator = (*XDPSender)(nil)
