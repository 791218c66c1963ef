package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The synthetic result files of reports/compare: veth/pkt=64 is 20% slower
// in NEW (REGRESSION), loopback/pkt=64 10% faster, veth/pkt=1400 the same,
// bridge/pkt=64 has 3 trials per side, macvlan-bridge/pkt=64 is only in
// BASE and ipvlan-l2/pkt=64 unsupported in NEW. The .txt files are the same
// results in the Go benchmark format.
const compareTestdata = "../../reports/compare/testdata/"

func TestCompareRegressionExitsOne(t *testing.T) {
	stdout, stderr, code := runCLI(t, "compare", compareTestdata+"base.json", compareTestdata+"new.json", "--format", "markdown")
	if code != exitFailure {
		t.Fatalf("exit code %d, want %d (a regression); stderr: %s", code, exitFailure, stderr)
	}
	first, _, _ := strings.Cut(stdout, "\n")
	if !strings.HasPrefix(first, "1 regression, 1 improvement, 1 no change, 0 inconclusive, 1 too few trials, 2 not compared of 6 cases; geomean pps ratio ") {
		t.Errorf("headline %q", first)
	}
	for _, want := range []string{
		"| **REGRESSION** | `veth/pkt=64` |", "| TOO FEW TRIALS | `bridge/pkt=64` |",
		"- `macvlan-bridge/pkt=64`: only in BASE", "- `ipvlan-l2/pkt=64`: unsupported in NEW",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("markdown lacks %q:\n%s", want, stdout)
		}
	}
	if want := "vethbench: 1 regression in pps: veth/pkt=64 -19.4%"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}

func TestCompareNoRegressionExitsZero(t *testing.T) {
	stdout, stderr, code := runCLI(t, "compare", compareTestdata+"base.json", compareTestdata+"base.json")
	if code != exitOK {
		t.Fatalf("exit code %d, want 0; stderr: %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "0 regressions, 0 improvements, 5 no change, 0 inconclusive, 1 too few trials of 6 cases") {
		t.Errorf("text output:\n%s", stdout)
	}
}

// Go benchmark files compare like result files; JSON is the stable form.
func TestCompareBenchfmtJSON(t *testing.T) {
	stdout, stderr, code := runCLI(t, "compare", compareTestdata+"base.txt", compareTestdata+"new.txt", "--format", "json", "--seed", "7")
	if code != exitFailure {
		t.Fatalf("exit code %d, want %d; stderr: %s", code, exitFailure, stderr)
	}
	var rep struct {
		Base    struct{ Format string }
		Method  struct{ Seed uint64 }
		Summary struct{ Regressions, Improvements int }
		Cases   []struct{ Name, Verdict string }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if rep.Base.Format != "benchfmt" || rep.Method.Seed != 7 || rep.Summary.Regressions != 1 || rep.Summary.Improvements != 1 ||
		rep.Cases[0].Name != "veth/pkt=64" || rep.Cases[0].Verdict != "REGRESSION" {
		t.Errorf("report %+v", rep)
	}
}

// A lower-is-better metric: NEW's latency rose where its pps fell.
func TestCompareLatencyMetric(t *testing.T) {
	stdout, _, code := runCLI(t, "compare", compareTestdata+"base.json", compareTestdata+"new.json", "--metric", "p99", "--threshold", "0.05")
	if code != exitFailure || !strings.Contains(stdout, "REGRESSION      veth/pkt=64") || !strings.Contains(stdout, "Metric p99 (lower is better") {
		t.Errorf("exit code %d:\n%s", code, stdout)
	}
}

func TestCompareBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	prose := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(prose, []byte("nothing to see\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base, nw := compareTestdata+"base.json", compareTestdata+"new.json"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{base, compareTestdata + "malformed.txt"}, compareTestdata + "malformed.txt:9: malformed Go benchmark file: parsing measurement"},
		{[]string{base, prose}, "neither a vethbench result (JSON) nor Go benchmark output"},
		{[]string{base, filepath.Join(dir, "missing.json")}, "no such file or directory"},
		{[]string{base}, "accepts 2 arg(s), received 1"},
		{[]string{base, nw, "--metric", "bogus"}, `--metric: unknown metric "bogus" (pps, device_pps, cpu_ns_per_pkt, p50, p99, p999, bytes_per_sec, stage_sender, stage_qdisc, stage_device, stage_socket)`},
		{[]string{base, nw, "--alpha", "1.5"}, "--alpha: 1.5 out of range (0, 1)"},
		{[]string{base, nw, "--threshold", "-1"}, "--threshold: -1 out of range [0, 1)"},
		{[]string{base, nw, "--format", "html"}, `--format: unknown format "html" (text, markdown, json)`},
		{[]string{base, nw, "--ignore", "a=b"}, `--ignore: "a=b" is not a name key`},
		{[]string{compareTestdata + "base.txt", compareTestdata + "new.txt", "--metric", "allocs/op"}, "--metric: no allocs/op values in BASE"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := runCLI(t, append([]string{"compare"}, tc.args...)...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d; stderr %q", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q, want %q", stderr, tc.want)
			}
			if strings.Contains(stderr, "bad input: ") {
				t.Errorf("stderr %q repeats the library's prefix", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q on bad input", stdout)
			}
		})
	}
}

// Two sweeps measured interleaved (reports/compare/testdata/paired-*.json):
// NEW ran on a host 10% faster and bridge lost 5% against veth there. No
// absolute figure regressed, the in-run ratio did: exit 1 by default, 0
// with --fail-on absolute.
func TestCompareInRunRegressionExitsOne(t *testing.T) {
	base, nw := compareTestdata+"paired-base.json", compareTestdata+"paired-new.json"
	stdout, stderr, code := runCLI(t, "compare", base, nw)
	if code != exitFailure {
		t.Fatalf("exit code %d, want %d (an in-run regression); stderr: %s", code, exitFailure, stderr)
	}
	if want := "vethbench: 1 regression in pps: in-run bridge/pkt=64 over veth/pkt=64 -5.0%"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	for _, want := range []string{"in-run ratios (pps", "REGRESSION  Which device costs least per packet?  bridge/pkt=64 / veth/pkt=64", "400/400 blocks", "(--fail-on both)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if _, stderr, code := runCLI(t, "compare", base, nw, "--fail-on", "absolute"); code != exitOK {
		t.Errorf("--fail-on absolute: exit code %d, want 0; stderr %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "compare", base, nw, "--fail-on", "in-run", "--format", "json"); code != exitFailure {
		t.Errorf("--fail-on in-run: exit code %d, want 1; stderr %s", code, stderr)
	}
	_, stderr, code = runCLI(t, "compare", base, nw, "--fail-on", "sometimes")
	if code != exitUsage || !strings.Contains(stderr, `--fail-on: unknown value "sometimes" (both, absolute, in-run)`) {
		t.Errorf("--fail-on sometimes: exit code %d, stderr %q", code, stderr)
	}
}

// A comparison that gave no verdict exits 2 (a gate must not pass on it),
// after writing its report, and says why.
func TestCompareNothingComparedExitsTwo(t *testing.T) {
	raw, err := os.ReadFile(compareTestdata + "base.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// variant writes base.json changed by mod to dir/name.
	variant := func(name string, mod func(cases []any) []any) string {
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		cases, _ := doc["cases"].([]any)
		doc["cases"] = mod(cases)
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := variant("empty.json", func([]any) []any { return []any{} })
	renamed := variant("renamed.json", func(cases []any) []any {
		for _, c := range cases {
			c.(map[string]any)["name"] = c.(map[string]any)["name"].(string) + "/x=1"
		}
		return cases
	})
	zero := variant("zero.json", func(cases []any) []any {
		for _, c := range cases {
			trials, _ := c.(map[string]any)["trials"].([]any)
			for _, tr := range trials {
				for k, v := range tr.(map[string]any) {
					if _, ok := v.(float64); ok && k != "index" {
						tr.(map[string]any)[k] = 0
					}
				}
			}
		}
		return cases
	})
	base := compareTestdata + "base.json"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{empty, base}, "nothing compared: BASE " + empty + " has no cases"},
		{[]string{base, empty}, "nothing compared: NEW " + empty + " has no cases"},
		{[]string{empty, empty}, "nothing compared: BASE and NEW have no cases"},
		{[]string{base, renamed}, "nothing compared: no case in common (6 in BASE only, 6 in NEW only"},
		{[]string{zero, zero}, "nothing compared: none of the"},
		{[]string{zero, zero, "--format", "json"}, "nothing compared: none of the"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := runCLI(t, append([]string{"compare"}, tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit code %d, stderr %q; want %d and %q", code, stderr, exitUsage, tc.want)
			}
			if stdout == "" {
				t.Error("no report written")
			}
			if strings.Contains(stdout, "NaN") {
				t.Errorf("report has NaN:\n%s", stdout)
			}
		})
	}
	// The comparison page likewise: written, and exit 2.
	page := filepath.Join(dir, "c.html")
	_, stderr, code := runCLI(t, "report", "--compare", empty, base, "-o", page)
	if code != exitUsage || !strings.Contains(stderr, "nothing compared: BASE "+empty+" has no cases") {
		t.Errorf("report --compare: exit code %d, stderr %q; want %d, nothing compared", code, stderr, exitUsage)
	}
	if fi, err := os.Stat(page); err != nil || fi.Size() == 0 {
		t.Errorf("report --compare wrote no page: %v", err)
	}
}
