package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/vethbench/vethbench/bench/host"
	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/topology"
	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
	"github.com/vethbench/vethbench/tuning"
)

// Event reports progress to the caller (the CLI prints it).
type Event struct {
	Case   string
	Index  int    // 0-based position of the case in the run
	Count  int    // cases in the run
	Phase  string // "setup", "warmup", "trial", "live", "teardown", "done"
	Trial  int    // 1-based, for Phase "trial" and "live"
	Trials int
	Result *result.Trial // set when a trial has finished
	// LivePPS is the receive rate over the last half second (Phase "live").
	LivePPS float64
	// Outcome is the finished case (Phase "done").
	Outcome *result.Case
}

// Progress receives events; it may be nil.
type Progress func(Event)

// Options are how a run is carried out and recorded.
type Options struct {
	Progress Progress
	// Journal records the original of every host-wide value before a knob
	// changes it; cases with host-wide knobs are refused without one.
	Journal *tuning.Journal
	Command []string // the command line, for the result
	Spec    string   // the sweep spec as given, for the result
}

// RunCase measures one case. Failures that belong to the case (an
// unsupported topology, a setup error) are recorded in the returned case;
// the error is non-nil only when the context was cancelled.
func RunCase(ctx context.Context, c plan.Case, m plan.Measure, opts Options) (result.Case, error) {
	out, err := session(ctx, c, m, opts, 0, m.Trials)
	if err == nil && out.Status == result.StatusOK {
		finish(&out, m)
	}
	return out, err
}

// session builds a case, runs a warm-up and m.Trials windows, and tears it
// down. Its trials are numbered from base+1, out of total, in events and
// in the result. The summary is left to finish.
func session(ctx context.Context, c plan.Case, m plan.Measure, opts Options, base, total int) (out result.Case, err error) {
	progress := opts.Progress
	if progress == nil {
		progress = func(Event) {}
	}
	spec := c.Topology.WithDefaults()
	out = result.Case{
		Name:      c.Name(),
		Questions: c.Questions,
		Topology: result.Topology{
			Kind: string(spec.Kind), Family: string(spec.Family), MTU: spec.MTU,
			TxQueues: spec.TxQueues, RxQueues: spec.RxQueues,
			PeerTxQueues: spec.PeerTxQueues, PeerRxQueues: spec.PeerRxQueues, Mode: spec.Mode,
		},
		Traffic: result.Traffic{
			Generator: c.Traffic.Generator, FrameSize: c.Traffic.FrameSize, Flows: c.Traffic.Flows,
			Senders: c.Traffic.Senders, Rate: c.Traffic.Rate, Batch: c.Traffic.Batch, Family: string(spec.Family),
		},
	}
	progress(Event{Case: out.Name, Phase: "setup"})
	r, err := setup(ctx, c, opts.Journal)
	if r != nil {
		defer func() {
			progress(Event{Case: out.Name, Phase: "teardown"})
			r.close()
			if r.closeErr != nil {
				out.Flags = append(out.Flags, r.closeErr.Error())
			}
		}()
		out.Settings, out.Flags = settings(r.applied)
	}
	if err != nil {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		out.Status, out.Error = result.StatusFailed, err.Error()
		var unsup *topology.UnsupportedError
		switch {
		case errors.As(err, &unsup):
			out.Status, out.Error = result.StatusUnsupported, unsup.Reason
		case errors.Is(err, vbpf.ErrNotSupported):
			out.Status = result.StatusUnsupported
		}
		return out, nil
	}
	out.Topology.RunID = r.topo.Spec.RunID
	trial := 0 // the window running now, for live events; 0 is the warm-up
	r.live = func(pps float64) {
		progress(Event{Case: out.Name, Phase: "live", Trial: trial, Trials: total, LivePPS: pps})
	}
	out.Counter = r.counters.Hook()
	out.DropCounter = r.dropCounter
	out.Knobs = r.knobs
	out.Sysctls = r.sysctls
	out.Traffic.RcvBuf = r.load.rcvbuf
	out.Traffic.Unit, out.Traffic.Bypasses = r.load.unit, r.load.bypasses
	out.Traffic.DstPort = dstPort(r.topo.Spec.RunID)
	out.Traffic.SenderCPUs, out.Traffic.ReceiverCPU = r.senderCPUs, r.receiverCPU
	out.Warnings = append(out.Warnings, r.knobWarnings...)

	if m.Warmup > 0 {
		progress(Event{Case: out.Name, Phase: "warmup"})
		if _, err := r.window(ctx, m.Warmup); err != nil {
			return out, r.fail(ctx, &out, fmt.Errorf("warm-up: %w", err))
		}
	}
	for i := range m.Trials {
		trial = base + i + 1
		progress(Event{Case: out.Name, Phase: "trial", Trial: trial, Trials: total})
		tr, err := r.window(ctx, m.Duration)
		if err != nil {
			return out, r.fail(ctx, &out, fmt.Errorf("trial %d: %w", trial, err))
		}
		tr.Index = base + i
		out.Trials = append(out.Trials, tr)
		progress(Event{Case: out.Name, Phase: "trial", Trial: trial, Trials: total, Result: &out.Trials[i]})
	}
	out.Status = result.StatusOK
	return out, nil
}

// finish summarises a measured case's trials and says what a reader must
// know about them.
func finish(out *result.Case, m plan.Measure) {
	pps := make([]float64, len(out.Trials))
	for i, t := range out.Trials {
		pps[i] = t.PPS
	}
	for _, i := range stats.Outliers(pps) {
		out.Trials[i].Outlier = true
		out.Warnings = append(out.Warnings, fmt.Sprintf("trial %d is an outlier (%.0f pps, outside Tukey's fences); kept in every figure", i+1, pps[i]))
	}
	out.Summary = summarize(out.Trials, m.Confidence)
	out.Warnings = append(out.Warnings, warnings(out.Trials, out.Summary, m.Confidence, out.Traffic.Unit)...)
	out.Summary.Bottleneck = bottleneck(out.Traffic, out.Summary)
	if out.Summary.Bottleneck.Side == result.BoundGenerator {
		out.Warnings = append(out.Warnings, "generator-bound: "+out.Summary.Bottleneck.Detail)
	}
	if !out.Summary.Closed {
		out.Flags = append(out.Flags, "accounting did not close")
	}
}

// settings turns what the knobs became into the result's records, and flags
// the ones the kernel refused or took differently.
func settings(applied []tuning.Applied) ([]result.Setting, []string) {
	var out []result.Setting
	var flags []string
	for _, a := range applied {
		out = append(out, result.Setting{
			Knob: a.Knob, Target: a.Target, Asked: a.Asked, Before: a.Before, After: a.After, Status: a.Status, Detail: a.Detail,
		})
		switch a.Status {
		case tuning.StatusRefused, tuning.StatusChanged:
			flags = append(flags, fmt.Sprintf("knob %s: %s=%s on %s, kernel has %s: %s", a.Status, a.Knob, a.Asked, a.Target, a.After, a.Detail))
		}
	}
	return out, flags
}

// fail records a mid-run error in the case; a cancellation is passed up.
func (r *running) fail(ctx context.Context, out *result.Case, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	out.Status, out.Error = result.StatusFailed, err.Error()
	return nil
}

// running holds everything a case has set up, torn down by close.
type running struct {
	c            plan.Case
	topo         *topology.Topology
	counters     *vbpf.Counters
	drops        *vbpf.Drops // nil where the kernel cannot give drop reasons
	kernel       *kernelCounters
	load         *load
	knobs        map[string]result.DeviceKnobs
	sysctls      map[string]map[string]string // namespace name -> sysctl knob -> value
	applied      []tuning.Applied
	restore      func() error // puts the knobs back
	knobWarnings []string
	dropCounter  string        // how drops are counted, for the result
	live         func(float64) // receives the live rate; nil for none
	closeErr     error
	senderCPUs   []int // sender i runs on senderCPUs[i]
	receiverCPU  int   // -1: not pinned

	rcvCancel context.CancelFunc
	rcvDone   sync.WaitGroup
	rcvExit   chan error // the receiver's Run result, once it has returned
}

func setup(ctx context.Context, c plan.Case, j *tuning.Journal) (*running, error) {
	topo, err := topology.Realize(ctx, c.Topology)
	if err != nil {
		return nil, err
	}
	r := &running{c: c, topo: topo, rcvCancel: func() {}, restore: func() error { return nil }}
	knobs := c.Knobs
	if c.Traffic.Generator == plan.GenXDP && plan.KnobValue(knobs, "gro") == "" && plan.KnobValue(knobs, "xdp") == "" {
		// veth takes XDP frames only into a peer with NAPI, which GRO
		// turns on; the setting is recorded with the case's own.
		knobs = append(slices.Clone(knobs), tuning.Setting{Name: "gro", Value: "on"})
	}
	if len(knobs) > 0 {
		if r.applied, r.restore, err = tuning.Apply(ctx, topo, knobs, j); err != nil {
			return r, fmt.Errorf("set knobs: %w", err)
		}
		for _, a := range r.applied {
			if errors.Is(a.Err(), tuning.ErrNotSupported) {
				return r, &topology.UnsupportedError{Reason: a.Err().Error()}
			}
		}
	}
	r.sysctls = map[string]map[string]string{}
	for _, n := range topo.Namespaces() {
		r.sysctls[n.Name] = tuning.ReadNamespace(n.NS)
	}
	r.knobs = make(map[string]result.DeviceKnobs, len(topo.Devices))
	for _, d := range topo.Devices {
		k, err := tuning.ReadDevice(d.NS, d.Ifname)
		if err != nil {
			return r, fmt.Errorf("read knobs of %s: %w", d.Role, err)
		}
		for _, e := range k.Errors {
			r.knobWarnings = append(r.knobWarnings, fmt.Sprintf("%s %s: %s", d.Role, d.Ifname, e))
		}
		r.knobs[d.Role] = k
	}
	rx := topo.Receiver
	port := dstPort(topo.Spec.RunID)
	if r.counters, err = vbpf.AttachIngress(rx.NS, rx.Ifname, vbpf.Options{DstPort: port, Proto: counterProto(c)}); err != nil {
		return r, fmt.Errorf("attach counters: %w", err)
	}
	switch r.drops, err = vbpf.AttachDrops(vbpf.DropOptions{DstPort: port, Proto: counterProto(c)}); {
	case errors.Is(err, vbpf.ErrNotSupported):
		r.dropCounter = "kernel counters"
		r.knobWarnings = append(r.knobWarnings, fmt.Sprintf("drop reasons unavailable (%v): drops are summed from the kernel's device and SNMP counters", err))
	case err != nil:
		return r, fmt.Errorf("attach drop counter: %w", err)
	default:
		r.dropCounter = "kfree_skb via " + r.drops.Hook()
	}
	if r.kernel, err = newKernelCounters(topo); err != nil {
		return r, err
	}
	r.senderCPUs, r.receiverCPU = placement(c.Traffic.Senders, runtime.NumCPU())
	r.load, err = newLoad(c, topo, port, r.senderCPUs, r.receiverCPU)
	if err != nil {
		return r, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.rcvCancel = cancel
	r.rcvExit = make(chan error, 1)
	r.rcvDone.Go(func() { r.rcvExit <- r.load.server.Run(rctx) })
	return r, nil
}

// close undoes setup in reverse order; safe on a partial setup.
func (r *running) close() {
	if err := r.restore(); err != nil {
		// A value that could not be put back dies with its namespace,
		// except a host-wide one, which stays in the journal for
		// `vethbench cleanup`.
		r.closeErr = fmt.Errorf("restore knobs: %w", err)
	}
	if r.load != nil && r.load.gen != nil {
		r.load.gen.Close()
	}
	r.rcvCancel()
	r.rcvDone.Wait()
	if r.load != nil {
		r.load.close()
	}
	if r.kernel != nil {
		r.kernel.close()
	}
	if r.drops != nil {
		r.drops.Close()
	}
	if r.counters != nil {
		r.counters.Close()
	}
	r.topo.Close()
}

// snapshot is every counter a trial reads at both ends of its window.
type snapshot struct {
	bpf              vbpf.Snapshot
	reasons          vbpf.DropSnapshot
	misses           uint64
	kern             kernelSnap
	sent, sentBytes  uint64
	received, gaps   uint64
	lost, late       uint64
	rtt              histogram.Histogram
	tcpSegs, retrans uint64
	genCPU, rcvCPU   time.Duration
	sendErrs         map[string]uint64
}

func (r *running) snapshot() (snapshot, error) {
	var s snapshot
	var err error
	if s.bpf, err = r.counters.Snapshot(); err != nil {
		return s, err
	}
	if r.drops != nil {
		if s.reasons, err = r.drops.Snapshot(); err != nil {
			return s, err
		}
		if s.misses, err = r.drops.Missed(); err != nil {
			return s, err
		}
	}
	if s.kern, err = r.kernel.read(); err != nil {
		return s, err
	}
	l := r.load
	s.sent, s.sentBytes, s.received, s.gaps = l.gen.Sent(), l.gen.SentBytes(), l.received(), l.gaps()
	s.lost, s.late = l.lost(), l.late()
	if l.rtt != nil {
		s.rtt = l.rtt()
	}
	if l.tcpOut != nil {
		s.tcpSegs, s.retrans = l.tcpOut()
	}
	s.genCPU, s.rcvCPU = l.gen.CPUTime(), l.server.CPUTime()
	s.sendErrs = maps.Clone(l.gen.Errors())
	return s, nil
}

// XDPRingDrop is the drop reason vethbench gives XDP frames that the
// sending veth could not put into its peer's ring (the sender's
// tx_dropped): no kernel drop reason exists for them.
const XDPRingDrop = "XDP_XMIT_RING_FULL"

// liveEvery is how often a running window reports its receive rate.
const liveEvery = 500 * time.Millisecond

// startLive reports the receive rate every liveEvery while a window runs,
// for progress lines; the returned function stops it.
func (r *running) startLive() (stop func()) {
	if r.live == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(liveEvery)
		defer t.Stop()
		last, lastT := r.load.received(), time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				n := r.load.received()
				r.live(float64(n-last) / now.Sub(lastT).Seconds())
				last, lastT = n, now
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// drainQuiet is how long the receive counters must stay still before a
// window counts as drained.
const drainQuiet = 30 * time.Millisecond

// window runs the generator for d and measures it.
func (r *running) window(ctx context.Context, d time.Duration) (result.Trial, error) {
	s0, err := r.snapshot()
	if err != nil {
		return result.Trial{}, err
	}
	cpu0, err := host.ReadCPU()
	if err != nil {
		return result.Trial{}, err
	}
	per0, err := host.ReadPerCPU()
	if err != nil {
		return result.Trial{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	stopLive := r.startLive()
	start := time.Now()
	err = r.load.gen.Run(wctx)
	elapsed := time.Since(start)
	cancel()
	stopLive()
	cpu1, cerr := host.ReadCPU()
	per1, perr := host.ReadPerCPU()
	cerr = errors.Join(cerr, perr)
	if ctx.Err() != nil {
		return result.Trial{}, ctx.Err()
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return result.Trial{}, fmt.Errorf("generator: %w", err)
	}
	if cerr != nil {
		return result.Trial{}, cerr
	}
	if err := r.drain(ctx); err != nil {
		return result.Trial{}, err
	}
	// The receiver only returns early when its socket broke: then the
	// window measured nothing true.
	select {
	case err := <-r.rcvExit:
		if err == nil {
			err = errors.New("returned early")
		}
		return result.Trial{}, fmt.Errorf("receiver stopped: %w", err)
	default:
	}
	s1, err := r.snapshot()
	if err != nil {
		return result.Trial{}, err
	}
	t := r.trial(s0, s1, cpu1.Sub(cpu0), elapsed)
	t.SenderSoftirqPct = softirqShare(r.senderCPUs, per0, per1)
	return t, nil
}

// softirqShare is the share, in percent, of the given CPUs' busy time that
// was softirq between two readings; 0 without CPUs.
func softirqShare(cpus []int, before, after []host.CPUTimes) float64 {
	var soft, busy time.Duration
	seen := map[int]bool{}
	for _, c := range cpus {
		if seen[c] || c >= len(before) || c >= len(after) {
			continue
		}
		seen[c] = true
		d := after[c].Sub(before[c])
		soft += d.SoftIRQ
		busy += d.Busy()
	}
	if busy <= 0 {
		return 0
	}
	return 100 * float64(soft) / float64(busy)
}

// drain waits until the receive side has everything that was sent (every
// datagram, byte or response; rr requests given up on count as done), or,
// for datagrams, which may have been dropped, until nothing changed for
// drainQuiet. TCP and rr wait for completion up to the limit: a
// retransmission or an rr timeout takes longer than drainQuiet.
func (r *running) drain(ctx context.Context) error {
	limit := r.c.Traffic.Drain
	if limit <= 0 {
		limit = time.Second
	}
	l := r.load
	datagrams := l.unit == unitDatagrams
	deadline := time.Now().Add(limit)
	last, lastChange := l.received(), time.Now()
	for time.Now().Before(deadline) {
		if last+l.lost() >= l.gen.Sent() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if n := l.received(); n != last {
			last, lastChange = n, time.Now()
		} else if datagrams && time.Since(lastChange) >= drainQuiet {
			return nil
		}
	}
	return nil
}

// trial computes a trial's figures from the counters at both ends.
func (r *running) trial(s0, s1 snapshot, cpu host.CPUTimes, elapsed time.Duration) result.Trial {
	bpf := s1.bpf.Sub(s0.bpf)
	rcv := s1.kern.receiver(r.topo).Sub(s0.kern.receiver(r.topo))
	t := result.Trial{
		Duration:    elapsed,
		Sent:        s1.sent - s0.sent,
		SentBytes:   s1.sentBytes - s0.sentBytes,
		Received:    s1.received - s0.received,
		SeqGaps:     s1.gaps - s0.gaps,
		AtDevice:    bpf.Segs,
		EBPFRx:      bpf.Packets,
		DeviceRx:    rcv.RxPackets,
		DeviceBytes: rcv.RxBytes,
	}
	if bpf.Matched != bpf.Segs {
		t.AtDeviceSkbs = bpf.Matched
	}
	t.Drops, t.KernelDropped = r.kernel.drops(s0.kern, s1.kern)
	t.Dropped = t.KernelDropped
	if r.drops != nil {
		reasons := s1.reasons.Sub(s0.reasons)
		t.DropReasons, t.Dropped = reasons, reasons.Total()
		t.DropMisses = s1.misses - s0.misses
		// XDP frames the sender's veth cannot put in its peer's ring are
		// freed without an skb, so kfree_skb never sees them; the
		// sender's tx_dropped counts them (and nothing else: no skb
		// leaves the sender).
		if r.c.Traffic.Generator == plan.GenXDP {
			if n := t.Drops["sender.tx_dropped"]; n > 0 {
				if t.DropReasons == nil {
					t.DropReasons = map[string]uint64{}
				}
				t.DropReasons[XDPRingDrop] += n
				t.Dropped += n
			}
		}
	}
	for k, v := range s1.sendErrs {
		if dv := v - s0.sendErrs[k]; dv > 0 {
			if t.SendErrs == nil {
				t.SendErrs = map[string]uint64{}
			}
			t.SendErrs[k] = dv
		}
	}
	secs := elapsed.Seconds()
	t.SentPPS = float64(t.Sent) / secs
	t.DevicePPS = float64(t.AtDevice) / secs
	t.CPUBusyPct = cpu.Pct(cpu.Busy())
	t.StealPct = cpu.Pct(cpu.Steal)
	t.GeneratorLag = int64(r.load.gen.MaxLag())
	if n := r.load.gen.Threads(); n > 0 {
		t.GeneratorCPUPct = 100 * (s1.genCPU - s0.genCPU).Seconds() / (secs * float64(n))
	}
	t.ReceiverCPUPct = 100 * (s1.rcvCPU - s0.rcvCPU).Seconds() / secs
	perPkt := t.Received // what CPU time is divided by
	switch r.load.unit {
	case unitBytes:
		// tcp: bytes are what must arrive; segments are what the
		// device handled (GRO aggregates count their segments).
		t.Segments = bpf.Segs
		t.SegmentsPerSec = float64(t.Segments) / secs
		t.SentSegments, t.Retransmits = s1.tcpSegs-s0.tcpSegs, s1.retrans-s0.retrans
		t.Unaccounted = int64(t.Sent) - int64(t.Received)
		t.PPS = t.SegmentsPerSec
		t.BytesPerSec = float64(t.Received) / secs
		t.Latency = result.Latency{Kind: "none"}
		perPkt = t.Segments
	case unitRequests:
		// rr: every request gets a response or is given up on; drops
		// are why one was given up on.
		t.Lost, t.Late = s1.lost-s0.lost, s1.late-s0.late
		t.Unaccounted = int64(t.Sent) - int64(t.Received) - int64(t.Lost)
		t.PPS = float64(t.Received) / secs
		t.BytesPerSec = 2 * float64(t.Received) * float64(r.c.Traffic.FrameSize) / secs
		t.Latency = latencyOf(s1.rtt.Sub(s0.rtt), "round-trip", 0)
	default:
		t.Unaccounted = int64(t.Sent) - int64(t.Received) - int64(t.Dropped)
		t.PPS = float64(t.Received) / secs
		if t.Sent > 0 {
			// Every vethbench frame has the same size.
			t.BytesPerSec = float64(t.Received) * float64(t.SentBytes) / float64(t.Sent) / secs
		}
		t.Latency = latency(bpf)
	}
	t.Closed = math.Abs(float64(t.Unaccounted)) <= result.AccountingTolerance*float64(t.Sent)
	if perPkt > 0 {
		t.CPUNsPerPkt = float64(cpu.Busy().Nanoseconds()) / float64(perPkt)
	}
	return t
}

// latency is the one-way latency from the eBPF histogram.
func latency(s vbpf.Snapshot) result.Latency {
	return latencyOf(s.Latency, "one-way", s.BadTimestamp)
}

func latencyOf(h histogram.Histogram, kind string, bad uint64) result.Latency {
	l := result.Latency{Kind: kind, Count: h.Total(), Resolution: histogram.Resolution, BadStamps: bad}
	q := func(p float64) float64 {
		est, _, _, ok := h.Quantile(p)
		if !ok {
			return 0
		}
		return float64(est)
	}
	l.P50, l.P90, l.P99, l.P999 = q(0.50), q(0.90), q(0.99), q(0.999)
	// Keep the histogram, trimmed of trailing empty buckets, so reports can
	// merge trials and draw distributions from the file alone.
	last := len(h.Counts) - 1
	for last >= 0 && h.Counts[last] == 0 {
		last--
	}
	l.Histogram = slices.Clone(h.Counts[:last+1])
	return l
}

func estimate(trials []result.Trial, level float64, f func(result.Trial) float64) result.Estimate {
	x := make([]float64, len(trials))
	for i, t := range trials {
		x[i] = f(t)
	}
	iv := stats.MedianCI(x, level)
	return result.Estimate{Median: iv.Median, Lo: iv.Lo, Hi: iv.Hi, Level: iv.Level, Min: iv.Min, Max: iv.Max, N: iv.N}
}

func summarize(trials []result.Trial, level float64) *result.Summary {
	s := &result.Summary{
		PPS:              estimate(trials, level, func(t result.Trial) float64 { return t.PPS }),
		DevicePPS:        estimate(trials, level, func(t result.Trial) float64 { return t.DevicePPS }),
		BytesPerSec:      estimate(trials, level, func(t result.Trial) float64 { return t.BytesPerSec }),
		CPUNsPerPkt:      estimate(trials, level, func(t result.Trial) float64 { return t.CPUNsPerPkt }),
		P50:              estimate(trials, level, func(t result.Trial) float64 { return t.Latency.P50 }),
		P90:              estimate(trials, level, func(t result.Trial) float64 { return t.Latency.P90 }),
		P99:              estimate(trials, level, func(t result.Trial) float64 { return t.Latency.P99 }),
		P999:             estimate(trials, level, func(t result.Trial) float64 { return t.Latency.P999 }),
		SentPPS:          estimate(trials, level, func(t result.Trial) float64 { return t.SentPPS }),
		Closed:           true,
		GeneratorCPUPct:  estimate(trials, level, func(t result.Trial) float64 { return t.GeneratorCPUPct }),
		ReceiverCPUPct:   estimate(trials, level, func(t result.Trial) float64 { return t.ReceiverCPUPct }),
		SenderSoftirqPct: estimate(trials, level, func(t result.Trial) float64 { return t.SenderSoftirqPct }),
	}
	for _, t := range trials {
		s.Sent += t.Sent
		s.Received += t.Received
		s.Dropped += t.Dropped
		for k, v := range t.DropReasons {
			if s.DropReasons == nil {
				s.DropReasons = map[string]uint64{}
			}
			s.DropReasons[k] += v
		}
		s.Closed = s.Closed && t.Closed
	}
	return s
}

// warnings says what a reader must know about a case's trials; unit is
// result.Traffic.Unit.
func warnings(trials []result.Trial, s *result.Summary, level float64, unit string) []string {
	var w []string
	for _, t := range trials {
		if !t.Closed {
			w = append(w, fmt.Sprintf("trial %d: accounting did not close: sent %d, received %d, dropped %d, %d unaccounted",
				t.Index+1, t.Sent, t.Received, t.Dropped, t.Unaccounted))
		}
		// TCP discards duplicates and old segments by design: they are
		// no loss, and no kernel drop counter counts them.
		if t.DropReasons != nil && t.KernelDropped != t.Dropped && unit != unitBytes {
			w = append(w, fmt.Sprintf("trial %d: the kernel's drop counters add up to %d, the drop tracepoint saw %d (%v)",
				t.Index+1, t.KernelDropped, t.Dropped, t.Drops))
		}
		if t.DropMisses > 0 {
			w = append(w, fmt.Sprintf("trial %d: the drop counter missed %d events; drops may be undercounted", t.Index+1, t.DropMisses))
		}
		if t.Latency.BadStamps > 0 {
			w = append(w, fmt.Sprintf("trial %d: %d packets carried a timestamp in the future", t.Index+1, t.Latency.BadStamps))
		}
		if t.Sent > 0 && t.Received == 0 {
			w = append(w, fmt.Sprintf("trial %d: nothing was received", t.Index+1))
		}
	}
	// The receiving socket, not the path, limits pps when it overflows:
	// say so, and point at the device's own rate.
	if s.Sent > 0 {
		if rcvbuf := s.DropReasons["SOCKET_RCVBUFF"]; float64(rcvbuf) > 0.01*float64(s.Sent) {
			w = append(w, fmt.Sprintf("the receiving socket overflowed (%.1f%% of packets sent): pps is what the receiver read; the path delivered %.0f pps to the receiving device (device_pps)",
				100*float64(rcvbuf)/float64(s.Sent), s.DevicePPS.Median))
		}
	}
	if s.PPS.N > 0 && s.PPS.Level < level {
		w = append(w, fmt.Sprintf("%d trials cannot give a %.0f%% interval for the median; the interval shown is min..max, %.2f%% coverage (use at least 6 trials)",
			s.PPS.N, 100*level, 100*s.PPS.Level))
	}
	return w
}
