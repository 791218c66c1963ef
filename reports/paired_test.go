package reports

// Tests that an interleaved question is answered from its blocks' paired
// ratios, not from its trials: the baseline named, each ratio with its
// interval, the verdict of the interval against ±threshold and of q, the
// p-values adjusted across the question.

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// ratio is a stored paired ratio with its p-value.
func ratio(r, lo, hi, p float64) *result.Ratio {
	return &result.Ratio{Ratio: r, Lo: lo, Hi: hi, Level: 0.95, Blocks: 60, P: p, Method: stats.PairedMethod}
}

// pairedArm is one case of an interleaved question: its name and its
// stored ratios to the question's baseline (nil for the baseline).
type pairedArm struct {
	name     string
	pps, cpu *result.Ratio
}

// pairedResult is an interleaved result with one question whose first arm
// is the baseline. Every case's trials are the same (300k pps, 1% noise),
// so that an answer read from the trials finds no effect; the series are
// 60 blocks whose ratios to the baseline's are the stored ratios.
func pairedResult(q string, arms ...pairedArm) *result.Result {
	rng := rand.New(rand.NewPCG(7, 7))
	p := &result.Paired{Slice: 20e6, Seed: 9, WarmupBlocks: 5, Blocks: 60}
	var cases []result.Case
	for _, a := range arms {
		cases = append(cases, trialsCase(a.name, normal(rng, 8, 300000, 0.01), q))
		pc := result.PairedCase{Case: a.name, PPSRatio: a.pps, CPURatio: a.cpu}
		rp, rc := 1.0, 1.0
		if a.pps != nil {
			rp, rc = a.pps.Ratio, a.cpu.Ratio
		}
		for range p.Blocks {
			pc.PPS = append(pc.PPS, 300000*rp)
			pc.CPUNsPerPkt = append(pc.CPUNsPerPkt, 3000*rc)
		}
		p.Cases = append(p.Cases, pc)
	}
	r := synthResult(cases...)
	r.Settings.Method, r.Settings.Slice = "interleaved", p.Slice
	r.Questions = []result.Question{{Text: q, Baseline: arms[0].name, Paired: p}}
	return r
}

// TestPairedAnswer: the answer of an interleaved question reads each
// case's paired ratios of pps and of CPU per packet, with their intervals,
// against the named baseline, and decides each by its interval and q: an
// effect only when q < alpha and the whole interval lies beyond ±3%, no
// measurable effect whenever the interval lies within ±3% (even with a
// small q), inconclusive otherwise. The trials, equal in every case, would
// say otherwise.
func TestPairedAnswer(t *testing.T) {
	const q = "Does GRO help veth?"
	for _, c := range []struct {
		name     string
		pps, cpu *result.Ratio
		want     []string
	}{
		{"significant up", ratio(1.10, 1.08, 1.12, 1e-6), ratio(0.91, 0.89, 0.93, 1e-6), []string{
			"Against gro off: gro on delivers 1.10x gro off's pps (95% CI 1.08–1.12, faster) and costs 0.91x gro off per packet (95% CI 0.89–0.93, cheaper).",
		}},
		{"significant down", ratio(0.80, 0.78, 0.82, 1e-6), ratio(1.49, 1.47, 1.51, 1e-6), []string{
			"Against gro off: gro on delivers 0.80x gro off's pps (95% CI 0.78–0.82, slower) and costs 1.49x gro off per packet (95% CI 1.47–1.51, costlier).",
		}},
		{"within the threshold", ratio(1.012, 1.005, 1.019, 0.001), ratio(0.99, 0.98, 1.00, 0.04), []string{
			"gro had no measurable effect: against gro off, the interval of every paired ratio of pps and of CPU per packet lies within ±3% (the largest difference: gro on delivers 1.012x gro off's pps, 95% CI 1.005–1.019).",
		}},
		{"wide", ratio(1.05, 0.99, 1.11, 0.1), ratio(0.95, 0.90, 1.01, 0.1), []string{
			"Against gro off: gro on delivers 1.05x gro off's pps (95% CI 0.99–1.11, inconclusive) and costs 0.95x gro off per packet (95% CI 0.90–1.01, inconclusive).",
		}},
		{"beyond the threshold at one end", ratio(1.04, 1.02, 1.06, 1e-4), ratio(0.96, 0.94, 0.98, 1e-4), []string{
			"Against gro off: gro on delivers 1.04x gro off's pps (95% CI 1.02–1.06, inconclusive) and costs 0.96x gro off per packet (95% CI 0.94–0.98, inconclusive).",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := pairedResult(q, pairedArm{name: "veth/pkt=64/gro=off"}, pairedArm{"veth/pkt=64/gro=on", c.pps, c.cpu})
			got := answer(analyze(r).Groups[0]).Plain()
			for _, w := range c.want {
				if got != w {
					t.Errorf("answer:\n%s\nwant:\n%s", got, w)
				}
			}
		})
	}
}

// TestPairedThresholdIsTheTarget: an interleaved sweep measured its ratios
// to ±target, so a 2% effect its blocks resolve is an effect with a target
// of ±1%, and "no measurable effect" only against compare's ±3% when the
// sweep had no target.
func TestPairedThresholdIsTheTarget(t *testing.T) {
	const q = "Does cost_ns matter?"
	arms := []pairedArm{{name: "veth/pkt=64"}, {"veth/pkt=64/cost_ns=80", ratio(0.976, 0.971, 0.981, 1e-9), ratio(1.024, 1.019, 1.029, 1e-9)}}
	r := pairedResult(q, arms...)
	r.Settings.Target = 0.01
	got := answer(analyze(r).Groups[0]).Plain()
	if !strings.Contains(got, "(95% CI 0.971–0.981, slower)") || !strings.Contains(got, "(95% CI 1.019–1.029, costlier)") {
		t.Errorf("with a ±1%% target:\n%s", got)
	}
	r.Settings.Target = 0
	if got := answer(analyze(r).Groups[0]).Plain(); !strings.Contains(got, "no measurable effect") || !strings.Contains(got, "±3%") {
		t.Errorf("without a target:\n%s", got)
	}
	// Within the target: the sentence names the target as the threshold.
	r = pairedResult(q, arms[0], pairedArm{"veth/pkt=64/cost_ns=80", ratio(1.002, 0.998, 1.006, 0.3), ratio(0.999, 0.995, 1.003, 0.6)})
	r.Settings.Target = 0.01
	if got := answer(analyze(r).Groups[0]).Plain(); !strings.Contains(got, "no measurable effect") || !strings.Contains(got, "lies within ±1%") {
		t.Errorf("within a ±1%% target:\n%s", got)
	}
}

// TestPairedAdjustsAcrossQuestion: a case whose pps ratio lies beyond +3%
// with p = 0.02 is faster when it is alone in its question (its family is
// its pps and CPU ratios: q = 0.04); beside three cases with p = 0.5, the
// eight ratios of the question are one family and its q is 0.16:
// inconclusive. The Markdown table shows that q.
func TestPairedAdjustsAcrossQuestion(t *testing.T) {
	const q = "Does txqueuelen matter?"
	base := pairedArm{name: "veth/pkt=64/txqueuelen=100"}
	fast := pairedArm{"veth/pkt=64/txqueuelen=200", ratio(1.06, 1.04, 1.08, 0.02), ratio(0.99, 0.98, 1.00, 0.5)}
	alone := answer(analyze(pairedResult(q, base, fast)).Groups[0]).Plain()
	if !strings.Contains(alone, "txqueuelen 200 delivers 1.06x txqueuelen 100's pps (95% CI 1.04–1.08, faster)") {
		t.Errorf("alone in its question, not faster:\n%s", alone)
	}
	arms := []pairedArm{base, fast}
	ps := []float64{fast.pps.P, fast.cpu.P}
	for _, l := range []int{300, 400, 500} {
		a := pairedArm{fmt.Sprintf("veth/pkt=64/txqueuelen=%d", l), ratio(1.01, 0.975, 1.045, 0.5), ratio(1.0, 0.98, 1.02, 0.5)}
		arms = append(arms, a)
		ps = append(ps, a.pps.P, a.cpu.P)
	}
	r := pairedResult(q, arms...)
	among := answer(analyze(r).Groups[0]).Plain()
	if !strings.Contains(among, "txqueuelen 200 delivers 1.06x txqueuelen 100's pps (95% CI 1.04–1.08, inconclusive)") {
		t.Errorf("among eight ratios, not inconclusive:\n%s", among)
	}
	qs := stats.BenjaminiHochberg(ps)
	if math.Abs(qs[0]-0.16) > 1e-9 {
		t.Fatalf("q = %v, want 0.16", qs[0])
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	row := fmt.Sprintf("| txqueuelen 200 | 1.06x \\[1.04–1.08\\] | 0.99x \\[0.98–1.00\\] | 60 | %s, %s | pps: inconclusive; CPU: no measurable effect |", fmtP(qs[0]), fmtP(qs[1]))
	if !strings.Contains(b.String(), row) {
		t.Errorf("markdown lacks the row\n%s\n%s", row, b.String())
	}
}

// TestPairedContextBaseline: in a question compared at two packet sizes,
// the result's ratios are to the question's baseline (veth at 64 B), but
// a case at 1400 B is compared with veth at 1400 B, from the two cases'
// blocks.
func TestPairedContextBaseline(t *testing.T) {
	const q = "Which device is fastest?"
	rng := rand.New(rand.NewPCG(3, 4))
	names := []string{"veth/pkt=64", "veth/pkt=1400", "bridge/pkt=64", "bridge/pkt=1400"}
	level := []float64{300000, 280000, 200000, 196000}
	p := &result.Paired{Slice: 20e6, Seed: 1, Blocks: 80}
	var cases []result.Case
	for i, n := range names {
		cases = append(cases, trialsCase(n, normal(rng, 8, 300000, 0.01), q))
		pc := result.PairedCase{Case: n}
		for range p.Blocks {
			v := level[i] * (1 + 0.03*rng.NormFloat64())
			pc.PPS = append(pc.PPS, v)
			pc.CPUNsPerPkt = append(pc.CPUNsPerPkt, 1e9/v)
		}
		p.Cases = append(p.Cases, pc)
	}
	for i := 1; i < len(p.Cases); i++ {
		c := &p.Cases[i]
		pr, cr := stats.PairedRatio(p.Cases[0].PPS, c.PPS, 0.95), stats.PairedRatio(p.Cases[0].CPUNsPerPkt, c.CPUNsPerPkt, 0.95)
		c.PPSRatio = &result.Ratio{Ratio: pr.Ratio, Lo: pr.Lo, Hi: pr.Hi, Level: pr.Level, Blocks: pr.N, P: pr.P, Method: stats.PairedMethod}
		c.CPURatio = &result.Ratio{Ratio: cr.Ratio, Lo: cr.Lo, Hi: cr.Hi, Level: cr.Level, Blocks: cr.N, P: cr.P, Method: stats.PairedMethod}
	}
	r := synthResult(cases...)
	r.Questions = []result.Question{{Text: q, Baseline: names[0], Paired: p}}
	got := answer(analyze(r).Groups[0]).Plain()
	for _, c := range []struct{ base, x int }{{0, 2}, {1, 3}} {
		pr := stats.PairedRatio(p.Cases[c.base].PPS, p.Cases[c.x].PPS, 0.95)
		ratio, ci := fmtPaired(stats.RatioCI{Ratio: pr.Ratio, Lo: pr.Lo, Hi: pr.Hi, Level: pr.Level})
		want := fmt.Sprintf("bridge delivers %s veth's pps (%s, slower)", ratio, ci)
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q (bridge against %s):\n%s", want, names[c.base], got)
		}
	}
	if !strings.HasPrefix(got, "Against veth: at 64 B, bridge delivers") || !strings.Contains(got, "; at 1400 B, bridge delivers") {
		t.Errorf("answer does not compare at each size against veth:\n%s", got)
	}
}

// TestPairedMixed: in a file where one question has blocks and another
// ran in rounds (a tcp case), the first is answered from its blocks and
// the second, as before, from its trials; the HTML report shows a ratio
// table for the first only, and the trials' verdict column for the second.
func TestPairedMixed(t *testing.T) {
	const q1, q2 = "Does GRO help veth?", "Does txqueuelen matter?"
	r := pairedResult(q1, pairedArm{name: "veth/pkt=64/gro=off"},
		pairedArm{"veth/pkt=64/gro=on", ratio(0.80, 0.78, 0.82, 1e-6), ratio(1.25, 1.22, 1.28, 1e-6)})
	base, fast := adjustedPair()
	r.Cases = append(r.Cases, trialsCase("veth/pkt=64/txqueuelen=100", base, q2), trialsCase("veth/pkt=64/txqueuelen=200", fast, q2))
	r.Questions = append(r.Questions, result.Question{Text: q2, Baseline: "veth/pkt=64/txqueuelen=100"})
	a := analyze(r)
	if got := answer(a.Groups[0]).Plain(); !strings.Contains(got, "gro on delivers 0.80x gro off's pps (95% CI 0.78–0.82, slower)") {
		t.Errorf("the interleaved question is not answered from its blocks:\n%s", got)
	}
	if got := answer(a.Groups[1]).Plain(); verdictOf(got, "txqueuelen 200") != "faster" || strings.Contains(got, "delivers") {
		t.Errorf("the question in rounds is not answered from its trials:\n%s", got)
	}
	page := renderHTML(t, r)
	checkSelfContained(t, page)
	q1s, q2s := articleOf(t, page, "q1"), articleOf(t, page, "q2")
	if !strings.Contains(q1s, "<th>pps vs gro off</th><th>CPU/pkt vs gro off</th><th>blocks</th><th>verdict</th>") ||
		!strings.Contains(q1s, `<td class="num strong"`) || !strings.Contains(q1s, ">0.80x [0.78–0.82]</td>") ||
		!strings.Contains(q1s, `<td class="strong">slower, costlier</td>`) {
		t.Errorf("Q1 lacks its table of paired ratios:\n%s", q1s)
	}
	if strings.Contains(q1s, "<th>vs off</th>") {
		t.Error("Q1's table of cases has a trials' ratio column")
	}
	if strings.Contains(q2s, "pps vs txqueuelen 100") || !strings.Contains(q2s, "<th>vs 100</th><th>verdict</th>") {
		t.Errorf("Q2 (rounds) does not keep the trials' table:\n%s", q2s)
	}
	answers := page[strings.Index(page, `<section id="answers">`):strings.Index(page, `<section id="devices">`)]
	if !strings.Contains(answers, "block by block") || !strings.Contains(answers, "by the rule of vethbench compare") {
		t.Errorf("the answers do not say how both kinds of verdict are reached:\n%s", answers)
	}
}

// articleOf is the HTML of the question section with the anchor id.
func articleOf(t *testing.T, page, id string) string {
	t.Helper()
	start := strings.Index(page, `<article class="group" id="`+id+`">`)
	if start < 0 {
		t.Fatalf("page has no question section %q", id)
	}
	end := strings.Index(page[start:], "</article>")
	return page[start : start+end]
}

// readInterleaved reads the schema-3 interleaved fixture.
func readInterleaved(t *testing.T) *result.Result {
	t.Helper()
	r, err := result.ReadFile(interleavedFixture)
	if err != nil {
		t.Fatal(err)
	}
	if r.Settings.Method != "interleaved" {
		t.Fatalf("%s: method %q, want interleaved", interleavedFixture, r.Settings.Method)
	}
	return r
}

// interleavedFixture is a schema-3 result of the default sweep measured
// the interleaved way, every question with its blocks: a real sweep on the
// 2-vCPU development VM (2026-12-04, nothing else running). The tests here
// assert only on its structure and on values computed from it, so another
// sweep's output can replace it.
const interleavedFixture = "testdata/sweep-interleaved.json"

// fixtureRatios lists, for each interleaved question of r, every case
// compared with its context's baseline and the paired ratios computed
// here from the two cases' blocks.
type fixtureRatio struct {
	q        int // from 1
	g        *group
	what     string // "bridge at 64 B"
	value    string
	pps, cpu stats.Paired
}

func fixtureRatios(t *testing.T, r *result.Result) []fixtureRatio {
	t.Helper()
	var out []fixtureRatio
	for i, g := range analyze(r).Groups {
		if g.Paired == nil {
			continue
		}
		for _, f := range g.Findings {
			if !f.baseRan() {
				continue
			}
			base := pairedSeries(g.Paired, f.Cells[f.Base].P.c.Name)
			for j, c := range f.Cells {
				if j == f.Base || c.P == nil || !c.P.ok() {
					continue
				}
				x := pairedSeries(g.Paired, c.P.c.Name)
				if base == nil || x == nil {
					t.Fatalf("Q%d: %s or its baseline has no blocks", i+1, c.P.c.Name)
				}
				what := valueLabel(g.Compare, c.Value)
				if len(g.Context) > 0 {
					what += " " + g.contextPhrase(f.Context)
				}
				out = append(out, fixtureRatio{q: i + 1, g: g, what: what, value: c.Value,
					pps: stats.PairedRatioTrials(base.PPS, x.PPS, g.Paired.TrialBlocks, r.Settings.Confidence),
					cpu: stats.PairedRatioTrials(base.CPUNsPerPkt, x.CPUNsPerPkt, g.Paired.TrialBlocks, r.Settings.Confidence)})
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("the fixture has no paired comparison")
	}
	return out
}

func ratioText(p stats.Paired) string {
	return pairedRatioText(pairedMetric{Ratio: stats.RatioCI{Ratio: p.Ratio, Lo: p.Lo, Hi: p.Hi, Level: p.Level}})
}

// TestPairedFixtureAnswers: every question of the interleaved fixture is
// answered against its baseline with each case's ratios as its blocks give
// them; a question called without effect has every interval within ±3%.
func TestPairedFixtureAnswers(t *testing.T) {
	r := readInterleaved(t)
	theta := stats.DefaultThreshold
	noEffect := map[int]bool{}
	for _, fr := range fixtureRatios(t, r) {
		got := answer(fr.g).Plain()
		base := valueLabel(fr.g.Compare, fr.g.BaseValue)
		if !strings.Contains(got, "against "+base) && !strings.Contains(got, "Against "+base) {
			t.Errorf("Q%d does not name its baseline %s:\n%s", fr.q, base, got)
		}
		if strings.Contains(got, "had no measurable effect") {
			noEffect[fr.q] = true
			for _, p := range []stats.Paired{fr.pps, fr.cpu} {
				if p.Lo < 1-theta || p.Hi > 1+theta {
					t.Errorf("Q%d called without effect, but %s's interval is %.4f–%.4f:\n%s", fr.q, fr.what, p.Lo, p.Hi, got)
				}
			}
			continue
		}
		pr, pci := fmtPaired(stats.RatioCI{Ratio: fr.pps.Ratio, Lo: fr.pps.Lo, Hi: fr.pps.Hi, Level: fr.pps.Level})
		cr, cci := fmtPaired(stats.RatioCI{Ratio: fr.cpu.Ratio, Lo: fr.cpu.Lo, Hi: fr.cpu.Hi, Level: fr.cpu.Level})
		want := valueLabel(fr.g.Compare, fr.value) + " delivers " + pr + " " + possessive(base) + " pps (" + pci + ", "
		if !strings.Contains(got, want) {
			t.Errorf("Q%d: the answer lacks %q:\n%s", fr.q, want, got)
		}
		want = " and costs " + cr + " " + base + " per packet (" + cci + ", "
		if !strings.Contains(got, want) {
			t.Errorf("Q%d: the answer lacks %q:\n%s", fr.q, want, got)
		}
	}
	if len(noEffect) == len(r.Questions) {
		t.Error("every question of the fixture is without effect: the fixture tests too little")
	}
}

// TestPairedFixtureTables: the HTML report has, in each interleaved
// question's section, how it was measured, the block ratios' chart and a
// table of paired ratios with every compared case's; the Markdown report
// has the same table.
func TestPairedFixtureTables(t *testing.T) {
	r := readInterleaved(t)
	page := renderHTML(t, r)
	checkSelfContained(t, page)
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	mdText := md.String()
	if !strings.Contains(mdText, "\n### Paired ratios\n") {
		t.Fatalf("markdown has no paired ratios:\n%s", mdText)
	}
	for _, fr := range fixtureRatios(t, r) {
		art := articleOf(t, page, fmt.Sprintf("q%d", fr.q))
		base := valueLabel(fr.g.Compare, fr.g.BaseValue)
		p := fr.g.Paired
		method := fmt.Sprintf("Interleaved: %d blocks of %s slices", p.Blocks, durationText(p.Slice))
		for _, want := range []string{
			method, fmt.Sprintf("seed %d", p.Seed), escape("t intervals over trials, each in fresh topologies, of their blocks' 20% trimmed-mean log-ratios"), "their own, wider intervals",
			"<th>pps vs " + escape(base) + "</th><th>CPU/pkt vs " + escape(base) + "</th><th>blocks</th><th>verdict</th>",
			">" + ratioText(fr.pps) + "</td>", ">" + ratioText(fr.cpu) + "</td>",
			`aria-label="pps ratio to ` + escape(base) + ` in each block"`,
		} {
			if !strings.Contains(art, want) {
				t.Errorf("Q%d's section lacks %q", fr.q, want)
			}
		}
		if !regexp.MustCompile(`(?m)^\*\*Q` + fmt.Sprint(fr.q) + `\*\* against ` + regexp.QuoteMeta(mdEscape(base)) + `\. ` + regexp.QuoteMeta(method)).MatchString(mdText) {
			t.Errorf("markdown lacks Q%d's method line", fr.q)
		}
		row := "| " + mdEscape(fr.what) + " | " + mdEscape(ratioText(fr.pps)) + " | " + mdEscape(ratioText(fr.cpu)) + " | " + fmt.Sprint(fr.pps.N) + " | "
		if !strings.Contains(mdText, row) {
			t.Errorf("markdown lacks the row %q", row)
		}
	}
}

// TestPairedFixtureGolden compares the interleaved fixture's reports with
// their golden files (go test -update rewrites them).
func TestPairedFixtureGolden(t *testing.T) {
	r := readInterleaved(t)
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/sweep-interleaved.md", md.String())
	golden(t, "testdata/sweep-interleaved.html", renderHTML(t, r))
}

// golden compares got with the file path, which go test -update rewrites.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./reports -run %s -update rewrites it): first difference at byte %d", path, t.Name(), firstDiff(got, string(want)))
	}
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
