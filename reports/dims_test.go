package reports

import (
	"slices"
	"testing"

	"github.com/vethbench/vethbench/reports/result"
)

// TestCaseDimsGrammar checks that the reports read a name with the runner's
// grammar: udp_gso, qdisc_bypass and proto are dimensions, not knobs.
func TestCaseDimsGrammar(t *testing.T) {
	d := caseDims(&result.Case{Name: "veth/pkt=64/udp_gso=16/qdisc_bypass=on/proto=tcp/gro=on"})
	for k, want := range map[string]string{
		dimDevice: "veth", dimPkt: "64", "udp_gso": "16", "qdisc_bypass": "on", "proto": "tcp", "gro": "on",
		dimFamily: "ipv4", dimQueues: "1x1", "generator": "udp", "batch": "64",
	} {
		if d[k] != want {
			t.Errorf("%s = %q, want %q (dims %v)", k, d[k], want, d)
		}
	}
	for _, k := range []string{"udp_gso", "qdisc_bypass", "proto", dimPkt, dimDevice} {
		if isKnob(k) {
			t.Errorf("%s taken for a knob", k)
		}
	}
	if !isKnob("gro") {
		t.Error("gro not taken for a knob")
	}
	if _, ok := d["pkt"]; ok {
		t.Errorf("pkt left under the grammar's key, want %s: %v", dimPkt, d)
	}
}

func TestCaseDimsFallbacks(t *testing.T) {
	for _, c := range []struct {
		name string
		c    result.Case
		want map[string]string
	}{
		{"tcp takes the frame size", result.Case{Name: "bridge/generator=tcp", Traffic: result.Traffic{FrameSize: 1500}},
			map[string]string{dimDevice: "bridge", dimPkt: "1500", "generator": "tcp", "proto": "default"}},
		{"no frame size", result.Case{Name: "bridge/generator=tcp"},
			map[string]string{dimDevice: "bridge", dimPkt: "default"}},
		{"empty name takes the topology", result.Case{Topology: result.Topology{Kind: "macvlan", Mode: "bridge"}, Traffic: result.Traffic{FrameSize: 64}},
			map[string]string{dimDevice: "macvlan-bridge", dimPkt: "64"}},
		{"not the grammar", result.Case{Name: "veth//pkt=64"},
			map[string]string{dimDevice: "veth//pkt=64", dimFamily: "ipv4"}},
	} {
		d := caseDims(&c.c)
		for k, want := range c.want {
			if d[k] != want {
				t.Errorf("%s: %s = %q, want %q (dims %v)", c.name, k, d[k], want, d)
			}
		}
	}
}

// TestCompareKnobOverGeneratorShape checks that a knob is compared before a
// dimension of the traffic when the question names neither.
func TestCompareKnobOverGeneratorShape(t *testing.T) {
	var cases []result.Case
	for _, name := range []string{"veth/pkt=64/gro=off", "veth/pkt=64/gro=on", "veth/pkt=64/udp_gso=16/gro=off", "veth/pkt=64/udp_gso=16/gro=on"} {
		cases = append(cases, synthCase(name, 300000, "Which is faster?"))
	}
	g := analyze(synthResult(cases...)).Groups[0]
	if g.Compare != "gro" || len(g.Context) != 1 || g.Context[0] != "udp_gso" {
		t.Errorf("compare %q context %v, want gro with udp_gso", g.Compare, g.Context)
	}
	if got := g.Values["udp_gso"]; !slices.Equal(got, []string{"0", "16"}) {
		t.Errorf("udp_gso values %v, want [0 16]", got)
	}
}
