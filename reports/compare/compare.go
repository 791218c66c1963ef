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
	// FailOn is which regressions make Report.Failed true: FailBoth (the
	// default; "" means it too), FailAbsolute or FailInRun.
	FailOn string
}

// The values of Options.FailOn.
const (
	// FailBoth: a regression of an absolute figure or of an in-run ratio.
	FailBoth = "both"
	// FailAbsolute: a regression of an absolute figure only (what compare
	// did before in-run ratios).
	FailAbsolute = "absolute"
	// FailInRun: a regression of an in-run ratio only, which a host that
	// is slower in NEW than in BASE cannot cause.
	FailInRun = "in-run"
)

// FailOnValues lists the values of Options.FailOn, for help texts.
var FailOnValues = []string{FailBoth, FailAbsolute, FailInRun}

// Samples values of Case.Samples.
const (
	// SamplesBlocks: the case was compared on its per-block values.
	SamplesBlocks = "blocks"
)

// DefaultOptions are the CLI's defaults.
func DefaultOptions() Options {
	return Options{Metric: "pps", Alpha: stats.DefaultAlpha, Threshold: stats.DefaultThreshold, Resamples: stats.DefaultResamples, Seed: 1, FailOn: FailBoth}
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
	// InRun compares the in-run ratios of the questions both files
	// measured interleaved; absent when neither file has any.
	InRun *InRun `json:"in_run,omitempty"`
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
	// Blocks says how cases compared on block samples were tested; absent
	// when none was.
	Blocks *BlockMethod `json:"blocks,omitempty"`
	// FailOn is Options.FailOn; absent when there are no in-run ratios and
	// it is the default.
	FailOn string `json:"fail_on,omitempty"`
}

// BlockMethod is how the cases with block samples were compared.
type BlockMethod struct {
	Cases int `json:"cases"` // compared on block samples
	// MinBlocks is the fewest blocks a side needs for it (MinBlocks).
	MinBlocks int `json:"min_blocks"`
	// Batches is how many contiguous batches each side's blocks were cut
	// into (Batches); each batch's value is its median block, on the log
	// scale.
	Batches int `json:"batches"`
	// Test: "welch-t-on-batches": Welch's t test of the two sides' batch
	// values; Interval: "welch-t" (exp of the difference of their means
	// ± t times its standard error, Welch-Satterthwaite df).
	Test     string `json:"test"`
	Interval string `json:"interval"`
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
	// Samples is SamplesBlocks when the case was compared on its
	// per-block values (both files measured it interleaved, with at least
	// MinBlocks blocks a side); absent for per-trial values. Base.N and
	// New.N then count blocks, Base.Median and New.Median are the medians
	// of all blocks, and Ratio is the ratio of the geometric means of the
	// batches' median blocks (Method.Blocks).
	Samples string `json:"samples,omitempty"`
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

// Test is the test of a case: the Mann-Whitney U test of per-trial values,
// or for block samples Welch's t on batches (Method; U and Exact are then
// 0 and false).
type Test struct {
	// Method is "welch-t-on-batches" for block samples; absent for the
	// Mann-Whitney U test.
	Method string `json:"method,omitempty"`
	// DF is the Welch-Satterthwaite degrees of freedom, for block samples
	// (absent when the batches had no spread).
	DF    float64 `json:"df,omitempty"`
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
		// bs, ns are the block segments of a case compared on block
		// samples (b and n are then their values); nil for trials.
		bs, ns [][]float64
		// blockNote says why a case with blocks was compared on trials.
		blockNote string
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
		var bs, ns [][]float64
		var blockNote string
		switch {
		case !inN:
			c.Note = "only in BASE"
		case !inB:
			c.Note = "only in NEW"
		case bc.Status != result.StatusOK || nc.Status != result.StatusOK:
			c.Note = statusNote(bc, nc)
		default:
			bv, nv = bc.values(m), nc.values(m)
			if b, n := bc.blockSeries(m), nc.blockSeries(m); len(b) > 0 && len(n) > 0 {
				fb, fn := flatten(b), flatten(n)
				switch why := blocksUnusable(fb, fn, m.Name); {
				case why == "":
					bs, ns, bv, nv = b, n, fb, fn
					c.Samples = SamplesBlocks
				case len(bv) == 0 || len(nv) == 0:
					c.Note = why + ", and there are no trials to compare instead"
				default:
					blockNote = why + "; compared on trials instead"
				}
			}
			c.Base, c.New = sample(bv), sample(nv)
			c.Note = cmp.Or(c.Note, valuesNote(m.Name, bv, nv))
		}
		rep.Cases = append(rep.Cases, c)
		if c.Note == "" {
			work = append(work, compared{len(rep.Cases) - 1, bv, nv, bs, ns, blockNote})
		}
	}

	// The verdict rule, one family of every compared case: per-trial
	// values by stats.CompareFamily, block samples by Welch's t on
	// batches; with block samples, Benjamini-Hochberg runs again over the
	// whole family and stats.Decide again with its q-values.
	rule := stats.Rule{
		Alpha: o.Alpha, Threshold: o.Threshold, HigherIsBetter: m.HigherIsBetter, Resamples: o.Resamples, Seed: o.Seed,
	}
	type outcome struct {
		test    Test
		ci      stats.RatioCI
		verdict stats.Verdict
		batch   *batchRatio // block samples
	}
	outs := make([]outcome, len(work))
	var fam []stats.Pair
	var famIdx []int
	blockCases := 0
	for i, w := range work {
		if w.bs != nil {
			br := compareBatches(w.b, w.n, level)
			outs[i] = outcome{
				// A t test can give any p: MinP 0, always in the family.
				test:  Test{Method: "welch-t-on-batches", P: br.P, Q: br.P, InFamily: true},
				ci:    stats.RatioCI{Ratio: br.Ratio, Lo: br.Lo, Hi: br.Hi, Level: br.Level},
				batch: &br,
			}
			if !math.IsInf(br.DF, 0) {
				outs[i].test.DF = br.DF
			}
			blockCases++
			continue
		}
		fam = append(fam, stats.Pair{Base: w.b, New: w.n})
		famIdx = append(famIdx, i)
	}
	for j, out := range stats.CompareFamily(fam, rule) {
		outs[famIdx[j]] = outcome{
			test:    Test{U: out.Test.U, P: out.Test.P, Exact: out.Test.Exact, Q: out.Q, MinP: out.MinP, InFamily: out.InFamily},
			ci:      out.Ratio,
			verdict: out.Verdict,
		}
	}
	if blockCases > 0 {
		var ps []float64
		var idx []int
		for i, out := range outs {
			if out.test.InFamily {
				ps = append(ps, out.test.P)
				idx = append(idx, i)
			}
		}
		for j, q := range stats.BenjaminiHochberg(ps) {
			outs[idx[j]].test.Q = q
		}
		for i := range outs {
			out := &outs[i]
			out.verdict = stats.Decide(out.test.Q, o.Alpha, out.ci, o.Threshold, m.HigherIsBetter, out.test.MinP)
		}
		rep.Method.Blocks = &BlockMethod{Cases: blockCases, MinBlocks: MinBlocks, Batches: Batches, Test: "welch-t-on-batches", Interval: "welch-t"}
	}
	var geo []geoCase
	for i, w := range work {
		c, out := &rep.Cases[w.i], outs[i]
		test := out.test
		c.Test = &test
		if out.test.InFamily {
			rep.Method.Family++
		}
		ci := out.ci
		c.Verdict = out.verdict
		if !finite(ci.Ratio, ci.Lo, ci.Hi) { // cannot happen with positive values; never write NaN
			c.Note = "the ratio's interval is undefined"
			continue
		}
		c.Ratio = &Ratio{Ratio: ci.Ratio, Lo: ci.Lo, Hi: ci.Hi, Level: ci.Level}
		c.Note = verdictNote(c, o)
		if w.blockNote != "" {
			c.Note = strings.TrimSuffix(w.blockNote+"; "+c.Note, "; ")
		}
		geo = append(geo, geoCase{base: w.b, new: w.n, batch: out.batch})
	}
	switch {
	case len(geo) > 0 && blockCases == 0:
		pairs := make([][2][]float64, len(geo))
		for i, g := range geo {
			pairs[i] = [2][]float64{g.base, g.new}
		}
		g := stats.GeomeanRatio(pairs, level, o.Resamples, o.Seed)
		if finite(g.Ratio, g.Lo, g.Hi) {
			rep.Summary.Geomean = &Ratio{Ratio: g.Ratio, Lo: g.Lo, Hi: g.Hi, Level: g.Level}
			rep.Summary.GeomeanCases = len(pairs)
		}
	case len(geo) > 0:
		r, lo, hi := blockGeomean(geo, level, o.Resamples, o.Seed)
		if finite(r, lo, hi) {
			rep.Summary.Geomean = &Ratio{Ratio: r, Lo: lo, Hi: hi, Level: level}
			rep.Summary.GeomeanCases = len(geo)
		}
	}

	rep.InRun = compareInRun(base, nw, m, o)
	if fo := cmp.Or(o.FailOn, FailBoth); rep.InRun != nil || fo != FailBoth {
		rep.Method.FailOn = fo
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
	rep.Warnings = append(rep.Warnings, inRunWarnings(rep)...)
	slices.SortStableFunc(rep.Cases, bySeverity)
	return rep, nil
}

// Failed reports whether the comparison found a regression: the only
// outcome that should fail a CI job. Which regressions count is
// Method.FailOn: by default both a regression of an absolute figure and
// one of an in-run ratio.
func (r *Report) Failed() bool {
	abs := r.Summary.Regressions > 0
	in := r.InRun != nil && r.InRun.Regressions > 0
	switch r.Method.FailOn {
	case FailAbsolute:
		return abs
	case FailInRun:
		return in
	}
	return abs || in
}

// inRunWarnings are what the in-run ratios say about the absolute
// verdicts, and a --fail-on in-run that cannot fail.
func inRunWarnings(r *Report) []string {
	var w []string
	ir := r.InRun
	compared := 0
	if ir != nil {
		compared = len(ir.Cases) - ir.NotCompared
	}
	if r.Method.FailOn == FailInRun && compared == 0 {
		w = append(w, "--fail-on in-run, but no in-run ratio was compared (both files need the same questions measured interleaved): this comparison cannot fail")
	}
	if compared > 0 && ir.Regressions == 0 && r.Summary.Regressions > 0 {
		w = append(w, fmt.Sprintf("%s of absolute %s but no in-run ratio regressed: the cases moved with their baselines, as they do when the host is slower in NEW than in BASE (or a change slows every case alike)",
			plural(r.Summary.Regressions, "regression", "regressions"), r.Metric.Name))
	}
	return w
}

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
	case o.FailOn != "" && !slices.Contains(FailOnValues, o.FailOn):
		return field.Errorf(ErrInput, "fail-on", "unknown value %q (%s)", o.FailOn, strings.Join(FailOnValues, ", "))
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

// blocksUnusable says why the block samples fb (BASE) and fn (NEW) of
// metric cannot be compared, or "" when they can: fewer than MinBlocks a
// side, a value a ratio cannot use, or batches shorter than twice the
// blocks' correlation time (memory) on either side, which would leave
// neighbouring batches alike and the t test sure of too much.
func blocksUnusable(fb, fn []float64, metric string) string {
	if len(fb) < MinBlocks || len(fn) < MinBlocks {
		return fmt.Sprintf("%d blocks in BASE and %d in NEW: block samples need %d a side", len(fb), len(fn), MinBlocks)
	}
	if note := valuesNote(metric+" block", fb, fn); note != "" {
		return note
	}
	for _, x := range []struct {
		label string
		v     []float64
	}{{"BASE", fb}, {"NEW", fn}} {
		if size, tau := len(x.v)/Batches, memory(x.v); float64(size) < 2*tau {
			return fmt.Sprintf("%d blocks in %s: batches of %d are shorter than twice the blocks' correlation time there (%.0f)",
				len(x.v), x.label, size, tau)
		}
	}
	return ""
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
	if c.Samples == SamplesBlocks {
		note := fmt.Sprintf("block samples in %d batches", Batches)
		if c.Verdict == stats.Inconclusive {
			note += "; " + inconclusiveNote(c.Test.Q, o, "blocks")
		}
		return note
	}
	switch c.Verdict {
	case stats.TooFewTrials:
		need := 2
		for stats.MinP(need, need) >= o.Alpha {
			need++
		}
		return fmt.Sprintf("%d and %d trials can never give p < %g (smallest p %.3g); run at least %d per side",
			c.Base.N, c.New.N, o.Alpha, c.Test.MinP, need)
	case stats.Inconclusive:
		return inconclusiveNote(c.Test.Q, o, "trials")
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
