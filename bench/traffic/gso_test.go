package traffic

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
)

// With UDP GSO every datagram still arrives, in order, with its own
// header: the kernel cut each send into GSO datagrams, and on veth the
// aggregate crossed the pair as one skb (rx_packets counts fewer packets
// than datagrams).
func TestUDPGSO(t *testing.T) {
	testenv.RequireRoot(t)
	for _, fam := range []topology.Family{topology.IPv4, topology.IPv6} {
		t.Run(string(fam), func(t *testing.T) {
			topo := realize(t, topology.Spec{Kind: topology.KindVeth, Family: fam})
			pkts0, _ := rxCounters(t, topo.Receiver)
			cfg := UDPConfig{Flows: 2, Workers: 2, FrameSize: 200, GSO: 16, Batch: 4, Rate: 40000}
			r := runPair(t, topo, cfg, 300*time.Millisecond)
			pkts1, _ := rxCounters(t, topo.Receiver)
			if r.sndErr != nil || r.rcvErr != nil {
				t.Fatalf("sender: %v, receiver: %v", r.sndErr, r.rcvErr)
			}
			sent, got := r.snd.Sent(), r.rcv.Received()
			t.Logf("sent %d datagrams, received %d, gaps %d, device rx_packets +%d, errors %v", sent, got, r.rcv.SeqGaps(), pkts1-pkts0, r.snd.Errors())
			if sent == 0 || sent%16 != 0 {
				t.Fatalf("sent %d datagrams, want a positive multiple of 16", sent)
			}
			if got != sent || r.rcv.SeqGaps() != 0 || r.rcv.Invalid() != 0 {
				t.Errorf("received %d (gaps %d, invalid %d) of %d sent; drops: %s", got, r.rcv.SeqGaps(), r.rcv.Invalid(), sent, dropReport(t, topo))
			}
			if d := pkts1 - pkts0; d >= sent {
				t.Errorf("rx_packets grew by %d for %d datagrams: the aggregates were segmented before the device", d, sent)
			}
		})
	}
}

func TestGSOValidate(t *testing.T) {
	base := UDPConfig{Flows: 1, FrameSize: 64}
	for _, tc := range []struct {
		gso, frame int
		ok         bool
	}{{0, 64, true}, {64, 64, true}, {65, 64, false}, {-1, 64, false}, {64, 1514, false}, {40, 1514, true}} {
		c := base
		c.GSO, c.FrameSize = tc.gso, tc.frame
		c.Src, c.Dst, c.DstPort, c.SrcPortBase = netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), 1, 2
		err := c.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("GSO %d frame %d: err %v, want ok=%v", tc.gso, tc.frame, err, tc.ok)
		}
	}
}
