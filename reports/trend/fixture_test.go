package trend

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// The real history in testdata/history: 19 runs of examples/quick.yaml on
// the development VM (2 vCPUs, kernel 6.18), one after another, quiet,
// made by scripts/trend-history.sh: runs 1-9 as they are, runs 10-14 with
// sweep --cost-ns 400 (every case's receiver spends 400 ns more CPU per
// packet, names unchanged: veth about 11% slower), runs 15-19 as they are
// again. docs/trend.md has its figures.
const fixtureDir = "testdata/history"

func fixture(t *testing.T, runs ...int) *Report {
	t.Helper()
	var args []string
	for _, r := range runs {
		args = append(args, filepath.Join(fixtureDir, fmt.Sprintf("run%02d", r), "result.json"))
	}
	if len(runs) == 0 {
		args = []string{fixtureDir}
	}
	h, err := Load(context.Background(), args)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze(h, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Groups) != 1 {
		t.Fatalf("%d groups, want 1", len(rep.Groups))
	}
	return rep
}

func upTo(n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = i + 1
	}
	return r
}

// near reports whether s has a change in direction dir within one run of
// run index at.
func near(s Series, at int, dir string) *Change {
	for i, c := range s.Changes {
		if c.Run >= at-1 && c.Run <= at+1 && c.Direction == dir {
			return &s.Changes[i]
		}
	}
	return nil
}

// The whole history: the knob's start and end are found in every case's
// pps, and the newest run, back at the old level, fails nothing.
func TestFixtureWhole(t *testing.T) {
	rep := fixture(t)
	g := rep.Groups[0]
	if len(g.Runs) != 19 || len(g.Events) != 2 || g.Events[0].Run != 9 || g.Events[1].Run != 14 {
		t.Fatalf("runs %d, events %+v: want 19 runs and cost_ns events at run indices 9 and 14", len(g.Runs), g.Events)
	}
	for _, kase := range []string{"veth/pkt=64", "bridge/pkt=64", "macvlan-bridge/pkt=64"} {
		s := series(t, rep, kase, MetricPPS)
		down, up := near(s, 9, DirRegression), near(s, 14, DirImprovement)
		if down == nil || up == nil || !down.Beyond || down.Step > -0.05 || len(down.Events) == 0 {
			t.Errorf("%s pps changes %+v: want a regression beyond 5%% at run index 9±1 next to the cost_ns event, and an improvement at 14±1", kase, s.Changes)
		}
		if s.Verdict.Status != StatusImproved || !strings.Contains(s.Verdict.Detail, "back within") {
			t.Errorf("%s pps verdict %+v: want improved, back at the old level", kase, s.Verdict)
		}
	}
	// cost_ns is additive: it slows veth relatively more than bridge, so
	// bridge's ratio to veth rose while it was set and fell back after.
	// Falling back is not a regression.
	r := series(t, rep, "bridge/pkt=64", MetricPPSRatio)
	if near(r, 9, DirImprovement) == nil || near(r, 14, DirRegression) == nil || r.Verdict.Status != StatusOK || !strings.HasPrefix(r.Verdict.Detail, "back:") {
		t.Errorf("bridge pps ratio: changes %+v verdict %+v: want up at 9, down at 14, ok (back)", r.Changes, r.Verdict)
	}
	if rep.Failing() {
		t.Errorf("the whole history fails: %s", rep.Summary())
	}
}

// Runs 1-14: the newest run continues the regression that started at run
// 10 (index 9): the job fails, naming it.
func TestFixtureRegression(t *testing.T) {
	rep := fixture(t, upTo(14)...)
	for _, kase := range []string{"veth/pkt=64", "bridge/pkt=64", "macvlan-bridge/pkt=64"} {
		s := series(t, rep, kase, MetricPPS)
		c := s.Verdict.Change
		if s.Verdict.Status != StatusRegression || c == nil || c.Run < 8 || c.Run > 10 || !(c.Lo < c.Step && c.Step < c.Hi && c.Hi < -0.03) {
			t.Errorf("%s pps verdict %+v change %+v: want a regression from run index 9±1, its interval beyond -3%%", kase, s.Verdict, c)
		}
	}
	if !rep.Failing() {
		t.Error("runs 1-14 do not fail the job")
	}
	// The in-run ratio rose: not a regression.
	if r := series(t, rep, "bridge/pkt=64", MetricPPSRatio); r.Verdict.Failing() {
		t.Errorf("bridge pps ratio %+v", r.Verdict)
	}
}

// Runs 1-10: one slow night, the newest. Not a change point; watch.
func TestFixtureOneNight(t *testing.T) {
	rep := fixture(t, upTo(10)...)
	s := series(t, rep, "veth/pkt=64", MetricPPS)
	if len(s.Changes) != 0 || s.Verdict.Status != StatusWatch {
		t.Errorf("veth pps changes %+v verdict %+v: want no change point, watch", s.Changes, s.Verdict)
	}
	if rep.Failing() {
		t.Errorf("one slow night failed the job: %s", rep.Summary())
	}
}

// Runs 1-14 with the regression acknowledged for veth: veth stops
// failing, the others do not.
func TestFixtureAcknowledged(t *testing.T) {
	h, err := Load(context.Background(), func() []string {
		var a []string
		for _, r := range upTo(14) {
			a = append(a, filepath.Join(fixtureDir, fmt.Sprintf("run%02d", r), "result.json"))
		}
		return a
	}())
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Acks = []Ack{{Case: "veth/*", Since: h.runs[9].Started, Reason: "cost_ns 400, on purpose"}}
	rep, err := Analyze(h, o)
	if err != nil {
		t.Fatal(err)
	}
	if s := series(t, rep, "veth/pkt=64", MetricPPS); s.Verdict.Status != StatusAcknowledged {
		t.Errorf("veth pps verdict %+v", s.Verdict)
	}
	if s := series(t, rep, "bridge/pkt=64", MetricPPS); s.Verdict.Status != StatusRegression || !rep.Failing() {
		t.Errorf("bridge pps verdict %+v", s.Verdict)
	}
}
