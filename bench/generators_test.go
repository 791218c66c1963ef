package bench

import (
	"context"
	"testing"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/bench/traffic"
	"github.com/vethbench/vethbench/internal/testenv"
	"github.com/vethbench/vethbench/reports/result"
)

// Every generator runs through the runner on a veth pair: its counts match
// the eBPF and kernel counters and its accounting closes, and the result
// says what was measured and which side limited it.
func TestRunCaseGenerators(t *testing.T) {
	testenv.RequireRoot(t)
	gen := func(name string, mod func(*plan.Case)) plan.Case {
		c := vethCase(64)
		c.Traffic.Generator = name
		if mod != nil {
			mod(&c)
		}
		return c
	}
	datagrams := []plan.Case{
		gen(plan.GenUDP, func(c *plan.Case) { c.Traffic.GSO, c.Traffic.FrameSize = 16, 200 }),
		gen(plan.GenPacket, nil),
		gen(plan.GenPacket, func(c *plan.Case) {
			c.Traffic.QdiscBypass, c.Topology.Family, c.Traffic.FrameSize = true, topology.IPv6, 78
		}),
		gen(plan.GenPacket, func(c *plan.Case) { c.Topology.Kind = topology.KindRouter }),
		// A live frame's datagram holds a page of socket buffer.
		gen(plan.GenXDP, func(c *plan.Case) { c.Traffic.RcvBuf = 32 << 20 }),
	}
	for _, c := range datagrams {
		t.Run(c.Name(), func(t *testing.T) {
			rc := runOK(t, c)
			if rc.Traffic.Unit != unitDatagrams {
				t.Errorf("unit %q", rc.Traffic.Unit)
			}
			if (c.Traffic.Generator == plan.GenUDP) == (rc.Traffic.Bypasses != "") {
				t.Errorf("generator %s, bypasses %q", c.Traffic.Generator, rc.Traffic.Bypasses)
			}
			if rc.Traffic.GSO != c.Traffic.GSO || rc.Traffic.QdiscBypass != c.Traffic.QdiscBypass || rc.Traffic.Proto != "" {
				t.Errorf("result traffic gso %d, qdisc bypass %v, proto %q: want the case's %d, %v and none",
					rc.Traffic.GSO, rc.Traffic.QdiscBypass, rc.Traffic.Proto, c.Traffic.GSO, c.Traffic.QdiscBypass)
			}
			for _, tr := range rc.Trials {
				checkTrial(t, tr)
				checkRate(t, c, tr)
				if c.Traffic.GSO > 0 && (tr.AtDeviceSkbs == 0 || tr.AtDeviceSkbs*2 > tr.AtDevice) {
					t.Errorf("trial %d: %d datagrams in %d skbs: GSO aggregates did not reach the device", tr.Index, tr.AtDevice, tr.AtDeviceSkbs)
				}
				checkCPU(t, tr)
			}
			checkSeqGaps(t, rc.Trials)
			if k := rc.Settings; c.Traffic.Generator == plan.GenXDP && (len(k) == 0 || k[0].Knob != "gro") {
				t.Errorf("xdp case set %+v, want gro on at the receiving ends (NAPI)", k)
			}
		})
	}

	t.Run("tcp", func(t *testing.T) {
		c := gen(plan.GenTCP, func(c *plan.Case) { c.Traffic.Flows, c.Traffic.Senders = 2, 2 })
		rc := runOK(t, c)
		for _, tr := range rc.Trials {
			// Every byte written was read; the device saw the segments.
			if !tr.Closed || tr.Sent != tr.Received || tr.Sent == 0 {
				t.Errorf("trial %d: wrote %d bytes, read %d (closed %v)", tr.Index, tr.Sent, tr.Received, tr.Closed)
			}
			if tr.Segments == 0 || tr.Segments != tr.AtDevice || tr.Segments < tr.SentSegments-tr.Retransmits {
				t.Errorf("trial %d: %d segments at the device, %d sent (%d retransmitted)", tr.Index, tr.Segments, tr.SentSegments, tr.Retransmits)
			}
			if tr.Latency.Kind != "none" || tr.BytesPerSec <= 0 {
				t.Errorf("trial %d: latency kind %q, %v bytes/s", tr.Index, tr.Latency.Kind, tr.BytesPerSec)
			}
			checkCPU(t, tr)
		}
	})

	for _, c := range []plan.Case{
		gen(plan.GenRR, nil),
		gen(plan.GenRR, func(c *plan.Case) { c.Traffic.Proto = "tcp" }),
		gen(plan.GenRR, func(c *plan.Case) { c.Traffic.Rate, c.Traffic.Flows, c.Traffic.Senders = 4000, 2, 2 }),
	} {
		t.Run(c.Name(), func(t *testing.T) {
			rc := runOK(t, c)
			if rc.Traffic.Proto != c.Traffic.RRProto() {
				t.Errorf("result traffic proto %q, want %q", rc.Traffic.Proto, c.Traffic.RRProto())
			}
			for _, tr := range rc.Trials {
				if !tr.Closed || tr.Sent != tr.Received+tr.Lost || tr.Received == 0 {
					t.Errorf("trial %d: %d requests, %d responses, %d lost", tr.Index, tr.Sent, tr.Received, tr.Lost)
				}
				// Every request reached the server's device (ingress
				// counter), every response was timed. Requests are
				// counted by payload: over TCP the counter also sees
				// the client's pure ACKs, as many as the timing of
				// delayed ACKs makes.
				if req := rrPayload(t, c); tr.Lost == 0 && tr.AtDevicePayload != tr.Sent*req {
					t.Errorf("trial %d: %d payload bytes at the server's device, %d requests of %d B sent", tr.Index, tr.AtDevicePayload, tr.Sent, req)
				}
				l := tr.Latency
				if l.Kind != "round-trip" || l.Count != tr.Received || !(l.P50 > 0 && l.P50 <= l.P99) {
					t.Errorf("trial %d: latency %+v for %d responses", tr.Index, l, tr.Received)
				}
			}
			if b := rc.Summary.Bottleneck; c.Traffic.Rate == 0 && b.Side != result.BoundNone {
				t.Errorf("closed-loop rr limited by %s: %s", b.Side, b.Detail)
			}
		})
	}
}

// rrPayload is the payload of one rr request of case c.
func rrPayload(t *testing.T, c plan.Case) uint64 {
	t.Helper()
	n, err := traffic.PayloadLen(c.Traffic.FrameSize, c.Topology.Family == topology.IPv6)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(n)
}

func runOK(t *testing.T, c plan.Case) result.Case {
	t.Helper()
	rc, err := RunCase(context.Background(), c, quick, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rc.Status != result.StatusOK {
		t.Fatalf("status %s: %s", rc.Status, rc.Error)
	}
	if rc.Summary == nil || rc.Summary.Bottleneck == nil || rc.Summary.Bottleneck.Detail == "" {
		t.Fatalf("no bottleneck in the summary")
	}
	return rc
}

// checkCPU: the generator's threads did run, within what a thread can use.
func checkCPU(t *testing.T, tr result.Trial) {
	t.Helper()
	if tr.GeneratorCPUPct <= 0 || tr.GeneratorCPUPct > 105 || tr.ReceiverCPUPct < 0 || tr.ReceiverCPUPct > 105 {
		t.Errorf("trial %d: generator CPU %.1f%%, receiver %.1f%%", tr.Index, tr.GeneratorCPUPct, tr.ReceiverCPUPct)
	}
}
