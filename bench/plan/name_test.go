package plan

import (
	"maps"
	"strconv"
	"testing"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/bench/traffic"
	"github.com/vethbench/vethbench/reports/result"
	"github.com/vethbench/vethbench/tuning"
)

// The result's name table and the traffic package agree on the batch a
// name leaves out.
func TestNameDefaults(t *testing.T) {
	for _, d := range result.NameDims {
		if d.Key == result.DimBatch && d.Default != strconv.Itoa(traffic.DefaultBatch) {
			t.Fatalf("result.NameDims batch default %q, traffic.DefaultBatch %d", d.Default, traffic.DefaultBatch)
		}
	}
}

// Every case the runner can be asked for names itself so that reports
// parse back the same dimensions: one variation per dimension and per
// generator key, and all of them at once.
func TestNameRoundTrip(t *testing.T) {
	type variant struct {
		mod  func(*Case)
		want map[string]string // dimensions that must differ from the default
	}
	variants := map[string]variant{
		"base":      {func(*Case) {}, map[string]string{result.DimPkt: "64"}},
		"ipv6":      {func(c *Case) { c.Topology.Family = topology.IPv6; c.Traffic.FrameSize = 78 }, map[string]string{result.DimFamily: "ipv6", result.DimPkt: "78"}},
		"mtu":       {func(c *Case) { c.Topology.MTU = 9000 }, map[string]string{result.DimMTU: "9000"}},
		"mtu-def":   {func(c *Case) { c.Topology.MTU = 1500 }, map[string]string{}},
		"queues":    {func(c *Case) { c.Topology.TxQueues, c.Topology.RxQueues = 2, 2 }, map[string]string{result.DimQueues: "2x2"}},
		"queues-pr": {func(c *Case) { c.Topology.PeerTxQueues, c.Topology.PeerRxQueues = 4, 4 }, map[string]string{result.DimQueues: "1x1:4x4"}},
		"queues-eq": {func(c *Case) {
			c.Topology = topology.Spec{Kind: "veth", TxQueues: 2, RxQueues: 2, PeerTxQueues: 2, PeerRxQueues: 2}
		}, map[string]string{result.DimQueues: "2x2"}},
		"flows":     {func(c *Case) { c.Traffic.Flows, c.Traffic.Senders = 4, 2 }, map[string]string{result.DimFlows: "4", result.DimSenders: "2"}},
		"rate":      {func(c *Case) { c.Traffic.Rate = 12500.5 }, map[string]string{result.DimRate: "12500.5"}},
		"rate-big":  {func(c *Case) { c.Traffic.Rate = 1e6 }, map[string]string{result.DimRate: "1e+06"}},
		"batch":     {func(c *Case) { c.Traffic.Batch = 8 }, map[string]string{result.DimBatch: "8"}},
		"rcvbuf":    {func(c *Case) { c.Traffic.RcvBuf = 1 << 20 }, map[string]string{result.DimRcvBuf: "1048576"}},
		"udp_gso":   {func(c *Case) { c.Traffic.GSO = 16 }, map[string]string{result.DimUDPGSO: "16"}},
		"packet":    {func(c *Case) { c.Traffic.Generator = GenPacket }, map[string]string{result.DimGenerator: "packet"}},
		"bypass":    {func(c *Case) { c.Traffic.Generator, c.Traffic.QdiscBypass = GenPacket, true }, map[string]string{result.DimGenerator: "packet", result.DimQdiscBypass: "on"}},
		"xdp":       {func(c *Case) { c.Traffic.Generator = GenXDP }, map[string]string{result.DimGenerator: "xdp"}},
		"xdp-stamp": {func(c *Case) { c.Traffic.Generator, c.Traffic.XDPBatchStamp = GenXDP, true }, map[string]string{result.DimGenerator: "xdp", result.DimXDPStamp: "on"}},
		"tcp":       {func(c *Case) { c.Traffic.Generator = GenTCP }, map[string]string{result.DimGenerator: "tcp", result.DimPkt: ""}},
		"cost":      {func(c *Case) { c.Traffic.CostNS = 70 }, map[string]string{result.DimCostNS: "70"}},
		"replica":   {func(c *Case) { c.Replica = 2 }, map[string]string{result.DimReplica: "2"}},
		"replica-1": {func(c *Case) { c.Replica = 1 }, map[string]string{result.DimReplica: "1"}},
		"rr":        {func(c *Case) { c.Traffic.Generator = GenRR }, map[string]string{result.DimGenerator: "rr", result.DimProto: "udp"}},
		"rr-tcp":    {func(c *Case) { c.Traffic.Generator, c.Traffic.Proto = GenRR, "tcp" }, map[string]string{result.DimGenerator: "rr", result.DimProto: "tcp"}},
		"macvlan":   {func(c *Case) { c.Topology = topology.Spec{Kind: topology.KindMacvlan, Mode: "passthru"} }, nil},
		"loopback":  {func(c *Case) { c.Topology = topology.Spec{Kind: topology.KindLoopback} }, nil},
		"lo-mtu":    {func(c *Case) { c.Topology = topology.Spec{Kind: topology.KindLoopback, MTU: 1500} }, map[string]string{result.DimMTU: "1500"}},
		"knobs": {func(c *Case) {
			c.Knobs = []tuning.Setting{{Name: "txqueuelen", Value: "5000"}, {Name: "gro", Value: "on"}, {Name: "sysctl.net.core.rmem_max", Value: "1048576"}}
		}, nil},
		"all": {func(c *Case) {
			c.Topology = topology.Spec{Kind: topology.KindIPvlan, Mode: "l3", Family: topology.IPv6, MTU: 9000, TxQueues: 2, RxQueues: 2}
			c.Traffic = Traffic{Generator: GenRR, Proto: "tcp", FrameSize: 200, Flows: 8, Senders: 2, Rate: 1000, Batch: 4, RcvBuf: 4096}
			c.Knobs = []tuning.Setting{{Name: "qdisc", Value: "pfifo_fast"}}
		}, nil},
	}
	for name, v := range variants {
		c := vethCase(64)
		v.mod(&c)
		s := c.Name()
		n, err := result.ParseName(s)
		if err != nil {
			t.Errorf("%s: ParseName(%q): %v", name, s, err)
			continue
		}
		if n.String() != s {
			t.Errorf("%s: %q parses and formats back as %q", name, s, n.String())
		}
		// The parsed dimensions are the case's own fields.
		spec := c.Topology.WithDefaults()
		dev := string(spec.Kind)
		if spec.Mode != "" {
			dev += "-" + spec.Mode
		}
		if n.Device != dev {
			t.Errorf("%s: %q: device %q, want %q", name, s, n.Device, dev)
		}
		knobs := map[string]string{}
		for _, k := range c.Knobs {
			knobs[k.Name] = k.Value
		}
		if !maps.Equal(n.Knobs, knobs) {
			t.Errorf("%s: %q: knobs %v, want %v", name, s, n.Knobs, knobs)
		}
		if g := n.Dims[result.DimGenerator]; g != c.Traffic.Generator {
			t.Errorf("%s: %q: generator %q, want %q", name, s, g, c.Traffic.Generator)
		}
		if c.Traffic.Generator != GenTCP && n.Dims[result.DimPkt] != strconv.Itoa(c.Traffic.FrameSize) {
			t.Errorf("%s: %q: pkt %q, want %d", name, s, n.Dims[result.DimPkt], c.Traffic.FrameSize)
		}
		for _, d := range []struct {
			key  string
			want string
		}{
			{result.DimFamily, string(spec.Family)},
			{result.DimFlows, strconv.Itoa(c.Traffic.Flows)},
			{result.DimSenders, strconv.Itoa(c.Traffic.Senders)},
			{result.DimBatch, strconv.Itoa(c.Traffic.Batch)},
			{result.DimRcvBuf, strconv.Itoa(c.Traffic.RcvBuf)},
			{result.DimUDPGSO, strconv.Itoa(c.Traffic.GSO)},
			{result.DimCostNS, strconv.Itoa(c.Traffic.CostNS)},
			{result.DimReplica, strconv.Itoa(max(c.Replica, 1))},
		} {
			if n.Dims[d.key] != d.want {
				t.Errorf("%s: %q: %s %q, want %q", name, s, d.key, n.Dims[d.key], d.want)
			}
		}
		if got, _ := strconv.ParseFloat(n.Dims[result.DimRate], 64); got != c.Traffic.Rate {
			t.Errorf("%s: %q: rate %v, want %v", name, s, got, c.Traffic.Rate)
		}
		for k, want := range v.want {
			if n.Dims[k] != want {
				t.Errorf("%s: %q: %s = %q, want %q", name, s, k, n.Dims[k], want)
			}
		}
	}
}

// Every dimension of the table is reachable from some case: a new key
// in result.NameDims needs a variant above.
func TestNameDimsAllWritten(t *testing.T) {
	c := Case{
		Topology: topology.Spec{Kind: topology.KindVeth, Family: topology.IPv6, MTU: 9000, TxQueues: 2, RxQueues: 2},
		Traffic:  Traffic{Generator: GenPacket, FrameSize: 200, Flows: 8, Senders: 2, Rate: 1000, Batch: 4, RcvBuf: 4096, QdiscBypass: true},
	}
	rr := c
	rr.Traffic = Traffic{Generator: GenRR, FrameSize: 200, Flows: 1, Senders: 1, Batch: 64}
	gso := c
	gso.Traffic = Traffic{Generator: GenUDP, FrameSize: 200, Flows: 1, Senders: 1, Batch: 64, GSO: 4}
	xdp := c
	xdp.Traffic = Traffic{Generator: GenXDP, FrameSize: 200, Flows: 1, Senders: 1, Batch: 64, XDPBatchStamp: true}
	aa := c
	aa.Traffic.CostNS, aa.Replica = 70, 2
	seen := map[string]bool{}
	for _, cc := range []Case{c, rr, gso, xdp, aa} {
		n, err := result.ParseName(cc.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range result.NameDims {
			if n.Dims[d.Key] != d.Default {
				seen[d.Key] = true
			}
		}
	}
	for _, d := range result.NameDims {
		if !seen[d.Key] {
			t.Errorf("no case writes dimension %q", d.Key)
		}
	}
}
