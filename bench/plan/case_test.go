package plan

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/field"
	"github.com/vethbench/vethbench/tuning"
)

func vethCase(pkt int) Case {
	return Case{
		Topology: topology.Spec{Kind: topology.KindVeth},
		Traffic:  Traffic{Generator: "udp", FrameSize: pkt, Flows: 1, Senders: 1, Batch: 64},
	}
}

var quick = Measure{Trials: 2, Duration: time.Second, Warmup: 200 * time.Millisecond, Confidence: 0.95}

func TestValidate(t *testing.T) {
	if err := vethCase(64).Validate(quick); err != nil {
		t.Fatal(err)
	}
	for want, mod := range map[string]func(*Case, *Measure){
		"trials: 0":            func(c *Case, m *Measure) { m.Trials = 0 },
		"duration: -1s":        func(c *Case, m *Measure) { m.Duration = -time.Second },
		"warmup: -1s":          func(c *Case, m *Measure) { m.Warmup = -time.Second },
		"pkt-size: 57 bytes":   func(c *Case, m *Measure) { c.Traffic.FrameSize = 57 },
		"pkt-size: 77 bytes":   func(c *Case, m *Measure) { c.Traffic.FrameSize = 77; c.Topology.Family = topology.IPv6 },
		"pkt-size: 9015 bytes": func(c *Case, m *Measure) { c.Traffic.FrameSize = 9015; c.Topology.MTU = 9000 },
		"flows: 0":             func(c *Case, m *Measure) { c.Traffic.Flows = 0 },
		"batch: 0":             func(c *Case, m *Measure) { c.Traffic.Batch = 0 },
		"senders: 2 out of":    func(c *Case, m *Measure) { c.Traffic.Senders = 2 },
		"rate: -1":             func(c *Case, m *Measure) { c.Traffic.Rate = -1 },
		"rcvbuf: -1":           func(c *Case, m *Measure) { c.Traffic.RcvBuf = -1 },
		// 2^31 reached the kernel as a negative int: a 2304-byte buffer.
		"rcvbuf: 2147483648 bytes out of range": func(c *Case, m *Measure) { c.Traffic.RcvBuf = 1 << 31 },
		"rcvbuf: 1073741824 bytes out of range": func(c *Case, m *Measure) { c.Traffic.RcvBuf = MaxRcvBuf + 1 },
		`generator: unknown`:                    func(c *Case, m *Measure) { c.Traffic.Generator = "pktgen" },
		"udp-gso: only the udp":                 func(c *Case, m *Measure) { c.Traffic.Generator, c.Traffic.GSO = "packet", 8 },
		"udp-gso: 65 out of range":              func(c *Case, m *Measure) { c.Traffic.GSO = 65 },
		"udp-gso: 45 datagrams":                 func(c *Case, m *Measure) { c.Traffic.GSO, c.Traffic.FrameSize = 45, 1514 },
		"qdisc-bypass: only":                    func(c *Case, m *Measure) { c.Traffic.QdiscBypass = true },
		"xdp-batch-stamp: only":                 func(c *Case, m *Measure) { c.Traffic.XDPBatchStamp = true },
		"cost-ns: -1 out of range":              func(c *Case, m *Measure) { c.Traffic.CostNS = -1 },
		"cost-ns: 20001 out of":                 func(c *Case, m *Measure) { c.Traffic.CostNS = MaxCostNS + 1 },
		"replica: -1 is negative":               func(c *Case, m *Measure) { c.Replica = -1 },
		"proto: only the rr":                    func(c *Case, m *Measure) { c.Traffic.Proto = "tcp" },
		`proto: "sctp"`:                         func(c *Case, m *Measure) { c.Traffic.Generator, c.Traffic.Proto = "rr", "sctp" },
		"rate: 1000: the tcp":                   func(c *Case, m *Measure) { c.Traffic.Generator, c.Traffic.Rate = "tcp", 1000 },
		"generator: xdp redirects": func(c *Case, m *Measure) {
			c.Traffic.Generator, c.Topology.Kind = "xdp", topology.KindLoopback
		},
		"generator: xdp needs NAPI": func(c *Case, m *Measure) {
			c.Traffic.Generator, c.Knobs = "xdp", []tuning.Setting{{Name: "gro", Value: "off"}}
		},
		`topology: unknown`:     func(c *Case, m *Measure) { c.Topology.Kind = "nope" },
		"confidence: 1 out of ": func(c *Case, m *Measure) { m.Confidence = 1 },
		// Not finite: NaN passes every range check written as comparisons,
		// and +Inf every lower bound.
		"rate: NaN is not a finite number":  func(c *Case, m *Measure) { c.Traffic.Rate = math.NaN() },
		"rate: +Inf is not a finite number": func(c *Case, m *Measure) { c.Traffic.Rate = math.Inf(1) },
		"rate: -Inf is not a finite number": func(c *Case, m *Measure) { c.Traffic.Rate = math.Inf(-1) },
		"rate: NaN is not a finite number (tcp)": func(c *Case, m *Measure) {
			c.Traffic.Generator, c.Traffic.Rate = "tcp", math.NaN()
		},
		"rate: +Inf is not a finite number (rr)": func(c *Case, m *Measure) {
			c.Traffic.Generator, c.Traffic.Rate = "rr", math.Inf(1)
		},
		"confidence: NaN is not a finite number":  func(c *Case, m *Measure) { m.Confidence = math.NaN() },
		"confidence: +Inf is not a finite number": func(c *Case, m *Measure) { m.Confidence = math.Inf(1) },
		"target: NaN is not a finite number":      func(c *Case, m *Measure) { m.Target = math.NaN() },
		"target: -Inf is not a finite number":     func(c *Case, m *Measure) { m.Target = math.Inf(-1) },
	} {
		c, m := vethCase(64), quick
		mod(&c, &m)
		err := c.Validate(m)
		want, _, _ := strings.Cut(want, " (") // a note telling two cases apart
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one containing %q", err, want)
		}
		// The CLI names the flag from the typed error, never from the text.
		var fe *field.Error
		if !errors.As(err, &fe) || !strings.HasPrefix(want, fe.Field+": ") {
			t.Errorf("error %v: want a *field.Error for the field of %q, got %#v", err, want, fe)
		}
	}
}

func TestCaseName(t *testing.T) {
	c := vethCase(64)
	if got := c.Name(); got != "veth/pkt=64" {
		t.Errorf("Name = %q", got)
	}
	c.Topology.Family, c.Traffic.Flows, c.Traffic.Senders, c.Traffic.Rate = topology.IPv6, 4, 2, 1e5
	if got := c.Name(); got != "veth/pkt=64/ipv6/flows=4/senders=2/rate=100000" {
		t.Errorf("Name = %q", got)
	}
	c = vethCase(64)
	c.Traffic.Generator, c.Traffic.Proto = "rr", "tcp"
	if got := c.Name(); got != "veth/pkt=64/generator=rr/proto=tcp" {
		t.Errorf("Name = %q", got)
	}
	c = vethCase(64)
	c.Traffic.Generator = "tcp"
	if got := c.Name(); got != "veth/generator=tcp" {
		t.Errorf("Name = %q", got)
	}
	c = vethCase(64)
	c.Traffic.GSO = 16
	if got := c.Name(); got != "veth/pkt=64/udp_gso=16" {
		t.Errorf("Name = %q", got)
	}
	// A replica is named apart from the first case; cost 0 and replica 1
	// are the defaults, left out.
	for _, tc := range []struct {
		cost, replica int
		want          string
	}{
		{0, 0, "veth/pkt=64"},
		{0, 1, "veth/pkt=64"},
		{0, 2, "veth/pkt=64/replica=2"},
		{70, 0, "veth/pkt=64/cost_ns=70"},
		{70, 3, "veth/pkt=64/cost_ns=70/replica=3"},
	} {
		c = vethCase(64)
		c.Traffic.CostNS, c.Replica = tc.cost, tc.replica
		if got := c.Name(); got != tc.want {
			t.Errorf("cost %d replica %d: Name = %q, want %q", tc.cost, tc.replica, got, tc.want)
		}
		if err := c.Validate(quick); err != nil {
			t.Errorf("cost %d replica %d: %v", tc.cost, tc.replica, err)
		}
	}
}
