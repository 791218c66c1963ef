package reports

// The chart of every compared case's ratio with its interval.

import (
	"fmt"
	"html/template"
	"image/color"
	"math"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/compare"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

type ratiosView struct {
	SVG     template.HTML
	Caption string
}

var (
	regressColor = rgb(0xD55E00)
	improveColor = rgb(0x009E73)
	neutralColor = rgb(0x0072B2)
	bandColor    = color.RGBA{R: 0xe8, G: 0xe8, B: 0xe8, A: 0xff}
)

// ratioBars draws one row per case: the ratio as a dot, its interval as a
// horizontal error bar, over the ±threshold band and the line at 1.
type ratioBars struct {
	names     []string
	ratios    []*compare.Ratio
	verdicts  []stats.Verdict
	threshold float64
}

func (b *ratioBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = 1-b.threshold, 1+b.threshold
	for _, r := range b.ratios {
		for _, v := range []float64{r.Lo, r.Hi, r.Ratio} {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				xmin, xmax = math.Min(xmin, v), math.Max(xmax, v)
			}
		}
	}
	pad := (xmax - xmin) * 0.06
	return xmin - pad, xmax + pad, -0.6, float64(len(b.names)) - 0.4
}

// y is the row of case i: the first case at the top.
func (b *ratioBars) y(i int) float64 { return float64(len(b.names) - 1 - i) }

func (b *ratioBars) ticks() plot.Ticker {
	var t plot.ConstantTicks
	for i, n := range b.names {
		t = append(t, plot.Tick{Value: b.y(i), Label: n})
	}
	return t
}

func (b *ratioBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	y0, y1 := c.Min.Y, c.Max.Y
	xl, xh := trX(1-b.threshold), trX(1+b.threshold)
	c.FillPolygon(bandColor, []vg.Point{{X: xl, Y: y0}, {X: xh, Y: y0}, {X: xh, Y: y1}, {X: xl, Y: y1}})
	c.StrokeLine2(draw.LineStyle{Color: color.Gray{Y: 0x44}, Width: 1, Dashes: []vg.Length{3, 2}}, trX(1), y0, trX(1), y1)
	for i, r := range b.ratios {
		col := neutralColor
		switch b.verdicts[i] {
		case stats.Regression:
			col = regressColor
		case stats.Improvement:
			col = improveColor
		}
		y := trY(b.y(i))
		if finiteAll(r.Lo, r.Hi) {
			ls := draw.LineStyle{Color: col, Width: 1.4}
			capH := vg.Length(3.5)
			c.StrokeLine2(ls, trX(r.Lo), y, trX(r.Hi), y)
			c.StrokeLine2(ls, trX(r.Lo), y-capH, trX(r.Lo), y+capH)
			c.StrokeLine2(ls, trX(r.Hi), y-capH, trX(r.Hi), y+capH)
		}
		if finiteAll(r.Ratio) {
			c.DrawGlyph(draw.GlyphStyle{Color: col, Radius: 3, Shape: draw.CircleGlyph{}}, vg.Point{X: trX(r.Ratio), Y: y})
		}
	}
}

func finiteAll(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

func buildRatios(rep *compare.Report) (ratiosView, error) {
	b := &ratioBars{threshold: rep.Method.Threshold}
	for _, c := range rep.Cases {
		if c.Ratio == nil || !finiteAll(c.Ratio.Ratio) {
			continue
		}
		b.names = append(b.names, c.Name)
		b.ratios = append(b.ratios, c.Ratio)
		b.verdicts = append(b.verdicts, c.Verdict)
	}
	if len(b.names) == 0 {
		return ratiosView{}, nil
	}
	title := rep.Metric.Name + ": ratio of medians, new / base"
	p := newPlot(title, "ratio (new / base)", "")
	p.Add(b)
	p.Y.Tick.Marker = b.ticks()
	p.Y.Tick.Length = 0
	p.Y.Tick.Label.Font.Size = 8
	p.X.Tick.Marker = plot.DefaultTicks{}
	h := vg.Length(70 + 22*len(b.names))
	svg, err := inlineSVG(p, chartW, max(h, 2*vg.Inch), title)
	if err != nil {
		return ratiosView{}, err
	}
	dir := "higher is better"
	if !rep.Metric.HigherIsBetter {
		dir = "lower is better"
	}
	caption := fmt.Sprintf("Each compared case's ratio (dot) with its %s bootstrap interval (bar); the grey band is the ±%s threshold within which a change is noise, the dashed line 1 (no change). %s: %s. Regressions in orange-red, improvements in green.",
		levelText(rep.Method.Level), pctText(rep.Method.Threshold), rep.Metric.Name, dir)
	return ratiosView{SVG: svg, Caption: caption}, nil
}
