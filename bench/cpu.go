package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vethbench/vethbench/bench/host"
	"github.com/vethbench/vethbench/bench/probe"
	"github.com/vethbench/vethbench/reports/result"
)

// What a trial's CPU figures mean (docs/method.md has the why):
//
//   - CPUNsPerPkt charges the CPUs the run pinned its threads to: their busy
//     time in /proc/stat (user, nice, system, irq, softirq) between the two
//     snapshots that also read the packet counters, so the drain's work is
//     in it, divided by the packets received in that span. On veth the
//     receive path runs in softirq on the sending CPU, so these CPUs hold
//     the path's cost, and /proc/stat counts softirq whatever the kernel's
//     IRQ time accounting. Other processes on those CPUs are charged too.
//   - ThreadCPUNsPerPkt charges the run's own threads (generator and
//     receiver, their CPU clocks) over the same span: no other process is
//     in it, but whether the softirq the threads ran is depends on IRQ time
//     accounting (included without it, excluded with it), and softirq run
//     by ksoftirqd or a NAPI thread never is.
//   - CPUBusyPct and StealPct are every CPU's, over the same span: the
//     host's context, never a cost.
//   - SenderCPUBusyPct and SenderSoftirqPct are the senders' CPUs' while the
//     generator ran (the drain would dilute a saturated sender's share),
//     from /proc/stat; GeneratorCPUPct and ReceiverCPUPct the threads' own
//     clocks.

// cpuSnap is the CPU side of a window's snapshot, read next to the thread
// clocks and the packet counters.
type cpuSnap struct {
	at   time.Time
	stat host.Stat
}

func readCPUSnap() (cpuSnap, error) {
	st, err := host.ReadStat()
	return cpuSnap{at: time.Now(), stat: st}, err
}

// runCPUs is the CPUs a case's cost is charged to: the senders' and the
// receiving thread's, each once, in that order. nil when nothing was
// pinned: then every CPU.
func runCPUs(senders []int, receiver int) []int {
	var out []int
	for _, c := range append(slices.Clone(senders), receiver) {
		if c >= 0 && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// sumCPUs adds up the listed CPUs' times between two per-CPU readings,
// each CPU once; a CPU absent from either reading (offline) is skipped. It
// returns the sum and the number of CPUs in it.
func sumCPUs(before, after []host.CPUTimes, cpus []int) (host.CPUTimes, int) {
	var sum host.CPUTimes
	var seen []int
	for _, c := range cpus {
		if c < 0 || c >= len(before) || c >= len(after) || slices.Contains(seen, c) {
			continue
		}
		seen = append(seen, c)
		sum = sum.Add(after[c].Sub(before[c]))
	}
	return sum, len(seen)
}

// cpuCounts is the CPU part of a window's counts: /proc/stat differences
// and the span they cover. It is built by windowCPU and read by
// setCPUFigures.
type cpuCounts struct {
	// Span is the wall time between the two snapshots: the span of the
	// packet counters, drain included.
	Span time.Duration
	// Host is every CPU over Span; Run the run's CPUs (runCPUs) over
	// Span, summed.
	Host, Run host.CPUTimes
	// Senders is the senders' CPUs from the first snapshot to the end of
	// the generator's run, summed.
	Senders host.CPUTimes
}

// add is c and d over both their spans (an interleaved trial's slices).
func (c cpuCounts) add(d cpuCounts) cpuCounts {
	return cpuCounts{Span: c.Span + d.Span, Host: c.Host.Add(d.Host), Run: c.Run.Add(d.Run), Senders: c.Senders.Add(d.Senders)}
}

// windowCPU takes the CPU counts of a window from the snapshots' readings
// s0 and s1 and the per-CPU reading taken when the generator stopped.
func windowCPU(s0, s1 cpuSnap, stopped []host.CPUTimes, senders []int, receiver int) cpuCounts {
	c := cpuCounts{Span: s1.at.Sub(s0.at), Host: s1.stat.All.Sub(s0.stat.All), Run: s1.stat.All.Sub(s0.stat.All)}
	if cpus := runCPUs(senders, receiver); len(cpus) > 0 {
		c.Run, _ = sumCPUs(s0.stat.PerCPU, s1.stat.PerCPU, cpus)
	}
	c.Senders, _ = sumCPUs(s0.stat.PerCPU, stopped, senders)
	return c
}

// setCPUFigures sets a trial's CPU figures from its window's counts;
// perPkt is what CPU time is divided by (packets received, tcp segments).
func setCPUFigures(t *result.Trial, w windowCounts, perPkt uint64) {
	c := w.CPU
	t.CPUBusyPct = c.Host.Pct(c.Host.Busy())
	t.StealPct = c.Host.Pct(c.Host.Steal)
	t.RunCPUBusyPct = c.Run.Pct(c.Run.Busy())
	if perPkt > 0 {
		t.CPUNsPerPkt = float64(c.Run.Busy().Nanoseconds()) / float64(perPkt)
		t.ThreadCPUNsPerPkt = float64((w.GenCPU + w.RcvCPU).Nanoseconds()) / float64(perPkt)
	}
	if secs := w.Elapsed.Seconds(); secs > 0 && w.GenThreads > 0 {
		// The generator's threads run only while it runs.
		t.GeneratorCPUPct = 100 * w.GenCPU.Seconds() / (secs * float64(w.GenThreads))
	}
	if secs := c.Span.Seconds(); secs > 0 {
		// The receiving thread works through the drain too.
		t.ReceiverCPUPct = 100 * w.RcvCPU.Seconds() / secs
	}
	t.SenderCPUBusyPct = c.Senders.Pct(c.Senders.Busy())
	if busy := c.Senders.Busy(); busy > 0 {
		t.SenderSoftirqPct = 100 * float64(c.Senders.SoftIRQ) / float64(busy)
	}
}

// otherWork is the share of the run's CPUs' busy time, beyond which the
// work of others on them is worth a warning.
const otherWork = 0.25

// cpuWarnings says when CPU ns/pkt holds much work that is not the run's:
// the run's threads' clocks (ThreadCPUNsPerPkt) fall well short of their
// CPUs' busy time (CPUNsPerPkt). Only a kernel that charges softirq to
// threads (irq "off") makes the two comparable: with IRQ time accounting
// the threads' clocks leave the receive path out by design.
func cpuWarnings(s *result.Summary, irq string) []string {
	run, threads := s.CPUNsPerPkt.Median, s.ThreadCPUNsPerPkt.Median
	if irq != probe.IRQTimeOff || run <= 0 || threads >= (1-otherWork)*run {
		return nil
	}
	return []string{fmt.Sprintf("the run's threads used %.0f of the %.0f CPU ns per packet its CPUs were busy: %.0f%% of cpu_ns_per_pkt is other work on those CPUs (other processes, or softirq deferred to ksoftirqd); thread_cpu_ns_per_pkt leaves it out",
		threads, run, 100*(1-threads/run))}
}

// irqTime is the kernel's IRQ time accounting mode, found once per process
// (probe.DetectIRQTime): a fact about the kernel, like the CPU count. The
// bottleneck rule reads it and the result's host context records it. Run
// asks first, with its context, so that Ctrl-C stops a measurement too;
// the answer is then kept.
func irqTime(ctx context.Context) probe.IRQTime {
	irqOnce.Do(func() { irqMode = probe.DetectIRQTime(ctx) })
	return irqMode
}

// irqTimeMode is irqTime's mode, for code without a context: Run has
// normally found it already.
func irqTimeMode() string { return irqTime(context.Background()).Mode }

var (
	irqOnce sync.Once
	irqMode probe.IRQTime
)
