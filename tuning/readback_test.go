package tuning

import (
	"context"
	"testing"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
)

func TestReadDeviceVeth(t *testing.T) {
	testenv.RequireRoot(t)
	topo, err := topology.Realize(context.Background(), topology.Spec{Kind: topology.KindVeth, MTU: 9000, TxQueues: 2, RxQueues: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer topo.Close()
	for _, ep := range []topology.Endpoint{topo.Sender, topo.Receiver} {
		k, err := ReadDevice(ep.NS, ep.Ifname)
		if err != nil {
			t.Fatal(err)
		}
		if len(k.Errors) > 0 {
			t.Errorf("%s: errors reading knobs: %v", ep.Ifname, k.Errors)
		}
		if k.Kind != "veth" || k.MTU != 9000 || k.TxQueues != 2 || k.RxQueues != 2 {
			t.Errorf("%s: read back %+v, want veth, mtu 9000, 2 queues each way", ep.Ifname, k)
		}
		// veth's default: no queueing, txqueuelen 1000 that does nothing.
		if k.Qdisc != "noqueue" || k.TxQueueLen != 1000 {
			t.Errorf("%s: qdisc %q txqueuelen %d, want noqueue and 1000", ep.Ifname, k.Qdisc, k.TxQueueLen)
		}
		if k.XDP != "none" {
			t.Errorf("%s: xdp %q on a fresh veth", ep.Ifname, k.XDP)
		}
		if _, ok := k.Features["rx-gro"]; !ok {
			t.Errorf("%s: rx-gro not read: %v", ep.Ifname, k.Features)
		}
		if !k.Features["tx-generic-segmentation"] {
			t.Errorf("%s: GSO reads off on a fresh veth: %v", ep.Ifname, k.Features)
		}
	}
	if _, err := ReadDevice(topo.Sender.NS, "nonexistent0"); err == nil {
		t.Error("reading a missing device did not fail")
	}
}
