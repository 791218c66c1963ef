package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/host"
	"github.com/vethbench/vethbench/bench/probe"
	"github.com/vethbench/vethbench/reports/result"
)

func TestBottleneck(t *testing.T) {
	est := func(v float64) result.Estimate { return result.Estimate{Median: v, N: 5} }
	// The generator's threads own their CPUs and their clocks hold the
	// softirq they caused (no IRQ time accounting): the CPUs are as busy
	// as the threads.
	sum := func(gen, rcv, soft, sentPPS float64, sent uint64, reasons map[string]uint64) *result.Summary {
		s := &result.Summary{GeneratorCPUPct: est(gen), ReceiverCPUPct: est(rcv), SenderCPUBusyPct: est(gen), SenderSoftirqPct: est(soft), SentPPS: est(sentPPS), Sent: sent, DropReasons: reasons}
		for _, n := range reasons {
			s.Dropped += n
		}
		return s
	}
	udp := result.Traffic{Generator: "udp"}
	for _, tc := range []struct {
		name string
		t    result.Traffic
		s    *result.Summary
		want string
	}{
		{"saturated sender, nothing dropped", udp, sum(99, 40, 30, 3e5, 1e6, nil), result.BoundGenerator},
		{"saturated sender mostly in softirq", result.Traffic{Generator: "xdp"}, sum(99, 40, 80, 1e6, 1e6, nil), result.BoundPath},
		{"socket overflow", udp, sum(99, 95, 30, 3e5, 1e6, map[string]uint64{"SOCKET_RCVBUFF": 5e4}), result.BoundReceiver},
		{"receiver saturated", udp, sum(60, 97, 30, 3e5, 1e6, nil), result.BoundReceiver},
		{"qdisc drops", udp, sum(99, 50, 30, 3e5, 1e6, map[string]uint64{"QDISC_DROP": 5e4}), result.BoundPath},
		{"few drops do not decide", udp, sum(99, 50, 30, 3e5, 1e6, map[string]uint64{"QDISC_DROP": 10}), result.BoundGenerator},
		{"fixed rate met", result.Traffic{Generator: "udp", Rate: 1e4}, sum(5, 3, 10, 9990, 1e5, nil), result.BoundNone},
		{"fixed rate missed, sender saturated", result.Traffic{Generator: "udp", Rate: 1e6}, sum(99, 30, 30, 3e5, 1e6, nil), result.BoundGenerator},
		{"nothing saturated, unlimited", udp, sum(60, 30, 30, 3e5, 1e6, nil), result.BoundUnknown},
		{"closed-loop rr", result.Traffic{Generator: "rr"}, sum(40, 30, 10, 5e4, 1e5, nil), result.BoundNone},
	} {
		got := bottleneck(tc.t, tc.s, probe.IRQTimeOff)
		if got.Side != tc.want || got.Detail == "" {
			t.Errorf("%s: %s (%s), want %s", tc.name, got.Side, got.Detail, tc.want)
		}
	}
}

// situation is one sending CPU's second, as it happened: how long the
// generator's thread ran outside softirq, how long the CPU spent in the
// softirq it caused (the receive path, on veth), and how long another
// process ran there.
type situation struct {
	thread, softirq, other time.Duration
}

// record is what the kernel records of a situation: the CPU's /proc/stat
// times are the same on every kernel; the generator thread's clock holds
// its softirq only without IRQ time accounting.
func (s situation) record(irq string) windowCounts {
	idle := time.Second - s.thread - s.softirq - s.other
	cpus := []cpuPhases{
		{send: host.CPUTimes{User: s.thread / 4, System: s.thread*3/4 + s.other, SoftIRQ: s.softirq, Idle: idle}, drain: host.CPUTimes{SoftIRQ: 10 * msec, Idle: 10 * msec}},
		{send: host.CPUTimes{System: 300 * msec, Idle: 700 * msec}, drain: host.CPUTimes{System: 20 * msec}},
	}
	w := cpuWindow([]int{0}, 1, cpus)
	w.GenCPU = s.thread
	if irq == probe.IRQTimeOff {
		w.GenCPU += s.softirq
	}
	w.RcvCPU = 300 * msec
	return w
}

// TestBottleneckIRQTime computes the side from recorded snapshots of the
// same situation on a kernel that charges softirq to the thread and on one
// that does not (IRQ time accounting): the side must be the same, and the
// same again when the mode is unknown, unless the two readings disagree.
func TestBottleneckIRQTime(t *testing.T) {
	udp := result.Traffic{Generator: "udp"}
	side := func(s situation, recordedOn, assumed string) *result.Bottleneck {
		var trials []result.Trial
		for range 5 {
			trials = append(trials, trialFigures(s.record(recordedOn)))
		}
		sum := summarize(trials, 0.95)
		return bottleneck(udp, sum, assumed)
	}
	for _, tc := range []struct {
		name string
		s    situation
		want string
		// unknown is the side when the mode is not known: the same, or
		// BoundUnknown when the two kernels' readings would disagree.
		unknownOff, unknownOn string
	}{
		// The sender's CPU is saturated and most of it is the receive
		// path: the path is the limit.
		{"saturated, mostly softirq", situation{thread: 380 * msec, softirq: 600 * msec}, result.BoundPath, result.BoundPath, result.BoundUnknown},
		// Saturated, the generator's own sending the larger part.
		{"saturated, mostly sending", situation{thread: 690 * msec, softirq: 300 * msec}, result.BoundGenerator, result.BoundGenerator, result.BoundUnknown},
		// Another process takes 40% of the sender's CPU: the generator
		// is not saturated, it is starved.
		{"sharing its CPU", situation{thread: 400 * msec, softirq: 200 * msec, other: 400 * msec}, result.BoundUnknown, result.BoundUnknown, result.BoundUnknown},
		// Plenty of headroom.
		{"idle half the time", situation{thread: 300 * msec, softirq: 200 * msec}, result.BoundUnknown, result.BoundUnknown, result.BoundUnknown},
	} {
		off := side(tc.s, probe.IRQTimeOff, probe.IRQTimeOff)
		on := side(tc.s, probe.IRQTimeOn, probe.IRQTimeOn)
		if off.Side != tc.want || on.Side != tc.want {
			t.Errorf("%s: %s without IRQ time accounting (%s), %s with it (%s); want %s both", tc.name, off.Side, off.Detail, on.Side, on.Detail, tc.want)
		}
		if got := side(tc.s, probe.IRQTimeOff, probe.IRQTimeUnknown); got.Side != tc.unknownOff {
			t.Errorf("%s, recorded without accounting, mode unknown: %s (%s), want %s", tc.name, got.Side, got.Detail, tc.unknownOff)
		}
		got := side(tc.s, probe.IRQTimeOn, probe.IRQTimeUnknown)
		if got.Side != tc.unknownOn {
			t.Errorf("%s, recorded with accounting, mode unknown: %s (%s), want %s", tc.name, got.Side, got.Detail, tc.unknownOn)
		}
		if got.Side == result.BoundUnknown && tc.want != result.BoundUnknown && !strings.Contains(got.Detail, "IRQ time accounting") {
			t.Errorf("%s: an undecided side does not say why: %s", tc.name, got.Detail)
		}
	}
}

func TestBottleneckGeneratorShare(t *testing.T) {
	for _, tc := range []struct {
		gen, busy, soft float64
		irq             string
		lo, hi          float64
	}{
		{98, 100, 60, probe.IRQTimeOff, 98, 98},
		{38, 100, 60, probe.IRQTimeOn, 98, 98},
		{45, 100, 60, probe.IRQTimeOn, 100, 100}, // ticks: never above the CPUs' busy share
		{38, 100, 60, probe.IRQTimeUnknown, 38, 98},
		{98, 100, 60, probe.IRQTimeUnknown, 98, 100},
		{50, 0, 0, probe.IRQTimeOn, 50, 50}, // senders not pinned: no CPU figures
	} {
		lo, hi := generatorShare(tc.gen, tc.busy, tc.soft, tc.irq)
		if lo != tc.lo || hi != tc.hi {
			t.Errorf("generatorShare(%v, %v, %v, %s) = %v, %v; want %v, %v", tc.gen, tc.busy, tc.soft, tc.irq, lo, hi, tc.lo, tc.hi)
		}
	}
}
