package spec

import "testing"

// xdp_batch_stamp is a dimension: it sets plan.Traffic.XDPBatchStamp and
// tells the cases apart by name.
func TestXDPBatchStamp(t *testing.T) {
	s := mustParse(t, "x.yaml", "defaults:\n  generator: xdp\ngroups:\n  - question: q\n    vary:\n      xdp_batch_stamp: [off, on]\n")
	cs := mustExpand(t, s)
	if len(cs) != 2 || cs[0].Case.Traffic.XDPBatchStamp || !cs[1].Case.Traffic.XDPBatchStamp {
		t.Fatalf("cases %q: want one without and one with batch stamps", names(cs))
	}
	if cs[0].Name != "veth/pkt=64/generator=xdp" || cs[1].Name != "veth/pkt=64/xdp_batch_stamp=on/generator=xdp" {
		t.Errorf("names %q", names(cs))
	}
	if hasKnob(cs[1], "xdp_batch_stamp") {
		t.Error("xdp_batch_stamp taken as a knob")
	}
}
