package traffic

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const testDstPort = 9000
const testSrcPortBase = 20000

func realize(t testing.TB, spec topology.Spec) *topology.Topology {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topo, err := topology.Realize(ctx, spec)
	if err != nil {
		t.Fatalf("realize %s/%s: %v", spec.Kind, spec.Family, err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Errorf("close topology: %v", err)
		}
	})
	return topo
}

// pairResult is what one sender/receiver run measured.
type pairResult struct {
	snd     *UDPSender
	rcv     *UDPReceiver
	elapsed time.Duration // sender's running time
	sndErr  error
	rcvErr  error
}

// runPair starts a receiver on topo.Receiver, then a sender from
// topo.Sender for d, waits for the receiver to drain, and stops it. The
// caller may adjust cfg's addresses: runPair fills Src, Dst, DstPort and
// SrcPortBase when they are zero.
func runPair(t testing.TB, topo *topology.Topology, cfg UDPConfig, d time.Duration) pairResult {
	t.Helper()
	return runPairWith(t, topo, cfg, d, nil)
}

// runPairWith is runPair with prep called on the receiver before it runs.
func runPairWith(t testing.TB, topo *topology.Topology, cfg UDPConfig, d time.Duration, prep func(*UDPReceiver)) pairResult {
	t.Helper()
	if !cfg.Src.IsValid() {
		cfg.Src = topo.Sender.Addr
	}
	if !cfg.Dst.IsValid() {
		cfg.Dst = topo.Receiver.Addr
	}
	if cfg.DstPort == 0 {
		cfg.DstPort = testDstPort
	}
	if cfg.SrcPortBase == 0 {
		cfg.SrcPortBase = testSrcPortBase
	}
	rcv, err := NewUDPReceiver(topo.Receiver.NS, cfg.Dst, cfg.DstPort, 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	if prep != nil {
		prep(rcv)
	}
	snd, err := NewUDPSender(topo.Sender.NS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snd.Close() })

	res := pairResult{snd: snd, rcv: rcv}
	rctx, rcancel := context.WithCancel(context.Background())
	defer rcancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		res.rcvErr = rcv.Run(rctx)
	}()
	sctx, scancel := context.WithTimeout(context.Background(), d)
	defer scancel()
	start := time.Now()
	res.sndErr = snd.Run(sctx)
	res.elapsed = time.Since(start)
	// Let the receiver drain what is still queued.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		before := rcv.Received() + rcv.Invalid()
		time.Sleep(20 * time.Millisecond)
		if rcv.Received() >= snd.Sent() || rcv.Received()+rcv.Invalid() == before {
			break
		}
	}
	rcancel()
	wg.Wait()
	if err := snd.Close(); err != nil {
		t.Errorf("close sender: %v", err)
	}
	if err := rcv.Close(); err != nil {
		t.Errorf("close receiver: %v", err)
	}
	return res
}
