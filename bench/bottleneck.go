package bench

import (
	"fmt"
	"strings"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/probe"
	"github.com/vethbench/vethbench/reports/result"
)

// saturated is the CPU use, in percent of a thread's CPU, above which a
// thread counts as the limit: tick noise and the odd preemption keep a
// thread that never waits a little under 100. The generator's use counts
// the softirq it caused on its CPU (generatorShare).
const saturated = 90

// significant is the share of sent packets whose loss at one place makes
// that place the limit.
const significant = 0.01

// generatorShare bounds the share of their CPUs, in percent, that the
// generator's threads used, counting the softirq work they caused there
// (on veth, the receive path): gen is the threads' clocks (percent of one
// CPU per thread), busy and softirq the senders' CPUs' busy share and the
// softirq share of that busy time (/proc/stat). Which of these holds the
// softirq depends on the kernel's IRQ time accounting (irq, a probe.IRQTime
// mode): without it the threads' clocks include it, so gen is the share;
// with it they do not, so the CPUs' softirq time is added (at most the
// CPUs' busy share). Unknown, the two bound it.
func generatorShare(gen, busy, softirq float64, irq string) (lo, hi float64) {
	withSoft := min(gen+softirq*busy/100, max(busy, gen))
	switch irq {
	case probe.IRQTimeOff:
		return gen, gen
	case probe.IRQTimeOn:
		return withSoft, withSoft
	}
	return gen, max(gen, withSoft)
}

// bottleneck says which side limited a finished case's figure. A figure
// is only the device's when the generator had headroom: a generator-bound
// figure says what this generator can push, and a faster one (packet, xdp,
// more senders) would show more. irq is the kernel's IRQ time accounting
// mode (probe.IRQTimeOn, Off or Unknown), which says whether the
// generator's thread clocks include the softirq it caused.
func bottleneck(t result.Traffic, s *result.Summary, irq string) *result.Bottleneck {
	gen, rcv := s.GeneratorCPUPct.Median, s.ReceiverCPUPct.Median
	busy, soft := s.SenderCPUBusyPct.Median, s.SenderSoftirqPct.Median
	lo, hi := generatorShare(gen, busy, soft, irq)
	sent := float64(s.Sent)
	var socket, path uint64
	for reason, n := range s.DropReasons {
		if strings.HasPrefix(reason, "SOCKET_") || strings.HasPrefix(reason, "PROTO_MEM") {
			socket += n
		} else {
			path += n
		}
	}
	if s.DropReasons == nil && s.Dropped > 0 {
		path = s.Dropped // no reasons: the kernel counters do not say where
	}
	clocks := map[string]string{
		probe.IRQTimeOff: "their clocks include the softirq they caused",
		probe.IRQTimeOn:  "their clocks exclude the softirq they caused",
	}[irq]
	if clocks == "" {
		clocks = "IRQ time accounting unknown: whether their clocks include the softirq they caused is not known"
	}
	cpus := fmt.Sprintf("generator threads %.0f%% busy (%s), their CPUs %.0f%% busy, %.0f%% of it softirq; receiver thread %.0f%% busy", gen, clocks, busy, soft, rcv)
	b := func(side, format string, a ...any) *result.Bottleneck {
		return &result.Bottleneck{Side: side, Detail: fmt.Sprintf(format, a...) + " (" + cpus + ")"}
	}
	switch {
	case t.Generator == plan.GenRR && t.Rate == 0:
		return b(result.BoundNone, "closed loop: each flow has one request in flight, so the figure is round-trip latency, not capacity")
	case sent > 0 && float64(socket) > significant*sent:
		return b(result.BoundReceiver, "the receiving socket dropped %.1f%% of what was sent: the figure is what the receiver read, device_pps what reached the device", 100*float64(socket)/sent)
	case rcv >= saturated:
		return b(result.BoundReceiver, "the receiving thread was saturated: the figure is the receiver's limit")
	case sent > 0 && float64(path) > significant*sent:
		return b(result.BoundPath, "the path dropped %.1f%% of what was sent (a queue or device was full): the figure is the path's limit", 100*float64(path)/sent)
	case t.Rate > 0 && s.SentPPS.Median >= 0.95*t.Rate:
		return b(result.BoundNone, "the offered %.0f/s was sent and delivered: nothing saturated", t.Rate)
	case lo < saturated && hi >= saturated:
		return b(result.BoundUnknown, "the generator used between %.0f%% and %.0f%% of its CPUs, counting the softirq it caused: whether it was saturated depends on the kernel's IRQ time accounting, which vethbench could not tell (see vethbench doctor)", lo, hi)
	case lo >= saturated && soft >= 50:
		return b(result.BoundPath, "the generator's CPUs were saturated, %.0f%% of their busy time in softirq, the receive path that veth runs on the sending CPU: the path's cost is the limit, not the %s generator's", soft, t.Generator)
	case lo >= saturated:
		return b(result.BoundGenerator, "the generator's threads were saturated and nothing downstream dropped or saturated: the figure is the %s generator's limit on this path, not the device's (on veth the sending CPU also runs the receive path in softirq)", t.Generator)
	}
	return b(result.BoundUnknown, "no side saturated and the load was not limited by a rate: look at steal and other load on the host")
}
