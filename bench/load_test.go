package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/bench/traffic"
	"github.com/vethbench/vethbench/internal/testenv"
)

// The tcp load's TCP_INFO read returns its error: a closed sender used to
// read as 0 segments and 0 retransmissions, a figure no one could tell
// from a real one.
func TestLoadTCPInfoError(t *testing.T) {
	testenv.RequireRoot(t)
	topo, err := topology.Realize(context.Background(), topology.Spec{Kind: topology.KindVeth})
	if err != nil {
		t.Fatal(err)
	}
	defer topo.Close()
	c := plan.Case{Topology: topo.Spec, Traffic: plan.Traffic{Generator: plan.GenTCP, Flows: 2, Senders: 1, Batch: 1}}
	l, err := newLoad(c, topo, dstPortBase, nil, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	if _, _, err := l.tcpOut(); err != nil {
		t.Fatalf("TCP_INFO of an open sender: %v", err)
	}
	l.gen.Close()
	segs, retrans, err := l.tcpOut()
	if !errors.Is(err, traffic.ErrClosed) {
		t.Errorf("TCP_INFO of a closed sender: %d segments, %d retransmissions, error %v; want traffic.ErrClosed", segs, retrans, err)
	}
}
