package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/traffic"
	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/reports/result"
)

// windowEvents tell the session where the windows are: start when window
// trial begins (-1: the warm-up), result when a window's figures are known,
// in the windows' order: the warm-up's (-1), the trials', and with tagged
// windows the tail's (-2), which the session drops.
type windowEvents struct {
	start  func(trial int)
	result func(trial int, tr result.Trial)
	// warn says what a reader must know about the session as a whole.
	warn func(string)
}

// measure runs the warm-up and m.Trials trials. With a generator that tags
// its datagrams (udp, packet, xdp) the windows run back to back and each
// counts the datagrams sent in it (tagged); tcp and rr run one window at a
// time, each drained before the next (window).
func (r *running) measure(ctx context.Context, m plan.Measure, ev windowEvents) error {
	if tg, ok := r.tagging(); ok {
		return r.tagged(ctx, m, tg, ev)
	}
	if m.Warmup > 0 {
		ev.start(-1)
		tr, err := r.window(ctx, m.Warmup)
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		ev.result(-1, tr)
	}
	for i := range m.Trials {
		ev.start(i)
		tr, err := r.window(ctx, m.Duration)
		if err != nil {
			return &trialError{i, err}
		}
		ev.result(i, tr)
	}
	return nil
}

// trialError is a failure during trial i (0-based in the session).
type trialError struct {
	i   int
	err error
}

func (e *trialError) Error() string { return fmt.Sprintf("trial %d: %v", e.i+1, e.err) }
func (e *trialError) Unwrap() error { return e.err }

// tagging is what counts a case's datagrams by window tag: the generator
// that stamps the tag into every datagram (traffic.Header), and the
// receiver, the ingress counter and the drop counter (nil where the kernel
// has none) that count by it.
type tagging struct {
	gen   traffic.Tagger
	rcv   *traffic.UDPReceiver
	ctr   *vbpf.Counters
	drops *vbpf.Drops
}

// tagging returns the case's, or false if its generator tags nothing.
func (r *running) tagging() (tagging, bool) {
	gen, ok := r.load.gen.(traffic.Tagger)
	rcv, rok := r.load.server.(*traffic.UDPReceiver)
	if !ok || !rok {
		return tagging{}, false
	}
	return tagging{gen: gen, rcv: rcv, ctr: r.counters, drops: r.drops}, true
}

// tagRead is what the generator, the receiver, the ingress counter and the
// drop counter counted of one tag.
type tagRead struct {
	sent  uint64
	rcv   traffic.TagCounts
	bpf   vbpf.Window
	drops vbpf.DropSnapshot // nil without a drop counter
}

func (a tagRead) sub(b tagRead) tagRead {
	d := tagRead{sent: a.sent - b.sent, rcv: a.rcv.Sub(b.rcv), bpf: a.bpf.Sub(b.bpf)}
	if a.drops != nil {
		d.drops = a.drops.Sub(b.drops)
	}
	return d
}

// open gives tag its counters' slots and reads where its counts stand: a
// tag comes back every 256 windows, and the slots are never cleared.
func (tg tagging) open(tag uint8) (tagRead, error) {
	w, err := tg.ctr.OpenWindow(tag)
	if err != nil {
		return tagRead{}, err
	}
	r := tagRead{sent: tg.gen.SentTagged(tag), rcv: tg.rcv.Tagged(tag), bpf: w}
	if tg.drops != nil {
		if r.drops, err = tg.drops.OpenWindow(tag); err != nil {
			return tagRead{}, err
		}
	}
	return r, nil
}

func (tg tagging) read(tag uint8) (tagRead, error) {
	w, err := tg.ctr.Window(tag)
	if err != nil {
		return tagRead{}, err
	}
	r := tagRead{sent: tg.gen.SentTagged(tag), rcv: tg.rcv.Tagged(tag), bpf: w}
	if tg.drops != nil {
		if r.drops, err = tg.drops.Window(tag); err != nil {
			return tagRead{}, err
		}
	}
	return r, nil
}

// untagged reads the drops counted in no window (UDP GSO datagrams, whose
// tag the drop counter cannot read; stale ones): they are taken over the
// windows' spans.
func (tg tagging) untagged() (vbpf.DropSnapshot, error) {
	if tg.drops == nil {
		return nil, nil
	}
	return tg.drops.Untagged()
}

// tagWindow is one window of a tagged session.
type tagWindow struct {
	trial      int // 0-based; -1 the warm-up, -2 the tail
	tag        uint8
	base       tagRead           // its tag's counts when it began
	s0, s1     snapshot          // every counter at its start and at its end
	u0, u1     vbpf.DropSnapshot // the untagged drops at its start and end
	start, end time.Time
	read       bool
}

// tagged measures the warm-up and the trials back to back, the generator
// running throughout, each window with a tag of its own (1, 2, ...): a
// window's figures are the datagrams sent in it, wherever and however late
// they arrive, over its duration, the time from its tag's start to the
// next one's. So every trial begins with the queues as the window before
// left them, as it ends, and a queue's contents at the end are not counted
// as if they had been delivered in the window (docs/method.md, "Windows").
//
// After the last trial a tail tag takes what is sent while the generator
// stops; then the receive side drains, every counter is read once more,
// and the windows not read yet are. A window is read when its counter
// slot is needed again (vbpf.TagSlots windows later) or after the drain.
// The drop counter counts drops by tag too, so a window's accounting
// closes exactly; only drops whose tag it cannot read (UDP GSO datagrams,
// whose payload is in page fragments) are taken over the window's span,
// from one boundary's reading to the next, as the device counters, the
// kernel's drop counters and CPU time are. Those are read a few
// milliseconds apart while packets flow, so window by window they do not
// agree exactly with each other; the first reading, before the generator
// starts, and the last, after the drain, see nothing in flight, so over
// all the windows, warm-up and tail included, they add up exactly, and
// the session's cross-checks (spanSum) are made there.
func (r *running) tagged(ctx context.Context, m plan.Measure, tg tagging, ev windowEvents) (err error) {
	type spec struct {
		trial int
		d     time.Duration
	}
	var windows []spec
	if m.Warmup > 0 {
		windows = append(windows, spec{-1, m.Warmup})
	}
	for i := range m.Trials {
		windows = append(windows, spec{i, m.Duration})
	}
	windows = append(windows, spec{-2, 0})

	gctx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	genDone := make(chan error, 1)
	genRunning := false
	defer func() {
		if genRunning {
			stopGen()
			<-genDone
		}
	}()
	stopLive := r.startLive()
	defer stopLive()

	var ws []*tagWindow
	cur := -1 // the trial running, for errors
	wrap := func(err error) error {
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case cur == -1:
			return fmt.Errorf("warm-up: %w", err)
		case cur >= 0:
			return &trialError{cur, err}
		}
		return err
	}
	var all spanSum // every window's, added up
	// finish reads a window's counts, once its tag can have nothing
	// more to arrive, and reports a trial's figures.
	finish := func(w *tagWindow) error {
		if w.read {
			return nil
		}
		w.read = true
		now, err := tg.read(w.tag)
		if err != nil {
			return &trialError{w.trial, err}
		}
		c := r.counts(w.s0, w.s1, w.s1.cpu.stat.PerCPU, w.end.Sub(w.start))
		d := now.sub(w.base)
		if d.drops != nil {
			d.drops = mergeDrops(d.drops, w.u1.Sub(w.u0))
		}
		tagCounts(&c, d)
		tr := trialFigures(c)
		all.add(tr)
		ev.result(w.trial, tr)
		return nil
	}
	for i, p := range windows {
		if p.trial != -2 {
			ev.start(p.trial)
		}
		tag := uint8(i + 1)
		if k := i - vbpf.TagSlots; k >= 0 {
			// The slot goes to tag now: the window that had it is done.
			if err := finish(ws[k]); err != nil {
				return wrap(err)
			}
		}
		base, err := tg.open(tag)
		if err != nil {
			return wrap(err)
		}
		s, err := r.snapshot()
		if err != nil {
			return wrap(err)
		}
		u, err := tg.untagged()
		if err != nil {
			return wrap(err)
		}
		tg.gen.SetTag(tag)
		now := time.Now()
		if len(ws) > 0 {
			prev := ws[len(ws)-1]
			prev.s1, prev.u1, prev.end = s, u, now
		}
		cur = p.trial
		ws = append(ws, &tagWindow{trial: p.trial, tag: tag, base: base, s0: s, u0: u, start: now})
		if !genRunning {
			genRunning = true
			go func() { genDone <- r.load.gen.Run(gctx) }()
		}
		if p.trial == -2 {
			break
		}
		t := time.NewTimer(p.d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case err := <-genDone:
			t.Stop()
			genRunning = false
			if err == nil {
				err = errors.New("returned early")
			}
			return wrap(fmt.Errorf("generator: %w", err))
		case err := <-r.rcvExit:
			t.Stop()
			if err == nil {
				err = errors.New("returned early")
			}
			return wrap(fmt.Errorf("receiver stopped: %w", err))
		case <-t.C:
		}
	}
	cur = -2
	stopGen()
	gerr := <-genDone
	genRunning = false
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if gerr != nil && !errors.Is(gerr, context.Canceled) {
		return fmt.Errorf("generator: %w", gerr)
	}
	if err := tg.drain(ctx, r.load.gen.Sent(), r.c.Traffic.Drain, r.drops); err != nil {
		return err
	}
	select {
	case err := <-r.rcvExit:
		if err == nil {
			err = errors.New("returned early")
		}
		return fmt.Errorf("receiver stopped: %w", err)
	default:
	}
	last := ws[len(ws)-1]
	if last.s1, err = r.snapshot(); err != nil {
		return err
	}
	if last.u1, err = tg.untagged(); err != nil {
		return err
	}
	last.end = time.Now()
	for _, w := range ws {
		if err := finish(w); err != nil {
			return err
		}
	}
	for _, msg := range all.check() {
		ev.warn(msg)
	}
	return nil
}

// drain waits, after the generator stopped, until every datagram sent (of
// every tag, since the session began) was
// read or dropped, or, since a datagram may be lost where nothing counts
// it, until the receiver's, the ingress counter's and the drop counter's
// counts have not moved for drainQuiet; at most limit (1 s if 0). The
// counts of the windows are read after it, and its end is the last
// reading of the session's counters: what is still moving then would be
// in the windows' tagged counts and not in the spans' drops.
func (tg tagging) drain(ctx context.Context, sent uint64, limit time.Duration, drops *vbpf.Drops) error {
	if limit <= 0 {
		limit = time.Second
	}
	state := func() (accounted, moving uint64, err error) {
		s, err := tg.ctr.Snapshot()
		if err != nil {
			return 0, 0, err
		}
		rcv := tg.rcv.Received()
		var dropped uint64
		if drops != nil {
			d, err := drops.Snapshot()
			if err != nil {
				return 0, 0, err
			}
			dropped = d.Total()
		}
		return rcv + dropped, rcv + dropped + s.Segs, nil
	}
	deadline := time.Now().Add(limit)
	_, last, err := state()
	if err != nil {
		return err
	}
	lastChange := time.Now()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		accounted, moving, err := state()
		if err != nil {
			return err
		}
		switch {
		case accounted >= sent:
			return nil
		case moving != last:
			last, lastChange = moving, time.Now()
		case time.Since(lastChange) >= drainQuiet:
			return nil
		}
	}
	return nil
}

// spanSum adds up the counters a session's windows take over their spans.
type spanSum struct {
	dropped, kernelDropped, ebpfRx, deviceRx uint64
	reasons                                  bool // the drop tracepoint ran
}

func (s *spanSum) add(t result.Trial) {
	s.dropped += t.Dropped
	s.kernelDropped += t.KernelDropped
	s.ebpfRx += t.EBPFRx
	s.deviceRx += t.DeviceRx
	s.reasons = s.reasons || t.DropReasons != nil
}

// check compares the sums over a whole session: the drop tracepoint with
// the kernel's drop counters, the ingress counter's packets with the
// receiving device's. Over the session they agree exactly unless one of
// them misses something (the packets within 0.1%, which other traffic to
// the device, neighbour discovery, may take). Window by window they are
// read a few milliseconds apart while packets flow, so they may not.
func (s spanSum) check() []string {
	var w []string
	if s.reasons && s.kernelDropped != s.dropped {
		w = append(w, fmt.Sprintf("over the session the kernel's drop counters add up to %d, the drop tracepoint saw %d", s.kernelDropped, s.dropped))
	}
	if d := math.Abs(float64(s.ebpfRx) - float64(s.deviceRx)); d > 0.001*math.Max(float64(s.deviceRx), 1) {
		w = append(w, fmt.Sprintf("over the session the ingress counter saw %d packets, the receiving device's rx_packets %d", s.ebpfRx, s.deviceRx))
	}
	return w
}

// tagCounts puts a window's own datagrams, counted by tag, in place of the
// counts over its span: sent, received, the ingress counter's datagrams,
// payload and latency, and the sequence gaps (exact now: every flow of a
// tag starts at 0 and the generator says how many it sent). The rest (all
// packets at the ingress, the devices' counters, drops, CPU) stays the
// span's.
func tagCounts(w *windowCounts, d tagRead) {
	w.Sent = d.sent
	w.SentBytes = d.sent * uint64(w.FrameSize)
	w.Received = d.rcv.Received
	w.SeqGaps = d.rcv.Gaps(d.sent)
	w.Stale = w.BPF.Stale
	w.BPF.Matched = d.bpf.Matched
	w.BPF.Segs = d.bpf.Segs
	w.BPF.PayloadBytes = d.bpf.PayloadBytes
	w.BPF.BadTimestamp = d.bpf.BadTimestamp
	w.BPF.Latency = d.bpf.Latency
	if d.drops != nil {
		w.Reasons = d.drops
	}
}

// mergeDrops adds b's counts to a's.
func mergeDrops(a, b vbpf.DropSnapshot) vbpf.DropSnapshot {
	for k, v := range b {
		a[k] += v
	}
	return a
}
