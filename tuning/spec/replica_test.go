package spec

import (
	"slices"
	"strings"
	"testing"
)

// cost_ns is a dimension: it sets plan.Traffic.CostNS and names the case.
func TestCostNS(t *testing.T) {
	s := mustParse(t, "c.yaml", "defaults:\n  cost_ns: 70\ngroups:\n  - question: q\n    vary:\n      pkt_size: [64]\n")
	cs := mustExpand(t, s)
	if len(cs) != 1 || cs[0].Case.Traffic.CostNS != 70 || cs[0].Name != "veth/pkt=64/cost_ns=70" {
		t.Fatalf("cases %q (cost %d), want veth/pkt=64/cost_ns=70", names(cs), cs[0].Case.Traffic.CostNS)
	}
	if hasKnob(cs[0], "cost_ns") {
		t.Error("cost_ns taken as a knob")
	}
}

// An A/A/B question: a value given twice in a vary list makes a replica,
// a case of its own, identical but for its name; the baseline is the
// first.
func TestReplicas(t *testing.T) {
	s := mustParse(t, "aab.yaml", `groups:
  - question: Does the tool see a 2% cost?
    set: {topology: veth, pkt_size: 64}
    vary:
      cost_ns: [0, 0, 70]
`)
	cs := mustExpand(t, s)
	want := []string{"veth/pkt=64", "veth/pkt=64/replica=2", "veth/pkt=64/cost_ns=70"}
	if got := names(cs); !slices.Equal(got, want) {
		t.Fatalf("cases %q, want %q", got, want)
	}
	a, a2 := cs[0].Case, cs[1].Case
	if a.Replica > 1 || a2.Replica != 2 || cs[2].Case.Replica > 1 {
		t.Errorf("replicas %d %d %d, want 0 or 1, 2, 0 or 1", a.Replica, a2.Replica, cs[2].Case.Replica)
	}
	a2.Replica = a.Replica
	if a2.Name() != a.Name() || a2.Topology != a.Topology || a2.Traffic != a.Traffic || !slices.Equal(a2.Knobs, a.Knobs) {
		t.Errorf("the replica differs from the first case: %+v vs %+v", cs[1].Case, cs[0].Case)
	}
	if !slices.Equal(cs[0].BaselineOf, []int{0}) || cs[1].BaselineOf != nil || cs[2].BaselineOf != nil {
		t.Errorf("baselines %v %v %v: want the first case", cs[0].BaselineOf, cs[1].BaselineOf, cs[2].BaselineOf)
	}
	if q := s.Questions(cs); q[0].Baseline != "veth/pkt=64" {
		t.Errorf("baseline %q", q[0].Baseline)
	}

	// A baseline naming the repeated value selects the first of them.
	s = mustParse(t, "aab.yaml", "groups:\n  - question: q\n    vary:\n      cost_ns: [70, 0, 0]\n    baseline: {cost_ns: 0}\n")
	cs = mustExpand(t, s)
	if q := s.Questions(cs); q[0].Baseline != "veth/pkt=64" {
		t.Errorf("baseline {cost_ns: 0} selects %q, want veth/pkt=64", q[0].Baseline)
	}

	// Replicas number the cases they repeat: every point with a repeated
	// value is one, whichever list repeats.
	s = mustParse(t, "r.yaml", "groups:\n  - question: q\n    vary:\n      pkt_size: [64, 128, 64]\n      cost_ns: [0, 0]\n")
	want = []string{
		"veth/pkt=64", "veth/pkt=64/replica=2",
		"veth/pkt=128", "veth/pkt=128/replica=2",
		"veth/pkt=64/replica=3", "veth/pkt=64/replica=4",
	}
	if got := names(mustExpand(t, s)); !slices.Equal(got, want) {
		t.Errorf("cases %q, want %q", got, want)
	}

	// The same case from values that differ is still an error.
	_, err := Parse("m.yaml", []byte("groups:\n  - question: q\n    vary:\n      mtu: [0, 0, 1500]\n"), fakeCatalog{})
	if err == nil || !strings.Contains(err.Error(), "1500 makes the same case as 0") {
		t.Errorf("mtu 0 and 1500: err = %v, want the same-case error", err)
	}
}
