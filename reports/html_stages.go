package reports

// The HTML report's "Where the time goes" (issue 17): per question, a
// stacked bar per case of its stages' mean times, which stage each case
// changed against its baseline, and each case's table of stages. Present
// only when some case was measured with stages (measure.stages).

import (
	"cmp"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/vethbench/vethbench/reports/result"
)

type stagesView struct {
	Note      string
	Figures   []figure
	Questions []stageQuestionView
	Cases     []stageCaseView
}

type stageQuestionView struct {
	N         int
	Anchor    string
	Question  string
	Sentences []sentence
}

type stageCaseView struct {
	Name  string
	Table table
	Notes []string
}

// buildStages is the section's view, nil when no case has stages (then
// the page has no such section).
func buildStages(a *analysis) (any, error) {
	if !anyStages(a.r) {
		return nil, nil
	}
	v := stagesView{Note: "Each datagram is stamped by eBPF the first time it passes each boundary this kernel offers " +
		"(send: the payload's send time; queue: before the sending device's qdisc; xmit: after it; ingress: the receiving device's; read: the receiving socket's read), " +
		"so that its stages add up to its trip. Figures are medians over trials of each trial's mean, p50 and p99, with their intervals where there are 2 trials or more; " +
		"a share is a stage's mean over the trip's (medians need not add up exactly)."}
	for _, q := range a.stageQuestions() {
		for _, part := range chartParts(q) {
			svg, legend, err := stagesChart(part.title, part.cases, q.Short)
			if err != nil {
				return nil, err
			}
			v.Figures = append(v.Figures, figure{SVG: svg, Legend: legend, Caption: part.caption})
		}
		if len(q.Change) > 0 {
			qv := stageQuestionView{N: q.N, Anchor: groupAnchor(q.N-1, q.g), Question: questionText(q.g)}
			for _, ch := range q.Change {
				qv.Sentences = append(qv.Sentences, ch.sentence())
			}
			v.Questions = append(v.Questions, qv)
		}
	}
	var cases []*caseStages
	for i := range a.r.Cases {
		if cs := stagesOfCase(&a.r.Cases[i]); cs != nil {
			cases = append(cases, cs)
		}
	}
	same := sameBoundaries(cases)
	if same {
		v.Note += " Every case: " + strings.ToLower(cases[0].boundaryText()[:1]) + cases[0].boundaryText()[1:]
	}
	for _, cs := range cases {
		v.Cases = append(v.Cases, stageCaseView{Name: cs.c.Name, Table: stageTable(cs), Notes: cs.notes(same)})
	}
	return v, nil
}

// chartPart is one chart of a question: all its cases, or, in a result
// without questions, those of one device kind (the name's first segment).
type chartPart struct {
	title, caption string
	cases          []*caseStages
}

func chartParts(q stageQuestion) []chartPart {
	if q.g.Question != "" {
		return []chartPart{{title: "Where the time goes: Q" + fmt.Sprint(q.N), caption: fmt.Sprintf("Q%d: %s", q.N, q.g.Question), cases: q.Cases}}
	}
	var out []chartPart
	at := map[string]int{}
	for _, cs := range q.Cases {
		kind, _, _ := strings.Cut(cs.c.Name, "/")
		i, ok := at[kind]
		if !ok {
			i = len(out)
			at[kind] = i
			out = append(out, chartPart{title: "Where the time goes: " + kind, caption: "Cases on " + kind + "."})
		}
		out[i].cases = append(out[i].cases, cs)
	}
	return out
}

// stageTable is a case's stages: mean, p50 and p99 with their intervals,
// and the share of the trip's mean; the total last.
func stageTable(cs *caseStages) table {
	t := table{Head: []string{"stage", "mean µs", "p50 µs", "p99 µs", "share"}}
	row := func(st result.StageSummary, share string) []tcell {
		return []tcell{txt(st.Name), estCell(st.MeanNs), estCell(st.P50), estCell(st.P99), num(share)}
	}
	for _, st := range cs.Stages {
		share := "–"
		if s := cs.share(st); !math.IsNaN(s) {
			share = pctOf(s)
		}
		t.Rows = append(t.Rows, row(st, share))
	}
	if cs.HasTotal {
		r := row(cs.Total, "100%")
		r[0].Class = "strong"
		t.Rows = append(t.Rows, r)
	}
	return t
}

// estCell is a median in µs with its interval where there are 2 trials or
// more, the interval's coverage in the tooltip.
func estCell(e result.Estimate) tcell {
	c := num(usNum(e.Median))
	if e.N >= 2 {
		c.Text += " (" + usNum(e.Lo) + "–" + usNum(e.Hi) + ")"
		c.Title = fmt.Sprintf("median of %d trials, interval at %s coverage", e.N, pct(e.Level))
	} else {
		c.Title = fmt.Sprintf("%d trial: no interval", e.N)
	}
	return c
}

// stageColors are fixed per stage, so that every chart reads alike.
var stageColors = map[string]color.Color{
	result.StageSender: palette[0],
	result.StageQdisc:  palette[1],
	result.StageDevice: palette[2],
	result.StageSocket: palette[4],
}

func stageColor(name string) color.Color {
	if c, ok := stageColors[name]; ok {
		return c
	}
	return palette[5]
}

// stackedBars draws one horizontal bar per case, top to bottom, cut into
// its stages' mean times, with a black mark at the trip's total mean.
type stackedBars struct {
	cats   []string
	stages []string    // the segments, in path order
	vals   [][]float64 // [stage][case], µs; NaN where the case lacks it
	totals []float64   // µs; NaN where there is none
}

func (b *stackedBars) sum(i int) float64 {
	var s float64
	for j := range b.stages {
		if v := b.vals[j][i]; !math.IsNaN(v) && v > 0 {
			s += v
		}
	}
	return s
}

func (b *stackedBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	for i := range b.cats {
		xmax = math.Max(xmax, b.sum(i))
		if t := b.totals[i]; !math.IsNaN(t) {
			xmax = math.Max(xmax, t)
		}
	}
	if xmax == 0 {
		xmax = 1
	}
	return 0, xmax * 1.18, -0.5, float64(len(b.cats)) - 0.5 // room for the labels
}

// y is case i's position: the first at the top.
func (b *stackedBars) y(i int) float64 { return float64(len(b.cats) - 1 - i) }

func (b *stackedBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sep := draw.LineStyle{Color: color.White, Width: 0.8}
	mark := draw.LineStyle{Color: color.Black, Width: 1.6}
	lbl := textStyle(7.5)
	lbl.XAlign, lbl.YAlign = draw.XLeft, draw.YCenter
	lbl.Color = color.Gray{Y: 0x33}
	for i := range b.cats {
		y := b.y(i)
		x := 0.0
		for j, name := range b.stages {
			v := b.vals[j][i]
			if math.IsNaN(v) || v <= 0 {
				continue
			}
			c.FillPolygon(stageColor(name), []vg.Point{
				{X: trX(x), Y: trY(y - 0.32)}, {X: trX(x + v), Y: trY(y - 0.32)},
				{X: trX(x + v), Y: trY(y + 0.32)}, {X: trX(x), Y: trY(y + 0.32)},
			})
			if x > 0 {
				c.StrokeLine2(sep, trX(x), trY(y-0.32), trX(x), trY(y+0.32))
			}
			x += v
		}
		end := x
		if t := b.totals[i]; !math.IsNaN(t) {
			c.StrokeLine2(mark, trX(t), trY(y-0.42), trX(t), trY(y+0.42))
			end = math.Max(end, t)
			c.FillText(lbl, vg.Point{X: trX(end) + 4, Y: trY(y)}, usText(t*1e3))
		}
	}
}

// usTicks are siTicks on a µs axis, labelled as times.
type usTicks struct{}

func (usTicks) Ticks(min, max float64) []plot.Tick {
	ts := siTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Value == 0 {
			ts[i].Label = "0"
		} else {
			ts[i].Label = usLabel(ts[i].Value)
		}
	}
	return ts
}

// stagesChart draws cases' stages as stacked horizontal bars, each case
// labelled by its short name, and returns the chart and its legend.
func stagesChart(title string, cases []*caseStages, short map[string]string) (template.HTML, []legendItem, error) {
	b := &stackedBars{}
	for _, cs := range cases {
		for _, st := range cs.Stages {
			if !slices.Contains(b.stages, st.Name) {
				b.stages = append(b.stages, st.Name)
			}
		}
	}
	slices.SortStableFunc(b.stages, func(x, y string) int { return cmp.Compare(stageRank(x), stageRank(y)) })
	b.vals = make([][]float64, len(b.stages))
	for j := range b.vals {
		b.vals[j] = nans(len(cases))
	}
	b.totals = nans(len(cases))
	for i, cs := range cases {
		label := short[cs.c.Name]
		if label == "" {
			label = cs.c.Name
		}
		b.cats = append(b.cats, label)
		for j, name := range b.stages {
			if st, ok := cs.stage(name); ok {
				b.vals[j][i] = st.MeanNs.Median / 1e3
			}
		}
		if cs.HasTotal {
			b.totals[i] = cs.Total.MeanNs.Median / 1e3
		}
	}
	// Vertical grid lines only: the bars are horizontal.
	p := newPlotGrid(title, "mean one-way time per datagram (median over trials)", "", true)
	p.Add(b)
	p.X.Min = 0
	p.X.Tick.Marker = usTicks{}
	var ticks plot.ConstantTicks
	for i, l := range b.cats {
		ticks = append(ticks, plot.Tick{Value: b.y(i), Label: l})
	}
	p.Y.Tick.Marker = ticks
	p.Y.Tick.Length = 0
	h := max(1.8*vg.Inch, 1.1*vg.Inch+vg.Length(len(cases))*0.32*vg.Inch)
	svg, err := inlineSVG(p, chartW, h, title)
	if err != nil {
		return "", nil, err
	}
	var legend []legendItem
	for _, name := range b.stages {
		legend = append(legend, legendItem{Name: name, Color: cssColor(stageColor(name))})
	}
	legend = append(legend, legendItem{Name: "the trip's total mean", Color: cssColor(color.Black), Line: true})
	return svg, legend, nil
}
