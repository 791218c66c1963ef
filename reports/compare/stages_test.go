package compare

import (
	"testing"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// --metric stage_qdisc and the like compare one stage's mean time per
// trial: a case whose datagrams now wait three times as long in the qdisc
// is a regression of that stage, the others are not, and the stage's
// direction is lower-is-better.
func TestStageMetrics(t *testing.T) {
	const path = "../testdata/sweep-stages.json"
	base, err := result.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	nw, err := result.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	slower := 0
	for i := range nw.Cases {
		c := &nw.Cases[i]
		if c.Name != "bridge/pkt=64" {
			continue
		}
		for j := range c.Trials {
			st := c.Trials[j].Stages
			if st == nil {
				continue
			}
			for k := range st.Stages {
				if st.Stages[k].Name == result.StageQdisc {
					st.Stages[k].MeanNs *= 3
					slower++
				}
			}
		}
	}
	if slower < 4 {
		t.Fatalf("the fixture's bridge case has %d trials with a qdisc stage", slower)
	}
	for _, c := range []struct {
		metric string
		want   map[string]stats.Verdict
	}{
		{"stage_qdisc", map[string]stats.Verdict{"bridge/pkt=64": stats.Regression, "veth/pkt=64": stats.NoChange}},
		// The same trials: NO CHANGE, or INCONCLUSIVE where the trials
		// spread wider than the threshold (bridge's sender stage).
		{"stage_sender", map[string]stats.Verdict{"veth/pkt=64": stats.NoChange}},
	} {
		o := DefaultOptions()
		o.Metric = c.metric
		rep, err := Compare(FromResult("base.json", base), FromResult("new.json", nw), o)
		if err != nil {
			t.Fatalf("%s: %v", c.metric, err)
		}
		if rep.Metric.HigherIsBetter {
			t.Errorf("%s: higher is better?", c.metric)
		}
		got := byName(rep)
		for name, cc := range got {
			if cc.Verdict == stats.Regression && c.want[name] != stats.Regression {
				t.Errorf("%s %s: REGRESSION", c.metric, name)
			}
		}
		for name, v := range c.want {
			if got[name].Verdict != v {
				t.Errorf("%s %s: %s, want %s", c.metric, name, got[name].Verdict, v)
			}
		}
	}

	// A result measured without stages has no values of them: said, not
	// compared as equal.
	o := DefaultOptions()
	o.Metric = "stage_qdisc"
	_, err = Compare(load(t, "testdata/base.json"), load(t, "testdata/new.json"), o)
	t.Logf("without stages: %v", err)
	if err == nil {
		t.Error("stage_qdisc on results without stages compared")
	}
}
