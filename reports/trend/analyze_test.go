package trend

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/reports/result"
)

var t0 = time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)

// run builds a result of one night: veth/pkt=64 at pps (CPU per packet
// 1e9/pps), with a question whose in-run ratio is ratio.
func run(night int, pps, ratio float64) *result.Result {
	r := result.NewResult()
	r.StartedAt = t0.Add(time.Duration(night) * 24 * time.Hour)
	r.Host = result.Host{Name: "ci-1", Kernel: "6.18.0", Arch: "amd64", CPUModel: "EPYC", VCPUs: 2}
	r.Tool.Version = "v1"
	r.Settings = result.Settings{Trials: 6, Duration: time.Second, Method: "interleaved"}
	est := func(v float64) result.Estimate {
		return result.Estimate{Median: v, Lo: v * 0.99, Hi: v * 1.01, N: 6, Level: 0.97}
	}
	for _, c := range []struct {
		name string
		pps  float64
	}{{"veth/pkt=64", pps}, {"bridge/pkt=64", pps * ratio}} {
		r.Cases = append(r.Cases, result.Case{Name: c.name, Status: result.StatusOK, Summary: &result.Summary{
			PPS: est(c.pps), DevicePPS: est(c.pps), CPUNsPerPkt: est(1e9 / c.pps), P99: est(200000)}})
	}
	r.Questions = []result.Question{{Text: "q", Baseline: "veth/pkt=64", Paired: &result.Paired{Cases: []result.PairedCase{
		{Case: "veth/pkt=64"},
		{Case: "bridge/pkt=64", PPSRatio: &result.Ratio{Ratio: ratio, Lo: ratio * 0.995, Hi: ratio * 1.005}, CPURatio: &result.Ratio{Ratio: 1 / ratio, Lo: 0.995 / ratio, Hi: 1.005 / ratio}},
	}}}}
	return r
}

// noise is a fixed pattern of night-to-night wobble, within ±1%.
func noise(i int) float64 { return 1 + 0.01*math.Sin(float64(7*i+3)) }

func history(rs ...*result.Result) *History {
	h := &History{}
	for i, r := range rs {
		rd := extract(r)
		rd.Path = filepath.Join("h", "run"+string(rune('a'+i)), "result.json")
		h.runs = append(h.runs, rd)
	}
	return h
}

func series(t *testing.T, rep *Report, kase, metric string) Series {
	t.Helper()
	for _, s := range rep.Groups[0].Series {
		if s.Case == kase && s.Metric.Name == metric {
			return s
		}
	}
	t.Fatalf("no series %s %s", kase, metric)
	return Series{}
}

// steps: 14 nights at 300k pps, then 6 at 270k (-10%).
func steps(n, at int, drop float64) []*result.Result {
	var rs []*result.Result
	for i := range n {
		v := 300000 * noise(i)
		if i >= at {
			v *= 1 - drop
		}
		rs = append(rs, run(i, v, 0.68*noise(i+50)))
	}
	return rs
}

func TestAnalyzeStep(t *testing.T) {
	rep, err := Analyze(history(steps(20, 14, 0.10)...), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := series(t, rep, "veth/pkt=64", MetricPPS)
	if len(s.Changes) != 1 || s.Changes[0].Run != 14 {
		t.Fatalf("changes %+v, want one at run index 14", s.Changes)
	}
	c := s.Changes[0]
	if c.Direction != DirRegression || !c.Beyond || c.Step > -0.08 || c.Step < -0.12 || !(c.Lo < c.Step && c.Step < c.Hi) {
		t.Errorf("change %+v, want a regression of about -10%% inside its interval", c)
	}
	if s.Verdict.Status != StatusRegression || !rep.Failing() {
		t.Errorf("verdict %+v, failing %v: want a regression that fails", s.Verdict, rep.Failing())
	}
	// CPU per packet rose by the same step: for it, a rise is the regression.
	if cpu := series(t, rep, "veth/pkt=64", MetricCPU); cpu.Verdict.Status != StatusRegression || cpu.Changes[0].Step < 0.08 {
		t.Errorf("cpu verdict %+v changes %+v", cpu.Verdict, cpu.Changes)
	}
	// The ratio did not move.
	if r := series(t, rep, "bridge/pkt=64", MetricPPSRatio); len(r.Changes) != 0 || r.Verdict.Status != StatusOK || r.Baseline != "veth/pkt=64" {
		t.Errorf("ratio %+v", r)
	}
	if s.Band == nil || s.Band.To != 13 || math.Abs(s.Band.Level/300000-1) > 0.01 {
		t.Errorf("band %+v, want the level before the step, up to run index 13", s.Band)
	}
	if !strings.Contains(s.Verdict.Detail, "from run 15") {
		t.Errorf("detail %q should name run 15 (1-based)", s.Verdict.Detail)
	}
}

func TestAnalyzeSmallStepDoesNotFail(t *testing.T) {
	o := DefaultOptions()
	o.Threshold = 0.15
	rep, err := Analyze(history(steps(20, 14, 0.10)...), o)
	if err != nil {
		t.Fatal(err)
	}
	s := series(t, rep, "veth/pkt=64", MetricPPS)
	if len(s.Changes) != 1 || s.Changes[0].Beyond || s.Verdict.Status != StatusOK || rep.Failing() {
		t.Errorf("a 10%% step under a 15%% threshold: changes %+v verdict %+v", s.Changes, s.Verdict)
	}
}

func TestAnalyzeAcknowledged(t *testing.T) {
	rs := steps(20, 14, 0.10)
	o := DefaultOptions()
	// A change point's place is known to about a run: an ack one run
	// off still covers it.
	o.Acks = []Ack{{Case: "veth/*", Metric: MetricPPS, Since: rs[13].StartedAt, Reason: "kernel 6.19"},
		{Case: "macvlan/*", Since: rs[3].StartedAt, Reason: "stale"}}
	rep, err := Analyze(history(rs...), o)
	if err != nil {
		t.Fatal(err)
	}
	s := series(t, rep, "veth/pkt=64", MetricPPS)
	if s.Verdict.Status != StatusAcknowledged || s.Changes[0].Ack == nil || !strings.Contains(s.Verdict.Detail, "kernel 6.19") {
		t.Errorf("verdict %+v", s.Verdict)
	}
	// CPU was not acknowledged (metric pps only): it still fails.
	if cpu := series(t, rep, "veth/pkt=64", MetricCPU); cpu.Verdict.Status != StatusRegression || !rep.Failing() {
		t.Errorf("cpu verdict %+v", cpu.Verdict)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "macvlan/*") {
		t.Errorf("notes %q: want the stale acknowledgement said", rep.Notes)
	}
	// Three runs off: not covered.
	o.Acks = []Ack{{Case: "veth/pkt=64", Since: rs[11].StartedAt, Reason: "x"}}
	rep, _ = Analyze(history(rs...), o)
	if s := series(t, rep, "veth/pkt=64", MetricPPS); s.Verdict.Status != StatusRegression {
		t.Errorf("an ack 3 runs before the change covered it: %+v", s.Verdict)
	}
}

func TestAnalyzeOutlierNight(t *testing.T) {
	// One bad night in the middle and one as the newest run.
	rs := steps(20, 99, 0)
	rs[8].Cases[0].Summary.PPS.Median *= 0.75
	rs[19].Cases[0].Summary.PPS.Median *= 0.80
	rep, err := Analyze(history(rs...), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := series(t, rep, "veth/pkt=64", MetricPPS)
	if len(s.Changes) != 0 {
		t.Errorf("outlier nights made change points: %+v", s.Changes)
	}
	if s.Verdict.Status != StatusWatch || rep.Failing() {
		t.Errorf("verdict %+v, failing %v: want watch, not failing", s.Verdict, rep.Failing())
	}
}

func TestAnalyzeBrokenAndAbsent(t *testing.T) {
	rs := steps(8, 99, 0)
	rs[7].Cases[0] = result.Case{Name: "veth/pkt=64", Status: result.StatusFailed, Error: "setup: boom"}
	rs[7].Cases[1].Status, rs[7].Cases[1].Error, rs[7].Cases[1].Summary = result.StatusUnsupported, "no ipvlan", nil
	rep, err := Analyze(history(rs...), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if s := series(t, rep, "veth/pkt=64", MetricPPS); s.Verdict.Status != StatusBroken || !strings.Contains(s.Verdict.Detail, "boom") {
		t.Errorf("veth verdict %+v", s.Verdict)
	}
	if s := series(t, rep, "bridge/pkt=64", MetricPPS); s.Verdict.Status != StatusAbsent || s.Verdict.Failing() {
		t.Errorf("bridge verdict %+v", s.Verdict)
	}
	if !rep.Failing() {
		t.Error("a broken case must fail the job")
	}
}

func TestAnalyzeShort(t *testing.T) {
	rep, err := Analyze(history(steps(3, 99, 0)...), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if s := series(t, rep, "veth/pkt=64", MetricPPS); s.Verdict.Status != StatusShort || rep.Failing() {
		t.Errorf("verdict %+v", s.Verdict)
	}
}

func TestAnalyzeGroupsAndEvents(t *testing.T) {
	rs := steps(10, 99, 0)
	rs[5].Host.Kernel = "6.19.0"
	rs[6].Host.Kernel = "6.19.0"
	other := run(30, 100000, 0.5)
	other.Host.Name = "ci-2"
	rep, err := Analyze(history(append(rs, other)...), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Groups) != 2 || !strings.HasPrefix(rep.Groups[0].Key, "ci-2") || len(rep.Notes) != 1 {
		t.Fatalf("groups %d (first %q), notes %q: want ci-2's first (it has the newest run) and a note", len(rep.Groups), rep.Groups[0].Key, rep.Notes)
	}
	g := rep.Groups[1]
	if len(g.Runs) != 10 || len(g.Events) != 2 || g.Events[0].Run != 5 || !strings.Contains(g.Events[0].What, "6.18.0 → 6.19.0") {
		t.Errorf("events %+v", g.Events)
	}
	o := DefaultOptions()
	o.ByKernel = true
	rep, _ = Analyze(history(rs...), o)
	if len(rep.Groups) != 2 {
		t.Errorf("--by-kernel: %d groups, want 2 (6.18, whose later runs join the first, and 6.19)", len(rep.Groups))
	}
}

func TestAnalyzeOptions(t *testing.T) {
	for _, o := range []Options{{Threshold: 0, PValue: 0.001, Level: 0.95, Window: 50}, {Threshold: 0.03, PValue: 0.9, Level: 0.95, Window: 50},
		{Threshold: 0.03, PValue: 0.001, Level: 1, Window: 50}, {Threshold: 0.03, PValue: 0.001, Level: 0.95, Window: 3}} {
		if _, err := Analyze(history(steps(5, 99, 0)...), o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: err %v, want ErrInvalid", o, err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	for i, r := range steps(5, 99, 0) {
		d := filepath.Join(dir, "night"+string(rune('0'+4-i)))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteFile(filepath.Join(d, "result.json")); err != nil {
			t.Fatal(err)
		}
	}
	// Not results: skipped and said, in a directory.
	os.WriteFile(filepath.Join(dir, "trend.json"), []byte(`{"schema":"vethbench-trend"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "acknowledged.yaml"), []byte("acknowledged: []\n"), 0o644)
	// Too deep: not searched.
	deep := filepath.Join(dir, "a", "b")
	os.MkdirAll(deep, 0o755)
	os.WriteFile(filepath.Join(deep, "x.json"), []byte(`garbage`), 0o644)
	h, err := Load(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if h.Runs() != 5 || len(h.Skipped) != 1 || !strings.Contains(h.Skipped[0].Reason, "not a vethbench result") {
		t.Fatalf("runs %d skipped %+v", h.Runs(), h.Skipped)
	}
	// Ordered by start time, not by path (the directories count down).
	for i := 1; i < h.Runs(); i++ {
		if !h.runs[i-1].Started.Before(h.runs[i].Started) {
			t.Fatalf("run %d not after run %d", i, i-1)
		}
	}
	// The same run twice counts once.
	h, err = Load(context.Background(), []string{dir, filepath.Join(dir, "night0", "result.json")})
	if err != nil || h.Runs() != 5 || len(h.Skipped) != 2 {
		t.Errorf("duplicate: err %v runs %d skipped %+v", err, h.Runs(), h.Skipped)
	}
	// A named file that is not a result is bad input.
	var ie *InputError
	if _, err := Load(context.Background(), []string{filepath.Join(dir, "trend.json")}); !errors.As(err, &ie) {
		t.Errorf("named non-result: %v, want *InputError", err)
	}
	if _, err := Load(context.Background(), []string{filepath.Join(dir, "nope")}); !errors.As(err, &ie) {
		t.Errorf("missing path: %v, want *InputError", err)
	}
	if _, err := Load(context.Background(), []string{t.TempDir()}); !errors.Is(err, ErrNothing) {
		t.Errorf("empty directory: %v, want ErrNothing", err)
	}
}

func TestReadAcks(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "a.yaml")
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	acks, err := ReadAcks(context.Background(), write("acknowledged:\n  - case: veth/*\n    metric: pps\n    since: 2026-11-20T03:00:04Z\n    reason: kernel 6.19\n"))
	if err != nil || len(acks) != 1 || acks[0].Since != time.Date(2026, 11, 20, 3, 0, 4, 0, time.UTC) {
		t.Fatalf("acks %+v err %v", acks, err)
	}
	for bad, want := range map[string]string{
		"acknowledged:\n  - metric: pps\n    since: 2026-11-20T03:00:04Z\n    reason: r\n":              "case is missing",
		"acknowledged:\n  - case: a\n    metric: ppz\n    since: 2026-11-20T03:00:04Z\n    reason: r\n": "metric \"ppz\"",
		"acknowledged:\n  - case: a\n    reason: r\n":                                                   "since is missing",
		"acknowledged:\n  - case: a\n    since: 2026-11-20T03:00:04Z\n":                                 "reason is missing",
		"acknowledged:\n  - case: a\n    since: 2026-11-20T03:00:04Z\n    reason: r\n    extra: 1\n":    "not an acknowledgements file",
		"acknowledged:\n  - case: '['\n    since: 2026-11-20T03:00:04Z\n    reason: r\n":                "not a valid pattern",
	} {
		var ae *AckError
		if _, err := ReadAcks(context.Background(), write(bad)); !errors.As(err, &ae) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want an *AckError with %q", bad, err, want)
		}
	}
}

func TestCaseMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"veth/pkt=64", "veth/pkt=64", true},
		{"veth/*", "veth/pkt=64", true},
		{"veth/*", "veth/pkt=64/gro=on", true},
		{"*", "macvlan-bridge/pkt=64", true},
		{"*/pkt=1400", "bridge/pkt=1400", true},
		{"veth/*", "bridge/pkt=64", false},
		{"veth/pkt=6?", "veth/pkt=64", true},
		{"veth/pkt=64", "veth/pkt=64/gro=on", false},
	} {
		if got := caseMatch(c.pattern, c.name); got != c.want {
			t.Errorf("caseMatch(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}
