package vbpf_test

// An external test package: bench/traffic imports this package (for its
// histogram), so a test that runs vethbench's own generator cannot live in
// package vbpf.

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/bench/traffic"
	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/internal/testenv"
)

// TestDropsAccountingCloses runs vethbench's own generator flat out for a
// second into a receiver with a small buffer whose reader starts late, so
// that the buffer overflows for certain: every datagram sent is either
// received or counted as dropped, with a reason. A drop counter that
// matched nothing would close the accounting only if nothing was lost,
// so no drops at all is a failure, not a pass.
func TestDropsAccountingCloses(t *testing.T) {
	testenv.RequireRoot(t)
	for _, fam := range []topology.Family{topology.IPv4, topology.IPv6} {
		t.Run(string(fam), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			topo, err := topology.Realize(ctx, topology.Spec{Kind: topology.KindVeth, Family: fam})
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := topo.Close(); err != nil {
					t.Error(err)
				}
			}()
			port := uint16(20000 + rand.IntN(30000)) // the tracepoint is global: a port of its own
			d, err := vbpf.AttachDrops(vbpf.DropOptions{DstPort: port})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			rcv, err := traffic.NewUDPReceiver(topo.Receiver.NS, topo.Receiver.Addr, port, 64<<10)
			if err != nil {
				t.Fatal(err)
			}
			defer rcv.Close()
			snd, err := traffic.NewUDPSender(topo.Sender.NS, traffic.UDPConfig{
				Src: topo.Sender.Addr, Dst: topo.Receiver.Addr, DstPort: port,
				SrcPortBase: 40000, Flows: 2, Workers: 2, FrameSize: 78, // the least IPv6 allows
			})
			if err != nil {
				t.Fatal(err)
			}
			defer snd.Close()

			s0 := settled(t, d)
			rctx, stopRcv := context.WithCancel(context.Background())
			rdone := make(chan error, 1)
			go func() {
				// 200 ms of sending into a 64 KiB buffer nobody reads:
				// it overflows within the first few hundred datagrams.
				time.Sleep(200 * time.Millisecond)
				rdone <- rcv.Run(rctx)
			}()
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err = snd.Run(sctx)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			// Let the receiver drain its socket.
			for prev := ^uint64(0); rcv.Received() != prev; time.Sleep(100 * time.Millisecond) {
				prev = rcv.Received()
			}
			stopRcv()
			if err := <-rdone; err != nil {
				t.Fatal(err)
			}
			drops := settled(t, d).Sub(s0)
			sent, got := snd.Sent(), rcv.Received()
			t.Logf("sent %d, received %d, dropped %v", sent, got, drops)
			if sent != got+drops.Total() {
				t.Errorf("sent %d != received %d + dropped %d", sent, got, drops.Total())
			}
			if drops["SOCKET_RCVBUFF"] == 0 {
				t.Errorf("no SOCKET_RCVBUFF drop counted (drops %v) while the receiver did not read for 200 ms: the drop counter matches nothing, and the check above was trivial", drops)
			}
			if m, err := d.Missed(); err != nil || m != 0 {
				t.Errorf("the kernel skipped the program %d times (%v)", m, err)
			}
		})
	}
}

// settled waits until the drop counts stop moving and returns them.
func settled(t *testing.T, d *vbpf.Drops) vbpf.DropSnapshot {
	t.Helper()
	s, err := d.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for stable, deadline := 0, time.Now().Add(10*time.Second); time.Now().Before(deadline); {
		time.Sleep(25 * time.Millisecond)
		s2, err := d.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if s2.Total() != s.Total() {
			stable = 0
		} else if stable++; stable == 4 {
			return s2
		}
		s = s2
	}
	t.Fatal("drop counts still moving after 10s")
	return nil
}
