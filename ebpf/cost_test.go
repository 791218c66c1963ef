package vbpf

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
)

// loadCost loads the counting program alone with the given cost.
func loadCost(t *testing.T, cost uint32) *Counters {
	t.Helper()
	testenv.RequireRoot(t)
	spec, err := loadSpec(Options{DstPort: testPort, CostNS: cost})
	if err != nil {
		t.Fatal(err)
	}
	c := &Counters{}
	if err := spec.LoadAndAssign(&c.objs, nil); err != nil {
		t.Fatalf("load with cost %d ns: %v", cost, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCostOutOfRange(t *testing.T) {
	if _, err := loadSpec(Options{DstPort: testPort, CostNS: MaxCostNS + 1}); err == nil {
		t.Fatalf("cost %d ns accepted, the maximum is %d", MaxCostNS+1, MaxCostNS)
	}
	if _, err := loadSpec(Options{DstPort: testPort, CostNS: MaxCostNS}); err != nil {
		t.Fatalf("cost %d ns (the maximum): %v", MaxCostNS, err)
	}
}

// With cost 0 the verifier removes the spin: the program the kernel runs
// is shorter than with any cost. With a cost, each run of the program on a
// vethbench frame takes that much longer (BPF_PROG_RUN's own timing, which
// leaves out time the test thread was preempted), every frame is still
// counted, and the spin's bound is never what ends it. The largest cost
// loads too: the loop bound does not depend on the value.
func TestCostProgRun(t *testing.T) {
	frames := map[string][]byte{
		"udp":    frame(frameSpec{dport: testPort, payload: payload(7, 1)}),
		"bad ts": frame(frameSpec{dport: testPort, payload: payload(7, 0)}),
	}
	const runs = 5000
	per := map[uint32]map[string]time.Duration{}
	xlated := map[uint32]int{}
	for _, cost := range []uint32{0, 1, 2000, MaxCostNS} {
		c := loadCost(t, cost)
		info, err := c.objs.Prog.Info()
		if err != nil {
			t.Fatal(err)
		}
		insns, err := info.Instructions()
		if err != nil {
			t.Fatal(err)
		}
		xlated[cost] = len(insns)
		if cost == MaxCostNS {
			continue // loaded: enough; 20 us a run is slow to time
		}
		per[cost] = map[string]time.Duration{}
		for name, f := range frames {
			before := snap(t, c)
			ret, d, err := c.objs.Prog.Benchmark(f, runs, nil)
			if err != nil {
				t.Fatalf("cost %d, %s: BPF_PROG_RUN: %v", cost, name, err)
			}
			if ret != passVerdict {
				t.Fatalf("cost %d, %s: returned %d, want -1", cost, name, int32(ret))
			}
			got := snap(t, c).Sub(before)
			if got.Matched != runs || got.CostShort != 0 {
				t.Errorf("cost %d, %s: matched %d of %d runs, %d spins cut short", cost, name, got.Matched, runs, got.CostShort)
			}
			per[cost][name] = d
		}
	}
	t.Logf("per run: %v; xlated instructions: %v", per, xlated)
	if xlated[0] >= xlated[1] {
		t.Errorf("cost 0 runs %d instructions, cost 1 %d: the spin was not removed", xlated[0], xlated[1])
	}
	if testenv.Emulated() {
		t.Skip("times under emulation say nothing")
	}
	for name := range frames {
		if d := per[2000][name] - per[0][name]; d < 1000 {
			t.Errorf("%s: a run with cost 2000 ns takes %v more than with 0, want at least 1us", name, d)
		}
	}
}

// On a veth pair, each vethbench packet costs the sending thread (which
// runs the receive path on veth) at least 1000 ns more with cost 2000 than
// with cost 0. Two pairs are alive at once, one counter with each cost,
// and one pinned thread sends to them in turns of a few hundred packets,
// so that whatever else slows the CPU weighs on both alike. The thread's
// CPU time is the clock, or wall time where softirq work is charged apart
// (IRQ time accounting), as in TestXDPGenCost.
func TestCostVeth(t *testing.T) {
	testenv.RequireRoot(t)
	type path struct {
		topo *topology.Topology
		c    *Counters
		conn *net.UDPConn
		sent int
		took time.Duration
	}
	paths := []*path{{}, {}}
	for i, cost := range []uint32{0, 2000} {
		p := paths[i]
		p.topo = realizeVeth(t, topology.IPv4)
		listen(t, p.topo, testPort)
		var err error
		if p.c, err = AttachIngress(p.topo.Receiver.NS, p.topo.Receiver.Ifname, Options{DstPort: testPort, CostNS: cost}); err != nil {
			t.Fatalf("attach with cost %d: %v", cost, err)
		}
		t.Cleanup(func() { p.c.Close() })
		err = p.topo.Sender.NS.Do(func() error {
			var err error
			p.conn, err = net.DialUDP("udp", nil, &net.UDPAddr{IP: p.topo.Receiver.Addr.AsSlice(), Port: testPort})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.conn.Close() })
	}
	irqTime, known := testenv.KernelConfig("CONFIG_IRQ_TIME_ACCOUNTING")
	wall := irqTime || !known
	before := []Snapshot{snap(t, paths[0].c), snap(t, paths[1].c)}
	// Any namespace will do for the loop: the sockets were made in theirs.
	err := paths[0].topo.Sender.NS.Do(func() error {
		var orig, one unix.CPUSet
		if err := unix.SchedGetaffinity(0, &orig); err != nil {
			return err
		}
		one.Set(0)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			return err
		}
		defer unix.SchedSetaffinity(0, &orig)
		clock := func() time.Duration {
			if wall {
				return time.Duration(monotonicNow(t))
			}
			return threadCPUTime(t)
		}
		for start := time.Now(); time.Since(start) < 2*time.Second; {
			for _, p := range paths {
				c0 := clock()
				for range 256 {
					if _, err := p.conn.Write(payload(uint32(p.sent), monotonicNow(t))); err != nil {
						return err
					}
					p.sent++
				}
				p.took += clock() - c0
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	var ns [2]float64
	for i, p := range paths {
		d := snap(t, p.c).Sub(before[i])
		// The receive path runs within the send on veth: a packet not
		// counted yet was not paid for in the thread's time either.
		if float64(d.Matched) < 0.99*float64(p.sent) || d.CostShort != 0 {
			t.Fatalf("path %d: counted %d of %d sent, %d spins cut short", i, d.Matched, p.sent, d.CostShort)
		}
		ns[i] = float64(p.took.Nanoseconds()) / float64(d.Matched)
	}
	t.Logf("ns per packet (wall %v): cost 0: %.0f (%d packets), cost 2000: %.0f (%d packets), difference %.0f",
		wall, ns[0], paths[0].sent, ns[1], paths[1].sent, ns[1]-ns[0])
	if testenv.Emulated() {
		t.Skip("costs under emulation say nothing")
	}
	if ns[1]-ns[0] < 1000 {
		t.Errorf("cost 2000 adds %.0f ns per packet to the sender's time, want at least 1000", ns[1]-ns[0])
	}
}
