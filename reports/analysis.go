package reports

// The analysis is the numbers of a report, without words (docs/report.md
// tells the method): cases are grouped by the question they answer
// (Case.Questions; a result without questions is one group), each case's
// dimensions are read from its name (dims.go), and the dimension that
// varies across a group is compared at every combination of the other
// varying dimensions (its context): in each context, every case with the
// question's baseline of that context, by the rule of `vethbench compare`
// (ratios of medians with bootstrap intervals, Mann-Whitney p-values
// adjusted across the question, verdicts), or, for a question measured in
// interleaved blocks, by the paired ratios of its blocks (paired.go).
// sentences.go states the findings, caveats.go what qualifies them.

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// analysis is everything derived from a result that the reports show.
type analysis struct {
	r       *result.Result
	Groups  []*group
	Caveats caveats
	level   float64 // of the ratios' intervals: the result's confidence
	seed    uint64  // of their bootstrap
}

// rule is how the answers decide: the rule of `vethbench compare`
// (stats.CompareFamily) with its threshold, alpha 1 - the result's
// confidence (so that the intervals are at the result's level), pps being
// better higher.
func (a *analysis) rule() stats.Rule {
	// Rounded, so that a confidence of 0.95 gives compare's alpha of 0.05
	// and the same intervals, not 0.050000000000000044.
	alpha := math.Round((1-a.level)*1e9) / 1e9
	return stats.Rule{Alpha: alpha, Threshold: stats.DefaultThreshold, HigherIsBetter: true,
		Resamples: stats.DefaultResamples, Seed: a.seed}
}

// pairedRule is how interleaved questions decide: rule with the sweep's
// precision target as the threshold (Settings.Target, ±1% in the default
// sweep) when it has one. Its ratios were measured until their intervals
// reached that width, so an effect beyond it can be told; calling a 2%
// change the blocks resolve "no measurable effect" because compare's
// threshold for whole runs is 3% would say less than was measured.
func (a *analysis) pairedRule() stats.Rule {
	r := a.rule()
	if t := a.r.Settings.Target; t > 0 {
		r.Threshold = t
	}
	return r
}

// point is one case with its dimensions.
type point struct {
	c    *result.Case
	dims map[string]string
}

func (p point) ok() bool {
	return p.c.Status == result.StatusOK && p.c.Summary != nil && len(p.c.Trials) > 0
}

// pps returns the per-trial received rates.
func (p point) pps() []float64 {
	v := make([]float64, 0, len(p.c.Trials))
	for _, t := range p.c.Trials {
		v = append(v, t.PPS)
	}
	return v
}

// group is the cases answering one question.
type group struct {
	Question string
	Points   []point
	// Baseline names the case every other case of the question is compared
	// with: the one the result names for the question (Named), else the
	// question's first case in the file. It may be absent from Points (an
	// interrupted run).
	Baseline string
	Named    bool
	// BaseValue is the baseline's value of the compared dimension: in each
	// context, the case with this value is the one the others are
	// compared with.
	BaseValue string
	Compare   string   // the dimension compared
	Context   []string // the other varying dimensions
	Values    map[string][]string
	Findings  []finding
	// Paired is the question's interleaved measurement, from the result:
	// when set, its cases are compared by their paired ratios
	// (decidePaired), not by their trials.
	Paired *result.Paired
	// PairedTheta is the threshold the paired verdicts used (pairedRule).
	PairedTheta float64
}

// cell is one case of a finding: the compared value in a context.
type cell struct {
	Value string
	P     *point // nil if no case has this value in the context
	// Vs is the case against its context's baseline, decided with the
	// question's other comparisons as one family; nil for the baseline
	// itself, and for a case that did not measure or has no baseline that
	// measured. Nil in a paired group.
	Vs *stats.Comparison
	// Pair is the same from the blocks of an interleaved question
	// (group.Paired); nil otherwise.
	Pair *pairedVs
}

// finding compares the values of the group's compared dimension in one
// context.
type finding struct {
	Context []string // values of g.Context, in order
	Cells   []cell
	// Base indexes the cell of the baseline's value; -1 when the group has
	// no case of that value.
	Base int
	// Single is set when only one value ran in this context.
	Single bool
}

// baseRan reports whether the context's baseline measured.
func (f *finding) baseRan() bool {
	return f.Base >= 0 && f.Cells[f.Base].P != nil && f.Cells[f.Base].P.ok()
}

// compared lists the cells compared with the baseline.
func (f *finding) compared() []*cell {
	var out []*cell
	for i := range f.Cells {
		if f.Cells[i].Vs != nil || f.Cells[i].Pair != nil {
			out = append(out, &f.Cells[i])
		}
	}
	return out
}

func analyze(r *result.Result) *analysis {
	a := &analysis{r: r, Caveats: caveatsOf(r), level: r.Settings.Confidence, seed: r.Settings.Seed}
	if !(a.level > 0 && a.level < 1) {
		a.level = 0.95
	}
	if a.seed == 0 {
		a.seed = 1
	}
	var order []string
	byQ := map[string][]point{}
	named := map[string]string{}
	paired := map[string]*result.Paired{}
	for _, q := range r.Questions {
		if _, dup := named[q.Text]; !dup {
			named[q.Text] = q.Baseline
			paired[q.Text] = q.Paired
			order = append(order, q.Text)
			byQ[q.Text] = nil
		}
	}
	for i := range r.Cases {
		c := &r.Cases[i]
		qs := c.Questions
		if len(qs) == 0 {
			qs = []string{""}
		}
		for _, q := range qs {
			if _, ok := byQ[q]; !ok {
				order = append(order, q)
			}
			byQ[q] = append(byQ[q], point{c: c, dims: caseDims(c)})
		}
	}
	for _, q := range order {
		if len(byQ[q]) == 0 {
			continue // a question none of whose cases ran (an interrupted run)
		}
		g := &group{Question: q, Points: byQ[q], Paired: paired[q]}
		g.Baseline, g.Named = named[q]
		if !g.Named || g.Baseline == "" {
			g.Baseline, g.Named = g.Points[0].c.Name, false
		}
		a.analyzeGroup(g)
		a.Groups = append(a.Groups, g)
	}
	return a
}

func (a *analysis) analyzeGroup(g *group) {
	pts := g.Points
	// Every dimension any case names, in the order of names; a knob a case
	// leaves out is at its default.
	keys := map[string]bool{}
	for _, p := range pts {
		for k := range p.dims {
			keys[k] = true
		}
	}
	for _, p := range pts {
		for k := range keys {
			if _, ok := p.dims[k]; !ok {
				p.dims[k] = "default"
			}
		}
	}
	collapseModes(pts)
	g.Values = map[string][]string{}
	var varying []string
	for _, k := range slices.SortedFunc(maps.Keys(keys), dimOrder) {
		var vals []string
		for _, p := range pts {
			if v := p.dims[k]; !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
		sortNumeric(vals)
		g.Values[k] = vals
		if len(vals) > 1 {
			varying = append(varying, k)
		}
	}
	slices.SortStableFunc(varying, func(x, y string) int { return cmp.Compare(dimRank(x), dimRank(y)) })
	varying = foldReplicas(g, varying)
	g.Compare = chooseCompare(g.Question, varying)
	for _, k := range varying {
		if k != g.Compare {
			g.Context = append(g.Context, k)
		}
	}
	if g.Compare == "" {
		return
	}
	g.BaseValue = g.baseValue()
	for _, ctx := range product(g.Context, g.Values) {
		if f, ok := g.find(ctx); ok {
			g.Findings = append(g.Findings, f)
		}
	}
	a.decide(g)
}

// foldReplicas keeps a replica (replica=2, the same case measured again,
// for an A/A check) in the context of the case it repeats: where the
// group varies something else, the replica dimension is not a context of
// its own (which would leave each replica alone, with no baseline) but
// part of the other value: "0 (replica 2)" beside "0" and "70". It returns
// varying without result.DimReplica then. Where only replicas vary, they
// are what is compared.
func foldReplicas(g *group, varying []string) []string {
	i := slices.Index(varying, result.DimReplica)
	if i < 0 || len(varying) == 1 {
		return varying
	}
	varying = slices.Delete(slices.Clone(varying), i, i+1)
	compare := chooseCompare(g.Question, varying)
	var vals []string
	for _, p := range g.Points {
		if r := p.dims[result.DimReplica]; r != "1" && r != "default" {
			p.dims[compare] += " (replica " + r + ")"
		}
		p.dims[result.DimReplica] = "1"
		if v := p.dims[compare]; !slices.Contains(vals, v) {
			vals = append(vals, v)
		}
	}
	sortNumeric(vals)
	g.Values[compare], g.Values[result.DimReplica] = vals, []string{"1"}
	return varying
}

// baseValue is the baseline's value of the compared dimension: from its
// point, or from its name when the result lacks it.
func (g *group) baseValue() string {
	for _, p := range g.Points {
		if p.c.Name == g.Baseline {
			return p.dims[g.Compare]
		}
	}
	v, ok := caseDims(&result.Case{Name: g.Baseline})[g.Compare]
	if !ok {
		return "default" // a knob the baseline leaves out
	}
	if kind, _, _ := strings.Cut(v, "-"); g.Compare == dimDevice && !slices.Contains(g.Values[dimDevice], v) &&
		slices.Contains(g.Values[dimDevice], kind) {
		v = kind // as collapseModes names it
	}
	return v
}

// product lists every combination of the values of dims, the last fastest.
func product(dims []string, values map[string][]string) [][]string {
	out := [][]string{{}}
	for _, d := range dims {
		var next [][]string
		for _, prefix := range out {
			for _, v := range values[d] {
				next = append(next, append(slices.Clone(prefix), v))
			}
		}
		out = next
	}
	return out
}

// inContext reports whether p has the context values ctx of g.
func (g *group) inContext(p point, ctx []string) bool {
	for i, d := range g.Context {
		if p.dims[d] != ctx[i] {
			return false
		}
	}
	return true
}

// find lays out the compared dimension's values in one context.
func (g *group) find(ctx []string) (finding, bool) {
	f := finding{Context: ctx, Base: slices.Index(g.Values[g.Compare], g.BaseValue)}
	ran := 0
	for _, v := range g.Values[g.Compare] {
		c := cell{Value: v}
		for i := range g.Points {
			p := g.Points[i]
			if p.dims[g.Compare] == v && g.inContext(p, ctx) {
				c.P = &g.Points[i]
				break
			}
		}
		if c.P != nil && c.P.ok() {
			ran++
		}
		f.Cells = append(f.Cells, c)
	}
	f.Single = ran == 1
	return f, ran > 0
}

// decide compares, in every context, each case that measured with the
// context's baseline, the question's comparisons being one family: the
// Benjamini-Hochberg adjustment runs across the whole question. An
// interleaved question is decided by its blocks (decidePaired).
func (a *analysis) decide(g *group) {
	if g.Paired != nil {
		a.decidePaired(g)
		return
	}
	var pairs []stats.Pair
	var at []*cell
	for i := range g.Findings {
		f := &g.Findings[i]
		if !f.baseRan() {
			continue
		}
		base := f.Cells[f.Base].P.pps()
		for j := range f.Cells {
			c := &f.Cells[j]
			if j == f.Base || c.P == nil || !c.P.ok() {
				continue
			}
			pairs = append(pairs, stats.Pair{Base: base, New: c.P.pps()})
			at = append(at, c)
		}
	}
	for i, out := range stats.CompareFamily(pairs, a.rule()) {
		at[i].Vs = &out
	}
}

// effect is one case against its context's baseline, for lists of the
// largest differences.
type effect struct {
	Q int // the group's number, from 1
	g *group
	f *finding
	c *cell
}

// effects lists every comparison with a baseline, of every group in every
// context, the largest change first (by |log ratio|).
func (a *analysis) effects() []effect {
	var out []effect
	for i, g := range a.Groups {
		for j := range g.Findings {
			f := &g.Findings[j]
			for _, c := range f.compared() {
				out = append(out, effect{Q: i + 1, g: g, f: f, c: c})
			}
		}
	}
	size := func(e effect) float64 {
		if r := e.c.headline().Ratio.Ratio; r > 0 {
			return math.Abs(math.Log(r))
		}
		return 0
	}
	slices.SortStableFunc(out, func(x, y effect) int { return cmp.Compare(size(y), size(x)) })
	return out
}

// headline is a compared cell's comparison of pps with its baseline: of
// its trials, or of its blocks in a paired group. Q is the adjusted
// p-value either way.
func (c *cell) headline() headline {
	if c.Pair != nil {
		m := c.Pair.PPS
		return headline{Ratio: m.Ratio, Q: m.Q, Verdict: m.Verdict, Paired: true}
	}
	return headline{Ratio: c.Vs.Ratio, Q: c.Vs.Q, Verdict: c.Vs.Verdict}
}

type headline struct {
	Ratio   stats.RatioCI
	Q       float64
	Verdict stats.Verdict
	Paired  bool
}
