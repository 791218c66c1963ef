package traffic

import (
	"fmt"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
)

// BenchmarkUDPVeth64 sends 64-byte frames as fast as possible through one
// veth pair to a draining receiver and reports the sender's and the
// receiver's packets per second. Each iteration is a fixed 2 s window, so
// the rates, not ns/op, are the result. workers=2 sends two flows from two
// goroutines (two CPUs).
func BenchmarkUDPVeth64(b *testing.B) {
	testenv.RequireRoot(b)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			topo := realize(b, topology.Spec{Kind: topology.KindVeth})
			const window = 2 * time.Second
			var sent, recv uint64
			var elapsed time.Duration
			for b.Loop() {
				r := runPair(b, topo, UDPConfig{Flows: workers, Workers: workers, FrameSize: 64}, window)
				if r.sndErr != nil || r.rcvErr != nil {
					b.Fatalf("sender: %v, receiver: %v", r.sndErr, r.rcvErr)
				}
				sent += r.snd.Sent()
				recv += r.rcv.Received()
				elapsed += r.elapsed
				if errs := r.snd.Errors(); len(errs) > 0 {
					b.Logf("send errors: %v", errs)
				}
			}
			b.ReportMetric(float64(sent)/elapsed.Seconds(), "pps")
			b.ReportMetric(float64(recv)/elapsed.Seconds(), "rx-pps")
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(sent), "ns/pkt")
			b.ReportMetric(0, "ns/op") // meaningless: each iteration is one window
		})
	}
}
