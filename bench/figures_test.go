package bench

import (
	"maps"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/host"
	"github.com/vethbench/vethbench/bench/traffic"
	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/reports/result"
)

// A one-second udp window on two CPUs, both the run's: 2 s of CPU time,
// 1 s of it busy.
func udpWindow(sent, received uint64) windowCounts {
	cpus := host.CPUTimes{System: 600 * time.Millisecond, SoftIRQ: 400 * time.Millisecond, Idle: time.Second}
	return windowCounts{
		Unit: unitDatagrams, Generator: "udp", FrameSize: 64, Elapsed: time.Second,
		CPU:       cpuCounts{Span: time.Second, Host: cpus, Run: cpus},
		BPF:       vbpf.Snapshot{Packets: received + 3, Matched: received, Segs: received},
		Sent:      sent,
		SentBytes: 106 * sent,
		Received:  received,
		SeqGaps:   sent - received,
		GenCPU:    900 * time.Millisecond, GenThreads: 1,
		RcvCPU: 250 * time.Millisecond,
	}
}

func reasons(m map[string]uint64) windowCounts {
	w := udpWindow(1000, 1000)
	w.HasReasons, w.Reasons = true, vbpf.DropSnapshot(m)
	return w
}

// TestFigures checks the per-trial arithmetic of every unit without a
// kernel: rates, the accounting, drops by reason and CPU cost.
func TestFigures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		w     func() windowCounts
		check func(t *testing.T, tr result.Trial)
	}{
		{"closed", func() windowCounts {
			w := udpWindow(1000, 990)
			w.KernelDrops, w.KernelDropped = map[string]uint64{"receiver-ns.Udp.InErrors": 10}, 10
			return w
		}, func(t *testing.T, tr result.Trial) {
			if !tr.Closed || tr.Unaccounted != 0 || tr.Dropped != 10 || tr.PPS != 990 || tr.SentPPS != 1000 {
				t.Errorf("closed: %+v", tr)
			}
			if tr.CPUNsPerPkt != 1e9/990.0 {
				t.Errorf("CPU ns/pkt %v, want busy time / received = %v", tr.CPUNsPerPkt, 1e9/990.0)
			}
			if tr.CPUBusyPct != 50 || tr.GeneratorCPUPct != 90 || tr.ReceiverCPUPct != 25 {
				t.Errorf("CPU %v%% busy, generator %v%%, receiver %v%%", tr.CPUBusyPct, tr.GeneratorCPUPct, tr.ReceiverCPUPct)
			}
			if tr.BytesPerSec != 990*106 {
				t.Errorf("bytes/s %v", tr.BytesPerSec)
			}
			if tr.EBPFRx != 993 || tr.AtDevice != 990 || tr.AtDeviceSkbs != 0 {
				t.Errorf("device counts: ebpf %d, at device %d, skbs %d", tr.EBPFRx, tr.AtDevice, tr.AtDeviceSkbs)
			}
		}},
		{"within tolerance", func() windowCounts { return udpWindow(100000, 99950) }, func(t *testing.T, tr result.Trial) {
			// 50 of 100000 unaccounted is 0.05%, under AccountingTolerance.
			if !tr.Closed || tr.Unaccounted != 50 {
				t.Errorf("%d unaccounted, closed %v", tr.Unaccounted, tr.Closed)
			}
		}},
		{"nothing sent", func() windowCounts {
			w := udpWindow(0, 0)
			w.SendErrs = map[string]uint64{"EPERM": 12}
			return w
		}, func(t *testing.T, tr result.Trial) {
			// Nothing to account for is no accounting: it does not close.
			if tr.Closed || tr.PPS != 0 || tr.SendErrs["EPERM"] != 12 {
				t.Errorf("nothing sent: closed %v at %v pps, send errors %v", tr.Closed, tr.PPS, tr.SendErrs)
			}
		}},
		{"tagged window", func() windowCounts {
			// Its own datagrams, whenever they arrived: sent 1000, 900
			// read, 100 dropped, by tag; the span's other counts stay.
			w := udpWindow(0, 0)
			w.HasReasons = true
			tagCounts(&w, tagRead{
				sent:  1000,
				rcv:   traffic.TagCounts{Received: 900, Bytes: 900 * 22, Jumps: 60, Late: 0, Next: 960},
				bpf:   vbpf.Window{Matched: 1000, Segs: 1000, PayloadBytes: 1000 * 22},
				drops: vbpf.DropSnapshot{"SOCKET_RCVBUFF": 100},
			})
			return w
		}, func(t *testing.T, tr result.Trial) {
			if tr.Sent != 1000 || tr.Received != 900 || tr.AtDevice != 1000 || tr.Dropped != 100 || !tr.Closed || tr.Unaccounted != 0 {
				t.Errorf("tagged: sent %d received %d at device %d dropped %d closed %v", tr.Sent, tr.Received, tr.AtDevice, tr.Dropped, tr.Closed)
			}
			// 60 skipped inside the flows, 40 after their last: exact.
			if tr.SeqGaps != 100 || tr.PPS != 900 || tr.SentBytes != 1000*64 || tr.EBPFRx != 3 {
				t.Errorf("tagged: gaps %d, %v pps, %d bytes sent, ebpf rx %d", tr.SeqGaps, tr.PPS, tr.SentBytes, tr.EBPFRx)
			}
		}},
		{"not closed", func() windowCounts { return udpWindow(1000, 900) }, func(t *testing.T, tr result.Trial) {
			if tr.Closed || tr.Unaccounted != 100 {
				t.Errorf("100 of 1000 vanished without a drop: closed %v, unaccounted %d", tr.Closed, tr.Unaccounted)
			}
		}},
		{"more received than sent", func() windowCounts {
			w := udpWindow(1000, 1000)
			w.Received = 1100
			return w
		}, func(t *testing.T, tr result.Trial) {
			if tr.Closed || tr.Unaccounted != -100 {
				t.Errorf("received 1100 of 1000: closed %v, unaccounted %d", tr.Closed, tr.Unaccounted)
			}
		}},
		{"sent nothing", func() windowCounts {
			w := udpWindow(0, 0)
			w.SendErrs = map[string]uint64{"ENOBUFS": 12}
			return w
		}, func(t *testing.T, tr result.Trial) {
			for name, v := range map[string]float64{"pps": tr.PPS, "sent pps": tr.SentPPS, "bytes/s": tr.BytesPerSec, "cpu ns/pkt": tr.CPUNsPerPkt} {
				if v != 0 || math.IsNaN(v) {
					t.Errorf("%s = %v with nothing sent, want 0", name, v)
				}
			}
			if tr.SendErrs["ENOBUFS"] != 12 {
				t.Errorf("send errors %v", tr.SendErrs)
			}
		}},
		{"drops by reason", func() windowCounts {
			w := reasons(map[string]uint64{"SOCKET_RCVBUFF": 30, "QDISC_DROP": 20})
			w.Received = 950
			w.KernelDrops, w.KernelDropped = map[string]uint64{"sender.qdisc_drops": 20, "receiver-ns.Udp.InErrors": 30}, 50
			w.DropMisses = 2
			return w
		}, func(t *testing.T, tr result.Trial) {
			if tr.Dropped != 50 || tr.KernelDropped != 50 || !tr.Closed || tr.DropMisses != 2 {
				t.Errorf("dropped %d (kernel %d), closed %v, misses %d", tr.Dropped, tr.KernelDropped, tr.Closed, tr.DropMisses)
			}
			if tr.DropReasons["SOCKET_RCVBUFF"] != 30 || tr.DropReasons["QDISC_DROP"] != 20 || tr.Drops["sender.qdisc_drops"] != 20 {
				t.Errorf("reasons %v, kernel %v", tr.DropReasons, tr.Drops)
			}
		}},
		{"reasons outrank kernel counters", func() windowCounts {
			// The tracepoint's count is the drop count; the kernel's
			// counters are kept beside it for the cross-check warning.
			w := reasons(map[string]uint64{"SOCKET_RCVBUFF": 40})
			w.Received = 960
			w.KernelDrops, w.KernelDropped = map[string]uint64{"receiver-ns.Udp.InErrors": 35}, 35
			return w
		}, func(t *testing.T, tr result.Trial) {
			if tr.Dropped != 40 || tr.KernelDropped != 35 || !tr.Closed {
				t.Errorf("dropped %d, kernel %d, closed %v", tr.Dropped, tr.KernelDropped, tr.Closed)
			}
		}},
		{"xdp ring full", func() windowCounts {
			w := reasons(map[string]uint64{})
			w.Generator, w.Received = "xdp", 900
			w.KernelDrops, w.KernelDropped = map[string]uint64{"sender.tx_dropped": 100}, 100
			return w
		}, func(t *testing.T, tr result.Trial) {
			if tr.DropReasons[XDPRingDrop] != 100 || tr.Dropped != 100 || !tr.Closed {
				t.Errorf("ring-full frames: reasons %v, dropped %d, closed %v", tr.DropReasons, tr.Dropped, tr.Closed)
			}
		}},
		{"tx_dropped is no ring drop for udp", func() windowCounts {
			w := reasons(map[string]uint64{"SOCKET_RCVBUFF": 100})
			w.Received = 900
			w.KernelDrops, w.KernelDropped = map[string]uint64{"sender.tx_dropped": 100}, 100
			return w
		}, func(t *testing.T, tr result.Trial) {
			if _, ok := tr.DropReasons[XDPRingDrop]; ok || tr.Dropped != 100 {
				t.Errorf("udp: reasons %v, dropped %d", tr.DropReasons, tr.Dropped)
			}
		}},
		{"gso segments", func() windowCounts {
			// 100 GSO aggregates of 16 datagrams each reach the device.
			w := udpWindow(1600, 1600)
			w.BPF = vbpf.Snapshot{Packets: 100, Matched: 100, Segs: 1600, PayloadBytes: 1600 * 22}
			return w
		}, func(t *testing.T, tr result.Trial) {
			if tr.AtDevice != 1600 || tr.AtDeviceSkbs != 100 || tr.DevicePPS != 1600 || !tr.Closed || tr.AtDevicePayload != 1600*22 {
				t.Errorf("at device %d in %d skbs, %v pps at the device", tr.AtDevice, tr.AtDeviceSkbs, tr.DevicePPS)
			}
		}},
		{"tcp", func() windowCounts {
			w := windowCounts{
				Unit: unitBytes, Generator: "tcp", Elapsed: 2 * time.Second,
				CPU:  cpuCounts{Span: 2 * time.Second, Run: host.CPUTimes{System: 2 * time.Second}},
				BPF:  vbpf.Snapshot{Packets: 1000, Matched: 1000, Segs: 40000},
				Sent: 40000 * 1448, Received: 40000 * 1448, TCPSegs: 40010, Retrans: 10,
			}
			return w
		}, func(t *testing.T, tr result.Trial) {
			if tr.Segments != 40000 || tr.PPS != 20000 || tr.BytesPerSec != 20000*1448 || !tr.Closed || tr.Retransmits != 10 {
				t.Errorf("tcp: %d segments, %v pps, %v B/s, closed %v, retrans %d", tr.Segments, tr.PPS, tr.BytesPerSec, tr.Closed, tr.Retransmits)
			}
			if tr.CPUNsPerPkt != 2e9/40000 || tr.Latency.Kind != "none" {
				t.Errorf("tcp: %v ns per segment, latency %q", tr.CPUNsPerPkt, tr.Latency.Kind)
			}
		}},
		{"rr", func() windowCounts {
			var rtt histogram.Histogram
			for range 95 {
				rtt.Record(20_000)
			}
			for range 5 {
				rtt.Record(1_000_000)
			}
			return windowCounts{
				Unit: unitRequests, Generator: "rr", FrameSize: 100, Elapsed: time.Second,
				Sent: 103, Received: 100, Lost: 3, Late: 1, RTT: rtt,
			}
		}, func(t *testing.T, tr result.Trial) {
			if !tr.Closed || tr.Lost != 3 || tr.Late != 1 || tr.PPS != 100 || tr.BytesPerSec != 2*100*100 {
				t.Errorf("rr: %+v", tr)
			}
			if tr.Latency.Kind != "round-trip" || tr.Latency.Count != 100 || tr.Latency.P50 < 19_000 || tr.Latency.P50 > 21_000 || tr.Latency.P99 < 900_000 {
				t.Errorf("rr latency %+v", tr.Latency)
			}
		}},
		{"rr not closed", func() windowCounts {
			return windowCounts{Unit: unitRequests, Generator: "rr", FrameSize: 100, Elapsed: time.Second, Sent: 110, Received: 100, Lost: 3}
		}, func(t *testing.T, tr result.Trial) {
			if tr.Closed || tr.Unaccounted != 7 {
				t.Errorf("rr: 7 requests neither answered nor lost: closed %v, unaccounted %d", tr.Closed, tr.Unaccounted)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.w()
			before := maps.Clone(w.Reasons)
			tr := trialFigures(w)
			if tr.Duration != w.Elapsed || tr.Sent != w.Sent || tr.Received != w.Received {
				t.Errorf("counts not carried: %+v", tr)
			}
			tc.check(t, tr)
			if w.Generator != "xdp" && !maps.Equal(before, w.Reasons) {
				t.Errorf("trialFigures changed its input's reasons: %v -> %v", before, w.Reasons)
			}
		})
	}
}

// TestFiguresLatency reads one-way percentiles from the eBPF histogram and
// keeps the histogram, trimmed, for reports.
func TestFiguresLatency(t *testing.T) {
	w := udpWindow(1000, 1000)
	w.BPF.Latency = histogram.New(vbpf.LatencyScale)
	for i := range 1000 {
		w.BPF.Latency.Record(uint64(1000 + 10*i)) // 1..11 us
	}
	w.BPF.BadTimestamp = 4
	l := trialFigures(w).Latency
	// The result says which layout the histogram has: 32 sub-buckets
	// per power of two, about 3% wide.
	if l.Kind != "one-way" || l.Count != 1000 || l.BadStamps != 4 || l.SubBits != 5 || l.Resolution != 1.0/32 {
		t.Fatalf("latency %+v", l)
	}
	// The true p50 is 6 us; the histogram's estimate is within half its
	// resolution.
	if math.Abs(l.P50-6000) > l.Resolution/2*6000 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.P999 {
		t.Errorf("percentiles %v %v %v %v", l.P50, l.P90, l.P99, l.P999)
	}
	if n := len(l.Histogram); n == 0 || l.Histogram[n-1] == 0 {
		t.Errorf("histogram not trimmed of empty trailing buckets: %d buckets", n)
	}
}

// TestFiguresSummary sums trials and flags what does not close.
func TestFiguresSummary(t *testing.T) {
	var trials []result.Trial
	for i, w := range []windowCounts{reasons(map[string]uint64{"SOCKET_RCVBUFF": 30}), udpWindow(1000, 1000), udpWindow(1000, 800)} {
		if i == 0 {
			w.Received = 970
		}
		tr := trialFigures(w)
		tr.Index = i
		trials = append(trials, tr)
	}
	s := summarize(trials, 0.95)
	if s.Sent != 3000 || s.Received != 2770 || s.Dropped != 30 || s.Closed || s.DropReasons["SOCKET_RCVBUFF"] != 30 {
		t.Errorf("summary %+v", s)
	}
	w := strings.Join(warnings(trials, s, 0.95, unitDatagrams), "\n")
	if !strings.Contains(w, "trial 3: accounting did not close: sent 1000, received 800, dropped 0, 200 unaccounted") {
		t.Errorf("warnings:\n%s", w)
	}
	if strings.Contains(w, "trial 1: accounting") || strings.Contains(w, "trial 2: accounting") {
		t.Errorf("closed trials warned about:\n%s", w)
	}
}

// A trial that sent nothing fails its case, naming the send errors; one
// that sent something does not. Its refused sends are a warning.
func TestSentNothing(t *testing.T) {
	ok := []result.Trial{{Index: 0, Sent: 5}, {Index: 1, Sent: 1}}
	if err := sentNothing(ok); err != nil {
		t.Errorf("trials that sent: %v", err)
	}
	refused := append(ok, result.Trial{Index: 2, SendErrs: map[string]uint64{"EPERM": 12, "ENOBUFS": 3, "EAGAIN": 3}})
	err := sentNothing(refused)
	if err == nil || err.Error() != "trial 3 sent nothing: the kernel refused every send: EPERM 12, EAGAIN 3, ENOBUFS 3" {
		t.Errorf("a trial refused everything: %v", err)
	}
	if err := sentNothing([]result.Trial{{Index: 4}}); err == nil || !strings.Contains(err.Error(), "trial 5 sent nothing, and the kernel reported no send error") {
		t.Errorf("a trial that sent nothing without errors: %v", err)
	}
	w := strings.Join(warnings(refused, summarize(refused, 0.95), 0.95, unitDatagrams), "\n")
	if !strings.Contains(w, "trial 3: the kernel refused sends: EPERM 12, EAGAIN 3, ENOBUFS 3") {
		t.Errorf("warnings do not show the send errors:\n%s", w)
	}
}
