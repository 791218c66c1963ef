package reports

// The paired ratios of an interleaved question: how they were measured,
// each block's pps ratio over time, and a table of every case's ratios of
// pps and of CPU per packet to its context's baseline.

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

type pairedView struct {
	Method string
	Figure *figure
	Table  table
}

// pairedView is the paired ratios' part of an interleaved question's
// section; nil for a question without blocks.
func (a *analysis) pairedView(g *group) (*pairedView, error) {
	if g.Paired == nil || g.Compare == "" {
		return nil, nil
	}
	v := &pairedView{Method: pairedMethodText(g, a.pairedRule())}
	base := valueLabel(g.Compare, g.BaseValue)
	t := table{Head: slices.Clone(g.Context)}
	t.Head = append(t.Head, g.Compare, "pps vs "+base, "CPU/pkt vs "+base, "blocks", "verdict")
	var names []string
	var ratios [][]float64
	for _, f := range g.Findings {
		cs := f.compared()
		if len(cs) == 0 {
			continue
		}
		bc := f.Cells[f.Base].P.c
		bs := pairedSeries(g.Paired, bc.Name)
		row := func(c *cell, cells ...tcell) {
			var r []tcell
			for _, x := range f.Context {
				r = append(r, txt(x))
			}
			r = append(r, tcell{Text: c.Value, Title: c.P.c.Name})
			t.Rows = append(t.Rows, append(r, cells...))
		}
		blocks := "–"
		if bs != nil {
			blocks = fmt.Sprint(len(bs.PPS))
		}
		muted := tcell{Text: "baseline", Class: "muted"}
		row(&f.Cells[f.Base], muted, muted, num(blocks), muted)
		for _, c := range cs {
			pv := c.Pair
			n := max(pv.PPS.Blocks, pv.CPU.Blocks)
			verdict := txt(pairedVerdictText(pv))
			if pv.PPS.effect() || pv.CPU.effect() {
				verdict.Class = "strong"
			}
			row(c, pairedCell(pv.PPS), pairedCell(pv.CPU), num(fmt.Sprint(n)), verdict)
			name := valueLabel(g.Compare, c.Value)
			if len(g.Context) > 0 {
				name += ", " + g.contextName(f.Context)
			}
			names = append(names, name)
			ratios = append(ratios, blockRatios(bs, pairedSeries(g.Paired, c.P.c.Name)))
		}
	}
	v.Table = t
	if len(names) == 0 {
		return v, nil
	}
	title := "pps ratio to " + base + " in each block"
	svg, err := blockChart(title, ratios, g.PairedTheta)
	if err != nil {
		return nil, err
	}
	var legend []legendItem
	for i, n := range names {
		legend = append(legend, legendItem{Name: n, Color: cssColor(colorAt(i)), Line: true})
	}
	v.Figure = &figure{SVG: svg, Legend: legend, Caption: fmt.Sprintf(
		"Each block's pps of a case over its context's baseline's in the same block, in time order, trial after trial; dashed: ±%s, the threshold of the verdicts. A ratio in the table is the mean over trials of each trial's trimmed geometric mean of its blocks' ratios.",
		pct(g.PairedTheta))}
	return v, nil
}

// pairedCell shows a paired ratio with its interval, bold when it is an
// effect; its title gives q and the method.
func pairedCell(m pairedMetric) tcell {
	c := num(pairedRatioText(m))
	if math.IsNaN(m.Ratio.Ratio) {
		c.Class = "muted"
		return c
	}
	from := "from the result file"
	if !m.Stored {
		from = "computed by the report from the two cases' blocks"
	}
	c.Title = fmt.Sprintf("%s interval; q %s: the p-value (%s) adjusted (Benjamini-Hochberg) across the question; %s, %s; %s",
		pct(m.Ratio.Level), fmtP(m.Q), fmtP(m.P), m.Method, from, pairedWords(m.Verdict, false))
	if m.effect() {
		c.Class = "strong"
	}
	return c
}

// pairedRatioText is "0.67x [0.66–0.68]", the ratio alone without an
// interval, "–" without a ratio.
func pairedRatioText(m pairedMetric) string {
	if math.IsNaN(m.Ratio.Ratio) {
		return "–"
	}
	ratio, ci := fmtPaired(m.Ratio)
	if ci == "" {
		return ratio
	}
	_, bounds, _ := strings.Cut(ci, " CI ")
	return ratio + " [" + bounds + "]"
}

// pairedMethodText says how an interleaved question was measured and its
// intervals computed: "Interleaved: 600 blocks of 20 ms slices (after 25
// warm-up blocks), seed 7; intervals are 20% trimmed-mean t intervals on block log-ratios (Yuen,
// lag-1 adjusted), at 95%; ...".
func pairedMethodText(g *group, r stats.Rule) string {
	p := g.Paired
	var b strings.Builder
	fmt.Fprintf(&b, "Interleaved: %s of %s slices", plural(p.Blocks, "block", "blocks"), durationText(p.Slice))
	if p.WarmupBlocks > 0 {
		fmt.Fprintf(&b, " (each trial after %s)", plural(p.WarmupBlocks, "warm-up block", "warm-up blocks"))
	}
	fmt.Fprintf(&b, ", seed %d", p.Seed)
	var methods []string
	computed := false
	for _, f := range g.Findings {
		for _, c := range f.compared() {
			for _, m := range []pairedMetric{c.Pair.PPS, c.Pair.CPU} {
				if m.Method != "" && !slices.Contains(methods, m.Method) {
					methods = append(methods, m.Method)
				}
				computed = computed || !m.Stored && m.Blocks > 0
			}
		}
	}
	for i, m := range methods {
		switch m {
		case stats.PairedMethod:
			methods[i] = "20% trimmed-mean t intervals on block log-ratios (Yuen, lag-1 adjusted)"
		case stats.PairedTrialsMethod:
			methods[i] = "t intervals over trials, each in fresh topologies, of their blocks' 20% trimmed-mean log-ratios"
		}
	}
	if len(methods) > 0 {
		fmt.Fprintf(&b, "; intervals are %s, at %s", strings.Join(methods, " and "), pct(1-r.Alpha))
	}
	fmt.Fprintf(&b, "; q: their p-values adjusted (Benjamini-Hochberg) across the question's pps and CPU ratios.")
	if computed {
		b.WriteString(" The result's ratios are to the question's baseline; those to another context's baseline are computed by the report from the two cases' blocks.")
	}
	if p.Stop != "" {
		fmt.Fprintf(&b, " Stopped: %s.", p.Stop)
	}
	b.WriteString(" Absolute figures (the medians over trials, here and in the table of every case) have their own, wider intervals: they carry the machine's drift, which the blocks' ratios cancel.")
	return b.String()
}

// durationText is "20 ms", "1.5 s", "500 µs".
func durationText(d time.Duration) string {
	switch {
	case d <= 0:
		return "unknown"
	case d >= time.Second:
		return trimZeros(fmt.Sprintf("%.3f", d.Seconds())) + " s"
	case d >= time.Millisecond:
		return trimZeros(fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond))) + " ms"
	}
	return trimZeros(fmt.Sprintf("%.3f", float64(d)/float64(time.Microsecond))) + " µs"
}

// pairedSeries is a case's series in p, nil when it has none.
func pairedSeries(p *result.Paired, name string) *result.PairedCase {
	for i := range p.Cases {
		if p.Cases[i].Case == name {
			return &p.Cases[i]
		}
	}
	return nil
}

// blockRatios is x's pps over base's, block by block (NaN where either
// is missing or not positive).
func blockRatios(base, x *result.PairedCase) []float64 {
	if base == nil || x == nil {
		return nil
	}
	out := make([]float64, min(len(base.PPS), len(x.PPS)))
	for i := range out {
		out[i] = math.NaN()
		if b, v := base.PPS[i], x.PPS[i]; b > 0 && v > 0 {
			out[i] = v / b
		}
	}
	return out
}
