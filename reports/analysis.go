package reports

// The analysis is the numbers of a report, without words (docs/report.md
// tells the method): cases are grouped by the question they answer
// (Case.Questions; a result without questions is one group), each case's
// dimensions are read from its name (dims.go), and the dimension that
// varies across a group is compared at every combination of the other
// varying dimensions (its context), as ratios of medians with bootstrap
// intervals. sentences.go states the findings, caveats.go what qualifies
// them.

import (
	"cmp"
	"maps"
	"math"
	"slices"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// NoEffectBand is the half-width of the band around a ratio of 1 within
// which a difference counts as no measurable effect even when its interval
// excludes 1: 3%, the default sweep's precision target.
const NoEffectBand = 0.03

// analysis is everything derived from a result that the reports show.
type analysis struct {
	r       *result.Result
	Groups  []*group
	Caveats caveats
	level   float64 // of the ratios' intervals
	seed    uint64  // of their bootstrap
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
	Compare  string   // the dimension compared
	Context  []string // the other varying dimensions
	Values   map[string][]string
	Findings []finding
}

// cell is one case of a finding: the compared value in a context.
type cell struct {
	Value string
	P     *point // nil if no case has this value in the context
	// VsBase is the case's pps over the baseline's (the first value that
	// ran), with its interval; nil for the baseline itself.
	VsBase *stats.RatioCI
}

// finding compares the values of the group's compared dimension in one
// context.
type finding struct {
	Context []string // values of g.Context, in order
	Cells   []cell
	// Winner and Loser index Cells: the fastest value, and the one it is
	// compared with (the runner-up for devices, the slowest for knobs).
	Winner, Loser int
	Ratio         stats.RatioCI // Winner over Loser
	P             float64       // Mann-Whitney two-sided p of the same
	Measurable    bool
	// VsVeth is, for devices, the winner over veth when veth is neither
	// winner nor loser.
	VsVeth *stats.RatioCI
	// Single is set when only one value ran in this context.
	Single bool
}

// measurable reports whether a ratio's interval shows an effect: it
// excludes 1 and is not within NoEffectBand of it.
func measurable(ci stats.RatioCI) bool {
	if math.IsNaN(ci.Lo) || math.IsNaN(ci.Hi) {
		return false
	}
	if ci.Lo <= 1 && ci.Hi >= 1 {
		return false
	}
	return ci.Lo < 1-NoEffectBand || ci.Hi > 1+NoEffectBand
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
		g := &group{Question: q, Points: byQ[q]}
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
	g.Compare = chooseCompare(g.Question, varying)
	for _, k := range varying {
		if k != g.Compare {
			g.Context = append(g.Context, k)
		}
	}
	if g.Compare == "" {
		return
	}
	for _, ctx := range product(g.Context, g.Values) {
		if f, ok := a.find(g, ctx); ok {
			g.Findings = append(g.Findings, f)
		}
	}
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

func (a *analysis) ratio(base, new []float64) (stats.RatioCI, float64) {
	ci := stats.RatioOfMedians(base, new, a.level, stats.DefaultResamples, a.seed)
	return ci, stats.MannWhitneyU(new, base).P
}

// find compares the compared dimension's values in one context.
func (a *analysis) find(g *group, ctx []string) (finding, bool) {
	f := finding{Context: ctx}
	for _, v := range g.Values[g.Compare] {
		c := cell{Value: v}
		for i := range g.Points {
			p := g.Points[i]
			if p.dims[g.Compare] == v && g.inContext(p, ctx) {
				c.P = &g.Points[i]
				break
			}
		}
		f.Cells = append(f.Cells, c)
	}
	var ran []int // cells that measured, fastest first
	for i, c := range f.Cells {
		if c.P != nil && c.P.ok() {
			ran = append(ran, i)
		}
	}
	if len(ran) == 0 {
		return f, false
	}
	base := ran[0]
	for _, i := range ran[1:] {
		ci, _ := a.ratio(f.Cells[base].P.pps(), f.Cells[i].P.pps())
		f.Cells[i].VsBase = &ci
	}
	slices.SortStableFunc(ran, func(x, y int) int {
		return cmp.Compare(f.Cells[y].P.c.Summary.PPS.Median, f.Cells[x].P.c.Summary.PPS.Median)
	})
	if len(ran) == 1 {
		f.Single, f.Winner, f.Loser = true, ran[0], ran[0]
		return f, true
	}
	if g.Compare == dimDevice {
		// loopback has no device: it is the baseline, not a contender.
		var devs []int
		for _, i := range ran {
			if f.Cells[i].Value != "loopback" {
				devs = append(devs, i)
			}
		}
		if len(devs) >= 2 {
			ran = devs
		}
		f.Winner, f.Loser = ran[0], ran[1]
	} else {
		f.Winner, f.Loser = ran[0], ran[len(ran)-1]
	}
	f.Ratio, f.P = a.ratio(f.Cells[f.Loser].P.pps(), f.Cells[f.Winner].P.pps())
	f.Measurable = measurable(f.Ratio)
	if g.Compare == dimDevice {
		for _, i := range ran[2:] {
			if f.Cells[i].Value == "veth" {
				ci := stats.RatioOfMedians(f.Cells[i].P.pps(), f.Cells[f.Winner].P.pps(), a.level, stats.DefaultResamples, a.seed)
				f.VsVeth = &ci
			}
		}
	}
	return f, true
}

// effect is one group's difference in one context, for lists of the
// largest differences.
type effect struct {
	Q int // the group's number, from 1
	g *group
	f *finding
}

// effects lists the difference of every group in every context (the
// fastest value against the runner-up for devices, against the slowest for
// knobs), largest first.
func (a *analysis) effects() []effect {
	var out []effect
	for i, g := range a.Groups {
		for j := range g.Findings {
			if !g.Findings[j].Single {
				out = append(out, effect{Q: i + 1, g: g, f: &g.Findings[j]})
			}
		}
	}
	slices.SortStableFunc(out, func(x, y effect) int { return cmp.Compare(y.f.Ratio.Ratio, x.f.Ratio.Ratio) })
	return out
}
