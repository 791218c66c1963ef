package bench

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vethbench/vethbench/bench/kstat"
	"github.com/vethbench/vethbench/bench/plan"
	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// windowCounts is everything a trial's figures are computed from: the
// differences of every counter over one measuring window, and what the
// window measured. It holds no handle, so the arithmetic is tested without
// privileges.
type windowCounts struct {
	Unit      string // unitDatagrams, unitBytes or unitRequests
	Generator string
	FrameSize int
	Elapsed   time.Duration
	CPU       cpuCounts // /proc/stat over the window (cpu.go)

	BPF         vbpf.Snapshot // ingress counter at the receiving device
	ReceiverDev kstat.Device  // the receiving device's own counters
	// KernelDrops are the kernel's drop counters by "<role>.<counter>";
	// KernelDropped sums those counting distinct packets.
	KernelDrops   map[string]uint64
	KernelDropped uint64
	// HasReasons: the kfree_skb counter ran and Reasons holds its drops.
	HasReasons bool
	Reasons    vbpf.DropSnapshot
	DropMisses uint64
	// Stages: the per-stage stamps over the window (measure.stages), nil
	// when they were off.
	Stages *vbpf.StageSnapshot

	Sent, SentBytes, Received, SeqGaps uint64
	Lost, Late                         uint64              // rr
	RTT                                histogram.Histogram // rr
	TCPSegs, Retrans                   uint64              // tcp, the sender's TCP_INFO
	SendErrs                           map[string]uint64
	// Stale counts datagrams of earlier windows that arrived during this
	// one too late to be counted in theirs (tagged windows).
	Stale uint64

	GenCPU     time.Duration // the generator threads' CPU time, summed
	GenThreads int
	RcvCPU     time.Duration // the receiving thread's
	MaxLag     time.Duration // the open-loop schedule's largest lag
	// InSlices, for interleaved trials, is what arrived while the
	// generator ran, the drains after its slices left out: the rates are
	// taken from it. Nil when the rates are of everything counted.
	InSlices *inSlices
}

// inSlices is what arrived during an interleaved trial's slices.
type inSlices struct {
	Received uint64 // at the receiver, in the case's unit
	AtDevice uint64 // vethbench packets at the receiving device's ingress
}

// trialFigures computes a trial's figures from its window's counts: the
// rates, the packet accounting (sent = received + dropped, within
// result.AccountingTolerance), CPU cost and latency.
func trialFigures(w windowCounts) result.Trial {
	bpf := w.BPF
	t := result.Trial{
		Duration:    w.Elapsed,
		Sent:        w.Sent,
		SentBytes:   w.SentBytes,
		Received:    w.Received,
		SeqGaps:     w.SeqGaps,
		AtDevice:    bpf.Segs,
		EBPFRx:      bpf.Packets,
		DeviceRx:    w.ReceiverDev.RxPackets,
		DeviceBytes: w.ReceiverDev.RxBytes,
	}
	if bpf.Matched != bpf.Segs {
		t.AtDeviceSkbs = bpf.Matched
	}
	t.AtDevicePayload = bpf.PayloadBytes
	t.Drops, t.KernelDropped = w.KernelDrops, w.KernelDropped
	t.Dropped = t.KernelDropped
	if w.HasReasons {
		t.DropReasons, t.Dropped = w.Reasons, w.Reasons.Total()
		t.DropMisses = w.DropMisses
		// XDP frames the sender's veth cannot put in its peer's ring are
		// freed without an skb, so kfree_skb never sees them; the
		// sender's tx_dropped counts them (and nothing else: no skb
		// leaves the sender).
		if w.Generator == plan.GenXDP {
			if n := t.Drops["sender.tx_dropped"]; n > 0 {
				if t.DropReasons == nil {
					t.DropReasons = map[string]uint64{}
				}
				t.DropReasons[XDPRingDrop] += n
				t.Dropped += n
			}
		}
	}
	t.SendErrs = w.SendErrs
	t.Stale = w.Stale
	secs := w.Elapsed.Seconds()
	rateRcv, rateDev := t.Received, t.AtDevice
	if w.InSlices != nil {
		rateRcv, rateDev = w.InSlices.Received, w.InSlices.AtDevice
	}
	t.SentPPS = float64(t.Sent) / secs
	t.DevicePPS = float64(rateDev) / secs
	t.GeneratorLag = int64(w.MaxLag)
	perPkt := t.Received // what CPU time is divided by
	switch w.Unit {
	case unitBytes:
		// tcp: bytes are what must arrive; segments are what the
		// device handled (GRO aggregates count their segments).
		t.Segments = bpf.Segs
		t.SegmentsPerSec = float64(t.Segments) / secs
		t.SentSegments, t.Retransmits = w.TCPSegs, w.Retrans
		t.Unaccounted = int64(t.Sent) - int64(t.Received)
		t.PPS = t.SegmentsPerSec
		t.BytesPerSec = float64(t.Received) / secs
		t.Latency = result.Latency{Kind: "none"}
		perPkt = t.Segments
	case unitRequests:
		// rr: every request gets a response or is lost (never
		// answered); drops are why one was lost.
		t.Lost, t.Late = w.Lost, w.Late
		t.Unaccounted = int64(t.Sent) - int64(t.Received) - int64(t.Lost)
		t.PPS = float64(rateRcv) / secs
		t.BytesPerSec = 2 * float64(rateRcv) * float64(w.FrameSize) / secs
		t.Latency = roundTripLatency(w.RTT, w.Lost)
	default:
		t.Unaccounted = int64(t.Sent) - int64(t.Received) - int64(t.Dropped)
		t.PPS = float64(rateRcv) / secs
		if t.Sent > 0 {
			// Every vethbench frame has the same size.
			t.BytesPerSec = float64(rateRcv) * float64(t.SentBytes) / float64(t.Sent) / secs
		}
		t.Latency = latency(bpf)
		if w.Stages != nil {
			t.Stages = stagesOf(*w.Stages)
		}
	}
	// Nothing sent is nothing accounted for: such a trial never closes
	// (and fails its case: sentNothing).
	t.Closed = t.Sent > 0 && math.Abs(float64(t.Unaccounted)) <= result.AccountingTolerance*float64(t.Sent)
	setCPUFigures(&t, w, perPkt)
	return t
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
	irq := irqTimeMode()
	out.Warnings = append(out.Warnings, cpuWarnings(out.Summary, irq)...)
	out.Summary.Bottleneck = bottleneck(out.Traffic, out.Summary, irq)
	if out.Summary.Bottleneck.Side == result.BoundGenerator {
		out.Warnings = append(out.Warnings, "generator-bound: "+out.Summary.Bottleneck.Detail)
	}
	if !out.Summary.Closed {
		out.Flags = append(out.Flags, "accounting did not close")
	}
	if w := stampWarning(out.Traffic); w != "" {
		out.Warnings = append(out.Warnings, w)
	}
}

// stagesOf turns the stage stamps of a window into the result's stages:
// those with a count, in path order, and the trip's total.
func stagesOf(s vbpf.StageSnapshot) *result.Stages {
	out := &result.Stages{Restarted: s.Restarted, Evicted: s.Evicted, GSO: s.GSO, ReadUnmatched: s.ReadUnmatched}
	for _, b := range s.Boundaries {
		out.Boundaries = append(out.Boundaries, b.String())
		if b == vbpf.BoundaryRead {
			out.ReadBy = "kernel"
			if s.ReadByReceiver {
				out.ReadBy = "receiver"
			}
		}
	}
	for _, n := range s.Late {
		out.Late += n
	}
	for i, h := range s.Stages {
		if h.Count > 0 {
			out.Stages = append(out.Stages, stageOf(vbpf.Stage(i).String(), h))
		}
	}
	out.Total = stageOf("total", s.Total)
	return out
}

func stageOf(name string, h vbpf.StageHistogram) result.Stage {
	l := latencyOf(h.Latency, "", 0)
	return result.Stage{Name: name, Count: h.Count, Merged: h.Merged, MeanNs: h.MeanNS(), P50: l.P50, P99: l.P99,
		Resolution: l.Resolution, Histogram: l.Histogram, SubBits: l.SubBits}
}

// latency is the one-way latency from the eBPF histogram.
func latency(s vbpf.Snapshot) result.Latency {
	return latencyOf(s.Latency, "one-way", s.BadTimestamp)
}

func latencyOf(h histogram.Histogram, kind string, bad uint64) result.Latency {
	l := result.Latency{Kind: kind, Count: h.Total(), Resolution: h.Scale.Resolution(), SubBits: h.Scale.Bits(), BadStamps: bad}
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
	return estimateOf(x, level)
}

// estimateOf is the median of x with its interval at level.
func estimateOf(x []float64, level float64) result.Estimate {
	iv := stats.MedianCI(x, level)
	return result.Estimate{Median: iv.Median, Lo: iv.Lo, Hi: iv.Hi, Level: iv.Level, Min: iv.Min, Max: iv.Max, N: iv.N}
}

func summarize(trials []result.Trial, level float64) *result.Summary {
	s := &result.Summary{
		PPS:               estimate(trials, level, func(t result.Trial) float64 { return t.PPS }),
		DevicePPS:         estimate(trials, level, func(t result.Trial) float64 { return t.DevicePPS }),
		BytesPerSec:       estimate(trials, level, func(t result.Trial) float64 { return t.BytesPerSec }),
		CPUNsPerPkt:       estimate(trials, level, func(t result.Trial) float64 { return t.CPUNsPerPkt }),
		P50:               estimate(trials, level, func(t result.Trial) float64 { return t.Latency.P50 }),
		P90:               estimate(trials, level, func(t result.Trial) float64 { return t.Latency.P90 }),
		P99:               estimate(trials, level, func(t result.Trial) float64 { return t.Latency.P99 }),
		P999:              estimate(trials, level, func(t result.Trial) float64 { return t.Latency.P999 }),
		SentPPS:           estimate(trials, level, func(t result.Trial) float64 { return t.SentPPS }),
		Closed:            true,
		GeneratorCPUPct:   estimate(trials, level, func(t result.Trial) float64 { return t.GeneratorCPUPct }),
		ReceiverCPUPct:    estimate(trials, level, func(t result.Trial) float64 { return t.ReceiverCPUPct }),
		SenderSoftirqPct:  estimate(trials, level, func(t result.Trial) float64 { return t.SenderSoftirqPct }),
		SenderCPUBusyPct:  estimate(trials, level, func(t result.Trial) float64 { return t.SenderCPUBusyPct }),
		ThreadCPUNsPerPkt: estimate(trials, level, func(t result.Trial) float64 { return t.ThreadCPUNsPerPkt }),
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
	summarizeRoundTrips(s, trials)
	s.Stages = summarizeStages(trials, level)
	return s
}

// summarizeStages gives each stage any trial has, and the trip's total,
// its median mean, p50 and p99 over the trials that have it.
func summarizeStages(trials []result.Trial, level float64) []result.StageSummary {
	var names []string
	by := map[string][]result.Stage{}
	for _, t := range trials {
		if t.Stages == nil {
			continue
		}
		for _, st := range append(slices.Clone(t.Stages.Stages), t.Stages.Total) {
			if st.Count == 0 {
				continue
			}
			if _, ok := by[st.Name]; !ok {
				names = append(names, st.Name)
			}
			by[st.Name] = append(by[st.Name], st)
		}
	}
	var out []result.StageSummary
	for _, n := range names {
		st := by[n]
		est := func(f func(result.Stage) float64) result.Estimate {
			x := make([]float64, len(st))
			for i, v := range st {
				x[i] = f(v)
			}
			return estimateOf(x, level)
		}
		out = append(out, result.StageSummary{Name: n,
			MeanNs: est(func(s result.Stage) float64 { return s.MeanNs }),
			P50:    est(func(s result.Stage) float64 { return s.P50 }),
			P99:    est(func(s result.Stage) float64 { return s.P99 })})
	}
	return out
}

// dropsDisagree tells whether a trial's kernel drop counters and its drop
// tracepoint count disagree. Datagram windows run back to back (tagged.go)
// and read the two a few milliseconds apart while packets flow, so they
// are compared over the whole session instead (spanSum.check).
func dropsDisagree(t result.Trial, unit string) bool {
	return unit != unitDatagrams && t.KernelDropped != t.Dropped
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
		if t.DropReasons != nil && unit != unitBytes && dropsDisagree(t, unit) {
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
		if t.Stale > 0 {
			w = append(w, fmt.Sprintf("trial %d: %d datagrams of earlier windows arrived %d or more windows late: they are in no window's figures", t.Index+1, t.Stale, vbpf.TagSlots))
		}
		if len(t.SendErrs) > 0 {
			w = append(w, fmt.Sprintf("trial %d: the kernel refused sends: %s", t.Index+1, sendErrors(t.SendErrs)))
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
