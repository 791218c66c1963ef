package traffic

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
)

// loopbackPair opens a receiver and a one-flow sender over the loopback of
// a fresh namespace.
func loopbackPair(t testing.TB, rate float64) (*UDPSender, *UDPReceiver) {
	t.Helper()
	topo := realize(t, topology.Spec{Kind: topology.KindLoopback})
	rcv, err := NewUDPReceiver(topo.Receiver.NS, topo.Receiver.Addr, testDstPort, 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	snd, err := NewUDPSender(topo.Sender.NS, UDPConfig{
		Src: topo.Sender.Addr, Dst: topo.Receiver.Addr, DstPort: testDstPort,
		SrcPortBase: testSrcPortBase, Flows: 1, FrameSize: 64, Rate: rate,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snd.Close() })
	return snd, rcv
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	testenv.RequireRoot(t)
	snd, rcv := loopbackPair(t, 0)
	k := snd.workers[0]
	k.clock = newMonoClock()
	if n := testing.AllocsPerRun(100, func() {
		if err := k.sendBatch(0, snd.cfg.Batch); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("sendBatch: %v allocations per batch", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		n, err := rcv.recv(false)
		if err != nil {
			t.Fatal(err)
		}
		rcv.account(n)
	}); n != 0 {
		t.Errorf("recv+account: %v allocations per batch", n)
	}
	if rcv.Received() == 0 || rcv.SeqGaps() != 0 {
		t.Errorf("received %d, gaps %d", rcv.Received(), rcv.SeqGaps())
	}
}

// The whole Run loops, rate limiter included, allocate per Run, never per
// batch: a run of tens of thousands of batches makes a handful of
// allocations.
func TestRunAllocationsAreBounded(t *testing.T) {
	testenv.RequireRoot(t)
	for _, rate := range []float64{0, 50000} {
		snd, rcv := loopbackPair(t, rate)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		done := make(chan error, 1)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		go func() { done <- rcv.Run(ctx) }()
		err := snd.Run(ctx)
		if rerr := <-done; err != nil || rerr != nil {
			t.Fatalf("sender: %v, receiver: %v", err, rerr)
		}
		runtime.ReadMemStats(&after)
		cancel()
		allocs := after.Mallocs - before.Mallocs
		t.Logf("rate %v: sent %d, %d allocations", rate, snd.Sent(), allocs)
		if snd.Sent() < 10000 || allocs > 200 {
			t.Errorf("rate %v: %d allocations for %d datagrams", rate, allocs, snd.Sent())
		}
	}
}

// BenchmarkSendBatch is one sendmmsg of 64 datagrams over loopback, with
// the receiver drained in between: the sender's own cost per batch.
func BenchmarkSendBatch(b *testing.B) {
	testenv.RequireRoot(b)
	snd, rcv := loopbackPair(b, 0)
	k := snd.workers[0]
	k.clock = newMonoClock()
	b.ReportAllocs()
	for b.Loop() {
		if err := k.sendBatch(0, snd.cfg.Batch); err != nil {
			b.Fatal(err)
		}
		for {
			n, _ := rcv.recv(false)
			rcv.account(n)
			if n < recvBatch {
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(snd.Sent()), "ns/pkt")
}
