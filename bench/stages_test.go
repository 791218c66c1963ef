package bench

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
	"github.com/vethbench/vethbench/reports/result"
	"github.com/vethbench/vethbench/tuning"
)

// With measure.stages, every kind's trials say where the one-way time
// went: each stage positive, the stages adding up to the trip exactly, the
// trip agreeing with the ingress counter's one-way latency, and, on veth at
// a low rate, the device hop a small part of it.
func TestRunCaseStages(t *testing.T) {
	testenv.RequireRoot(t)
	m := quick
	m.Stages = true
	for _, k := range topology.Kinds {
		c := vethCase(64)
		c.Topology.Kind = k
		c.Traffic.Rate = 5000
		t.Run(c.Name(), func(t *testing.T) {
			rc, err := RunCase(context.Background(), c, m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rc.Status == result.StatusUnsupported {
				t.Skipf("unsupported here: %s", rc.Error)
			}
			if rc.Status != result.StatusOK {
				t.Fatalf("status %s: %s", rc.Status, rc.Error)
			}
			for _, tr := range rc.Trials {
				st := tr.Stages
				if st == nil {
					t.Fatalf("trial %d has no stages", tr.Index+1)
				}
				// Every kernel has a read: the kernel's where it marks
				// it, else the receiver's.
				for _, b := range []string{"send", "queue", "xmit", "ingress", "read"} {
					if !slices.Contains(st.Boundaries, b) {
						t.Errorf("trial %d: boundaries %v lack %s", tr.Index+1, st.Boundaries, b)
					}
				}
				if st.ReadBy == "" || st.ReadUnmatched > st.Total.Count/100 {
					t.Errorf("trial %d: read by %q, %d of the datagrams read not timed", tr.Index+1, st.ReadBy, st.ReadUnmatched)
				}
				var sum float64
				for _, s := range st.Stages {
					if s.Count == 0 || !(s.MeanNs > 0) {
						t.Errorf("trial %d: stage %s: count %d mean %v, want positive", tr.Index+1, s.Name, s.Count, s.MeanNs)
					}
					sum += s.MeanNs * float64(s.Count)
				}
				// Every datagram's stages add up to its trip exactly
				// (ebpf's tests check it); a window's only nearly: a send
				// batch (64 datagrams) in flight when its counters are read
				// has its first stages in one window and its trip in the
				// next. So the sums may differ by the trips of two batches,
				// one at each edge, each trip taken at the trial's p99.
				total := st.Total.MeanNs * float64(st.Total.Count)
				edge := 2 * float64(c.Traffic.Batch) * st.Total.P99
				if st.Total.Count == 0 || math.Abs(sum-total) > 0.02*total+edge {
					t.Errorf("trial %d: stages sum to %.0f ns, the trip to %.0f ns (%d datagrams)", tr.Index+1, sum, total, st.Total.Count)
				}
				// Where the trip ends at the receiving device's ingress (no
				// read boundary), it ends at the stage program's stamp, just
				// before the ingress counter's: the two medians agree within
				// the histograms' resolution and that offset. Medians, not
				// means: a few datagrams at a window's edge, with a long
				// wait, move a mean (under qemu, by a third).
				if !slices.Contains(st.Boundaries, "read") {
					if p, q := st.Total.P50, tr.Latency.P50; math.Abs(p-q) > (2*tr.Latency.Resolution+0.05)*q {
						t.Errorf("trial %d: the trip's median %.0f ns, the one-way latency's %.0f ns", tr.Index+1, p, q)
					}
				}
				// On a bare veth pair the device hop is veth's xmit and
				// the backlog; through a bridge or a router it holds their
				// forwarding too, about half the trip here.
				for _, s := range st.Stages {
					if k == topology.KindVeth && s.Name == result.StageDevice && !(s.MeanNs < st.Total.MeanNs/2) {
						t.Errorf("trial %d: at %v pps the device hop, %.0f ns, is not a small part of the trip, %.0f ns", tr.Index+1, c.Traffic.Rate, s.MeanNs, st.Total.MeanNs)
					}
				}
			}
			if len(rc.Summary.Stages) == 0 {
				t.Error("no stages in the summary")
			}
		})
	}
}

// stageMean is the median over the case's trials of stage name's mean.
func stageMean(rc result.Case, name string) float64 {
	for _, s := range rc.Summary.Stages {
		if s.Name == name {
			return s.MeanNs.Median
		}
	}
	return math.NaN()
}

// At saturation the wait grows where the datagrams queue, and the stages
// show where that is; the test asserts it by ratios.
//
// Behind pfifo_fast, on this kernel, a veth pair with GRO on queues in the
// sender stage: a send call of 64 datagrams stamps them all before the
// first reaches the device, and the last waits for the 63 before it to go
// through the stack (measured: sender 2.9 us at 5000 pps, 134 us at 235k
// pps, of a 135 us trip). veth does not stop the sender's queue, so
// pfifo_fast never holds a datagram and the qdisc stage stays at its few
// hundred ns.
//
// Behind a qdisc that does queue, shape_mbit's tbf, the wait at saturation
// is in the qdisc stage: it grows from under a microsecond at a rate the
// shaping lets through to most of the way to the receiving device
// (measured: 0.7 us at 5000 pps, 3.6-4.9 ms of 4.4-5.7 ms at 39k pps,
// 20 Mbit/s). The sending socket's
// buffer bounds that queue, about 140 datagrams here, before tbf's limit
// does; a send call waiting for room is the sender stage's 0.85 ms.
func TestRunCaseStagesSaturation(t *testing.T) {
	testenv.RequireRoot(t)
	m := quick
	m.Stages = true
	// toDevice is the trip to the receiving device's ingress: the socket
	// stage after it is the wait for vethbench's own reader, which
	// depends on how often it polls, not on the qdisc.
	type stages struct{ sender, qdisc, toDevice float64 }
	run := func(knobs []tuning.Setting, rate float64) stages {
		t.Helper()
		c := vethCase(64)
		c.Knobs, c.Traffic.Rate = knobs, rate
		rc, err := RunCase(context.Background(), c, m, Options{})
		if err != nil || rc.Status != result.StatusOK {
			t.Fatalf("%s: %v %s %s", c.Name(), err, rc.Status, rc.Error)
		}
		device := stageMean(rc, result.StageDevice)
		st := stages{stageMean(rc, result.StageSender), stageMean(rc, result.StageQdisc), 0}
		st.toDevice = st.sender + st.qdisc + device
		t.Logf("%s, %.0f pps: sender %.0f ns, qdisc %.0f ns, device %.0f ns, socket %.0f ns, trip %.0f ns", rc.Name, rc.Summary.PPS.Median,
			st.sender, st.qdisc, device, stageMean(rc, result.StageSocket), stageMean(rc, "total"))
		return st
	}

	fifo := []tuning.Setting{{Name: "gro", Value: "on"}, {Name: "qdisc", Value: "pfifo_fast"}}
	low, sat := run(fifo, 5000), run(fifo, 0)
	if !(sat.sender > 10*low.sender && sat.sender > sat.toDevice/2) {
		t.Errorf("pfifo_fast: sender stage %.0f ns at saturation (%.0f ns to the device), %.0f ns at 5000 pps: want it tenfold and most of the way", sat.sender, sat.toDevice, low.sender)
	}
	if !(sat.qdisc < sat.toDevice/20) {
		t.Errorf("pfifo_fast: qdisc stage %.0f ns of %.0f ns to the device at saturation: the wait moved into the qdisc (does veth stop the queue now? then test that)", sat.qdisc, sat.toDevice)
	}

	// 20 Mbit/s passes about 40k 64-byte frames a second: 5000 pps goes
	// through unqueued, saturation fills the tbf.
	tbf := []tuning.Setting{{Name: "gro", Value: "on"}, {Name: "shape_mbit", Value: "20"}}
	low, sat = run(tbf, 5000), run(tbf, 0)
	if !(sat.qdisc > 100*low.qdisc && sat.qdisc > sat.toDevice/2) {
		t.Errorf("tbf: qdisc stage %.0f ns at saturation (%.0f ns to the device), %.0f ns at 5000 pps: want it a hundredfold and most of the way", sat.qdisc, sat.toDevice, low.qdisc)
	}
	if !(sat.qdisc > 2*sat.sender) {
		t.Errorf("tbf: at saturation the qdisc stage %.0f ns is not twice the sender's %.0f ns", sat.qdisc, sat.sender)
	}
}

// A cost injected by sweep --cost-ns keeps the case's name, and the case
// says it is not a real measurement.
func TestCostUnnamedWarns(t *testing.T) {
	testenv.RequireRoot(t)
	c := vethCase(64)
	c.Traffic.CostNS, c.Traffic.CostUnnamed = 300, true
	m := quick
	m.Trials = 1
	rc, err := RunCase(context.Background(), c, m, Options{})
	if err != nil || rc.Status != result.StatusOK {
		t.Fatalf("%v %s %s", err, rc.Status, rc.Error)
	}
	if rc.Name != "veth/pkt=64" || rc.Traffic.CostNS != 300 {
		t.Errorf("name %q cost_ns %d: want the plain name and the cost recorded", rc.Name, rc.Traffic.CostNS)
	}
	if !slices.ContainsFunc(rc.Warnings, func(w string) bool { return strings.HasPrefix(w, "validation knob: every packet cost 300 ns") }) {
		t.Errorf("no validation-knob warning in %q", rc.Warnings)
	}
}
