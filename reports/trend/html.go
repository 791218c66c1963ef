package trend

// The HTML page of a trend report: one self-contained page (inline CSS,
// charts as inline SVG drawn with gonum/plot as the main report's are, no
// script, no URL) for people reading a nightly job's artifact. It says what
// was read, then the verdict (what fails first), then per group its events,
// a table of every series and one small chart per case and metric.

import (
	"embed"
	"fmt"
	"html"
	"html/template"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/vethbench/vethbench/reports"
)

//go:embed templates/trend.html.tmpl templates/trend.css
var htmlFS embed.FS

var htmlTmpl = template.Must(template.New("trend.html.tmpl").ParseFS(htmlFS, "templates/trend.html.tmpl"))

// htmlCSS is the main report's stylesheet and the trend page's own rules.
func htmlCSS() template.CSS {
	b, err := htmlFS.ReadFile("templates/trend.css")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return reports.CSS() + "\n" + template.CSS(b) //nolint:gosec // our own stylesheets
}

type htmlPage struct {
	Title    string
	CSS      template.CSS
	Summary  string
	Exit     int
	Read     []htmlGroupHead
	Method   []string
	AckFile  string
	Skipped  []Skipped
	Notes    []string
	Counts   []htmlCount
	Lists    []htmlList
	Groups   []htmlGroup
	Multiple bool // more than one group: name the group beside a series
}

// htmlGroupHead says what one group read.
type htmlGroupHead struct {
	Anchor, Key     string
	Runs            int
	First, Newest   string
	Kernels         string
	Interrupted     int
	SeriesN, CasesN int
}

type htmlCount struct {
	Status string
	N      int
}

// htmlList is the series of one status in the verdict summary.
type htmlList struct {
	Status, Title string
	Items         []htmlItem
}

type htmlItem struct {
	Anchor, Group, Name, Metric, Detail, Status string
}

type htmlGroup struct {
	Anchor, Key string
	Runs        []htmlRun
	Events      []htmlEvent
	Rows        []htmlRow
	Cases       []htmlCase
}

type htmlRun struct {
	N                                 int
	Started, Host, Kernel, Tool, Path string
	Interrupted                       bool
}

type htmlEvent struct {
	Run        int // 1-based
	Time, What string
}

// htmlRow is one series in a group's table.
type htmlRow struct {
	Anchor, Case, Baseline, Metric, Newest, Change, Status string
	Runs                                                   int
	// CaseRows is the number of rows the case's cell spans: the series
	// of one case in a row; 0 on the rows after its first.
	CaseRows int
}

type htmlCase struct {
	Anchor, Name string
	Statuses     []string // the worst first, once each
	Figures      []htmlFigure
}

type htmlFigure struct {
	Anchor, Metric, Baseline, Question string
	SVG                                template.HTML
	Status, Detail                     string
	Changes                            []string
}

// htmlLists are the statuses the verdict summary lists series for, in its
// order: what fails the job first.
var htmlLists = []struct{ status, title string }{
	{StatusRegression, "Regressions: fail the job"},
	{StatusBroken, "Broken: fail the job"},
	{StatusWatch, "Watch: the newest run alone is beyond the threshold"},
	{StatusAcknowledged, "Acknowledged regressions: shown, not failed"},
	{StatusImproved, "Improvements"},
}

// WriteHTML writes r as a self-contained HTML page.
func WriteHTML(w io.Writer, r *Report) error {
	page := htmlPage{CSS: htmlCSS(), Summary: r.Summary(), AckFile: r.AckFile, Skipped: r.Skipped, Notes: r.Notes, Multiple: len(r.Groups) > 1}
	counts := r.Counts()
	page.Title = "vethbench trend: no regression"
	if r.Failing() {
		page.Exit = 1
		page.Title = fmt.Sprintf("vethbench trend: %d failing", counts[StatusRegression]+counts[StatusBroken])
	}
	if len(r.Groups) == 0 {
		page.Title = "vethbench trend: nothing to show"
		page.Summary = "No history with a series to judge."
	}
	page.Method = []string{
		fmt.Sprintf("a regression larger than ±%s fails the job", percent(r.Threshold)),
		fmt.Sprintf("change points by E-divisive means, Welch's and Student's t at p ≤ %g", r.PValue),
		fmt.Sprintf("windows of %d runs", r.Window),
		fmt.Sprintf("steps' intervals at %s", percent(r.Level)),
	}
	for _, st := range statusOrder {
		page.Counts = append(page.Counts, htmlCount{Status: st, N: counts[st]})
	}
	for gi, g := range r.Groups {
		page.Read = append(page.Read, groupHead(gi, g))
		hg, err := htmlGroupOf(gi, g, r.Threshold)
		if err != nil {
			return fmt.Errorf("html trend: %w", err)
		}
		page.Groups = append(page.Groups, hg)
	}
	for _, l := range htmlLists {
		hl := htmlList{Status: l.status, Title: l.title}
		for gi, g := range r.Groups {
			for si, s := range g.Series {
				if s.Verdict.Status == l.status {
					hl.Items = append(hl.Items, htmlItem{Anchor: seriesAnchor(gi, si), Group: g.Key, Name: SeriesName(s),
						Metric: s.Metric.Label, Detail: s.Verdict.Detail, Status: s.Verdict.Status})
				}
			}
		}
		if len(hl.Items) > 0 {
			page.Lists = append(page.Lists, hl)
		}
	}
	var b strings.Builder
	if err := htmlTmpl.ExecuteTemplate(&b, "page", page); err != nil {
		return fmt.Errorf("html trend: %w", err)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func groupAnchor(gi int) string      { return fmt.Sprintf("g%d", gi+1) }
func seriesAnchor(gi, si int) string { return fmt.Sprintf("g%d-s%d", gi+1, si+1) }

func groupHead(gi int, g Group) htmlGroupHead {
	h := htmlGroupHead{Anchor: groupAnchor(gi), Key: g.Key, Runs: len(g.Runs), SeriesN: len(g.Series)}
	if len(g.Runs) > 0 {
		h.First, h.Newest = RunTime(g.Runs[0]), RunTime(g.Runs[len(g.Runs)-1])
	}
	// The key names the machine (host name, CPU, vCPUs): the runs' host
	// names would say less.
	var kernels []string
	for _, r := range g.Runs {
		kernels = appendOnce(kernels, orUnknown(r.Kernel))
		if r.Interrupted {
			h.Interrupted++
		}
	}
	h.Kernels = strings.Join(kernels, ", ")
	var cases []string
	for _, s := range g.Series {
		cases = appendOnce(cases, s.Case)
	}
	h.CasesN = len(cases)
	return h
}

func appendOnce(l []string, s string) []string {
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}

func htmlGroupOf(gi int, g Group, threshold float64) (htmlGroup, error) {
	hg := htmlGroup{Anchor: groupAnchor(gi), Key: g.Key}
	for i, r := range g.Runs {
		hg.Runs = append(hg.Runs, htmlRun{N: i + 1, Started: RunTime(r), Host: r.Host, Kernel: r.Kernel, Tool: r.Tool, Path: r.Path, Interrupted: r.Interrupted})
	}
	for _, e := range g.Events {
		hg.Events = append(hg.Events, htmlEvent{Run: e.Run + 1, Time: runTimeAt(g, e.Run), What: e.What})
	}
	byCase := map[string]int{}
	for si, s := range g.Series {
		hg.Rows = append(hg.Rows, htmlRow{Anchor: seriesAnchor(gi, si), Case: s.Case, Baseline: s.Baseline, Metric: s.Metric.Label,
			Runs: len(s.Points), Newest: newestText(s, g), Change: lastChangeText(s), Status: s.Verdict.Status})
		ci, ok := byCase[s.Case]
		if !ok {
			ci = len(hg.Cases)
			byCase[s.Case] = ci
			hg.Cases = append(hg.Cases, htmlCase{Anchor: fmt.Sprintf("g%d-c%d", gi+1, ci+1), Name: s.Case})
		}
		svg, err := seriesChart(s, g, threshold)
		if err != nil {
			return hg, err
		}
		f := htmlFigure{Anchor: seriesAnchor(gi, si), Metric: s.Metric.Label, Baseline: s.Baseline, Question: s.Question,
			SVG: svg, Status: s.Verdict.Status, Detail: s.Verdict.Detail}
		for _, c := range s.Changes {
			f.Changes = append(f.Changes, changeText(c))
		}
		hc := &hg.Cases[ci]
		hc.Figures = append(hc.Figures, f)
	}
	for i := 0; i < len(hg.Rows); {
		j := i + 1
		for j < len(hg.Rows) && hg.Rows[j].Case == hg.Rows[i].Case {
			j++
		}
		hg.Rows[i].CaseRows = j - i
		i = j
	}
	for i := range hg.Cases {
		hc := &hg.Cases[i]
		for _, st := range statusOrder {
			for _, f := range hc.Figures {
				if f.Status == st {
					hc.Statuses = append(hc.Statuses, st)
					break
				}
			}
		}
	}
	return hg, nil
}

// runTimeAt is the start time of run i of g, or "" for a run the group
// does not hold (a hand-built report).
func runTimeAt(g Group, i int) string {
	if i < 0 || i >= len(g.Runs) {
		return ""
	}
	return RunTime(g.Runs[i])
}

// finiteNum reports whether v is a number a page can show.
func finiteNum(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// valueText is FormatValue, or n/a for a figure that is not a number.
func valueText(m Metric, v float64) string {
	if !finiteNum(v) {
		return "n/a"
	}
	return FormatValue(m, v)
}

// hasInterval reports whether p has an interval to draw: NaN ends, or
// Lo = Hi (how a result file says "none"), have none.
func hasInterval(p Point) bool {
	return finiteNum(p.Lo) && finiteNum(p.Hi) && p.Hi > p.Lo
}

func newestText(s Series, g Group) string {
	if len(s.Points) == 0 {
		return "n/a"
	}
	p := s.Points[len(s.Points)-1]
	t := valueText(s.Metric, p.Value)
	if p.Run != len(g.Runs)-1 {
		t += fmt.Sprintf(" (run %d)", p.Run+1)
	}
	return t
}

// stepText is StepText without the interval where it is not a number.
func stepText(c Change) string {
	switch {
	case !finiteNum(c.Step):
		return "n/a"
	case finiteNum(c.Lo) && finiteNum(c.Hi):
		return StepText(c)
	}
	return signedPercent(c.Step)
}

// changeText says a change point in a line: "run 12: -9.8% (-11% to
// -8.1%), regression beyond the threshold, acknowledged".
func changeText(c Change) string {
	t := fmt.Sprintf("run %d: %s, %s", c.Run+1, stepText(c), c.Direction)
	if c.Beyond {
		t += " beyond the threshold"
	} else {
		t += " within the threshold"
	}
	if c.Ack != nil {
		t += ", acknowledged"
	}
	return t
}

func lastChangeText(s Series) string {
	if len(s.Changes) == 0 {
		return "none"
	}
	c := s.Changes[len(s.Changes)-1]
	t := fmt.Sprintf("run %d: %s %s", c.Run+1, stepText(c), c.Direction)
	if !c.Beyond {
		t += " (within the threshold)"
	}
	if c.Ack != nil {
		t += " (acknowledged)"
	}
	return t
}

// The charts: one per series, small enough for a sweep's 20 cases x 6
// metrics in a grid. The x axis is the run number (1-based), so that a
// change point's run reads the same in the chart, the tables and the text.
const (
	chartW = 2.8 * vg.Inch
	chartH = 1.65 * vg.Inch
)

var (
	chartFont  = font.Font{Typeface: "Liberation", Variant: "Sans"}
	pointColor = hexColor(0x0072B2) // Okabe and Ito's blue, as the main report's first series
	lineColor  = hexColor(0x9AA3AD)
	// errColor is the error bars' alone (the tests count them by it).
	errColor    = hexColor(0x3B3B3B)
	bandFill    = hexColor(0xDCE8F3)
	levelColor  = hexColor(0x4F6F8F)
	eventColor  = hexColor(0x8A3FA0)
	regressCol  = hexColor(0xC2410C) // Okabe and Ito's vermillion, darkened for thin lines
	improveCol  = hexColor(0x007A5A) // their bluish green, darkened
	ackCol      = hexColor(0x6B7280)
	statusColor = map[string]color.Color{
		StatusRegression: hexColor(0xB3261E), StatusBroken: hexColor(0xB3261E), StatusWatch: hexColor(0xD08C00),
		StatusAcknowledged: ackCol, StatusImproved: improveCol, StatusOK: hexColor(0x2E7D32),
	}
)

func hexColor(v uint32) color.Color {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

func chartText(size vg.Length, c color.Color) draw.TextStyle {
	return draw.TextStyle{Color: c, Font: font.From(chartFont, size), Handler: plot.DefaultTextHandler}
}

// seriesChart draws s over g's runs: each run's point and interval, the
// band the newest run is judged against, the change points and the
// group's events. Each point, change and event has a tooltip (an SVG
// <title>, which needs no script).
func seriesChart(s Series, g Group, threshold float64) (template.HTML, error) {
	tp := &trendPlotter{s: s, g: g, threshold: threshold}
	p := plot.New()
	p.X.Label.Text = "run"
	p.Y.Label.Text = unitLabel(s.Metric)
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = font.From(chartFont, 8)
		ax.Label.Padding = 1
		ax.Tick.Label.Font = font.From(chartFont, 8)
		ax.LineStyle.Color = color.Gray{Y: 0x88}
		ax.Tick.LineStyle.Color = color.Gray{Y: 0x88}
		ax.Tick.Length = 3
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal.Color = color.Gray{Y: 0xE4}
	grid.Horizontal.Width = 0.5
	p.Add(grid, tp)
	p.X.Tick.Marker = runTicks{}
	p.Y.Tick.Marker = reports.SITicks()
	svg, err := reports.InlineSVG(p, chartW, chartH, tp.ariaLabel())
	if err != nil {
		return "", err
	}
	return withHotspots(svg, tp.hot), nil
}

func unitLabel(m Metric) string {
	if m.Unit == "x" {
		return "ratio"
	}
	return m.Unit
}

// hotspot is a transparent shape over something drawn, holding its
// tooltip. Coordinates are the canvas's (points, y up).
type hotspot struct {
	rect       bool
	x, y, w, h vg.Length // a circle's centre and radius in w, or a rectangle
	title      string
}

// withHotspots adds the tooltips' shapes on top of a chart, in gonum's
// coordinates (its SVG flips y in an outer group; this group does too).
func withHotspots(svg template.HTML, hot []hotspot) template.HTML {
	if len(hot) == 0 {
		return svg
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<g class="hot" transform="scale(1, -1) translate(0, -%.2f)">`, chartH.Points())
	for _, h := range hot {
		if h.rect {
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f">`, h.x.Points(), h.y.Points(), h.w.Points(), h.h.Points())
			fmt.Fprintf(&b, "<title>%s</title></rect>", html.EscapeString(h.title))
			continue
		}
		fmt.Fprintf(&b, `<circle cx="%.2f" cy="%.2f" r="%.2f">`, h.x.Points(), h.y.Points(), h.w.Points())
		fmt.Fprintf(&b, "<title>%s</title></circle>", html.EscapeString(h.title))
	}
	b.WriteString("</g>\n")
	s := string(svg)
	i := strings.LastIndex(s, "</svg>")
	if i < 0 {
		return svg
	}
	return template.HTML(s[:i] + b.String() + s[i:]) //nolint:gosec // gonum's SVG and our escaped titles
}

// trendPlotter is a plot.Plotter and plot.DataRanger for one series.
type trendPlotter struct {
	s         Series
	g         Group
	threshold float64
	hot       []hotspot // filled by Plot
}

func (t *trendPlotter) runs() int {
	n := len(t.g.Runs)
	for _, p := range t.s.Points {
		n = max(n, p.Run+1)
	}
	return max(n, 1)
}

// DataRange is every run on x; on y the points and the band, and the
// points' intervals as far as half the points' spread beyond them (a
// noisy night's wide interval must not flatten the series: its bar is
// cut at the edge, its tooltip says it whole), with room below for the
// events' marks and above for the change points' labels. Positive
// figures keep a positive axis.
func (t *trendPlotter) DataRange() (xmin, xmax, ymin, ymax float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	see := func(v float64) {
		if finiteNum(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	for _, p := range t.s.Points {
		see(p.Value)
	}
	if b := t.s.Band; b != nil {
		see(b.Lo)
		see(b.Hi)
	}
	switch {
	case math.IsInf(lo, 0):
		lo, hi = 0, 1
	case hi == lo:
		d := math.Abs(lo) * 0.02
		if d == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	positive := lo >= 0
	span := hi - lo
	for _, p := range t.s.Points {
		if hasInterval(p) {
			lo = math.Min(lo, math.Max(p.Lo, lo-span/2))
			hi = math.Max(hi, math.Min(p.Hi, hi+span/2))
		}
	}
	span = hi - lo
	ymin, ymax = lo-0.12*span, hi+0.3*span
	if positive {
		ymin = math.Max(ymin, 0)
	}
	return 0.5, float64(t.runs()) + 0.5, ymin, ymax
}

func (t *trendPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	newest := len(t.g.Runs) - 1
	t.plotBand(c, trX, trY)

	// The change points: a vertical line at the first run of the new
	// level, labelled with the step; the style says the direction and
	// whether it is acknowledged or beyond the threshold, the label says
	// it in words too.
	for i, ch := range t.s.Changes {
		x := trX(float64(ch.Run + 1))
		col, word := regressCol, "worse"
		if ch.Direction == DirImprovement {
			col, word = improveCol, "better"
		}
		ls := draw.LineStyle{Color: col, Width: 1.3}
		if ch.Direction == DirImprovement {
			ls.Dashes = []vg.Length{5, 2}
		}
		if !ch.Beyond {
			ls.Width = 0.7
			ls.Dashes = []vg.Length{2, 2}
		}
		if ch.Ack != nil {
			col, word = ackCol, "ack"
			ls = draw.LineStyle{Color: col, Width: 1.1, Dashes: []vg.Length{1, 2}}
		}
		c.StrokeLine2(ls, x, c.Min.Y, x, c.Max.Y)
		label := word
		if finiteNum(ch.Step) {
			label = signedPercent(ch.Step) + " " + word
		}
		ts := chartText(8, col)
		ts.YAlign = draw.YTop
		ts.XAlign = draw.XLeft
		lx := x + 2
		if x > c.Min.X+(c.Max.X-c.Min.X)*0.7 {
			ts.XAlign = draw.XRight
			lx = x - 2
		}
		ly := c.Max.Y - 1 - vg.Length(i%2)*10
		c.FillText(ts, vg.Point{X: lx, Y: ly}, label)
		t.hot = append(t.hot, hotspot{rect: true, x: x - 3, y: c.Min.Y, w: 6, h: c.Max.Y - c.Min.Y,
			title: fmt.Sprintf("change point at run %d (%s): %s", ch.Run+1, runTimeAt(t.g, ch.Run), changeText(ch))})
	}

	// The points, joined by a thin line in run order.
	var line []vg.Point
	for _, pt := range t.s.Points {
		if finiteNum(pt.Value) {
			line = append(line, vg.Point{X: trX(float64(pt.Run + 1)), Y: trY(pt.Value)})
		}
	}
	if len(line) > 1 {
		c.StrokeLines(draw.LineStyle{Color: lineColor, Width: 0.6}, line)
	}
	for _, pt := range t.s.Points {
		if !finiteNum(pt.Value) {
			continue
		}
		x, y := trX(float64(pt.Run+1)), trY(pt.Value)
		title := fmt.Sprintf("run %d (%s): %s", pt.Run+1, runTimeAt(t.g, pt.Run), valueText(t.s.Metric, pt.Value))
		if hasInterval(pt) {
			// One path per bar with its caps (the tests count them); an
			// end beyond the axis is cut there and has no cap.
			var bar vg.Path
			lo, hi, cap := trY(math.Max(pt.Lo, p.Y.Min)), trY(math.Min(pt.Hi, p.Y.Max)), vg.Length(1.8)
			bar.Move(vg.Point{X: x, Y: lo})
			bar.Line(vg.Point{X: x, Y: hi})
			if pt.Lo >= p.Y.Min {
				bar.Move(vg.Point{X: x - cap, Y: lo})
				bar.Line(vg.Point{X: x + cap, Y: lo})
			}
			if pt.Hi <= p.Y.Max {
				bar.Move(vg.Point{X: x - cap, Y: hi})
				bar.Line(vg.Point{X: x + cap, Y: hi})
			}
			c.SetLineStyle(draw.LineStyle{Color: errColor, Width: 0.6})
			c.Stroke(bar)
			title += fmt.Sprintf(", interval %s to %s", valueText(t.s.Metric, pt.Lo), valueText(t.s.Metric, pt.Hi))
		}
		c.DrawGlyph(draw.GlyphStyle{Color: pointColor, Radius: 1.9, Shape: draw.CircleGlyph{}}, vg.Point{X: x, Y: y})
		if pt.Run == newest {
			// The newest run, the one judged: ringed in its verdict's colour.
			col, ok := statusColor[t.s.Verdict.Status]
			if !ok {
				col = lineColor
			}
			c.DrawGlyph(draw.GlyphStyle{Color: col, Radius: 4, Shape: draw.RingGlyph{}}, vg.Point{X: x, Y: y})
			title += "; the newest run: " + t.s.Verdict.Status
		}
		t.hot = append(t.hot, hotspot{x: x, y: y, w: 4.5, title: title})
	}

	// A broken case has no figure in the newest run: a cross where it
	// would be, so that the chart does not read as merely shorter.
	if t.s.Verdict.Status == StatusBroken && newest >= 0 && (len(t.s.Points) == 0 || t.s.Points[len(t.s.Points)-1].Run != newest) {
		pt := vg.Point{X: trX(float64(newest + 1)), Y: (c.Min.Y + c.Max.Y) / 2}
		x := draw.LineStyle{Color: statusColor[StatusBroken], Width: 1.4}
		c.StrokeLines(x, []vg.Point{{X: pt.X - 3.5, Y: pt.Y - 3.5}, {X: pt.X + 3.5, Y: pt.Y + 3.5}}, []vg.Point{{X: pt.X - 3.5, Y: pt.Y + 3.5}, {X: pt.X + 3.5, Y: pt.Y - 3.5}})
		ts := chartText(8, statusColor[StatusBroken])
		ts.XAlign, ts.YAlign = draw.XRight, draw.YBottom
		c.FillText(ts, vg.Point{X: pt.X, Y: pt.Y + 6}, "failed")
		t.hot = append(t.hot, hotspot{x: pt.X, y: pt.Y, w: 5, title: fmt.Sprintf("run %d (%s): the case failed", newest+1, runTimeAt(t.g, newest))})
	}

	// The group's events, as marks on the x axis.
	byRun := map[int][]string{}
	var runs []int
	for _, e := range t.g.Events {
		if _, ok := byRun[e.Run]; !ok {
			runs = append(runs, e.Run)
		}
		byRun[e.Run] = append(byRun[e.Run], e.What)
	}
	for _, r := range runs {
		pt := vg.Point{X: trX(float64(r + 1)), Y: c.Min.Y + 4}
		c.DrawGlyph(draw.GlyphStyle{Color: eventColor, Radius: 3, Shape: draw.PyramidGlyph{}}, pt)
		t.hot = append(t.hot, hotspot{x: pt.X, y: pt.Y, w: 4.5,
			title: fmt.Sprintf("run %d (%s): %s", r+1, runTimeAt(t.g, r), strings.Join(byRun[r], "; "))})
	}
}

// plotBand shades the band from its first run to its last between Lo and
// Hi with its level as a line, and carries the level and the threshold on
// as dashed lines to the newest run, the one judged against it.
func (t *trendPlotter) plotBand(c draw.Canvas, trX, trY func(float64) vg.Length) {
	b := t.s.Band
	if b == nil || !finiteNum(b.Level) || !finiteNum(b.Lo) || !finiteNum(b.Hi) {
		return
	}
	x0, x1 := trX(float64(b.From+1)-0.4), trX(float64(b.To+1)+0.4)
	c.FillPolygon(bandFill, []vg.Point{{X: x0, Y: trY(b.Lo)}, {X: x1, Y: trY(b.Lo)}, {X: x1, Y: trY(b.Hi)}, {X: x0, Y: trY(b.Hi)}})
	c.StrokeLine2(draw.LineStyle{Color: levelColor, Width: 0.9}, x0, trY(b.Level), x1, trY(b.Level))
	last := t.runs() - 1
	if last > b.To {
		xe := trX(float64(last+1) + 0.4)
		dash := draw.LineStyle{Color: levelColor, Width: 0.6, Dashes: []vg.Length{3, 2}}
		c.StrokeLine2(dash, x1, trY(b.Level), xe, trY(b.Level))
		thin := draw.LineStyle{Color: levelColor, Width: 0.4, Dashes: []vg.Length{1, 2}}
		c.StrokeLine2(thin, x1, trY(b.Lo), xe, trY(b.Lo))
		c.StrokeLine2(thin, x1, trY(b.Hi), xe, trY(b.Hi))
	}
	t.hot = append(t.hot, hotspot{rect: true, x: x0, y: trY(b.Lo), w: x1 - x0, h: trY(b.Hi) - trY(b.Lo),
		title: fmt.Sprintf("band: runs %d to %d at %s, ±%s: %s to %s", b.From+1, b.To+1, valueText(t.s.Metric, b.Level),
			percent(t.threshold), valueText(t.s.Metric, b.Lo), valueText(t.s.Metric, b.Hi))})
}

// ariaLabel says what the chart shows for a screen reader.
func (t *trendPlotter) ariaLabel() string {
	s := t.s
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s: %d %s", SeriesName(s), s.Metric.Label, len(s.Points), plural(len(s.Points), "run"))
	if len(s.Points) > 0 {
		fmt.Fprintf(&b, ", newest %s", newestText(s, t.g))
	}
	if len(s.Changes) == 0 {
		b.WriteString("; no change point")
	}
	for _, c := range s.Changes {
		fmt.Fprintf(&b, "; change point at %s", changeText(c))
	}
	if bd := s.Band; bd != nil {
		fmt.Fprintf(&b, "; band runs %d to %d at %s", bd.From+1, bd.To+1, valueText(s.Metric, bd.Level))
	}
	fmt.Fprintf(&b, "; verdict: %s", s.Verdict.Status)
	return b.String()
}

// runTicks label run 1 and round run numbers, with a minor tick per run
// when there are few enough.
type runTicks struct{}

func (runTicks) Ticks(min, max float64) []plot.Tick {
	first, last := int(math.Ceil(min)), int(math.Floor(max))
	n := last - first + 1
	step := 1
	for _, s := range []int{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000} {
		step = s
		if n/s <= 8 {
			break
		}
	}
	var ts []plot.Tick
	for r := first; r <= last; r++ {
		switch {
		case r == 1 || r%step == 0:
			ts = append(ts, plot.Tick{Value: float64(r), Label: fmt.Sprint(r)})
		case n <= 60:
			ts = append(ts, plot.Tick{Value: float64(r)})
		}
	}
	return ts
}
