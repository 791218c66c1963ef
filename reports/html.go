package reports

// The HTML report (WriteHTML) is one self-contained file: inline CSS, charts
// as inline SVG drawn with gonum/plot, no script, no font file, no URL, so it
// works offline, prints, and can be regenerated from the result file alone.
// Top to bottom it holds:
//
//   - Answers: each question of the sweep (Case.Questions) answered in one
//     sentence, derived from the data. The cases of a question are grouped,
//     each case's dimensions read from its name (device, pkt_size, knobs...);
//     the varying dimension the question names (else the device, else a
//     knob) is compared at every combination of the other varying ones. The
//     fastest value by median pps is compared with the runner-up (devices;
//     loopback, which has no device, is the baseline, not a contender) or the
//     slowest (knobs) as a ratio of medians with a bootstrap interval
//     (internal/stats.RatioOfMedians, the result's confidence level and seed).
//     An interval that holds 1 or lies within ±3% (NoEffectBand) is "no
//     measurable effect". Cases that did not run are named with the reason.
//   - Device comparison: pps and CPU ns per packet by device at each packet
//     size, with the medians' intervals as error bars.
//   - Knob sweeps: pps and CPU ns/packet against each swept knob's values,
//     one line per context (device, packet size, other knob); two-knob
//     sweeps also as a heatmap table.
//   - Latency: one-way latency against percentile (a "number of nines"
//     axis), from the trials' merged eBPF histograms.
//   - Flagged cases (not ok, a knob refused or changed, accounting not
//     closed, warnings such as a socket overflow) with their reasons, and
//     knob notes (an inert or not applicable knob is a finding).
//   - Drops and accounting per case, by drop reason.
//   - Every case with its figures; the host, tool and settings; the spec.
//
// WriteMarkdown writes the same answers, the largest effects and the
// flagged cases as Markdown, for a CI job to post.

import (
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

//go:embed templates/report.html.tmpl templates/report.css
var templateFS embed.FS

var pageTmpl = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"sentence": sentenceHTML,
	"wbr":      wbr,
}).ParseFS(templateFS, "templates/report.html.tmpl"))

func reportCSS() template.CSS {
	b, err := templateFS.ReadFile("templates/report.css")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return template.CSS(b) //nolint:gosec // our own stylesheet
}

// Section is one titled part of a report page. WriteHTML builds its own;
// RenderCompareHTML takes those of a comparison.
type Section struct {
	ID    string // the anchor, unique in the page
	Title string
	Body  template.HTML
}

type pageView struct {
	Title    string
	Subtitle []string
	Alert    string
	CSS      template.CSS
	Sections []Section
}

// WriteHTML writes the HTML report of a result: one self-contained page
// (see the comment atop this file).
func WriteHTML(w io.Writer, r *result.Result) error {
	a := analyze(r)
	page := pageView{Title: reportTitle(r), Subtitle: subtitle(r), CSS: reportCSS()}
	if r.Interrupted {
		page.Alert = "This sweep was interrupted: the cases shown finished, the others did not run."
	}
	builders := []struct {
		id, title string
		build     func(*analysis) (any, error)
	}{
		{"answers", "Answers", buildAnswers},
		{"devices", "Device comparison", buildDevices},
		{"knobs", "Knob sweeps", buildKnobs},
		{"latency", "Latency", buildLatency},
		{"flagged", "Flagged cases", buildFlagged},
		{"drops", "Drops and accounting", buildDrops},
		{"cases", "Every case", buildCases},
		{"host", "Host and settings", buildHost},
		{"spec", "Spec", func(a *analysis) (any, error) { return a.r.Spec, nil }},
	}
	for _, b := range builders {
		data, err := b.build(a)
		if err != nil {
			return fmt.Errorf("html report: %s: %w", b.id, err)
		}
		body, err := execute(b.id, data)
		if err != nil {
			return err
		}
		page.Sections = append(page.Sections, Section{ID: b.id, Title: b.title, Body: body})
	}
	return writePage(w, page)
}

// RenderCompareHTML writes a comparison of two results in the report's
// page layout: a header naming both, then the given sections (the verdicts
// and charts of a comparison: package reports/compare computes its Report,
// which a caller turns into sections; reports may import reports/compare
// without a cycle), then the host context of each result. base and new may
// be nil (inputs in the Go benchmark format have no result file): their
// host sections are then left out. It is the hook for
// `vethbench report --compare BASE NEW`.
func RenderCompareHTML(w io.Writer, base, new *result.Result, sections []Section) error {
	name := func(r *result.Result) string {
		if r == nil {
			return "benchmark file"
		}
		return reportName(r)
	}
	page := pageView{
		Title:    "vethbench comparison: " + name(base) + " → " + name(new),
		CSS:      reportCSS(),
		Sections: slices.Clone(sections),
	}
	for i, r := range []*result.Result{base, new} {
		which := [...]string{"base", "new"}[i]
		if r == nil {
			continue
		}
		page.Subtitle = append(page.Subtitle, which+": "+strings.Join(subtitle(r), ", "))
		data, err := buildHost(&analysis{r: r})
		if err != nil {
			return err
		}
		body, err := execute("host", data)
		if err != nil {
			return err
		}
		page.Sections = append(page.Sections, Section{ID: "host-" + which, Title: "Host and settings (" + which + ")", Body: body})
	}
	return writePage(w, page)
}

func execute(name string, data any) (template.HTML, error) {
	var b strings.Builder
	if err := pageTmpl.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("html report: %s: %w", name, err)
	}
	return template.HTML(b.String()), nil //nolint:gosec // output of html/template
}

func writePage(w io.Writer, page pageView) error {
	var b strings.Builder
	if err := pageTmpl.ExecuteTemplate(&b, "page", page); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var specName = regexp.MustCompile(`(?m)^name:\s*"?([^"#\n]*?)"?\s*(#.*)?$`)

func reportName(r *result.Result) string {
	if m := specName.FindStringSubmatch(r.Spec); m != nil && m[1] != "" {
		return "sweep “" + m[1] + "”"
	}
	if len(r.Command) > 1 {
		return strings.Join(r.Command[:2], " ")
	}
	return "result"
}

func reportTitle(r *result.Result) string { return "vethbench report: " + reportName(r) }

func subtitle(r *result.Result) []string {
	var s []string
	s = append(s, plural(len(r.Cases), "case", "cases"))
	if r.Host.Kernel != "" {
		s = append(s, "kernel "+r.Host.Kernel)
	}
	if r.Host.VCPUs > 0 {
		cpu := plural(r.Host.VCPUs, "vCPU", "vCPUs")
		if r.Host.CPUModel != "" {
			cpu += " " + r.Host.CPUModel
		}
		s = append(s, cpu)
	}
	if !r.StartedAt.IsZero() {
		s = append(s, r.StartedAt.UTC().Format("2006-01-02 15:04 MST"))
	}
	if r.Tool.Version != "" {
		s = append(s, "vethbench "+r.Tool.Version)
	}
	return s
}

// wbr escapes a case name and lets the browser break it after each "/".
func wbr(s string) template.HTML {
	return template.HTML(strings.ReplaceAll(template.HTMLEscapeString(s), "/", "/<wbr>")) //nolint:gosec // escaped
}

// sentenceHTML renders a sentence with its emphasis.
func sentenceHTML(s sentence) template.HTML {
	var b strings.Builder
	for _, f := range s {
		t := template.HTMLEscapeString(f.Text)
		if f.Strong {
			t = "<strong>" + t + "</strong>"
		}
		b.WriteString(t)
	}
	return template.HTML(b.String()) //nolint:gosec // escaped above
}

// ---- answers

type answersView struct {
	Answers   []answerView
	Caveats   []string
	Precision string
}

type answerView struct {
	N        int
	Question string
	Answer   sentence
	Anchor   string
}

func buildAnswers(a *analysis) (any, error) {
	var v answersView
	for i, g := range a.Groups {
		q := g.Question
		if q == "" {
			q = "What did this run measure?"
			if g.Compare != "" {
				q = "How do the cases compare?"
			}
		}
		v.Answers = append(v.Answers, answerView{N: i + 1, Question: q, Answer: g.Answer, Anchor: groupAnchor(a, g)})
	}
	flagged, unsupported, failed := 0, 0, 0
	for i := range a.r.Cases {
		c := &a.r.Cases[i]
		switch c.Status {
		case result.StatusUnsupported:
			unsupported++
		case result.StatusFailed:
			failed++
		}
		if c.Status == result.StatusOK && len(caseFlags(c)) > 0 {
			flagged++
		}
	}
	if flagged > 0 {
		v.Caveats = append(v.Caveats, plural(flagged, "measured case is", "measured cases are")+" flagged (a knob refused or changed, or accounting not closed)")
	}
	if o := overflows(a.r); o != "" {
		v.Caveats = append(v.Caveats, o)
	}
	if g := generatorBoundCases(a.r); g != "" {
		v.Caveats = append(v.Caveats, g)
	}
	if unsupported > 0 {
		v.Caveats = append(v.Caveats, plural(unsupported, "case is", "cases are")+" unsupported on this kernel")
	}
	if failed > 0 {
		v.Caveats = append(v.Caveats, plural(failed, "case", "cases")+" failed")
	}
	v.Precision = precision(a.r)
	return v, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// groupAnchor is where a group's figures are; groups that compare nothing
// have none, and point at the table of every case.
func groupAnchor(a *analysis, g *group) string {
	if g.Compare == "" {
		return "cases"
	}
	return fmt.Sprintf("q%d", slices.Index(a.Groups, g)+1)
}

// ---- device comparison and knob sweeps

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
	Figures  []figure
	Heatmap  *heatmap
	Table    table
}

type devicesView struct {
	Groups []groupView
	Empty  string
}

func buildDevices(a *analysis) (any, error) {
	v := devicesView{Empty: "No question of this result compares devices."}
	for i, g := range a.Groups {
		if g.Compare != dimDevice {
			continue
		}
		gv, err := a.groupView(i, g)
		if err != nil {
			return nil, err
		}
		v.Groups = append(v.Groups, gv)
	}
	return v, nil
}

func buildKnobs(a *analysis) (any, error) {
	v := devicesView{Empty: "No question of this result sweeps a knob."}
	for i, g := range a.Groups {
		if g.Compare == "" || g.Compare == dimDevice {
			continue
		}
		gv, err := a.groupView(i, g)
		if err != nil {
			return nil, err
		}
		v.Groups = append(v.Groups, gv)
	}
	return v, nil
}

// contextName names a context for a legend: "64 B", "qdisc noqueue".
func (g *group) contextName(ctx []string) string {
	if len(ctx) == 0 {
		return ""
	}
	parts := make([]string, len(ctx))
	for i, v := range ctx {
		parts[i] = valueLabel(g.Context[i], v)
	}
	return strings.Join(parts, ", ")
}

func (a *analysis) groupView(i int, g *group) (groupView, error) {
	gv := groupView{Anchor: fmt.Sprintf("q%d", i+1), N: i + 1, Question: g.Question, Answer: g.Answer}
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

// heatmap is a two-dimensional sweep as a table of coloured cells.
type heatmap struct {
	Corner string
	Cols   []string
	Rows   []heatRow
	Note   string
}

type heatRow struct {
	Head  string
	Cells []heatCell
}

type heatCell struct {
	Main, Sub string
	Style     template.CSS
	Title     string
}

func (a *analysis) heatmap(g *group) *heatmap {
	h := &heatmap{Corner: g.Context[0] + " \\ " + g.Compare}
	for _, v := range g.Values[g.Compare] {
		h.Cols = append(h.Cols, v)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, f := range g.Findings {
		for _, c := range f.Cells {
			if c.P != nil && c.P.ok() {
				m := c.P.c.Summary.PPS.Median
				lo, hi = math.Min(lo, m), math.Max(hi, m)
			}
		}
	}
	for _, f := range g.Findings {
		row := heatRow{Head: f.Context[0]}
		for _, c := range f.Cells {
			if c.P == nil || !c.P.ok() {
				st := "n/a"
				if c.P != nil {
					st = c.P.c.Status
				}
				row.Cells = append(row.Cells, heatCell{Main: st, Style: "background:#eeeeee"})
				continue
			}
			e := c.P.c.Summary.PPS
			t := 0.0
			if hi > lo {
				t = (e.Median - lo) / (hi - lo)
			}
			row.Cells = append(row.Cells, heatCell{
				Main:  si(e.Median) + " pps",
				Sub:   "±" + halfWidth(e),
				Style: template.CSS("background:" + heatColor(t)), //nolint:gosec // a colour we made
				Title: fmt.Sprintf("%s: %s pps, interval %s–%s", c.P.c.Name, Thousands(e.Median), Thousands(e.Lo), Thousands(e.Hi)),
			})
		}
		h.Rows = append(h.Rows, row)
	}
	h.Note = fmt.Sprintf("Median pps; darker is faster (%s to %s pps). ± is the interval's half-width relative to the median.", si(lo), si(hi))
	return h
}

// halfWidth is an interval's larger half-width relative to its median, as
// a percentage.
func halfWidth(e result.Estimate) string {
	if e.Median == 0 {
		return "?"
	}
	hw := math.Max(e.Hi-e.Median, e.Median-e.Lo) / e.Median
	return fmt.Sprintf("%.1f%%", 100*hw)
}

// heatColor maps t in [0, 1] from a pale to a mid blue.
func heatColor(t float64) string {
	t = math.Max(0, math.Min(1, t))
	from := [3]float64{0xf2, 0xf7, 0xfd}
	to := [3]float64{0x6f, 0xa8, 0xdc}
	var c [3]int
	for i := range c {
		c[i] = int(math.Round(from[i] + t*(to[i]-from[i])))
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
}

// table is a generic table; cells with Num are right-aligned.
type table struct {
	Head []string
	Rows [][]tcell
	// RowClass is an optional class per row (same index as Rows).
	RowClass []string
	// Fit makes the table as wide as the page, wrapping its text, instead
	// of scrolling sideways.
	Fit bool
}

// addNoteRow adds a row spanning the whole table under the last row, and
// marks that row as having one.
func (t *table) addNoteRow(text string) {
	for len(t.RowClass) < len(t.Rows) {
		t.RowClass = append(t.RowClass, "")
	}
	t.RowClass[len(t.Rows)-1] = "has-note"
	t.Rows = append(t.Rows, []tcell{{Text: text, Colspan: len(t.Head), Class: "rownote"}})
	t.RowClass = append(t.RowClass, "note-row")
}

func (t table) RowClassAt(i int) string {
	if i < len(t.RowClass) {
		return t.RowClass[i]
	}
	return ""
}

type tcell struct {
	Text    string
	Num     bool
	Class   string
	Title   string
	Colspan int
}

func txt(s string) tcell { return tcell{Text: s} }
func num(s string) tcell { return tcell{Text: s, Num: true} }

func (a *analysis) groupTable(g *group) table {
	t := table{Head: []string{}}
	for _, d := range g.Context {
		t.Head = append(t.Head, d)
	}
	t.Head = append(t.Head, g.Compare, "pps", "interval", "vs "+firstRan(g), "device pps", "CPU ns/pkt", "p50 µs", "p99 µs", "dropped")
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
			if len(caseFlags(c.P.c)) > 0 {
				value.Text += " ⚑"
				value.Title += ": flagged, see Flagged cases"
			}
			row = append(row, value)
			if !c.P.ok() {
				row = append(row, tcell{Text: c.P.c.Status + ": " + c.P.c.Error, Class: "muted", Colspan: 8})
				t.Rows = append(t.Rows, row)
				continue
			}
			s := c.P.c.Summary
			vs := tcell{Text: "baseline", Class: "muted"}
			if c.VsBase != nil {
				vs = num(fmtRatio(c.VsBase.Ratio) + " (" + fmt.Sprintf("%.2f–%.2f", c.VsBase.Lo, c.VsBase.Hi) + ")")
				if measurable(*c.VsBase) {
					vs.Class = "strong"
				}
			}
			if j == f.Winner && !f.Single {
				row[len(row)-1].Class = "strong"
			}
			row = append(row,
				num(Thousands(s.PPS.Median)),
				num(Thousands(s.PPS.Lo)+"–"+Thousands(s.PPS.Hi)),
				vs,
				num(Thousands(s.DevicePPS.Median)),
				num(fmt.Sprintf("%.0f", s.CPUNsPerPkt.Median)),
				num(us(s.P50.Median)),
				num(us(s.P99.Median)),
				num(dropPct(s)),
			)
			t.Rows = append(t.Rows, row)
		}
	}
	return t
}

func firstRan(g *group) string {
	for _, f := range g.Findings {
		for _, c := range f.Cells {
			if c.P != nil && c.P.ok() {
				return c.Value
			}
		}
	}
	return "baseline"
}

func dropPct(s *result.Summary) string {
	if s.Sent == 0 {
		return "0"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(s.Dropped)/float64(s.Sent))
}

// ---- latency

type latencyView struct {
	Figures []figure
	Note    string
	Empty   string
}

func buildLatency(a *analysis) (any, error) {
	v := latencyView{Empty: "No case recorded a latency histogram."}
	res := 0.0
	for _, g := range a.Groups {
		if g.Compare == "" {
			if len(g.Points) == 0 {
				continue
			}
			var names []string
			var hists [][]uint64
			for _, p := range g.Points {
				if p.ok() {
					names = append(names, p.c.Name)
					hists = append(hists, mergedHistogram(p.c))
				}
			}
			svg, err := percentileChart("One-way latency", names, hists)
			if err != nil {
				return nil, err
			}
			if svg != "" {
				v.Figures = append(v.Figures, figure{SVG: svg, Legend: percentileLegend(names), Caption: "Latency percentiles from the trials' merged histograms."})
			}
			continue
		}
		for _, f := range g.Findings {
			var names []string
			var hists [][]uint64
			for _, c := range f.Cells {
				if c.P == nil || !c.P.ok() {
					continue
				}
				names = append(names, valueLabel(g.Compare, c.Value))
				hists = append(hists, mergedHistogram(c.P.c))
				if len(c.P.c.Trials) > 0 {
					res = math.Max(res, c.P.c.Trials[0].Latency.Resolution)
				}
			}
			title := "Latency by " + strings.TrimPrefix(dimNoun(g.Compare), "the ")
			if len(g.Context) > 0 {
				title += " " + g.contextPhrase(f.Context)
			}
			svg, err := percentileChart(title, names, hists)
			if err != nil {
				return nil, err
			}
			if svg == "" {
				continue
			}
			v.Figures = append(v.Figures, figure{SVG: svg, Legend: percentileLegend(names), Caption: "Q" + fmt.Sprint(slices.Index(a.Groups, g)+1) + ": " + g.Question})
		}
	}
	v.Note = "One-way latency from the sender's send call to the receiver's ingress hook, all trials' eBPF histograms merged. " +
		"At full rate it includes each packet's wait behind the rest of its sendmmsg batch and in the receive backlog."
	if res > 0 {
		v.Note += fmt.Sprintf(" Each point is its histogram bucket's midpoint, within ±%.1f%%.", 100*res/2)
	}
	return v, nil
}

// ---- flagged cases

type flaggedView struct {
	Precision string
	Cases     []flaggedCase
	Notes     []flaggedCase
}

type flaggedCase struct {
	Name    string
	Status  string
	Flags   []string // shown first, marked
	Reasons []string
}

// caseFlags lists what makes a case's figures suspect or absent: not ok, a
// flag (accounting not closed, a knob refused or changed), a knob the kernel
// refused or changed.
func caseFlags(c *result.Case) []string {
	var out []string
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if c.Status != result.StatusOK {
		add(strings.TrimSpace(c.Status + ": " + c.Error))
	}
	for _, f := range c.Flags {
		add(f)
	}
	for _, s := range c.Settings {
		switch s.Status {
		case "refused", "changed", "unsupported":
			m := fmt.Sprintf("knob %s on %s %s: asked %s, the kernel has %s", s.Knob, s.Target, s.Status, s.Asked, s.After)
			if s.Detail != "" {
				m += " (" + s.Detail + ")"
			}
			add(m)
		}
	}
	if c.Summary != nil && !c.Summary.Closed && c.Status == result.StatusOK {
		add("accounting did not close in every trial")
	}
	return out
}

// imprecise reports whether a case stopped without reaching the sweep's
// precision target (its stop reason is also a warning).
func imprecise(c *result.Case) bool {
	return c.Stop != "" && slices.Contains(c.Warnings, c.Stop)
}

// caseWarnings are a case's warnings other than its stop reason, which the
// report summarises over all cases.
func caseWarnings(c *result.Case) []string {
	var out []string
	for _, w := range c.Warnings {
		if w != c.Stop && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// caseReasons lists what makes a case's figures suspect or absent: its
// flags, then its warnings (but its stop reason).
func caseReasons(c *result.Case) []string {
	return append(caseFlags(c), caseWarnings(c)...)
}

// generatorBoundCases summarises the cases whose figure is the generator's
// limit (result.BoundGenerator): "" when none is.
func generatorBoundCases(r *result.Result) string {
	n, ok := 0, 0
	gens := map[string]bool{}
	for i := range r.Cases {
		c := &r.Cases[i]
		if c.Status != result.StatusOK || c.Summary == nil {
			continue
		}
		ok++
		if b := c.Summary.Bottleneck; b != nil && b.Side == result.BoundGenerator {
			n++
			gens[c.Traffic.Generator] = true
		}
	}
	if n == 0 {
		return ""
	}
	verb := "are"
	if n == 1 {
		verb = "is"
	}
	return fmt.Sprintf("%d of %d measured cases %s generator-bound (%s): the sending threads were saturated with nothing downstream dropping, so the figure is the generator's limit on that path, not the device's; compare cases at the same generator, and see the packet and xdp generators for what the path itself carries",
		n, ok, verb, strings.Join(slices.Sorted(maps.Keys(gens)), ", "))
}

// overflows summarises the cases whose receiving socket overflowed (more
// than 1% of packets sent dropped as SOCKET_RCVBUFF, as bench warns): ""
// when none did.
func overflows(r *result.Result) string {
	n, ok := 0, 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range r.Cases {
		c := &r.Cases[i]
		s := c.Summary
		if c.Status != result.StatusOK || s == nil || s.Sent == 0 {
			continue
		}
		ok++
		share := float64(s.DropReasons["SOCKET_RCVBUFF"]) / float64(s.Sent)
		if share > 0.01 {
			n++
			lo, hi = math.Min(lo, share), math.Max(hi, share)
		}
	}
	if n == 0 {
		return ""
	}
	span := fmt.Sprintf("%.1f%%", 100*lo)
	if hi > lo {
		span += fmt.Sprintf(" to %.1f%%", 100*hi)
	}
	return fmt.Sprintf("the receiving socket overflowed in %d of %d measured cases (%s of packets sent): there pps is what the receiver read, device pps what the path delivered",
		n, ok, span)
}

// precision summarises the cases that did not reach the precision target:
// "" when all did.
func precision(r *result.Result) string {
	n, ok := 0, 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range r.Cases {
		c := &r.Cases[i]
		if c.Status != result.StatusOK || c.Summary == nil {
			continue
		}
		ok++
		if !imprecise(c) {
			continue
		}
		n++
		e := c.Summary.PPS
		if e.Median > 0 {
			hw := math.Max(e.Hi-e.Median, e.Median-e.Lo) / e.Median
			lo, hi = math.Min(lo, hw), math.Max(hi, hw)
		}
	}
	if n == 0 {
		return ""
	}
	who := fmt.Sprintf("%d of %d measured cases", n, ok)
	if n == ok {
		who = fmt.Sprintf("None of the %d measured cases", ok)
		if ok == 1 {
			who = "The case"
		}
	}
	target := ""
	if r.Settings.Target > 0 {
		target = " of ±" + pct(r.Settings.Target)
	}
	m := fmt.Sprintf("%s reached the precision target%s", who, target)
	if n != ok {
		m = fmt.Sprintf("%s did not reach the precision target%s", who, target)
	}
	if r.Settings.MaxTrials > 0 {
		m += fmt.Sprintf(" within %d trials", r.Settings.MaxTrials)
	}
	if !math.IsInf(lo, 0) {
		m += fmt.Sprintf(": their medians' intervals are ±%.1f%% to ±%.1f%%", 100*lo, 100*hi)
	}
	return m + ". The machine was noisy; differences smaller than that cannot be told apart."
}

// knobNotes lists a case's knob findings that are not flags: inert or not
// applicable knobs.
func knobNotes(c *result.Case) []string {
	var out []string
	for _, s := range c.Settings {
		if s.Status == "not applicable" || s.Detail != "" && (s.Status == "ok" || s.Status == "") {
			m := fmt.Sprintf("%s=%s on %s: %s", s.Knob, s.Asked, s.Target, cmp.Or(s.Detail, s.Status))
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

func buildFlagged(a *analysis) (any, error) {
	v := flaggedView{Precision: precision(a.r)}
	for i := range a.r.Cases {
		c := &a.r.Cases[i]
		if fs, ws := caseFlags(c), caseWarnings(c); len(fs)+len(ws) > 0 {
			v.Cases = append(v.Cases, flaggedCase{Name: c.Name, Status: c.Status, Flags: fs, Reasons: ws})
		}
		if ns := knobNotes(c); len(ns) > 0 {
			v.Notes = append(v.Notes, flaggedCase{Name: c.Name, Status: c.Status, Reasons: ns})
		}
	}
	return v, nil
}

// ---- drops

func buildDrops(a *analysis) (any, error) {
	counters := map[string]bool{}
	for _, c := range a.r.Cases {
		if c.Summary != nil {
			counters[c.DropCounter] = true
		}
	}
	v := dropsView{Table: table{Head: []string{"case", "sent", "received", "dropped", "dropped %", "drops by reason", "unaccounted", "accounting"}}}
	if len(counters) == 1 {
		for k := range counters {
			v.Counter = k
		}
	} else {
		v.Table.Head = append(v.Table.Head, "drops counted by")
	}
	t := &v.Table
	for i := range a.r.Cases {
		c := &a.r.Cases[i]
		s := c.Summary
		if s == nil {
			continue
		}
		var unacc int64
		closed := 0
		for _, tr := range c.Trials {
			unacc += tr.Unaccounted
			if tr.Closed {
				closed++
			}
		}
		acct := tcell{Text: fmt.Sprintf("closed %d/%d", closed, len(c.Trials)), Title: "trials whose accounting closed", Class: "nowrap"}
		if !s.Closed {
			acct = tcell{Text: fmt.Sprintf("NOT CLOSED: %d/%d", closed, len(c.Trials)), Title: "trials whose accounting closed", Class: "bad nowrap"}
		}
		rs := "none"
		if len(s.DropReasons) > 0 {
			rs = reasonsThousands(s.DropReasons)
		}
		row := []tcell{
			{Text: c.Name, Class: "name"},
			num(Thousands(float64(s.Sent))),
			num(Thousands(float64(s.Received))),
			num(Thousands(float64(s.Dropped))),
			num(dropPct(s)),
			txt(rs),
			num(fmt.Sprintf("%+d", unacc)),
			acct,
		}
		if v.Counter == "" {
			row = append(row, txt(c.DropCounter))
		}
		t.Rows = append(t.Rows, row)
	}
	return v, nil
}

type dropsView struct {
	Table   table
	Counter string // how every case counted drops, when they agree
}

// reasonsThousands formats drop counts by reason, largest first.
func reasonsThousands(m map[string]uint64) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "\u00a0" + Thousands(float64(m[k]))
	}
	return strings.Join(parts, ", ")
}

// ---- every case

func buildCases(a *analysis) (any, error) {
	t := table{Head: []string{"case", "status", "Q", "trials", "pps", "interval", "device pps", "CPU ns/pkt", "p50 µs", "p99 µs", "p99.9 µs", "dropped", "limit"}}
	qIndex := map[string]int{}
	for i, g := range a.Groups {
		qIndex[g.Question] = i + 1
	}
	for i := range a.r.Cases {
		c := &a.r.Cases[i]
		var qs []string
		for _, q := range c.Questions {
			qs = append(qs, fmt.Sprintf("Q%d", qIndex[q]))
		}
		notes := strings.Join(shortNotes(c), "; ")
		st := tcell{Text: c.Status}
		if c.Status != result.StatusOK {
			st.Class = "bad"
		}
		row := []tcell{{Text: c.Name, Class: "name"}, st, txt(strings.Join(qs, " "))}
		if s := c.Summary; s != nil && c.Status == result.StatusOK {
			row = append(row,
				num(fmt.Sprint(s.PPS.N)),
				num(Thousands(s.PPS.Median)),
				tcell{Text: si(s.PPS.Lo) + "–" + si(s.PPS.Hi), Num: true, Title: fmt.Sprintf("%s–%s, %s coverage", Thousands(s.PPS.Lo), Thousands(s.PPS.Hi), pct(s.PPS.Level))},
				num(Thousands(s.DevicePPS.Median)),
				num(fmt.Sprintf("%.0f", s.CPUNsPerPkt.Median)),
				num(us(s.P50.Median)), num(us(s.P99.Median)), num(us(s.P999.Median)),
				num(dropPct(s)),
				limitCell(s.Bottleneck),
			)
		} else {
			row = append(row, tcell{Colspan: 10})
		}
		t.Rows = append(t.Rows, row)
		if notes != "" {
			t.addNoteRow(notes)
		}
	}
	return t, nil
}

// limitCell names the side that limited a case, with the reason as its
// title; a generator-bound figure is marked: it is not the device's.
func limitCell(b *result.Bottleneck) tcell {
	if b == nil {
		return txt("")
	}
	c := tcell{Text: b.Side, Title: b.Detail}
	if b.Side == result.BoundGenerator {
		c.Text, c.Class = "⚑ generator", "bad"
	}
	return c
}

// generatorBound starts bench's warning of a generator-bound case.
const generatorBound = "generator-bound: "

// shortNotes are a case's flags and warnings, briefly, for the table of
// every case.
func shortNotes(c *result.Case) []string {
	var out []string
	for _, f := range caseFlags(c) {
		if f != strings.TrimSpace(c.Status+": "+c.Error) {
			out = append(out, "⚑ "+f)
		}
	}
	if c.Status != result.StatusOK {
		out = append(out, c.Error)
	}
	other := 0
	for _, w := range caseWarnings(c) {
		switch {
		case strings.HasPrefix(w, generatorBound):
			out = append(out, "⚑ generator-bound: the figure is the generator's limit, not the device's")
		case !strings.HasPrefix(w, overflowWarning):
			other++
		}
	}
	if s := c.Summary; s != nil && c.Status == result.StatusOK {
		switch c.Traffic.Generator {
		case "tcp":
			out = append(out, fmt.Sprintf("tcp: %.2f Gbit/s; pps is TCP segments/s at the receiving device; no latency", 8*s.BytesPerSec.Median/1e9))
		case "rr":
			out = append(out, "rr: pps is transactions/s; latencies are round trips")
		}
		if c.Traffic.Bypasses != "" {
			out = append(out, c.Traffic.Generator+": "+c.Traffic.Bypasses)
		}
	}
	if s := c.Summary; s != nil && s.Sent > 0 {
		if share := float64(s.DropReasons["SOCKET_RCVBUFF"]) / float64(s.Sent); share > 0.01 {
			out = append(out, fmt.Sprintf("socket overflowed (%.1f%% of sent)", 100*share))
		}
		if imprecise(c) {
			out = append(out, "interval ±"+halfWidth(s.PPS)+": precision target not reached")
		}
	}
	if other > 0 {
		out = append(out, plural(other, "more warning", "more warnings")+" (see Flagged cases)")
	}
	return out
}

// overflowWarning starts bench's warning of a receiving socket overflow.
const overflowWarning = "the receiving socket overflowed"

// ---- host

type hostView struct {
	Context   table
	HostKnobs table
	Command   string
}

func buildHost(a *analysis) (any, error) {
	r := a.r
	kv := func(k, v string) []tcell { return []tcell{{Text: k, Class: "key"}, txt(v)} }
	t := table{Fit: true}
	t.Rows = append(t.Rows,
		kv("tool", strings.TrimSpace(r.Tool.Name+" "+r.Tool.Version+" ("+r.Tool.GoVersion+")")),
		kv("kernel", r.Host.Kernel+" "+r.Host.Arch),
		kv("CPU", fmt.Sprintf("%s, %d vCPUs", r.Host.CPUModel, r.Host.VCPUs)),
		kv("steal", fmt.Sprintf("%.1f%% of CPU time over the run (the hypervisor's share: high steal makes every figure noisier)", r.Host.StealPct)),
		kv("busy", fmt.Sprintf("%.1f%% of all vCPUs over the run", r.Host.BusyPct)),
	)
	if !r.StartedAt.IsZero() {
		span := r.StartedAt.UTC().Format(time.RFC3339)
		if !r.FinishedAt.IsZero() {
			span += " to " + r.FinishedAt.UTC().Format(time.RFC3339) + " (" + r.FinishedAt.Sub(r.StartedAt).Round(time.Second).String() + ")"
		}
		t.Rows = append(t.Rows, kv("run", span))
	}
	st := r.Settings
	m := fmt.Sprintf("%d trials of %v after a %v warm-up; intervals at %s", st.Trials, st.Duration, st.Warmup, pct(st.Confidence))
	if st.Interleaved {
		m += fmt.Sprintf("; interleaved rounds shuffled with seed %d, up to %d trials a case until the median's interval is within ±%s",
			st.Seed, st.MaxTrials, pct(st.Target))
	}
	t.Rows = append(t.Rows, kv("measurement", m))
	t.Rows = append(t.Rows, kv("comparisons", fmt.Sprintf("ratios of medians with %s percentile-bootstrap intervals (%d resamples, seed %d); no measurable effect when the interval holds 1 or lies within ±%s",
		pct(cmp.Or(a.level, 0.95)), stats.DefaultResamples, cmp.Or(a.seed, 1), pct(NoEffectBand))))
	if r.Interrupted {
		t.Rows = append(t.Rows, kv("interrupted", "yes: the cases present are complete, the others did not run"))
	}
	hk := table{Head: []string{"host-wide knob", "value before the run"}}
	for _, k := range slices.Sorted(maps.Keys(r.HostKnobs)) {
		hk.Rows = append(hk.Rows, []tcell{{Text: k, Class: "name"}, num(r.HostKnobs[k])})
	}
	return hostView{Context: t, HostKnobs: hk, Command: strings.Join(r.Command, " ")}, nil
}
