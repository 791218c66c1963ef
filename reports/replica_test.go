package reports

import (
	"strings"
	"testing"
)

// An A/A/B question (cost_ns: [0, 0, 80]): the replica is compared with
// the baseline like any other case, not left alone in a context of its
// own ("with replica 2, only cost_ns 0 ran").
func TestReplicaComparedWithBaseline(t *testing.T) {
	const q = "Does vethbench see cost_ns 800, and nothing between identical cases?"
	r := pairedResult(q,
		pairedArm{name: "veth/pkt=64"},
		pairedArm{"veth/pkt=64/replica=2", ratio(1.001, 0.997, 1.005, 0.6), ratio(0.999, 0.996, 1.002, 0.5)},
		pairedArm{"veth/pkt=64/cost_ns=800", ratio(0.84, 0.83, 0.85, 1e-6), ratio(1.2, 1.19, 1.21, 1e-6)})
	a := analyze(r)
	g := a.Groups[0]
	if g.Compare != "cost_ns" || len(g.Context) != 0 {
		t.Errorf("compare %q, context %q: want cost_ns alone", g.Compare, g.Context)
	}
	got := answer(g).Plain()
	for _, want := range []string{
		"cost_ns 0 (replica 2) delivers 1.001x cost_ns 0's pps (95% CI 0.997–1.005, no measurable effect)",
		"cost_ns 800 delivers 0.84x cost_ns 0's pps",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "only") {
		t.Errorf("a case left alone:\n%s", got)
	}
	// Where only replicas vary (A/A), they are what is compared.
	r = pairedResult(q, pairedArm{name: "veth/pkt=64"},
		pairedArm{"veth/pkt=64/replica=2", ratio(1.001, 0.997, 1.005, 0.6), ratio(0.999, 0.996, 1.002, 0.5)})
	if got := answer(analyze(r).Groups[0]).Plain(); !strings.Contains(got, "replica had no measurable effect: against replica 1") {
		t.Errorf("A/A answer:\n%s", got)
	}
}
