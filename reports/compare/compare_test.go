package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/internal/field"
	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

func load(t *testing.T, path string) *Input {
	t.Helper()
	in, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func run(t *testing.T, base, nw string, mod func(*Options)) *Report {
	t.Helper()
	o := DefaultOptions()
	if mod != nil {
		mod(&o)
	}
	rep, err := Compare(load(t, base), load(t, nw), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func byName(r *Report) map[string]Case {
	m := map[string]Case{}
	for _, c := range r.Cases {
		m[c.Name] = c
	}
	return m
}

// The synthetic files give one verdict of each kind, and the cases that
// cannot be compared are listed with the reason.
func TestVerdicts(t *testing.T) {
	rep := run(t, "testdata/base.json", "testdata/new.json", nil)
	cases := byName(rep)
	for name, want := range map[string]stats.Verdict{
		"veth/pkt=64":           stats.Regression,
		"veth/pkt=1400":         stats.NoChange,
		"loopback/pkt=64":       stats.Improvement,
		"bridge/pkt=64":         stats.TooFewTrials,
		"macvlan-bridge/pkt=64": "",
		"ipvlan-l2/pkt=64":      "",
	} {
		c, ok := cases[name]
		if !ok {
			t.Errorf("%s: missing from the report", name)
			continue
		}
		if c.Verdict != want {
			t.Errorf("%s: verdict %q, want %q (note %q)", name, c.Verdict, want, c.Note)
		}
	}
	if c := cases["veth/pkt=64"]; c.Ratio == nil || c.Ratio.Ratio < 0.78 || c.Ratio.Ratio > 0.82 || c.Ratio.Hi > 0.9 {
		t.Errorf("veth/pkt=64: ratio %+v, want about 0.8", c.Ratio)
	}
	if c := cases["macvlan-bridge/pkt=64"]; c.In != InBase || c.Note != "only in BASE" {
		t.Errorf("macvlan-bridge: in %q note %q", c.In, c.Note)
	}
	if c := cases["ipvlan-l2/pkt=64"]; c.NewStatus != result.StatusUnsupported || !strings.Contains(c.Note, "unsupported in NEW: kernel has no ipvlan") {
		t.Errorf("ipvlan: status %q note %q", c.NewStatus, c.Note)
	}
	if c := cases["bridge/pkt=64"]; c.Test.InFamily || !strings.Contains(c.Note, "run at least 4 per side") {
		t.Errorf("bridge: in family %v, note %q", c.Test.InFamily, c.Note)
	}
	s := rep.Summary
	if s.Cases != 6 || s.Regressions != 1 || s.Improvements != 1 || s.NoChange != 1 || s.TooFewTrials != 1 || s.NotCompared != 2 || s.Inconclusive != 0 {
		t.Errorf("summary %+v", s)
	}
	if rep.Method.Family != 3 {
		t.Errorf("BH family of %d cases, want 3 (TOO FEW TRIALS left out)", rep.Method.Family)
	}
	if s.Geomean == nil || s.GeomeanCases != 4 {
		t.Errorf("geomean %+v over %d cases, want 4", s.Geomean, s.GeomeanCases)
	}
	if !rep.Failed() {
		t.Error("a regression must fail the comparison")
	}
	var order []string
	for _, c := range rep.Cases {
		order = append(order, c.Name)
	}
	want := []string{"veth/pkt=64", "loopback/pkt=64", "bridge/pkt=64", "veth/pkt=1400", "ipvlan-l2/pkt=64", "macvlan-bridge/pkt=64"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
}

// Only a regression fails: a file against itself, and a pair with only an
// improvement, pass.
func TestFailedOnlyOnRegression(t *testing.T) {
	if rep := run(t, "testdata/base.json", "testdata/base.json", nil); rep.Failed() || rep.Summary.NoChange != 5 {
		t.Errorf("BASE against itself: failed %v, summary %+v", rep.Failed(), rep.Summary)
	}
	base, nw := load(t, "testdata/base.json"), load(t, "testdata/new.json")
	keep := func(in *Input, names ...string) {
		var cs []InputCase
		for _, c := range in.Cases {
			for _, n := range names {
				if c.Name == n {
					cs = append(cs, c)
				}
			}
		}
		in.Cases = cs
	}
	keep(base, "loopback/pkt=64", "veth/pkt=1400")
	keep(nw, "loopback/pkt=64", "veth/pkt=1400")
	rep, err := Compare(base, nw, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() || rep.Summary.Improvements != 1 {
		t.Errorf("improvement only: failed %v, summary %+v", rep.Failed(), rep.Summary)
	}
}

// Latency: lower is better, so the slower veth case is a regression there
// too (its latency rose).
func TestLowerIsBetter(t *testing.T) {
	rep := run(t, "testdata/base.json", "testdata/new.json", func(o *Options) { o.Metric = "p99" })
	if rep.Metric.HigherIsBetter {
		t.Error("p99: higher is better?")
	}
	c := byName(rep)
	if v := c["veth/pkt=64"].Verdict; v != stats.Regression {
		t.Errorf("p99 veth/pkt=64: %s, want REGRESSION", v)
	}
	if v := c["loopback/pkt=64"].Verdict; v != stats.Improvement {
		t.Errorf("p99 loopback/pkt=64: %s, want IMPROVEMENT", v)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", path, got)
	}
}

func TestGolden(t *testing.T) {
	rep := run(t, "testdata/base.json", "testdata/new.json", nil)
	for _, f := range []struct{ file, format string }{
		{"compare.md.golden", Markdown},
		{"compare.txt.golden", Text},
		{"compare.json.golden", JSON},
	} {
		var b bytes.Buffer
		if err := rep.Write(&b, f.format); err != nil {
			t.Fatal(err)
		}
		golden(t, f.file, b.Bytes())
	}
	md := mustWrite(t, rep, Markdown)
	first, _, _ := strings.Cut(md, "\n")
	if want := "1 regression, 1 improvement, 1 no change, 0 inconclusive, 1 too few trials, 2 not compared of 6 cases; geomean pps ratio "; !strings.HasPrefix(first, want) {
		t.Errorf("headline %q, want prefix %q", first, want)
	}
}

func mustWrite(t *testing.T, rep *Report, format string) string {
	t.Helper()
	var b bytes.Buffer
	if err := rep.Write(&b, format); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestJSONRoundTrip(t *testing.T) {
	rep := run(t, "testdata/base.json", "testdata/new.json", func(o *Options) { o.Ignore = []string{"rate"} })
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*rep, back) {
		t.Errorf("JSON round trip changed the report:\n%+v\n%+v", *rep, back)
	}
	if back.Schema != SchemaName || back.Version != SchemaVersion || back.Method.Seed != 1 || back.Method.Resamples != 10000 {
		t.Errorf("schema %q v%d, seed %d, resamples %d", back.Schema, back.Version, back.Method.Seed, back.Method.Resamples)
	}
}

// Go benchmark files written from the same results give the same verdicts
// and figures; so does a result file against a benchmark file.
func TestBenchfmtInputs(t *testing.T) {
	fromJSON := byName(run(t, "testdata/base.json", "testdata/new.json", nil))
	for _, pair := range [][2]string{
		{"testdata/base.txt", "testdata/new.txt"},
		{"testdata/base.json", "testdata/new.txt"},
	} {
		rep := run(t, pair[0], pair[1], nil)
		if rep.New.Format != FormatBenchfmt || rep.New.Host.Kernel != "6.18.44" || rep.New.Host.VCPUs != 4 || rep.New.Tool != "v0.1.1" {
			t.Errorf("%s: source %+v", pair[1], rep.New)
		}
		got := byName(rep)
		for _, name := range []string{"veth/pkt=64", "veth/pkt=1400", "loopback/pkt=64", "bridge/pkt=64"} {
			if !reflect.DeepEqual(got[name], fromJSON[name]) {
				t.Errorf("%v %s:\n got %+v\nwant %+v", pair, name, got[name], fromJSON[name])
			}
		}
		// An unsupported case has no lines in a benchmark file: only in BASE.
		if c := got["ipvlan-l2/pkt=64"]; c.In != InBase {
			t.Errorf("%v ipvlan: in %q", pair, c.In)
		}
	}
}

// Any Go benchmark output can be compared, by any of its units.
func TestGoTestOutput(t *testing.T) {
	file := func(ns ...int) string {
		s := "goos: linux\ngoarch: amd64\npkg: example.com/codec\ncpu: AMD EPYC 7B13\n"
		for _, v := range ns {
			s += fmt.Sprintf("BenchmarkDecode/size=1k-8   \t 1000000\t %9d ns/op\t     512 B/op\t       0 allocs/op\n", v)
		}
		return s + "PASS\nok  \texample.com/codec\t5.1s\n"
	}
	base := file(1000, 1010, 990, 1005, 995)
	nw := file(1200, 1210, 1190, 1205, 1195)
	b, err := Parse("old.txt", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Parse("new.txt", []byte(nw))
	if err != nil {
		t.Fatal(err)
	}
	for _, metric := range []string{"ns/op", "sec/op"} {
		o := DefaultOptions()
		o.Metric = metric
		rep, err := Compare(b, n, o)
		if err != nil {
			t.Fatal(err)
		}
		c := rep.Cases[0]
		if c.Name != "Decode/size=1k-8" || c.Verdict != stats.Regression || rep.Metric.HigherIsBetter {
			t.Errorf("%s: %s %s (higher better %v) %+v", metric, c.Name, c.Verdict, rep.Metric.HigherIsBetter, c.Ratio)
		}
	}
	o := DefaultOptions() // pps: not in these files
	if _, err := Compare(b, n, o); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "units there: B/op, allocs/op, ns/op") {
		t.Errorf("missing metric: %v", err)
	}
}

func TestHostContextWarning(t *testing.T) {
	b, _ := result.ReadFile("testdata/base.json")
	n, _ := result.ReadFile("testdata/new.json")
	n.Host.Kernel = "6.19.2"
	n.Host.VCPUs = 8
	rep, err := Compare(FromResult("base.json", b), FromResult("new.json", n), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := `host context differs (BASE vs NEW): kernel 6.18.44 vs 6.19.2; 4 vs 8 vCPUs`
	md := strings.Split(mustWrite(t, rep, Markdown), "\n")
	if !strings.HasPrefix(md[2], "> **Warning:** "+want) {
		t.Errorf("markdown line 3 %q, want the warning", md[2])
	}
	txt := strings.Split(mustWrite(t, rep, Text), "\n")
	if !strings.HasPrefix(txt[1], "WARNING: "+want) {
		t.Errorf("text line 2 %q, want the warning", txt[1])
	}
	// Same host: no warning.
	if rep := run(t, "testdata/base.json", "testdata/new.json", nil); len(rep.Warnings) != 0 {
		t.Errorf("warnings %q for the same host", rep.Warnings)
	}
}

func TestIgnore(t *testing.T) {
	mk := func(seed uint64, names ...string) *Input {
		var cs []synthCase
		for _, n := range names {
			cs = append(cs, synthCase{n, result.StatusOK, 6, 1e6, 64})
		}
		return FromResult("x.json", synth("v", seed, cs))
	}
	base := mk(1, "veth/pkt=64/rate=100000", "veth/pkt=1400/rate=100000")
	nw := mk(2, "veth/pkt=64/rate=200000", "veth/pkt=1400/rate=200000")
	rep, err := Compare(base, nw, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.NotCompared != 4 {
		t.Errorf("without --ignore: %+v", rep.Summary)
	}
	o := DefaultOptions()
	o.Ignore = []string{"rate"}
	if rep, err = Compare(base, nw, o); err != nil {
		t.Fatal(err)
	}
	c := byName(rep)["veth/pkt=64"]
	if rep.Summary.Cases != 2 || c.In != InBoth || c.BaseName != "veth/pkt=64/rate=100000" || c.NewName != "veth/pkt=64/rate=200000" {
		t.Errorf("with --ignore rate: %+v; %+v", rep.Summary, c)
	}
	amb := mk(3, "veth/pkt=64/rate=1", "veth/pkt=64/rate=2")
	if _, err := Compare(amb, nw, o); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), `ignore: BASE has two cases that become "veth/pkt=64" without rate`) {
		t.Errorf("ambiguous --ignore: %v", err)
	}
	if got := StripKeys("veth/pkt=64/rate=1/gro=on/rate=2", []string{"rate", "gro"}); got != "veth/pkt=64" {
		t.Errorf("StripKeys: %q", got)
	}
}

// A bad file is an *InputError naming the file (and the line, when the
// fault is on one); a bad option a *field.Error naming it. Both wrap
// ErrInput.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := filepath.Join(dir, "missing.json")
	for _, tc := range []struct {
		path string
		line int
		want string
	}{
		{"testdata/malformed.txt", 9, "testdata/malformed.txt:9: malformed Go benchmark file: parsing measurement"},
		{write("empty.txt", "\n"), 0, "empty.txt: empty file"},
		{write("prose.txt", "hello\nworld\n"), 0, "prose.txt: neither a vethbench result (JSON) nor Go benchmark output"},
		{write("other.json", `{"schema": "something-else"}`), 0, `other.json: not a readable vethbench result: schema "something-else"`},
		{write("broken.json", `{"schema": `), 0, "broken.json: not a readable vethbench result"},
		{missing, 0, missing + ": no such file or directory"},
	} {
		_, err := Load(tc.path)
		var ie *InputError
		if !errors.As(err, &ie) || !errors.Is(err, ErrInput) {
			t.Errorf("%s: %v (%T), want an *InputError wrapping ErrInput", tc.path, err, err)
			continue
		}
		if ie.File != tc.path || ie.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q (file %q, line %d), want line %d and %q", tc.path, err, ie.File, ie.Line, tc.line, tc.want)
		}
	}
	b, n := load(t, "testdata/base.json"), load(t, "testdata/new.json")
	for _, tc := range []struct {
		mod   func(*Options)
		field string
	}{
		{func(o *Options) { o.Alpha = 0 }, "alpha"},
		{func(o *Options) { o.Alpha = 1.5 }, "alpha"},
		{func(o *Options) { o.Threshold = -0.1 }, "threshold"},
		{func(o *Options) { o.Resamples = 10 }, "resamples"},
		{func(o *Options) { o.Metric = "ns/op" }, "metric"}, // not a vethbench metric, and no benchmark files
		{func(o *Options) { o.Ignore = []string{"rate=1"} }, "ignore"},
	} {
		o := DefaultOptions()
		tc.mod(&o)
		_, err := Compare(b, n, o)
		var fe *field.Error
		if !errors.As(err, &fe) || !errors.Is(err, ErrInput) || fe.Field != tc.field {
			t.Errorf("%+v: %v, want a *field.Error for %s wrapping ErrInput", o, err, tc.field)
		}
	}
	dup := FromResult("dup.json", synth("v", 1, []synthCase{{"veth/pkt=64", result.StatusOK, 6, 1e6, 64}, {"veth/pkt=64", result.StatusOK, 6, 1e6, 64}}))
	var ie *InputError
	if _, err := Compare(dup, n, DefaultOptions()); !errors.As(err, &ie) || ie.File != "dup.json" || !strings.Contains(ie.Msg, `case "veth/pkt=64" appears twice`) {
		t.Errorf("a case twice: %v, want an *InputError for dup.json", err)
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		want string
	}{
		{1234567, "pps", "1.23M"},
		{999600, "pps", "1.00M"},
		{250000, "pps", "250k"},
		{4300, "pps", "4300"},
		{0.5, "x", "0.500"},
		{9.996, "x", "10.0"},
		{999.6, "pps", "1000"},
		{9999.6, "pps", "10.0k"},
		{812, "ns/pkt", "812ns"},
		{999.6, "p50-ns", "1.00µs"},
		{12345, "p99-ns", "12.3µs"},
		{1.5e-6, "sec/op", "1.50µs"},
		{8e7, "B/s", "80.0MB/s"},
	} {
		if got := formatValue(tc.v, tc.unit); got != tc.want {
			t.Errorf("formatValue(%v, %q) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}

// fromValues makes an Input whose cases have the given pps per trial.
func fromValues(cases map[string][]float64, status map[string]string) *Input {
	r := result.NewResult()
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		c := result.Case{Name: name, Status: result.StatusOK}
		if s, ok := status[name]; ok {
			c.Status, c.Error = s, "boom"
		}
		for _, v := range cases[name] {
			c.Trials = append(c.Trials, result.Trial{PPS: v})
		}
		r.Cases = append(r.Cases, c)
	}
	return FromResult("mem", r)
}

func TestEdgeCases(t *testing.T) {
	base := fromValues(map[string][]float64{
		"small":  {100, 101, 99, 100.5, 99.5, 100},
		"zero":   {100, 101, 99, 100.5},
		"failed": {100, 101, 99, 100.5},
		"wide":   {100, 130, 70, 110, 90, 100},
	}, nil)
	nw := fromValues(map[string][]float64{
		"small":  {97, 98, 96.5, 97.5, 96, 97.2},
		"zero":   {100, 0, 99, 100.5},
		"failed": {},
		"wide":   {100, 125, 75, 105, 95, 101},
	}, map[string]string{"failed": result.StatusFailed})
	rep, err := Compare(base, nw, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	c := byName(rep)
	if v := c["small"]; v.Verdict != stats.Inconclusive || !strings.Contains(v.Note, "significant (q") || !strings.Contains(v.Note, "reaches into ±3%") {
		t.Errorf("a significant change within the threshold: %s %q", v.Verdict, v.Note)
	}
	if v := c["wide"]; v.Verdict != stats.Inconclusive || !strings.Contains(v.Note, "not significant") {
		t.Errorf("a noisy case: %s %q", v.Verdict, v.Note)
	}
	if v := c["zero"]; v.Verdict != "" || v.Note != "a pps value of 0 in NEW: a ratio needs positive values" {
		t.Errorf("a zero value: %s %q", v.Verdict, v.Note)
	}
	if v := c["failed"]; v.Verdict != "" || v.Note != "failed in NEW: boom" || v.NewStatus != result.StatusFailed {
		t.Errorf("a failed case: %s %q", v.Verdict, v.Note)
	}
	if rep.Failed() || rep.Summary.Inconclusive != 2 || rep.Summary.NotCompared != 2 {
		t.Errorf("summary %+v", rep.Summary)
	}
	// Nothing comparable at all: no geomean, and the headline says so.
	only := fromValues(map[string][]float64{"a": {1, 2, 3}}, nil)
	other := fromValues(map[string][]float64{"b": {1, 2, 3}}, nil)
	if rep, err = Compare(only, other, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Geomean != nil || !strings.HasSuffix(rep.Summary.Headline, "2 not compared of 2 cases; no case to compare") {
		t.Errorf("nothing to compare: %q", rep.Summary.Headline)
	}
	for _, f := range Formats {
		mustWrite(t, rep, f)
	}
}

// Files of two schema versions are compared, with a warning that some
// figures changed meaning between them.
func TestSchemaVersionWarning(t *testing.T) {
	b, _ := result.ReadFile("testdata/base.json")
	n, _ := result.ReadFile("testdata/new.json")
	b.Version, n.Version = 1, 2
	rep, err := Compare(FromResult("base.json", b), FromResult("new.json", n), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Warnings, func(w string) bool { return strings.Contains(w, "schema version 1, NEW of version 2") }) {
		t.Errorf("warnings %q: none about the schema versions", rep.Warnings)
	}
	n.Version = 1
	rep, err = Compare(FromResult("base.json", b), FromResult("new.json", n), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range rep.Warnings {
		if strings.Contains(w, "schema version") {
			t.Errorf("same version, warning %q", w)
		}
	}
}
