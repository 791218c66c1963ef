package compare

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vethbench/vethbench/internal/field"
	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// Options are the parameters of a comparison.
type Options struct {
	Metric    string  // a name of Metrics, or a unit of Go benchmark files
	Alpha     float64 // significance level of the Benjamini-Hochberg adjusted p-values
	Threshold float64 // theta: changes within ±Threshold are noise (0.03 = 3%)
	Resamples int     // bootstrap resamples
	Seed      uint64  // bootstrap seed
	// Ignore lists name keys: segments "/KEY=..." are removed from case
	// names before BASE and NEW cases are matched.
	Ignore []string
}

// DefaultOptions are the CLI's defaults.
func DefaultOptions() Options {
	return Options{Metric: "pps", Alpha: stats.DefaultAlpha, Threshold: stats.DefaultThreshold, Resamples: stats.DefaultResamples, Seed: 1}
}

// Schema and version of the JSON report.
const (
	SchemaName    = "vethbench-compare"
	SchemaVersion = 1
)

// Report is the outcome of a comparison. Its JSON form is documented in the
// package documentation; fields are only added within a version.
type Report struct {
	Schema   string     `json:"schema"`
	Version  int        `json:"version"`
	Base     Source     `json:"base"`
	New      Source     `json:"new"`
	Metric   MetricInfo `json:"metric"`
	Method   Method     `json:"method"`
	Warnings []string   `json:"warnings,omitempty"`
	Summary  Summary    `json:"summary"`
	Cases    []Case     `json:"cases"`
}

// Source describes one input file.
type Source struct {
	Path        string `json:"path"`
	Format      string `json:"format"`         // "vethbench-result" or "benchfmt"
	Tool        string `json:"tool,omitempty"` // vethbench version, when known
	Host        Host   `json:"host"`
	Interrupted bool   `json:"interrupted,omitempty"`
	// Schema is the result file's schema version (0 for benchfmt).
	Schema int `json:"schema,omitempty"`
}

// Host is the context a figure is only meaningful in; empty when unknown.
type Host struct {
	Kernel   string `json:"kernel,omitempty"`
	Arch     string `json:"arch,omitempty"`
	CPUModel string `json:"cpu_model,omitempty"`
	VCPUs    int    `json:"vcpus,omitempty"`
}

// MetricInfo names what was compared.
type MetricInfo struct {
	Name           string `json:"name"`
	Unit           string `json:"unit"`
	HigherIsBetter bool   `json:"higher_is_better"`
}

// Method records how the verdicts were reached, so they can be reproduced.
type Method struct {
	Test       string   `json:"test"`       // "mann-whitney-u" (two-sided)
	Correction string   `json:"correction"` // "benjamini-hochberg"
	Family     int      `json:"family"`     // p-values corrected together
	Alpha      float64  `json:"alpha"`
	Threshold  float64  `json:"threshold"`
	Interval   string   `json:"interval"` // "percentile-bootstrap"
	Level      float64  `json:"level"`
	Resamples  int      `json:"resamples"`
	Seed       uint64   `json:"seed"`
	Ignore     []string `json:"ignore,omitempty"`
}

// Summary counts the verdicts and holds the geomean ratio.
type Summary struct {
	Cases        int `json:"cases"`
	Regressions  int `json:"regressions"`
	Improvements int `json:"improvements"`
	NoChange     int `json:"no_change"`
	Inconclusive int `json:"inconclusive"`
	TooFewTrials int `json:"too_few_trials"`
	NotCompared  int `json:"not_compared"`
	// Geomean is the geometric mean over the compared cases of the ratio
	// of medians, with its bootstrap interval; absent with no such case.
	Geomean      *Ratio `json:"geomean,omitempty"`
	GeomeanCases int    `json:"geomean_cases"`
	Headline     string `json:"headline"`
}

// Where a case was found.
const (
	InBoth = "both"
	InBase = "base"
	InNew  = "new"
)

// Case is one case of the comparison.
type Case struct {
	Name string `json:"name"` // after --ignore
	// BaseName and NewName are the names in the files, when --ignore
	// changed them.
	BaseName   string `json:"base_name,omitempty"`
	NewName    string `json:"new_name,omitempty"`
	In         string `json:"in"` // "both", "base", "new"
	BaseStatus string `json:"base_status,omitempty"`
	NewStatus  string `json:"new_status,omitempty"`
	// Verdict is empty for cases that were not compared; Note says why.
	Verdict stats.Verdict `json:"verdict,omitempty"`
	Note    string        `json:"note,omitempty"`
	Base    *Sample       `json:"base,omitempty"`
	New     *Sample       `json:"new,omitempty"`
	Ratio   *Ratio        `json:"ratio,omitempty"`
	Test    *Test         `json:"test,omitempty"`
}

// Sample describes one side's values of a case.
type Sample struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	CV     float64 `json:"cv"` // coefficient of variation; 0 for one value
}

// Ratio is median(NEW)/median(BASE) with its bootstrap interval.
type Ratio struct {
	Ratio float64 `json:"ratio"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Level float64 `json:"level"`
}

// Test is the Mann-Whitney U test of a case.
type Test struct {
	U     float64 `json:"u"` // of NEW against BASE
	P     float64 `json:"p"`
	Exact bool    `json:"exact"`
	// Q is P adjusted by Benjamini-Hochberg over the family; equal to P
	// for a case outside the family.
	Q float64 `json:"q"`
	// MinP is the smallest p the two sample sizes can give. A case with
	// MinP >= alpha can never be significant: it is TOO FEW TRIALS and left
	// out of the family (Tarone's refinement of multiple testing).
	MinP     float64 `json:"min_p"`
	InFamily bool    `json:"in_family"`
}

// Compare compares the cases of base and nw. Errors wrap ErrInput: a
// *field.Error for an option (Field "alpha", "metric"...), an *InputError
// for a file.
func Compare(base, nw *Input, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	m, err := resolveMetric(o.Metric, base, nw)
	if err != nil {
		return nil, err
	}
	for _, side := range []struct {
		label string
		in    *Input
	}{{"BASE", base}, {"NEW", nw}} {
		if ok, units := hasValues(side.in, m); !ok {
			msg := fmt.Sprintf("no %s values in %s %s", m.Name, side.label, side.in.Source.Path)
			if units != nil {
				msg += fmt.Sprintf(" (units there: %s)", strings.Join(units, ", "))
			}
			return nil, &field.Error{Field: "metric", Msg: msg, Err: ErrInput}
		}
	}
	bIdx, err := index(base, "BASE", o.Ignore)
	if err != nil {
		return nil, err
	}
	nIdx, err := index(nw, "NEW", o.Ignore)
	if err != nil {
		return nil, err
	}

	level := 1 - o.Alpha
	rep := &Report{
		Schema: SchemaName, Version: SchemaVersion,
		Base: base.Source, New: nw.Source,
		Metric: MetricInfo{Name: m.Name, Unit: m.Unit, HigherIsBetter: m.HigherIsBetter},
		Method: Method{
			Test: "mann-whitney-u", Correction: "benjamini-hochberg",
			Alpha: o.Alpha, Threshold: o.Threshold,
			Interval: "percentile-bootstrap", Level: level, Resamples: o.Resamples, Seed: o.Seed,
			Ignore: slices.Clone(o.Ignore),
		},
		Warnings: warnings(base.Source, nw.Source),
		Cases:    []Case{},
	}

	// Every name, BASE's order first.
	names := slices.Clone(bIdx.order)
	for _, n := range nIdx.order {
		if _, ok := bIdx.cases[n]; !ok {
			names = append(names, n)
		}
	}

	type compared struct {
		i    int // in rep.Cases
		b, n []float64
	}
	var work []compared
	for _, name := range names {
		bc, inB := bIdx.cases[name]
		nc, inN := nIdx.cases[name]
		c := Case{Name: name}
		switch {
		case inB && inN:
			c.In = InBoth
		case inB:
			c.In = InBase
		default:
			c.In = InNew
		}
		if inB {
			c.BaseStatus = bc.Status
			if bc.Name != name {
				c.BaseName = bc.Name
			}
		}
		if inN {
			c.NewStatus = nc.Status
			if nc.Name != name {
				c.NewName = nc.Name
			}
		}
		var bv, nv []float64
		switch {
		case !inN:
			c.Note = "only in BASE"
		case !inB:
			c.Note = "only in NEW"
		case bc.Status != result.StatusOK || nc.Status != result.StatusOK:
			c.Note = statusNote(bc, nc)
		default:
			bv, nv = bc.values(m), nc.values(m)
			c.Base, c.New = sample(bv), sample(nv)
			c.Note = valuesNote(m.Name, bv, nv)
		}
		rep.Cases = append(rep.Cases, c)
		if c.Note == "" {
			work = append(work, compared{len(rep.Cases) - 1, bv, nv})
		}
	}

	// The verdict rule, one family of every compared case.
	fam := make([]stats.Pair, len(work))
	for i, w := range work {
		fam[i] = stats.Pair{Base: w.b, New: w.n}
	}
	outcomes := stats.CompareFamily(fam, stats.Rule{
		Alpha: o.Alpha, Threshold: o.Threshold, HigherIsBetter: m.HigherIsBetter, Resamples: o.Resamples, Seed: o.Seed,
	})
	var pairs [][2][]float64
	for i, w := range work {
		c, out := &rep.Cases[w.i], outcomes[i]
		c.Test = &Test{U: out.Test.U, P: out.Test.P, Exact: out.Test.Exact, Q: out.Q, MinP: out.MinP, InFamily: out.InFamily}
		if out.InFamily {
			rep.Method.Family++
		}
		ci := out.Ratio
		c.Verdict = out.Verdict
		if !finite(ci.Ratio, ci.Lo, ci.Hi) { // cannot happen with positive values; never write NaN
			c.Note = "the ratio's interval is undefined"
			continue
		}
		c.Ratio = &Ratio{Ratio: ci.Ratio, Lo: ci.Lo, Hi: ci.Hi, Level: ci.Level}
		c.Note = verdictNote(c, o)
		pairs = append(pairs, [2][]float64{w.b, w.n})
	}
	if len(pairs) > 0 {
		g := stats.GeomeanRatio(pairs, level, o.Resamples, o.Seed)
		if finite(g.Ratio, g.Lo, g.Hi) {
			rep.Summary.Geomean = &Ratio{Ratio: g.Ratio, Lo: g.Lo, Hi: g.Hi, Level: g.Level}
			rep.Summary.GeomeanCases = len(pairs)
		}
	}

	s := &rep.Summary
	s.Cases = len(rep.Cases)
	for _, c := range rep.Cases {
		switch c.Verdict {
		case stats.Regression:
			s.Regressions++
		case stats.Improvement:
			s.Improvements++
		case stats.NoChange:
			s.NoChange++
		case stats.Inconclusive:
			s.Inconclusive++
		case stats.TooFewTrials:
			s.TooFewTrials++
		default:
			s.NotCompared++
		}
	}
	s.Headline = headline(rep)
	slices.SortStableFunc(rep.Cases, bySeverity)
	return rep, nil
}

// Failed reports whether the comparison found a regression: the only
// outcome that should fail a CI job.
func (r *Report) Failed() bool { return r.Summary.Regressions > 0 }

func (o Options) check() error {
	switch {
	case !(o.Alpha > 0 && o.Alpha < 1):
		return field.Errorf(ErrInput, "alpha", "%v out of range (0, 1)", o.Alpha)
	case !(o.Threshold >= 0 && o.Threshold < 1):
		return field.Errorf(ErrInput, "threshold", "%v out of range [0, 1)", o.Threshold)
	case o.Resamples < 100:
		return field.Errorf(ErrInput, "resamples", "%d is too few (at least 100)", o.Resamples)
	case o.Metric == "":
		return field.Errorf(ErrInput, "metric", "empty")
	}
	for _, k := range o.Ignore {
		if k == "" || strings.ContainsAny(k, "/= \t") {
			return field.Errorf(ErrInput, "ignore", "%q is not a name key (like rate, for segments /rate=...)", k)
		}
	}
	return nil
}

// caseIndex is one side's cases by name after --ignore.
type caseIndex struct {
	order []string
	cases map[string]InputCase
}

func index(in *Input, label string, ignore []string) (caseIndex, error) {
	ix := caseIndex{cases: map[string]InputCase{}}
	for _, c := range in.Cases {
		name := StripKeys(c.Name, ignore)
		if prev, ok := ix.cases[name]; ok {
			if len(ignore) > 0 {
				return ix, field.Errorf(ErrInput, "ignore", "%s has two cases that become %q without %s: %q and %q",
					label, name, strings.Join(ignore, ","), prev.Name, c.Name)
			}
			return ix, &InputError{File: in.Source.Path, Msg: fmt.Sprintf("case %q appears twice", name)}
		}
		ix.cases[name] = c
		ix.order = append(ix.order, name)
	}
	return ix, nil
}

// StripKeys removes the segments "/KEY=..." of name for every KEY of keys:
// StripKeys("veth/pkt=64/rate=1000", []string{"rate"}) is "veth/pkt=64".
func StripKeys(name string, keys []string) string {
	if len(keys) == 0 {
		return name
	}
	parts := strings.Split(name, "/")
	out := parts[:1]
	for _, p := range parts[1:] {
		k, _, ok := strings.Cut(p, "=")
		if ok && slices.Contains(keys, k) {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, "/")
}

func statusNote(b, n InputCase) string {
	var s []string
	for _, x := range []struct {
		label string
		c     InputCase
	}{{"BASE", b}, {"NEW", n}} {
		if x.c.Status == result.StatusOK {
			continue
		}
		t := x.c.Status + " in " + x.label
		if x.c.Error != "" {
			t += ": " + x.c.Error
		}
		s = append(s, t)
	}
	return strings.Join(s, "; ")
}

// valuesNote says why values cannot be compared, or "" when they can.
func valuesNote(metric string, b, n []float64) string {
	for _, x := range []struct {
		label string
		v     []float64
	}{{"BASE", b}, {"NEW", n}} {
		if len(x.v) == 0 {
			return fmt.Sprintf("no %s values in %s", metric, x.label)
		}
		for _, v := range x.v {
			if !(v > 0) || math.IsInf(v, 0) {
				return fmt.Sprintf("a %s value of %v in %s: a ratio needs positive values", metric, v, x.label)
			}
		}
	}
	return ""
}

func verdictNote(c *Case, o Options) string {
	switch c.Verdict {
	case stats.TooFewTrials:
		need := 2
		for stats.MinP(need, need) >= o.Alpha {
			need++
		}
		return fmt.Sprintf("%d and %d trials can never give p < %g (smallest p %.3g); run at least %d per side",
			c.Base.N, c.New.N, o.Alpha, c.Test.MinP, need)
	case stats.Inconclusive:
		if c.Test.Q < o.Alpha {
			return fmt.Sprintf("significant (q %.3g) but the interval reaches into ±%s: collect more trials", c.Test.Q, pct(o.Threshold))
		}
		return fmt.Sprintf("not significant (q %.3g) and the interval is wider than ±%s: collect more trials", c.Test.Q, pct(o.Threshold))
	}
	return ""
}

func sample(v []float64) *Sample {
	if len(v) == 0 {
		return nil
	}
	s := &Sample{N: len(v), Median: stats.Median(v), Min: slices.Min(v), Max: slices.Max(v)}
	if cv := stats.CV(v); finite(cv) {
		s.CV = cv
	}
	return s
}

func finite(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// warnings names differences of host context between the two sides, and
// interrupted runs.
func warnings(b, n Source) []string {
	var w, diffs []string
	if b.Host.Kernel != "" && n.Host.Kernel != "" && b.Host.Kernel != n.Host.Kernel {
		diffs = append(diffs, fmt.Sprintf("kernel %s vs %s", b.Host.Kernel, n.Host.Kernel))
	}
	if b.Host.CPUModel != "" && n.Host.CPUModel != "" && b.Host.CPUModel != n.Host.CPUModel {
		diffs = append(diffs, fmt.Sprintf("CPU %q vs %q", b.Host.CPUModel, n.Host.CPUModel))
	}
	if b.Host.VCPUs != 0 && n.Host.VCPUs != 0 && b.Host.VCPUs != n.Host.VCPUs {
		diffs = append(diffs, fmt.Sprintf("%d vs %d vCPUs", b.Host.VCPUs, n.Host.VCPUs))
	}
	if b.Host.Arch != "" && n.Host.Arch != "" && b.Host.Arch != n.Host.Arch {
		diffs = append(diffs, fmt.Sprintf("arch %s vs %s", b.Host.Arch, n.Host.Arch))
	}
	if len(diffs) > 0 {
		w = append(w, "host context differs (BASE vs NEW): "+strings.Join(diffs, "; ")+
			": a change may come from the host, not the code")
	}
	if b.Schema != 0 && n.Schema != 0 && b.Schema != n.Schema {
		w = append(w, fmt.Sprintf("BASE is a result of schema version %d, NEW of version %d: some figures changed meaning between them (reports/result/SCHEMA.md says which, e.g. cpu_ns_per_pkt and rr latency in version 2)", b.Schema, n.Schema))
	}
	for _, x := range []struct {
		label string
		s     Source
	}{{"BASE", b}, {"NEW", n}} {
		if x.s.Interrupted {
			w = append(w, x.label+" "+x.s.Path+" is from an interrupted run: cases it did not reach are missing")
		}
	}
	return w
}

// Severity orders verdicts for reading: regressions first, then
// improvements, inconclusive, too few trials, no change; anything else
// (cases not compared) last.
func Severity(v stats.Verdict) int {
	switch v {
	case stats.Regression:
		return 0
	case stats.Improvement:
		return 1
	case stats.Inconclusive:
		return 2
	case stats.TooFewTrials:
		return 3
	case stats.NoChange:
		return 4
	}
	return 5
}

// magnitude is how large a case's change is: |log ratio|.
func magnitude(c Case) float64 {
	if c.Ratio == nil || !(c.Ratio.Ratio > 0) {
		return 0
	}
	return math.Abs(math.Log(c.Ratio.Ratio))
}

// bySeverity sorts by verdict (regressions, improvements, inconclusive, too
// few trials, no change, not compared), then by the size of the change,
// largest first, then by name.
func bySeverity(a, b Case) int {
	if c := cmp.Compare(Severity(a.Verdict), Severity(b.Verdict)); c != 0 {
		return c
	}
	if c := cmp.Compare(magnitude(b), magnitude(a)); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}
