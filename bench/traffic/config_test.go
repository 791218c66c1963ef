package traffic

import (
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"
)

func validConfig() UDPConfig {
	return UDPConfig{
		Src:         netip.MustParseAddr("10.0.0.1"),
		Dst:         netip.MustParseAddr("10.0.0.2"),
		DstPort:     9000,
		SrcPortBase: 20000,
		Flows:       1,
		FrameSize:   64,
	}
}

func TestValidateAccepts(t *testing.T) {
	for name, mod := range map[string]func(*UDPConfig){
		"defaults":        func(*UDPConfig) {},
		"min frame":       func(c *UDPConfig) { c.FrameSize = 58 },
		"max frame":       func(c *UDPConfig) { c.FrameSize = 1514 },
		"jumbo":           func(c *UDPConfig) { c.MTU, c.FrameSize = 9000, 9014 },
		"rate":            func(c *UDPConfig) { c.Rate = 20000 },
		"fractional rate": func(c *UDPConfig) { c.Rate = 0.5 },
		"batch":           func(c *UDPConfig) { c.Batch = MaxBatch },
		"many flows":      func(c *UDPConfig) { c.Flows, c.Workers = MaxFlows, 2 },
		"last port":       func(c *UDPConfig) { c.SrcPortBase, c.Flows = 65535, 1 },
		"unspecified src": func(c *UDPConfig) { c.Src = netip.IPv4Unspecified() },
		"4in6":            func(c *UDPConfig) { c.Src = netip.MustParseAddr("::ffff:10.0.0.1") },
		"ipv6": func(c *UDPConfig) {
			c.Src, c.Dst, c.FrameSize = netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2"), 78
		},
		"loopback same ips": func(c *UDPConfig) { c.Src, c.Dst = netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.1") },
	} {
		c := validConfig()
		mod(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	for _, c := range []struct {
		field string // must appear in the message
		mod   func(*UDPConfig)
	}{
		{"Dst", func(c *UDPConfig) { c.Dst = netip.Addr{} }},
		{"Dst", func(c *UDPConfig) { c.Dst = netip.IPv4Unspecified() }},
		{"Src", func(c *UDPConfig) { c.Src = netip.Addr{} }},
		{"families", func(c *UDPConfig) { c.Src = netip.MustParseAddr("fd00::1") }},
		{"zoned", func(c *UDPConfig) {
			c.Src, c.Dst = netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::2%eth0")
			c.FrameSize = 100
		}},
		{"DstPort", func(c *UDPConfig) { c.DstPort = 0 }},
		{"Flows", func(c *UDPConfig) { c.Flows = 0 }},
		{"Flows", func(c *UDPConfig) { c.Flows = -1 }},
		{"Flows", func(c *UDPConfig) { c.Flows = MaxFlows + 1 }},
		{"SrcPortBase", func(c *UDPConfig) { c.SrcPortBase = 0 }},
		{"SrcPortBase", func(c *UDPConfig) { c.SrcPortBase, c.Flows = 65535, 2 }},
		{"DstPort", func(c *UDPConfig) {
			c.Src, c.Dst = netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.1")
			c.DstPort, c.Flows = 20001, 4
		}},
		{"MTU", func(c *UDPConfig) { c.MTU = 67 }},
		{"MTU", func(c *UDPConfig) { c.MTU = 65537 }},
		{"MTU", func(c *UDPConfig) {
			c.Src, c.Dst, c.FrameSize = netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2"), 100
			c.MTU = 1279
		}},
		{"FrameSize", func(c *UDPConfig) { c.FrameSize = 57 }},
		{"FrameSize", func(c *UDPConfig) { c.FrameSize = 0 }},
		{"FrameSize", func(c *UDPConfig) { c.FrameSize = 1515 }},
		{"FrameSize", func(c *UDPConfig) { c.MTU, c.FrameSize = 9000, 9015 }},
		{"FrameSize", func(c *UDPConfig) {
			c.Src, c.Dst = netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
			c.FrameSize = 77
		}},
		{"Rate", func(c *UDPConfig) { c.Rate = -1 }},
		{"Rate", func(c *UDPConfig) { c.Rate = math.NaN() }},
		{"Rate", func(c *UDPConfig) { c.Rate = math.Inf(1) }},
		{"Batch", func(c *UDPConfig) { c.Batch = -1 }},
		{"Batch", func(c *UDPConfig) { c.Batch = MaxBatch + 1 }},
		{"Workers", func(c *UDPConfig) { c.Workers = -1 }},
		{"Workers", func(c *UDPConfig) { c.Workers = 2 }},
	} {
		cfg := validConfig()
		c.mod(&cfg)
		err := cfg.Validate()
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: Validate = %v, want ErrInvalid", cfg, err)
			continue
		}
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("%+v: error %q does not name %s", cfg, err, c.field)
		}
	}
}

func TestNewUDPSenderValidates(t *testing.T) {
	// No privileges needed: validation fails before any socket is opened.
	cfg := validConfig()
	cfg.Flows = 0
	if _, err := NewUDPSender(nil, cfg); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NewUDPSender with Flows 0: %v, want ErrInvalid", err)
	}
	if _, err := NewUDPReceiver(nil, netip.Addr{}, 9000, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NewUDPReceiver without an address: %v, want ErrInvalid", err)
	}
	if _, err := NewUDPReceiver(nil, netip.MustParseAddr("127.0.0.1"), 9000, -1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NewUDPReceiver with rcvbuf -1: %v, want ErrInvalid", err)
	}
}

func TestErrnoCounts(t *testing.T) {
	var c errnoCounts
	c.add(105) // ENOBUFS on Linux
	c.add(105)
	c.add(111) // ECONNREFUSED
	c.add(100000)
	got := c.snapshot()
	if got["ENOBUFS"] != 2 || got["ECONNREFUSED"] != 1 || got["other"] != 1 || len(got) != 3 {
		t.Fatalf("snapshot = %v", got)
	}
}
