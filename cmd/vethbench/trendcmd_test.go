package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The real history of reports/trend: 19 quick sweeps, runs 10-14 slowed
// by sweep --cost-ns 400 (see reports/trend/fixture_test.go).
const trendHistory = "../../reports/trend/testdata/history"

func trendRuns(n int) []string {
	var a []string
	for i := 1; i <= n; i++ {
		a = append(a, fmt.Sprintf("%s/run%02d/result.json", trendHistory, i))
	}
	return a
}

func TestTrendWholeHistoryExitsZero(t *testing.T) {
	stdout, stderr, code := runCLI(t, "trend", trendHistory)
	if code != exitOK {
		t.Fatalf("exit %d, want 0; stderr %s", code, stderr)
	}
	for _, want := range []string{"19 runs from ", "run 10 (", "cost_ns 0 → 400 (validation knob)", "IMPROVED     veth/pkt=64, pps: improved: pps rose", ": exit 0"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text lacks %q:\n%s", want, stdout)
		}
	}
}

func TestTrendRegressionExitsOne(t *testing.T) {
	stdout, stderr, code := runCLI(t, append([]string{"trend", "--format", "markdown"}, trendRuns(14)...)...)
	if code != exitFailure {
		t.Fatalf("exit %d, want 1; stderr %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "## vethbench trend: ") || !strings.Contains(stdout, "**Regressions (fail the job)**") || !strings.Contains(stdout, "- **veth/pkt=64**, pps: regression: pps fell") {
		t.Errorf("markdown:\n%s", stdout)
	}
	if !strings.Contains(stderr, "series fail in the newest run: veth/pkt=64 pps -") {
		t.Errorf("stderr %q", stderr)
	}
}

// A history directory's acknowledged.yaml is read without --ack, and an
// acknowledged regression no longer fails the job.
func TestTrendAcknowledgementsBesideHistory(t *testing.T) {
	dir := t.TempDir()
	for i, f := range trendRuns(14) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := filepath.Join(dir, fmt.Sprintf("night%02d", i+1))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "result.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Run 10's start, as trend prints it.
	var r struct {
		StartedAt string `json:"started_at"`
	}
	b, _ := os.ReadFile(trendRuns(10)[9])
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	since := r.StartedAt[:19] + "Z"
	ack := "acknowledged:\n  - case: '*'\n    since: " + since + "\n    reason: cost_ns 400, on purpose\n"
	if err := os.WriteFile(filepath.Join(dir, "acknowledged.yaml"), []byte(ack), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "trend.json")
	_, stderr, code := runCLI(t, "trend", "--format", "json", "-o", out, dir)
	if code != exitOK {
		t.Fatalf("exit %d, want 0 (acknowledged); stderr %s", code, stderr)
	}
	var rep struct {
		Schema  string
		Failing bool
		Ack     string `json:"acknowledgements"`
		Groups  []struct {
			Series []struct {
				Case    string
				Metric  struct{ Name string }
				Verdict struct{ Status string }
			}
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Schema != "vethbench-trend" || rep.Failing || !strings.HasSuffix(rep.Ack, "acknowledged.yaml") {
		t.Errorf("schema %q failing %v ack %q", rep.Schema, rep.Failing, rep.Ack)
	}
	found := false
	for _, s := range rep.Groups[0].Series {
		if s.Case == "veth/pkt=64" && s.Metric.Name == "pps" {
			found = s.Verdict.Status == "acknowledged"
		}
	}
	if !found {
		t.Errorf("veth pps not acknowledged: %s", b)
	}
	if !strings.Contains(stderr, "json: "+out) {
		t.Errorf("stderr %q should name the file written", stderr)
	}
}

func TestTrendBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	notResult := filepath.Join(dir, "x.json")
	os.WriteFile(notResult, []byte(`{"hello": 1}`), 0o644)
	badAck := filepath.Join(dir, "ack.yaml")
	os.WriteFile(badAck, []byte("acknowledged:\n  - case: veth\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"trend"}, "requires at least 1 arg"},
		{[]string{"trend", "--format", "pdf", trendHistory}, `--format: unknown format "pdf"`},
		{[]string{"trend", notResult}, "not a readable vethbench result"},
		{[]string{"trend", filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"trend", t.TempDir()}, "nothing to judge: no result file"},
		{[]string{"trend", "--ack", badAck, trendHistory}, "acknowledged[0]: since is missing"},
		{[]string{"trend", "--threshold", "3", trendHistory}, "--threshold: 3 out of range"},
		{[]string{"trend", "--p-value", "0", trendHistory}, "--p-value: 0 out of range"},
		{[]string{"trend", "-o", dir, trendHistory}, "is a directory"},
	} {
		_, stderr, code := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
