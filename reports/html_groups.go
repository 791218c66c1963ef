package reports

// The device comparison and the knob sweeps: each group's answer, charts
// of pps and CPU time per packet, a heatmap of two-knob sweeps, and a
// table.

import (
	"fmt"
	"html/template"
	"slices"
	"strings"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

type figure struct {
	SVG     template.HTML
	Legend  []legendItem
	Caption string
}

type groupView struct {
	Anchor   string
	N        int
	Question string
	Answer   sentence
	Paired   *pairedView // an interleaved question's paired ratios
	Figures  []figure
	Heatmap  *heatmap
	Table    table
}

type devicesView struct {
	Groups []groupView
	Empty  string
}

func buildDevices(a *analysis) (any, error) {
	return a.groupsView("No question of this result compares devices.", func(g *group) bool { return g.Compare == dimDevice })
}

func buildKnobs(a *analysis) (any, error) {
	return a.groupsView("No question of this result sweeps a knob.", func(g *group) bool { return g.Compare != "" && g.Compare != dimDevice })
}

// groupsView is the section of the groups that want, or empty when none.
func (a *analysis) groupsView(empty string, want func(*group) bool) (devicesView, error) {
	v := devicesView{Empty: empty}
	for i, g := range a.Groups {
		if !want(g) {
			continue
		}
		gv, err := a.groupView(i, g)
		if err != nil {
			return v, err
		}
		v.Groups = append(v.Groups, gv)
	}
	return v, nil
}

func (a *analysis) groupView(i int, g *group) (groupView, error) {
	gv := groupView{Anchor: fmt.Sprintf("q%d", i+1), N: i + 1, Question: g.Question, Answer: answer(g)}
	pv, err := a.pairedView(g)
	if err != nil {
		return gv, err
	}
	gv.Paired = pv
	cats := g.Values[g.Compare]
	labels := make([]string, len(cats))
	for j, v := range cats {
		labels[j] = v
	}
	notes := make([]string, len(cats))
	for _, p := range g.Points {
		if !p.ok() {
			notes[slices.Index(cats, p.dims[g.Compare])] = p.c.Status
		}
	}
	var pps, cpu []*series
	for k, f := range g.Findings {
		name := g.contextName(f.Context)
		sp := newSeries(name, len(cats), colorAt(k))
		sc := newSeries(name, len(cats), colorAt(k))
		for j, c := range f.Cells {
			if c.P == nil || !c.P.ok() {
				continue
			}
			s := c.P.c.Summary
			sp.Val[j], sp.Lo[j], sp.Hi[j] = s.PPS.Median, s.PPS.Lo, s.PPS.Hi
			sc.Val[j], sc.Lo[j], sc.Hi[j] = s.CPUNsPerPkt.Median, s.CPUNsPerPkt.Lo, s.CPUNsPerPkt.Hi
		}
		pps = append(pps, sp)
		cpu = append(cpu, sc)
	}
	if len(pps) == 0 {
		gv.Table = a.groupTable(g)
		return gv, nil
	}
	lines := g.Compare != dimDevice
	xLabel := g.Compare
	if g.Compare == dimDevice {
		xLabel = ""
	} else if g.Compare == dimPkt {
		xLabel = "frame size (bytes)"
	}
	what := "by " + strings.TrimPrefix(dimNoun(g.Compare), "the ")
	level := pct(a.level)
	if g.Findings[0].Cells[0].P != nil && g.Findings[0].Cells[0].P.ok() {
		level = pct(g.Findings[0].Cells[0].P.c.Summary.PPS.Level)
	}
	ppsSVG, err := categoricalChart("Packets per second received, "+what, xLabel, "pps (median)",
		&categorical{cats: labels, series: pps, lines: lines, label: labelIf(!lines, si), notes: notes})
	if err != nil {
		return gv, err
	}
	cpuSVG, err := categoricalChart("CPU time per packet, "+what, xLabel, "ns of CPU per packet (median)",
		&categorical{cats: labels, series: cpu, lines: lines, label: labelIf(!lines, func(v float64) string { return fmt.Sprintf("%.0f", v) }), notes: notes})
	if err != nil {
		return gv, err
	}
	gv.Figures = []figure{
		{ppsSVG, legendOf(pps, lines), "Median packets per second read by the receiving socket; error bars: the median's interval (about " + level + "). Higher is better."},
		{cpuSVG, legendOf(cpu, lines), "Busy CPU time of all CPUs per packet received; error bars: the median's interval. Lower is better."},
	}
	if len(g.Context) == 1 && g.Compare != dimDevice && g.Context[0] != dimDevice && g.Context[0] != dimPkt {
		gv.Heatmap = a.heatmap(g)
	}
	gv.Table = a.groupTable(g)
	return gv, nil
}

func labelIf(on bool, f func(float64) string) func(float64) string {
	if on {
		return f
	}
	return nil
}

// groupTable lists a group's cases with their figures, context by
// context; with each one's ratio to its baseline and verdict, unless the
// question is interleaved, whose paired ratios have their own table.
func (a *analysis) groupTable(g *group) table {
	t := table{Head: []string{}}
	for _, d := range g.Context {
		t.Head = append(t.Head, d)
	}
	paired := g.Paired != nil
	t.Head = append(t.Head, g.Compare, "pps", "interval")
	if !paired {
		t.Head = append(t.Head, "vs "+g.BaseValue, "verdict")
	}
	t.Head = append(t.Head, "device pps", "CPU ns/pkt", "p50 µs", "p99 µs", "dropped")
	for _, f := range g.Findings {
		for j, c := range f.Cells {
			var row []tcell
			for _, v := range f.Context {
				row = append(row, txt(v))
			}
			if c.P == nil {
				continue
			}
			value := tcell{Text: c.Value, Title: c.P.c.Name}
			if a.Caveats.of(c.P.c).flagged() {
				value.Text += " ⚑"
				value.Title += ": flagged, see Flagged cases"
			}
			row = append(row, value)
			if !c.P.ok() {
				row = append(row, tcell{Text: c.P.c.Status + ": " + c.P.c.Error, Class: "muted", Colspan: len(t.Head) - len(row)})
				t.Rows = append(t.Rows, row)
				continue
			}
			s := c.P.c.Summary
			vs, verdict := tcell{Text: "–", Class: "muted"}, tcell{Text: "–", Class: "muted"}
			switch {
			case j == f.Base:
				vs.Text, verdict.Text = "baseline", "baseline"
			case c.Vs != nil:
				r := c.Vs.Ratio
				vs = num(fmtRatio(r.Ratio) + " (" + fmtRange(r.Lo, r.Hi) + ")")
				vs.Title = fmt.Sprintf("%s interval; q %s: the Mann-Whitney p-value adjusted (Benjamini-Hochberg) across the question", pct(r.Level), fmtP(c.Vs.Q))
				verdict = txt(verdictWords(c.Vs.Verdict))
				if c.Vs.Verdict == stats.Improvement || c.Vs.Verdict == stats.Regression {
					vs.Class, verdict.Class = "strong", "strong"
				}
			}
			row = append(row,
				num(Thousands(s.PPS.Median)),
				num(Thousands(s.PPS.Lo)+"–"+Thousands(s.PPS.Hi)))
			if !paired {
				row = append(row, vs, verdict)
			}
			row = append(row,
				num(Thousands(s.DevicePPS.Median)),
				num(fmt.Sprintf("%.0f", s.CPUNsPerPkt.Median)),
				latCell(s, result.PctP50, s.P50),
				latCell(s, result.PctP99, s.P99),
				num(dropPct(s)),
			)
			t.Rows = append(t.Rows, row)
		}
	}
	return t
}
