package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/vethbench/vethbench/bench/host"
	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/reports/result"
)

// snapshot is every counter a trial reads at both ends of its window.
type snapshot struct {
	bpf              vbpf.Snapshot
	reasons          vbpf.DropSnapshot
	stages           vbpf.StageSnapshot // when r.stages is set
	misses           uint64
	kern             kernelSnap
	sent, sentBytes  uint64
	received, gaps   uint64
	lost, late       uint64
	rtt              histogram.Histogram
	tcpSegs, retrans uint64
	genCPU, rcvCPU   time.Duration
	cpu              cpuSnap // /proc/stat, read with the thread clocks
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
	if r.stages != nil {
		if s.stages, err = r.stages.Snapshot(); err != nil {
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
		if s.tcpSegs, s.retrans, err = l.tcpOut(); err != nil {
			return s, err
		}
	}
	s.genCPU, s.rcvCPU = l.gen.CPUTime(), l.server.CPUTime()
	if s.cpu, err = readCPUSnap(); err != nil {
		return s, err
	}
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
	wctx, cancel := context.WithTimeout(ctx, d)
	stopLive := r.startLive()
	start := time.Now()
	err = r.load.gen.Run(wctx)
	elapsed := time.Since(start)
	if g, ok := r.load.gen.(interface{ SendTime() time.Duration }); ok {
		// rr's Run ends with a drain for the last responses: the window
		// is the time it sent, as for the generators whose receiver
		// drains after Run.
		elapsed = g.SendTime()
	}
	cancel()
	stopLive()
	// The senders' CPUs' shares are taken over the sending time only.
	stopped, cerr := host.ReadPerCPU()
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
	return trialFigures(r.counts(s0, s1, stopped, elapsed)), nil
}

// counts takes the differences of every counter between two snapshots
// of a window, for trialFigures.
func (r *running) counts(s0, s1 snapshot, stopped []host.CPUTimes, elapsed time.Duration) windowCounts {
	w := windowCounts{
		Unit:        r.load.unit,
		Generator:   r.c.Traffic.Generator,
		FrameSize:   r.c.Traffic.FrameSize,
		Elapsed:     elapsed,
		CPU:         windowCPU(s0.cpu, s1.cpu, stopped, r.senderCPUs, r.receiverCPU),
		BPF:         s1.bpf.Sub(s0.bpf),
		ReceiverDev: s1.kern.receiver(r.topo).Sub(s0.kern.receiver(r.topo)),
		Sent:        s1.sent - s0.sent,
		SentBytes:   s1.sentBytes - s0.sentBytes,
		Received:    s1.received - s0.received,
		SeqGaps:     s1.gaps - s0.gaps,
		Lost:        s1.lost - s0.lost,
		Late:        s1.late - s0.late,
		RTT:         s1.rtt.Sub(s0.rtt),
		TCPSegs:     s1.tcpSegs - s0.tcpSegs,
		Retrans:     s1.retrans - s0.retrans,
		GenCPU:      s1.genCPU - s0.genCPU,
		GenThreads:  r.load.gen.Threads(),
		RcvCPU:      s1.rcvCPU - s0.rcvCPU,
		MaxLag:      r.load.gen.MaxLag(),
	}
	w.KernelDrops, w.KernelDropped = r.kernel.drops(s0.kern, s1.kern)
	if r.stages != nil {
		d := s1.stages.Sub(s0.stages)
		w.Stages = &d
	}
	if r.drops != nil {
		w.HasReasons = true
		w.Reasons = s1.reasons.Sub(s0.reasons)
		w.DropMisses = s1.misses - s0.misses
	}
	for k, v := range s1.sendErrs {
		if dv := v - s0.sendErrs[k]; dv > 0 {
			if w.SendErrs == nil {
				w.SendErrs = map[string]uint64{}
			}
			w.SendErrs[k] = dv
		}
	}
	return w
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
