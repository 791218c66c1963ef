package compare

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// comparePaired compares two results with the default options, changed by
// mod.
func comparePaired(t *testing.T, b, n *result.Result, mod func(*Options)) *Report {
	t.Helper()
	o := DefaultOptions()
	if mod != nil {
		mod(&o)
	}
	rep, err := Compare(FromResult("base.json", b), FromResult("new.json", n), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func inRunByCase(ir *InRun) map[string]InRunCase {
	m := map[string]InRunCase{}
	for _, c := range ir.Cases {
		m[c.Case] = c
	}
	return m
}

// withoutPaired is r as rounds would have written it: the same cases and
// trials, no blocks.
func withoutPaired(r *result.Result) *result.Result {
	c := *r
	c.Questions = nil
	for _, q := range r.Questions {
		q.Paired = nil
		c.Questions = append(c.Questions, q)
	}
	c.Settings.Method = "rounds"
	return &c
}

// Item 1: a case both files measured interleaved is compared on its blocks,
// many more than its trials. With 3 trials a side the trials could never
// show anything (TOO FEW TRIALS); 400 blocks a side show a 20% drop.
func TestBlockSamples(t *testing.T) {
	sb, sn := pairedDefaults(), pairedDefaults()
	sb.trials, sn.trials = 3, 3
	sn.seed = 2
	for i := range sn.pps {
		sn.pps[i] *= 0.8
	}
	b, n := synthPaired("v1", sb), synthPaired("v2", sn)
	rep := comparePaired(t, b, n, nil)
	if rep.Method.Blocks == nil || rep.Method.Blocks.Cases != 3 || rep.Method.Blocks.Batches != Batches {
		t.Errorf("method blocks %+v, want 3 cases in %d batches", rep.Method.Blocks, Batches)
	}
	for _, c := range rep.Cases {
		if c.Samples != SamplesBlocks || c.Base.N != 400 || c.New.N != 400 {
			t.Errorf("%s: samples %q, n %d/%d, want 400 blocks a side", c.Name, c.Samples, c.Base.N, c.New.N)
		}
		if c.Verdict != stats.Regression || c.Ratio.Ratio < 0.75 || c.Ratio.Ratio > 0.85 || c.Ratio.Hi >= 0.97 {
			t.Errorf("%s: %s ratio %+v, want a REGRESSION of about 0.8", c.Name, c.Verdict, c.Ratio)
		}
		if c.Test.Method != "welch-t-on-batches" || !c.Test.InFamily || c.Test.DF <= 0 {
			t.Errorf("%s: test %+v", c.Name, c.Test)
		}
	}
	// The same runs without their blocks: 3 trials a side can say nothing.
	old := comparePaired(t, withoutPaired(b), withoutPaired(n), nil)
	for _, c := range old.Cases {
		if c.Verdict != stats.TooFewTrials || c.Samples != "" {
			t.Errorf("trials only, %s: %s samples %q, want TOO FEW TRIALS", c.Name, c.Verdict, c.Samples)
		}
	}
	if old.Method.Blocks != nil || old.InRun != nil {
		t.Errorf("trials only: method blocks %+v, in-run %+v", old.Method.Blocks, old.InRun)
	}
}

// Item 1, honesty: two runs of the same thing, whose blocks drift together
// in regimes of about 10 blocks (as the development VM's second-long
// regimes at blocks of 100 ms). Mann-Whitney on the blocks, taking them for
// independent, calls most pairs different; the batches call about alpha of
// them significant.
func TestBlockSamplesHonest(t *testing.T) {
	const runs = 200
	significant, mannWhitney, usable := 0, 0, 0
	for i := range runs {
		sb, sn := pairedDefaults(), pairedDefaults()
		sb.seed, sn.seed = uint64(2*i+101), uint64(2*i+102)
		b := synthPaired("a", sb).Questions[0].Paired.Cases[0].PPS
		n := synthPaired("b", sn).Questions[0].Paired.Cases[0].PPS
		if stats.MannWhitneyU(n, b).P < 0.05 {
			mannWhitney++
		}
		if blocksUnusable(b, n, "pps") != "" {
			continue
		}
		usable++
		if compareBatches(b, n, 0.95).P < 0.05 {
			significant++
		}
	}
	if usable < runs*9/10 {
		t.Errorf("%d of %d pairs of 400 blocks usable, want nearly all", usable, runs)
	}
	t.Logf("A/A, 400 blocks: %d of %d pairs usable, %d significant on batches; Mann-Whitney on blocks %d", usable, runs, significant, mannWhitney)
	if rate := float64(significant) / float64(usable); rate > 0.09 {
		t.Errorf("A/A: %.1f%% of the pairs significant at 0.05 on batches, want about 5%%", 100*rate)
	}
	if rate := float64(mannWhitney) / runs; rate < 0.4 {
		t.Errorf("A/A: Mann-Whitney on blocks significant in %.1f%%: the drift of this test is too weak to show the point", 100*rate)
	}

	// Runs of 100 blocks span about 10 regimes: their batches are not
	// independent, and most pairs must be refused, not called different.
	bad := 0
	for i := range runs {
		sb, sn := pairedDefaults(), pairedDefaults()
		sb.blocks, sn.blocks = 100, 100
		sb.seed, sn.seed = uint64(2*i+101), uint64(2*i+102)
		b := synthPaired("a", sb).Questions[0].Paired.Cases[0].PPS
		n := synthPaired("b", sn).Questions[0].Paired.Cases[0].PPS
		if blocksUnusable(b, n, "pps") == "" && compareBatches(b, n, 0.95).P < 0.05 {
			bad++
		}
	}
	t.Logf("A/A, 100 blocks: %d of %d pairs compared on blocks and significant", bad, runs)
	if rate := float64(bad) / runs; rate > 0.09 {
		t.Errorf("A/A, 100 blocks: %.1f%% of the pairs compared on blocks and significant, want about 5%% at most", 100*rate)
	}
}

// A run too short for its drift is compared on its trials, and says why.
func TestBlockSamplesTooCorrelated(t *testing.T) {
	sb, sn := pairedDefaults(), pairedDefaults()
	sb.blocks, sn.blocks, sn.seed = 40, 40, 2
	sb.phi, sn.phi = 0.97, 0.97
	rep := comparePaired(t, synthPaired("a", sb), synthPaired("b", sn), nil)
	for _, c := range rep.Cases {
		if c.Samples != "" || !strings.Contains(c.Note, "shorter than twice the blocks' correlation time") || !strings.Contains(c.Note, "compared on trials") {
			t.Errorf("%s: samples %q note %q", c.Name, c.Samples, c.Note)
		}
	}
	// Without trials there is nothing to compare.
	b, n := synthPaired("a", sb), synthPaired("b", sn)
	for _, r := range []*result.Result{b, n} {
		for i := range r.Cases {
			r.Cases[i].Trials = nil
		}
	}
	rep = comparePaired(t, b, n, nil)
	for _, c := range rep.Cases {
		if c.Verdict != "" || !strings.HasSuffix(c.Note, "and there are no trials to compare instead") {
			t.Errorf("no trials, %s: %s %q", c.Name, c.Verdict, c.Note)
		}
	}
}

// Item 4: the same ratios tonight on a host 10% faster. Every absolute
// figure moves by about 10%; no in-run ratio does.
func TestInRunHostFaster(t *testing.T) {
	sb, sn := pairedDefaults(), pairedDefaults()
	sn.seed, sn.host = 2, 1.10
	rep := comparePaired(t, synthPaired("v1", sb), synthPaired("v2", sn), nil)
	// The drift within each run leaves the absolute intervals a few
	// percent wide: each moved (its interval excludes 1), and is an
	// IMPROVEMENT when the interval clears the threshold too.
	for _, c := range rep.Cases {
		if (c.Verdict != stats.Improvement && c.Verdict != stats.Inconclusive) || c.Ratio.Ratio < 1.04 || c.Ratio.Ratio > 1.16 || c.Ratio.Lo <= 1 {
			t.Errorf("absolute %s: %s %+v, want a rise of about 1.10", c.Name, c.Verdict, c.Ratio)
		}
	}
	if rep.Summary.Improvements == 0 {
		t.Errorf("no absolute IMPROVEMENT: %+v", rep.Summary)
	}
	ir := rep.InRun
	if ir == nil || len(ir.Cases) != 2 || ir.NoChange != 2 || ir.Method.Family != 2 {
		t.Fatalf("in-run %+v, want 2 ratios, both NO CHANGE", ir)
	}
	for _, c := range ir.Cases {
		if c.Verdict != stats.NoChange || c.Baseline != "veth/pkt=64" || math.Abs(c.Ratio.Ratio-1) > 0.01 || c.Base.Blocks != 400 {
			t.Errorf("in-run %s: %s %+v", c.Case, c.Verdict, c.Ratio)
		}
	}
	if rep.Failed() {
		t.Error("failed without a regression")
	}

	// A host 10% slower: the absolute figures regress and fail, the
	// in-run ratios do not, and a warning says so; --fail-on in-run passes.
	sn.host = 1 / 1.10
	b, n := synthPaired("v1", sb), synthPaired("v2", sn)
	rep = comparePaired(t, b, n, nil)
	if rep.Summary.Regressions != 3 || rep.InRun.NoChange != 2 || !rep.Failed() {
		t.Errorf("slower host: %d absolute regressions, in-run %+v, failed %v", rep.Summary.Regressions, rep.InRun, rep.Failed())
	}
	if !slices.ContainsFunc(rep.Warnings, func(w string) bool { return strings.Contains(w, "no in-run ratio regressed") }) {
		t.Errorf("warnings %q", rep.Warnings)
	}
	if rep := comparePaired(t, b, n, func(o *Options) { o.FailOn = FailInRun }); rep.Failed() || rep.Method.FailOn != FailInRun {
		t.Errorf("--fail-on in-run: failed %v, method %q", rep.Failed(), rep.Method.FailOn)
	}

	// Over many pairs of runs, the in-run ratios of an unchanged question
	// on a faster host are NO CHANGE at about 1 - alpha, never a verdict.
	sure := 0
	const runs = 40
	for i := range runs {
		sb.seed, sn.seed, sn.host = uint64(2*i+11), uint64(2*i+12), 1.10
		rep := comparePaired(t, synthPaired("v1", sb), synthPaired("v2", sn), func(o *Options) { o.Resamples = 200 })
		if rep.InRun.Regressions+rep.InRun.Improvements > 0 {
			t.Errorf("seed %d: in-run %d regressions, %d improvements", i, rep.InRun.Regressions, rep.InRun.Improvements)
		}
		if rep.InRun.NoChange == 2 {
			sure++
		}
	}
	if sure < runs*85/100 {
		t.Errorf("both in-run ratios NO CHANGE in %d of %d pairs of runs", sure, runs)
	}
}

// Item 4: a case whose ratio to its baseline dropped 5%, on a host 10%
// faster (testdata/paired-*.json). The absolute figure rose; the in-run
// ratio finds the regression, and it fails the comparison.
func TestInRunRegression(t *testing.T) {
	b, n := pairedFiles()
	rep := comparePaired(t, b, n, nil)
	ir := inRunByCase(rep.InRun)
	if c := ir["bridge/pkt=64"]; c.Verdict != stats.Regression || c.Ratio.Ratio < 0.94 || c.Ratio.Ratio > 0.96 || c.Ratio.Hi >= 0.97 || c.Test.Q >= 0.05 {
		t.Errorf("in-run bridge: %s %+v %+v, want a REGRESSION of about 0.95", c.Verdict, c.Ratio, c.Test)
	}
	if c := ir["macvlan-bridge/pkt=64"]; c.Verdict != stats.NoChange {
		t.Errorf("in-run macvlan: %s %+v", c.Verdict, c.Ratio)
	}
	abs := byName(rep)
	if c := abs["bridge/pkt=64"]; c.Verdict == stats.Regression || c.Ratio.Ratio < 1 {
		t.Errorf("absolute bridge: %s %+v: the faster host should hide the regression there", c.Verdict, c.Ratio)
	}
	if rep.Summary.Regressions != 0 || rep.InRun.Regressions != 1 || !rep.Failed() {
		t.Errorf("absolute regressions %d, in-run %d, failed %v: an in-run regression must fail", rep.Summary.Regressions, rep.InRun.Regressions, rep.Failed())
	}
	if !strings.Contains(rep.Summary.Headline, "in-run pps ratios: 1 regression, 0 improvements, 1 no change, 0 inconclusive of 2 cases") {
		t.Errorf("headline %q", rep.Summary.Headline)
	}
	if rep := comparePaired(t, b, n, func(o *Options) { o.FailOn = FailAbsolute }); rep.Failed() {
		t.Error("--fail-on absolute failed on an in-run regression")
	}

	// The CPU cost per packet, lower is better: bridge's ratio rose 5.3%.
	rep = comparePaired(t, b, n, func(o *Options) { o.Metric = "cpu_ns_per_pkt" })
	ir = inRunByCase(rep.InRun)
	if c := ir["bridge/pkt=64"]; c.Verdict != stats.Regression || c.Ratio.Ratio < 1.04 || c.Ratio.Ratio > 1.07 || rep.InRun.Metric != "cpu_ns_per_pkt" {
		t.Errorf("in-run cpu bridge: %s %+v", c.Verdict, c.Ratio)
	}
	if c := ir["macvlan-bridge/pkt=64"]; c.Verdict != stats.NoChange {
		t.Errorf("in-run cpu macvlan: %s %+v", c.Verdict, c.Ratio)
	}

	// A metric without block series has no in-run ratios, and says so.
	rep = comparePaired(t, b, n, func(o *Options) { o.Metric = "device_pps" })
	if rep.InRun == nil || len(rep.InRun.Cases) != 0 || !strings.Contains(rep.InRun.Note, "device_pps has none") || rep.Failed() {
		t.Errorf("device_pps: in-run %+v", rep.InRun)
	}
}

// Questions and cases that do not match between the files are listed with
// the reason, not compared.
func TestInRunMismatches(t *testing.T) {
	b, n := pairedFiles()
	// NEW has a second question BASE lacks, and a fourth case in the first.
	q2 := n.Questions[0]
	q2.Text = "Does GRO help?"
	n.Questions = append(n.Questions, q2)
	extra := n.Questions[0].Paired.Cases[1]
	extra.Case = "vxlan/pkt=64"
	p := *n.Questions[0].Paired
	p.Cases = append(slices.Clone(p.Cases), extra)
	n.Questions[0].Paired = &p
	rep := comparePaired(t, b, n, nil)
	var notes []string
	for _, c := range rep.InRun.Cases {
		if c.Verdict == "" {
			notes = append(notes, c.Question+" "+c.Case+": "+c.Note)
		}
	}
	slices.Sort(notes)
	want := []string{
		"Does GRO help? bridge/pkt=64: question measured interleaved only in NEW",
		"Does GRO help? macvlan-bridge/pkt=64: question measured interleaved only in NEW",
		"Which device costs least per packet? vxlan/pkt=64: only in NEW",
	}
	if !reflect.DeepEqual(notes, want) || rep.InRun.NotCompared != 3 || rep.InRun.Regressions != 1 {
		t.Errorf("not compared:\n%q\nwant\n%q\n(in-run %+v)", notes, want, rep.InRun)
	}

	// Different baselines: no ratio is comparable.
	b, n = pairedFiles()
	n.Questions[0].Baseline = "macvlan-bridge/pkt=64"
	rep = comparePaired(t, b, n, nil)
	if len(rep.InRun.Cases) != 1 || !strings.Contains(rep.InRun.Cases[0].Note, "the baselines differ: veth/pkt=64 in BASE, macvlan-bridge/pkt=64 in NEW") {
		t.Errorf("baselines differ: %+v", rep.InRun.Cases)
	}
}

// Item 4: files without blocks compare as before: no in-run section, no
// block samples, nothing new in any output (the golden files of TestGolden
// are the other half of this). A file with blocks against one without
// compares on trials and says there are no in-run ratios.
func TestWithoutPairedUnchanged(t *testing.T) {
	rep := run(t, "testdata/base.json", "testdata/new.json", nil)
	if rep.InRun != nil || rep.Method.Blocks != nil || rep.Method.FailOn != "" {
		t.Errorf("in-run %+v, blocks %+v, fail-on %q", rep.InRun, rep.Method.Blocks, rep.Method.FailOn)
	}
	js := mustWrite(t, rep, JSON)
	for _, s := range []string{`"in_run"`, `"samples"`, `"fail_on"`, `"blocks"`, `"method": "`} {
		if strings.Contains(js, s) {
			t.Errorf("JSON of files without blocks holds %s", s)
		}
	}
	for _, f := range []string{Text, Markdown} {
		if out := mustWrite(t, rep, f); strings.Contains(strings.ToLower(out), "in-run") || strings.Contains(out, "blocks") {
			t.Errorf("%s output mentions in-run ratios or blocks:\n%s", f, out)
		}
	}

	b, n := pairedFiles()
	one := comparePaired(t, withoutPaired(b), n, nil)
	both := comparePaired(t, withoutPaired(b), withoutPaired(n), nil)
	if one.InRun == nil || len(one.InRun.Cases) != 0 || !strings.HasPrefix(one.InRun.Note, "BASE has no interleaved questions") || one.Failed() {
		t.Errorf("BASE without blocks: in-run %+v", one.InRun)
	}
	if !reflect.DeepEqual(one.Cases, both.Cases) || !reflect.DeepEqual(one.Summary.Geomean, both.Summary.Geomean) {
		t.Errorf("BASE without blocks should compare NEW on its trials:\n%+v\n%+v", one.Cases, both.Cases)
	}
	if one := comparePaired(t, withoutPaired(b), n, func(o *Options) { o.FailOn = FailInRun }); !slices.ContainsFunc(one.Warnings,
		func(w string) bool { return strings.Contains(w, "this comparison cannot fail") }) {
		t.Errorf("--fail-on in-run without in-run ratios: warnings %q", one.Warnings)
	}
}

// The outputs of the interleaved pair in testdata, and the JSON's round
// trip.
func TestGoldenPaired(t *testing.T) {
	rep := run(t, "testdata/paired-base.json", "testdata/paired-new.json", nil)
	for _, f := range []struct{ file, format string }{
		{"compare-paired.md.golden", Markdown},
		{"compare-paired.txt.golden", Text},
		{"compare-paired.json.golden", JSON},
	} {
		golden(t, f.file, []byte(mustWrite(t, rep, f.format)))
	}
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
	// The files in testdata are what pairedFiles builds.
	pb, pn := pairedFiles()
	if mem := comparePaired(t, pb, pn, nil); !reflect.DeepEqual(mem.InRun, rep.InRun) {
		t.Errorf("testdata/paired-*.json differ from pairedFiles (go test -update rewrites them)")
	}
	if o := DefaultOptions(); o.FailOn != FailBoth {
		t.Errorf("default --fail-on %q", o.FailOn)
	}
	if _, err := Compare(FromResult("b", pb), FromResult("n", pn), Options{Metric: "pps", Alpha: 0.05, Resamples: 1000, FailOn: "sometimes"}); err == nil ||
		!strings.Contains(err.Error(), `fail-on: unknown value "sometimes" (both, absolute, in-run)`) {
		t.Errorf("bad fail-on: %v", err)
	}
}

// The ratio of two runs' ratios, by hand: BASE's case runs at half its
// baseline, NEW's at 0.45, each with alternating block noise (a negative
// lag-1 autocorrelation, which does not narrow the interval: NEff = n).
func TestInRunArithmetic(t *testing.T) {
	mk := func(ratio, noise float64) *result.Result {
		r := result.NewResult()
		pc := []result.PairedCase{{Case: "a"}, {Case: "b"}}
		for i := range 10 {
			s := noise
			if i%2 == 1 {
				s = -noise
			}
			pc[0].PPS = append(pc[0].PPS, 100)
			pc[1].PPS = append(pc[1].PPS, 100*ratio*math.Exp(s))
		}
		r.Questions = []result.Question{{Text: "q", Baseline: "a", Paired: &result.Paired{Blocks: 10, Cases: pc}}}
		for _, n := range []string{"a", "b"} {
			r.Cases = append(r.Cases, result.Case{Name: n, Status: result.StatusOK, Trials: []result.Trial{{PPS: 1}}})
		}
		return r
	}
	rep := comparePaired(t, mk(0.5, 0.01), mk(0.45, 0.02), nil)
	c := rep.InRun.Cases[0]
	// Each run, by stats.PairedRatio's Yuen interval: 10 blocks, 2 trimmed
	// from each end, h = 6 kept; the winsorized series is the series
	// (±s), variance s^2*10/9, so se = sqrt(9 * s^2*10/9 / (6*5)) = s/sqrt(3)
	// with 5 degrees of freedom (the lag-1 autocorrelation is -1: no
	// widening).
	seB, seN := 0.01/math.Sqrt(3), 0.02/math.Sqrt(3)
	se2 := seB*seB + seN*seN
	df := se2 * se2 / (math.Pow(seB, 4)/5 + math.Pow(seN, 4)/5)
	if math.Abs(c.Test.DF-df) > 1e-9 || math.Abs(df-7.353) > 0.01 {
		t.Errorf("df %v, want %v (7.353)", c.Test.DF, df)
	}
	if math.Abs(c.Ratio.Ratio-0.9) > 1e-12 || math.Abs(c.Base.Ratio-0.5) > 1e-12 || math.Abs(c.New.Ratio-0.45) > 1e-12 {
		t.Errorf("ratios %v / %v = %v, want 0.45 / 0.5 = 0.9", c.New.Ratio, c.Base.Ratio, c.Ratio.Ratio)
	}
	// The half-width in standard errors is the t quantile at 7.35 df:
	// between the tables' 2.306 (8 df) and 2.365 (7 df).
	half := math.Log(c.Ratio.Hi / c.Ratio.Ratio)
	if got := half / math.Sqrt(se2); got <= 2.306 || got >= 2.365 || math.Abs(math.Log(c.Ratio.Ratio/c.Ratio.Lo)-half) > 1e-12 {
		t.Errorf("half-width %v standard errors, want between qt(0.975, 8) = 2.306 and qt(0.975, 7) = 2.365", got)
	}
	if c.Verdict != stats.Regression || c.Test.P > 1e-3 {
		t.Errorf("verdict %s, p %v", c.Verdict, c.Test.P)
	}
}

// Batches by hand: 10 blocks a side, 5 batches of 2 (a batch's median is
// the mean of its two log values).
func TestCompareBatchesByHand(t *testing.T) {
	var base, nw []float64
	for _, off := range []float64{0, 0.1, -0.1, 0, 0} {
		base = append(base, 100*math.Exp(off-0.01), 100*math.Exp(off+0.01))
	}
	for _, off := range []float64{0.05, -0.05, 0, 0, 0} {
		nw = append(nw, 80*math.Exp(off), 80*math.Exp(off))
	}
	got := compareBatches(base, nw, 0.95)
	// Batch variances 0.02/4 and 0.005/4, over 5 each: 0.001 and 0.00025.
	se := math.Sqrt(0.001 + 0.00025)
	df := 0.00125 * 0.00125 / ((0.001*0.001 + 0.00025*0.00025) / 4)
	if math.Abs(got.Ratio-0.8) > 1e-12 || math.Abs(got.SE-se) > 1e-12 || math.Abs(got.DF-df) > 1e-9 || math.Abs(df-5.882) > 0.001 {
		t.Errorf("ratio %v se %v df %v, want 0.8, %v, %v", got.Ratio, got.SE, got.DF, se, df)
	}
	// t quantile at 5.88 df: between the tables' 2.447 (6 df) and 2.571 (5 df).
	if q := math.Log(got.Hi/got.Ratio) / se; q <= 2.4469 || q >= 2.5706 {
		t.Errorf("interval [%v, %v]: %v standard errors", got.Lo, got.Hi, q)
	}
	// |log 0.8| / se = 6.3: p well below 0.001 at 5.9 df.
	if got.P > 0.001 || got.P < 1e-6 {
		t.Errorf("p %v", got.P)
	}
}
