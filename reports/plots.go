package reports

// Charts are drawn with gonum/plot on its SVG canvas and inlined in the
// page. The canvas measures text with the Liberation Sans metrics it embeds;
// the SVG names only the generic family sans-serif (see inlineSVG), so the
// page needs no font file and names no URL.

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"image/color"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/vethbench/vethbench/internal/histogram"
)

// Chart sizes, in points; the SVG scales to its container's width.
const (
	chartW = 6 * vg.Inch
	chartH = 3.3 * vg.Inch
)

// palette is Okabe and Ito's, distinguishable with the common colour
// vision deficiencies.
var palette = []color.Color{
	rgb(0x0072B2), rgb(0xE69F00), rgb(0x009E73), rgb(0xD55E00),
	rgb(0xCC79A7), rgb(0x56B4E9), rgb(0x000000), rgb(0xF0E442),
}

func rgb(v uint32) color.Color {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

func colorAt(i int) color.Color { return palette[i%len(palette)] }

var (
	sansFont  = font.Font{Typeface: "Liberation", Variant: "Sans"}
	gridColor = color.Gray{Y: 0xdd}
	noteColor = color.Gray{Y: 0x55}
)

func textStyle(size vg.Length) draw.TextStyle {
	return draw.TextStyle{
		Color:   color.Black,
		Font:    font.From(sansFont, size),
		Handler: plot.DefaultTextHandler,
	}
}

// newPlot returns a plot with the report's fonts and a light horizontal
// grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	return newPlotGrid(title, xLabel, yLabel, false)
}

// newPlotGrid is newPlot with the grid's lines vertical instead (for
// horizontal bars) when vertical is set.
func newPlotGrid(title, xLabel, yLabel string, vertical bool) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sansFont, 11)
	p.Title.Padding = 6
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = font.From(sansFont, 9.5)
		ax.Tick.Label.Font = font.From(sansFont, 9)
		ax.LineStyle.Color = color.Gray{Y: 0x88}
		ax.Tick.LineStyle.Color = color.Gray{Y: 0x88}
	}
	g := plotter.NewGrid()
	if vertical {
		g.Horizontal.Color = nil
		g.Vertical.Color = gridColor
		g.Vertical.Width = 0.5
	} else {
		g.Vertical.Color = nil
		g.Horizontal.Color = gridColor
		g.Horizontal.Width = 0.5
	}
	p.Add(g)
	return p
}

var (
	svgOpen    = regexp.MustCompile(`(?s)^.*?<svg[^>]*>`)
	fontFamily = regexp.MustCompile(`font-family:[^;"]*`)
	svgComment = regexp.MustCompile(`(?s)<!--.*?-->`)
)

// inlineSVG draws p and returns it as an <svg> element for an HTML page:
// no XML prologue, no namespace URLs (HTML does not need them), a viewBox
// so that it scales, and the generic font family only.
func inlineSVG(p *plot.Plot, w, h vg.Length, label string) (template.HTML, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("draw chart %q: %w", label, err)
	}
	s := buf.String()
	open := fmt.Sprintf(`<svg viewBox="0 0 %.2f %.2f" class="chart" role="img" aria-label="%s">`,
		w.Points(), h.Points(), html.EscapeString(label))
	s = svgOpen.ReplaceAllLiteralString(s, open)
	s = svgComment.ReplaceAllLiteralString(s, "")
	s = fontFamily.ReplaceAllLiteralString(s, "font-family:sans-serif")
	for _, bad := range []string{"http:", "https:", "url(", "<script", "<image"} {
		if strings.Contains(s, bad) {
			return "", fmt.Errorf("draw chart %q: the SVG holds %q", label, bad)
		}
	}
	return template.HTML(s), nil //nolint:gosec // built here; gonum escapes text
}

// series is one named line or set of bars: a value per category with its
// interval (NaN where there is none).
type series struct {
	Name        string
	Color       color.Color
	Val, Lo, Hi []float64
	Dashed      bool
}

func newSeries(name string, n int, c color.Color) *series {
	return &series{Name: name, Color: c, Val: nans(n), Lo: nans(n), Hi: nans(n)}
}

func nans(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

func lineStyle(s *series, width vg.Length) draw.LineStyle {
	ls := draw.LineStyle{Color: s.Color, Width: width}
	if s.Dashed {
		ls.Dashes = []vg.Length{4, 2}
	}
	return ls
}

// categorical draws series over categories: grouped bars, or lines with
// markers, each value with its interval as an error bar.
type categorical struct {
	cats   []string
	series []*series
	lines  bool
	label  func(float64) string // value labels above bars; nil for none
	notes  []string             // per category, drawn when no series has a value
}

func (b *categorical) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymax = 0
	for _, s := range b.series {
		for i := range s.Val {
			for _, v := range []float64{s.Val[i], s.Hi[i]} {
				if !math.IsNaN(v) && v > ymax {
					ymax = v
				}
			}
		}
	}
	if ymax == 0 {
		ymax = 1
	}
	if b.label != nil {
		ymax *= 1.1 // room for the value labels
	}
	return -0.5, float64(len(b.cats)) - 0.5, 0, ymax * 1.04
}

func (b *categorical) ticks() plot.Ticker {
	var t plot.ConstantTicks
	for i, c := range b.cats {
		t = append(t, plot.Tick{Value: float64(i), Label: c})
	}
	return t
}

func (b *categorical) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	n := len(b.series)
	slot := 0.8 / float64(max(n, 1))
	err := draw.LineStyle{Color: color.Gray{Y: 0x22}, Width: 0.9}
	lbl := textStyle(7.5)
	lbl.XAlign, lbl.YAlign = draw.XCenter, draw.YBottom
	lbl.Color = color.Gray{Y: 0x33}
	for j, s := range b.series {
		var prev *vg.Point
		for i := range b.cats {
			v := s.Val[i]
			var xc float64
			if b.lines {
				xc = float64(i) + (float64(j)-float64(n-1)/2)*0.06
			} else {
				xc = float64(i) - 0.4 + (float64(j)+0.5)*slot
			}
			if math.IsNaN(v) {
				prev = nil
				continue
			}
			if !b.lines {
				x0, x1 := xc-slot*0.44, xc+slot*0.44
				c.FillPolygon(s.Color, []vg.Point{
					{X: trX(x0), Y: trY(0)}, {X: trX(x1), Y: trY(0)},
					{X: trX(x1), Y: trY(v)}, {X: trX(x0), Y: trY(v)},
				})
			}
			top := v
			if lo, hi := s.Lo[i], s.Hi[i]; !math.IsNaN(lo) && !math.IsNaN(hi) {
				cap := vg.Length(3)
				x := trX(xc)
				c.StrokeLine2(err, x, trY(lo), x, trY(hi))
				c.StrokeLine2(err, x-cap, trY(lo), x+cap, trY(lo))
				c.StrokeLine2(err, x-cap, trY(hi), x+cap, trY(hi))
				top = math.Max(top, hi)
			}
			pt := vg.Point{X: trX(xc), Y: trY(v)}
			if b.lines {
				if prev != nil {
					c.StrokeLines(lineStyle(s, 1.5), []vg.Point{*prev, pt})
				}
				c.DrawGlyph(draw.GlyphStyle{Color: s.Color, Radius: 2.6, Shape: draw.CircleGlyph{}}, pt)
				prev = &pt
			}
			if b.label != nil {
				c.FillText(lbl, vg.Point{X: trX(xc), Y: trY(top) + 2}, b.label(v))
			}
		}
	}
	note := textStyle(8)
	note.Color = noteColor
	note.XAlign, note.YAlign = draw.XCenter, draw.YBottom
	for i, t := range b.notes {
		if t == "" {
			continue
		}
		empty := true
		for _, s := range b.series {
			if !math.IsNaN(s.Val[i]) {
				empty = false
			}
		}
		if empty {
			c.FillText(note, vg.Point{X: trX(float64(i)), Y: trY(0) + 4}, t)
		}
	}
}

// categoricalChart draws series over categories as an inline SVG.
func categoricalChart(title, xLabel, yLabel string, b *categorical) (template.HTML, error) {
	p := newPlot(title, xLabel, yLabel)
	p.Add(b)
	p.X.Tick.Marker = b.ticks()
	p.X.Tick.Length = 0
	p.Y.Min = 0
	p.Y.Tick.Marker = siTicks{}
	return inlineSVG(p, chartW, chartH, title)
}

// legendItem is one entry of a chart's legend, drawn in HTML beside the
// chart so that it never hides data.
type legendItem struct {
	Name   string
	Color  template.CSS
	Line   bool // a line, not a box
	Dashed bool
}

func legendOf(ss []*series, lines bool) []legendItem {
	if len(ss) == 1 && ss[0].Name == "" {
		return nil
	}
	var out []legendItem
	for _, s := range ss {
		out = append(out, legendItem{Name: s.Name, Color: cssColor(s.Color), Line: lines, Dashed: s.Dashed})
	}
	return out
}

// cssColor is c as a CSS hex colour.
func cssColor(c color.Color) template.CSS {
	r, g, b, _ := c.RGBA()
	return template.CSS(fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8)) //nolint:gosec // a colour we made
}

// siTicks are four to seven round ticks labelled with SI suffixes: 50k,
// 100k, 150k.
type siTicks struct{}

func (siTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) {
		return []plot.Tick{{Value: min, Label: si(min)}}
	}
	raw := (max - min) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if (max-min)/(m*mag) <= 7 {
			step = m * mag
			break
		}
	}
	var ts []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max+step*1e-9; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: si(v)})
	}
	return ts
}

// si formats a number with an SI suffix and up to 3 significant digits.
func si(v float64) string {
	a := math.Abs(v)
	var s string
	switch {
	case a >= 1e9:
		s = trimZeros(fmt.Sprintf("%.3g", v/1e9)) + "G"
	case a >= 1e6:
		s = trimZeros(fmt.Sprintf("%.3g", v/1e6)) + "M"
	case a >= 1e3:
		s = trimZeros(fmt.Sprintf("%.3g", v/1e3)) + "k"
	default:
		s = trimZeros(fmt.Sprintf("%.3g", v))
	}
	return s
}

func trimZeros(s string) string {
	if strings.ContainsAny(s, "e") || !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// nines is the x coordinate of a percentile on a "number of nines" scale:
// 0 for 0%, 1 for 90%, 2 for 99%, 3 for 99.9%.
func nines(p float64) float64 { return -math.Log10(1 - p) }

// maxNines is how far the percentile plots go: 99.999%.
const maxNines = 5

// percentileChart draws latency against percentile, one line per
// histogram, on a log latency scale. The legend is percentileLegend.
func percentileChart(title string, names []string, hists []histogram.Histogram) (template.HTML, error) {
	p := newPlot(title, "percentile", "one-way latency (log scale)")
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
	p.X.Min, p.X.Max = 0, 0
	var xmax float64
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for i, h := range hists {
		xy := percentileCurve(h)
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return "", fmt.Errorf("latency chart: %w", err)
		}
		l.LineStyle = draw.LineStyle{Color: colorAt(i), Width: 1.6}
		if i >= len(palette) {
			l.LineStyle.Dashes = []vg.Length{4, 2}
		}
		p.Add(l)
		for _, pt := range xy {
			xmax = math.Max(xmax, pt.X)
			ymin, ymax = math.Min(ymin, pt.Y), math.Max(ymax, pt.Y)
		}
	}
	if math.IsInf(ymin, 0) {
		return "", nil
	}
	p.X.Max = math.Min(math.Max(xmax, 2), maxNines)
	p.Y.Min, p.Y.Max = ymin/1.3, ymax*1.3
	var ticks plot.ConstantTicks
	for i, l := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"} {
		if float64(i) <= p.X.Max {
			ticks = append(ticks, plot.Tick{Value: float64(i), Label: l})
		}
	}
	ticks = append(ticks, plot.Tick{Value: nines(0.5), Label: "50%"})
	p.X.Tick.Marker = ticks
	return inlineSVG(p, chartW, chartH, title)
}

func percentileLegend(names []string) []legendItem {
	var out []legendItem
	for i, n := range names {
		out = append(out, legendItem{Name: n, Color: cssColor(colorAt(i)), Line: true, Dashed: i >= len(palette)})
	}
	return out
}

// percentileCurve turns a latency histogram into (nines(p), µs) points:
// each non-empty bucket at its mid-rank percentile and its midpoint value,
// the bucket's bounds read from the histogram's scale.
func percentileCurve(h histogram.Histogram) plotter.XYs {
	total := h.Total()
	if total == 0 {
		return nil
	}
	var xy plotter.XYs
	var cum uint64
	for i, c := range h.Counts {
		if c == 0 {
			continue
		}
		mid := (float64(cum) + float64(c)/2) / float64(total)
		cum += c
		lo, hi := bucketBounds(h.Scale, i)
		v := (float64(lo) + float64(hi)) / 2
		if v <= 0 {
			v = 0.5
		}
		x := nines(mid)
		if x > maxNines {
			break // beyond the chart's last percentile
		}
		xy = append(xy, plotter.XY{X: x, Y: v / 1e3})
	}
	return xy
}

// logTicks label powers of ten and their 2x and 5x multiples, in units of
// time (the values are microseconds).
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	if !(min > 0) || !(max > min) {
		return ts
	}
	mults := []float64{1, 2, 5}
	switch decades := math.Log10(max / min); {
	case decades > 3:
		mults = []float64{1} // wide ranges: powers of ten only
	case decades < 1:
		mults = []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	}
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		for _, m := range mults {
			v := m * math.Pow(10, e)
			if v < min || v > max {
				continue
			}
			ts = append(ts, plot.Tick{Value: v, Label: usLabel(v)})
		}
	}
	return ts
}

// usLabel formats a latency given in microseconds for an axis: "500 ns",
// "20 µs", "10 ms".
func usLabel(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + " s"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + " ms"
	case v >= 1:
		return strconv.FormatFloat(v, 'f', -1, 64) + " µs"
	}
	return strconv.FormatFloat(v*1e3, 'f', -1, 64) + " ns"
}

// blockChart draws series of per-block ratios against the block's number,
// one thin line each in the palette's order, under a grey line at 1 and
// dashed ones at 1 ± theta.
func blockChart(title string, ratios [][]float64, theta float64) (template.HTML, error) {
	p := newPlot(title, "block", "ratio to the baseline")
	n := 0
	for _, r := range ratios {
		n = max(n, len(r))
	}
	for i, r := range ratios {
		var xy plotter.XYs
		for j, v := range r {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				xy = append(xy, plotter.XY{X: float64(j + 1), Y: v})
			}
		}
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return "", fmt.Errorf("draw chart %q: %w", title, err)
		}
		l.LineStyle = draw.LineStyle{Color: colorAt(i), Width: 0.7}
		p.Add(l)
	}
	// The reference lines over the data, so that a dense series does not
	// hide them.
	for _, y := range []float64{1 - theta, 1, 1 + theta} {
		ref, err := plotter.NewLine(plotter.XYs{{X: 1, Y: y}, {X: float64(max(n, 2)), Y: y}})
		if err != nil {
			return "", fmt.Errorf("draw chart %q: %w", title, err)
		}
		ref.LineStyle = draw.LineStyle{Color: color.Gray{Y: 0x33}, Width: 1}
		if y != 1 {
			ref.LineStyle.Dashes = []vg.Length{4, 3}
		}
		p.Add(ref)
	}
	return inlineSVG(p, chartW, chartH, title)
}
