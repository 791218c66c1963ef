package bench

import (
	"fmt"
	"strings"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/reports/result"
)

// saturated is the CPU use, in percent of a thread's CPU, above which a
// thread counts as the limit: tick noise and the odd preemption keep a
// thread that never waits a little under 100.
const saturated = 90

// significant is the share of sent packets whose loss at one place makes
// that place the limit.
const significant = 0.01

// bottleneck says which side limited a finished case's figure. A figure
// is only the device's when the generator had headroom: a generator-bound
// figure says what this generator can push, and a faster one (packet, xdp,
// more senders) would show more.
func bottleneck(t result.Traffic, s *result.Summary) *result.Bottleneck {
	gen, rcv := s.GeneratorCPUPct.Median, s.ReceiverCPUPct.Median
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
	cpus := fmt.Sprintf("generator threads %.0f%% busy, %.0f%% of the sending CPUs in softirq; receiver thread %.0f%% busy", gen, s.SenderSoftirqPct.Median, rcv)
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
	case gen >= saturated && s.SenderSoftirqPct.Median >= 50:
		return b(result.BoundPath, "the generator's threads were saturated, but %.0f%% of their CPUs' time went to softirq, the receive path that veth runs on the sending CPU: the path's cost is the limit, not the %s generator's", s.SenderSoftirqPct.Median, t.Generator)
	case gen >= saturated:
		return b(result.BoundGenerator, "the generator's threads were saturated and nothing downstream dropped or saturated: the figure is the %s generator's limit on this path, not the device's (on veth the sending thread also runs the receive path in softirq)", t.Generator)
	}
	return b(result.BoundUnknown, "no side saturated and the load was not limited by a rate: look at steal and other load on the host")
}
