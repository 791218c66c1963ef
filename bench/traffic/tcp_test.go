package traffic

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
)

func validTCPConfig() TCPConfig {
	return TCPConfig{
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
		DstPort: 9000, Flows: 2,
	}
}

func TestTCPConfigValidate(t *testing.T) {
	ok := []func(*TCPConfig){
		func(c *TCPConfig) {},
		func(c *TCPConfig) { c.Src = netip.IPv4Unspecified() },
		func(c *TCPConfig) { c.Src, c.Dst = netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2") },
		func(c *TCPConfig) { c.Workers, c.CPUs = 2, []int{0} },
		func(c *TCPConfig) { c.MSS, c.WriteSize, c.NoDelay = 536, 1, true },
	}
	for i, mod := range ok {
		c := validTCPConfig()
		mod(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("case %d: %v", i, err)
		}
	}
	bad := []struct {
		field string
		mod   func(*TCPConfig)
	}{
		{"Dst", func(c *TCPConfig) { c.Dst = netip.Addr{} }},
		{"Dst", func(c *TCPConfig) { c.Dst = netip.IPv4Unspecified() }},
		{"Src", func(c *TCPConfig) { c.Src = netip.Addr{} }},
		{"families", func(c *TCPConfig) { c.Src = netip.MustParseAddr("fd00::1") }},
		{"DstPort", func(c *TCPConfig) { c.DstPort = 0 }},
		{"Flows", func(c *TCPConfig) { c.Flows = 0 }},
		{"Flows", func(c *TCPConfig) { c.Flows = MaxFlows + 1 }},
		{"Workers", func(c *TCPConfig) { c.Workers = 3 }},
		{"Workers", func(c *TCPConfig) { c.Workers = -1 }},
		{"CPUs", func(c *TCPConfig) { c.CPUs = []int{-1} }},
		{"CPUs", func(c *TCPConfig) { c.CPUs = []int{1 << 20} }},
		{"WriteSize", func(c *TCPConfig) { c.WriteSize = -1 }},
		{"WriteSize", func(c *TCPConfig) { c.WriteSize = MaxWriteSize + 1 }},
		{"MSS", func(c *TCPConfig) { c.MSS = 87 }},
		{"MSS", func(c *TCPConfig) { c.MSS = 32768 }},
	}
	for _, tc := range bad {
		c := validTCPConfig()
		tc.mod(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: got %v, want ErrInvalid naming %s", tc.field, err, tc.field)
		}
	}
	if _, err := NewTCPSender(nil, TCPConfig{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewTCPSender with an empty config: %v, want ErrInvalid", err)
	}
}

// tcpPair is a sink in topo's receiver namespace and a sender connected to
// it from the sender namespace, closed by t's cleanup.
func tcpPair(t testing.TB, topo *topology.Topology, cfg TCPConfig) (*TCPSender, *TCPSink) {
	t.Helper()
	sink, err := NewTCPSink(topo.Receiver.NS, topo.Receiver.Addr, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	cfg.Src, cfg.Dst, cfg.DstPort = topo.Sender.Addr, topo.Receiver.Addr, sink.Addr().Port()
	snd, err := NewTCPSender(topo.Sender.NS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snd.Close() })
	return snd, sink
}

// runTCP runs the sink, runs the sender for d, and drains: the sink has read
// everything and the sender's connections have it all acknowledged.
func runTCP(t testing.TB, snd *TCPSender, sink *TCPSink, d time.Duration) time.Duration {
	t.Helper()
	sctx, scancel := context.WithCancel(context.Background())
	defer scancel()
	var wg sync.WaitGroup
	var sinkErr error
	wg.Go(func() { sinkErr = sink.Run(sctx) })
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	if err := snd.Run(ctx); err != nil {
		t.Errorf("sender: %v", err)
	}
	elapsed := time.Since(start)
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	if err := sink.Drain(dctx, snd.Sent()); err != nil {
		t.Error(err)
	}
	if err := snd.WaitAcked(dctx); err != nil {
		t.Error(err)
	}
	scancel()
	wg.Wait()
	if sinkErr != nil {
		t.Errorf("sink: %v", sinkErr)
	}
	return elapsed
}

func TestTCPBulk(t *testing.T) {
	testenv.RequireRoot(t)
	for _, fam := range []topology.Family{topology.IPv4, topology.IPv6} {
		t.Run(string(fam), func(t *testing.T) {
			topo := realize(t, topology.Spec{Kind: topology.KindVeth, Family: fam})
			snd, sink := tcpPair(t, topo, TCPConfig{Flows: 2, Workers: 2, WriteSize: 64 << 10})
			elapsed := runTCP(t, snd, sink, 300*time.Millisecond)
			sent := snd.Sent()
			if sent == 0 {
				t.Fatal("nothing sent")
			}
			if got := sink.Received(); got != sent {
				t.Errorf("sink received %d bytes, sender sent %d", got, sent)
			}
			if sink.Conns() != 2 {
				t.Errorf("sink has %d connections, want 2", sink.Conns())
			}
			st, err := snd.TCPInfo()
			if err != nil {
				t.Fatal(err)
			}
			if st.Conns != 2 || st.BytesAcked != sent || st.Unacked != 0 || st.NotSent != 0 {
				t.Errorf("TCP_INFO %+v: want 2 connections, all %d bytes acked, none in flight", st, sent)
			}
			// 1500 MTU: MSS = 1500 - IP - TCP header with timestamps.
			if want := 1500 - ipHeaderLen(fam == topology.IPv6) - 32; st.SndMSS != want {
				t.Errorf("snd_mss %d, want %d", st.SndMSS, want)
			}
			// Segments are counted MSS-sized, TSO or not: every byte sent
			// is in one, and few are short.
			mss := uint64(st.SndMSS)
			if least, most := st.BytesSent/mss, st.BytesSent/mss*11/10+1000; st.DataSegsOut < least || st.DataSegsOut > most {
				t.Errorf("%d data segments for %d bytes sent at MSS %d", st.DataSegsOut, st.BytesSent, mss)
			}
			if ct := snd.CPUTime(); ct <= 0 || ct > 2*elapsed+50*time.Millisecond {
				t.Errorf("sender CPU time %v over %v on %d threads", ct, elapsed, snd.Threads())
			}
			if sink.CPUTime() <= 0 {
				t.Errorf("sink CPU time %v", sink.CPUTime())
			}
			t.Logf("%.2f Gbit/s, %+v, errors %v", float64(sent)*8/elapsed.Seconds()/1e9, st, snd.Errors())
		})
	}
}

// A second window continues on the same connections; counters continue.
func TestTCPRunTwiceWithMSS(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	snd, sink := tcpPair(t, topo, TCPConfig{Flows: 1, MSS: 1000, NoDelay: true})
	runTCP(t, snd, sink, 100*time.Millisecond)
	first := snd.Sent()
	runTCP(t, snd, sink, 100*time.Millisecond)
	if snd.Sent() <= first || sink.Received() != snd.Sent() {
		t.Errorf("sent %d then %d, received %d", first, snd.Sent(), sink.Received())
	}
	st, err := snd.TCPInfo()
	if err != nil {
		t.Fatal(err)
	}
	// TCP_MAXSEG caps the MSS announced; timestamps take 12 bytes of it.
	if st.SndMSS > 1000 || st.BytesAcked != snd.Sent() {
		t.Errorf("TCP_INFO %+v: want snd_mss <= 1000, %d bytes acked", st, snd.Sent())
	}
}

func TestTCPCloseDuringRun(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	snd, sink := tcpPair(t, topo, TCPConfig{Flows: 1})
	// The sink does not read, so the sender soon blocks on a full buffer.
	errc := make(chan error, 1)
	go func() { errc <- snd.Run(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if err := snd.Close(); err != nil {
		t.Errorf("close sender: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("sender Run after Close: %v, want ErrClosed", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Close took %v", d)
	}
	if err := snd.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run on a closed sender: %v, want ErrClosed", err)
	}
	if _, err := snd.TCPInfo(); !errors.Is(err, ErrClosed) {
		t.Errorf("TCPInfo on a closed sender: %v, want ErrClosed", err)
	}

	// The sink, reading the sender's remains, then the peer's close.
	go func() { errc <- sink.Run(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	start = time.Now()
	if err := sink.Close(); err != nil {
		t.Errorf("close sink: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("sink Run after Close: %v, want ErrClosed", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Close took %v", d)
	}
	if sink.Received() == 0 || sink.Received() > snd.Sent() {
		t.Errorf("sink received %d of %d bytes", sink.Received(), snd.Sent())
	}
	if err := sink.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// A sender whose sink went away fails instead of spinning.
func TestTCPSinkGone(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	snd, sink := tcpPair(t, topo, TCPConfig{Flows: 1})
	sink.Close() // resets the connection waiting in its accept queue
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := snd.Run(ctx)
	if err == nil || errors.Is(err, ErrClosed) {
		t.Errorf("Run against a closed sink: %v, want a connection error", err)
	}
	t.Logf("%v; errors %v", err, snd.Errors())
}

// BenchmarkTCPBulk sends bulk TCP over one veth pair for a fixed window per
// iteration and reports Gbit/s; the iperf3 sub-benchmarks run iperf3 (if
// installed) with as many streams on the same kind of path. Nothing is
// pinned, for either tool.
func BenchmarkTCPBulk(b *testing.B) {
	testenv.RequireRoot(b)
	const window = 2 * time.Second
	for _, flows := range []int{1, 2} {
		b.Run(fmt.Sprintf("flows=%d/vethbench", flows), func(b *testing.B) {
			topo := realize(b, topology.Spec{Kind: topology.KindVeth})
			snd, sink := tcpPair(b, topo, TCPConfig{Flows: flows, Workers: flows})
			var elapsed time.Duration
			sent0 := snd.Sent()
			st0, _ := snd.TCPInfo()
			cpu0, sinkCPU0 := snd.CPUTime(), sink.CPUTime()
			for b.Loop() {
				elapsed += runTCP(b, snd, sink, window)
			}
			st, _ := snd.TCPInfo()
			bytes := float64(snd.Sent() - sent0)
			b.ReportMetric(bytes*8/elapsed.Seconds()/1e9, "Gbit/s")
			b.ReportMetric(float64(st.DataSegsOut-st0.DataSegsOut)/elapsed.Seconds(), "segs/s")
			b.ReportMetric(float64(snd.CPUTime()-cpu0)/float64(elapsed)/float64(flows), "snd-util")
			b.ReportMetric(float64(sink.CPUTime()-sinkCPU0)/float64(elapsed)/float64(flows), "sink-util")
			b.ReportMetric(0, "ns/op")
		})
		b.Run(fmt.Sprintf("flows=%d/iperf3", flows), func(b *testing.B) {
			topo := realize(b, topology.Spec{Kind: topology.KindVeth})
			var gbits float64
			for b.Loop() {
				gbits += iperf3(b, topo, flows, window)
			}
			b.ReportMetric(gbits/float64(b.N), "Gbit/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
