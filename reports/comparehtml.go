package reports

// WriteCompareHTML turns a comparison (package reports/compare) into the
// sections of an HTML page and renders them with RenderCompareHTML: the
// verdicts, a chart of every case's ratio with its interval, and what
// differs between the two runs (host context and knob values). Like the
// report, the page is self-contained: inline CSS and SVG, no script, no URL.

import (
	"cmp"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/compare"
	"github.com/vethbench/vethbench/reports/result"
)

var compareTmpl = template.Must(template.New("compare").Parse(`
{{define "verdicts"}}<p class="a"><strong>{{.Headline}}</strong></p>
<ul class="notes">{{range .Counts}}<li>{{.}}</li>{{end}}</ul>
{{with .Warnings}}<ul class="caveats">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
<div class="scroll"><table>
<thead><tr><th>verdict</th><th>case</th><th>base median</th><th>new median</th><th>ratio [CI]</th><th>change</th><th>q</th><th>trials</th><th>note</th></tr></thead>
<tbody>{{range .Rows}}<tr><td class="{{.Class}}">{{.Verdict}}</td><td class="name">{{.Name}}</td><td class="num">{{.Base}}</td><td class="num">{{.New}}</td><td class="num">{{.Ratio}}</td><td class="num">{{.Change}}</td><td class="num">{{.Q}}</td><td class="num">{{.Trials}}</td><td>{{.Note}}</td></tr>
{{end}}</tbody></table></div>
{{range .Method}}<p class="note">{{.}}</p>{{end}}{{end}}

{{define "ratios"}}{{if .SVG}}<figure>{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>{{else}}<p class="muted">No case was compared: there is no ratio to draw.</p>{{end}}{{end}}

{{define "differs"}}<h3>Host context</h3>
{{if .Host}}<div class="scroll"><table><thead><tr><th>what</th><th>base</th><th>new</th></tr></thead>
<tbody>{{range .Host}}<tr><td class="key">{{.What}}</td><td>{{.Base}}</td><td>{{.New}}</td></tr>
{{end}}</tbody></table></div>{{else}}<p class="muted">No differences in the host context.</p>{{end}}
<h3>Knobs</h3>
{{if not .HaveResults}}<p class="muted">{{.NoResults}}</p>{{else if .Knobs}}<div class="scroll"><table><thead><tr><th>case</th><th>knob</th><th>role / target</th><th>base</th><th>new</th></tr></thead>
<tbody>{{range .Knobs}}<tr><td class="name">{{.Case}}</td><td class="key">{{.Knob}}</td><td>{{.Target}}</td><td>{{.Base}}</td><td>{{.New}}</td></tr>
{{end}}</tbody></table></div>{{else}}<p class="muted">No differences: every knob of every case in both runs, and every host sysctl, read back the same.</p>{{end}}{{end}}
`))

// WriteCompareHTML writes the comparison rep as one self-contained HTML
// page. base and new are the result files compared, for the host sections
// and the knob diff; either may be nil (Go benchmark inputs have none).
func WriteCompareHTML(w io.Writer, rep *compare.Report, base, new *result.Result) error {
	if rep == nil {
		return fmt.Errorf("html comparison: no report")
	}
	builders := []struct {
		id, title string
		build     func() (any, error)
	}{
		{"verdicts", "Verdicts", func() (any, error) { return buildVerdicts(rep), nil }},
		{"ratios", "Ratios", func() (any, error) { return buildRatios(rep) }},
		{"differs", "What differs", func() (any, error) { return buildDiffers(rep, base, new), nil }},
	}
	var sections []Section
	for _, b := range builders {
		data, err := b.build()
		if err != nil {
			return fmt.Errorf("html comparison: %s: %w", b.id, err)
		}
		var s strings.Builder
		if err := compareTmpl.ExecuteTemplate(&s, b.id, data); err != nil {
			return fmt.Errorf("html comparison: %s: %w", b.id, err)
		}
		sections = append(sections, Section{ID: b.id, Title: b.title, Body: template.HTML(s.String())}) //nolint:gosec // output of html/template
	}
	return RenderCompareHTML(w, base, new, sections)
}

// Verdicts.

type verdictRow struct {
	Verdict, Class, Name, Base, New, Ratio, Change, Q, Trials, Note string
}

type verdictsView struct {
	Headline string
	Counts   []string
	Warnings []string
	Rows     []verdictRow
	Method   []string
}

func buildVerdicts(rep *compare.Report) verdictsView {
	s := rep.Summary
	v := verdictsView{Headline: s.Headline, Warnings: rep.Warnings}
	if v.Headline == "" {
		v.Headline = fmt.Sprintf("%d regressions, %d improvements of %d cases", s.Regressions, s.Improvements, s.Cases)
	}
	if v.Headline == s.Headline && s.Headline != "" {
		v.Counts = nil // the headline has the counts
	} else {
		v.Counts = []string{fmt.Sprintf("%d not compared, of %d cases.", s.NotCompared, s.Cases)}
	}
	if g := s.Geomean; g != nil {
		v.Counts = append(v.Counts, fmt.Sprintf("Geomean %s ratio (new/base) over %d compared cases: %.3f [%.3f, %.3f] (%s interval), %+.1f%%.",
			rep.Metric.Name, s.GeomeanCases, g.Ratio, g.Lo, g.Hi, levelText(g.Level), 100*(g.Ratio-1)))
	} else {
		v.Counts = append(v.Counts, "No geomean ratio: no case was compared.")
	}
	cases := slices.Clone(rep.Cases)
	slices.SortStableFunc(cases, func(a, b compare.Case) int {
		return cmp.Compare(compare.Severity(a.Verdict), compare.Severity(b.Verdict))
	})
	unit := rep.Metric.Unit
	for _, c := range cases {
		r := verdictRow{Verdict: string(c.Verdict), Name: c.Name, Base: "—", New: "—", Ratio: "—", Change: "—", Q: "—", Trials: "—", Note: c.Note}
		switch c.Verdict {
		case "":
			r.Verdict, r.Class = "not compared", "muted"
		case stats.Regression:
			r.Class = "bad"
		case stats.Improvement:
			r.Class = "strong"
		}
		if c.Base != nil {
			r.Base = compareValue(c.Base.Median, unit)
		}
		if c.New != nil {
			r.New = compareValue(c.New.Median, unit)
		}
		if c.Ratio != nil {
			r.Ratio = fmt.Sprintf("%.3f [%.3f, %.3f]", c.Ratio.Ratio, c.Ratio.Lo, c.Ratio.Hi)
			r.Change = fmt.Sprintf("%+.1f%%", 100*(c.Ratio.Ratio-1))
		}
		if t := c.Test; t != nil && t.InFamily {
			r.Q = qValue(t.Q)
		}
		if c.Base != nil || c.New != nil {
			n := func(s *compare.Sample) string {
				if s == nil {
					return "–"
				}
				return strconv.Itoa(s.N)
			}
			r.Trials = n(c.Base) + " / " + n(c.New)
		}
		v.Rows = append(v.Rows, r)
	}
	m, me := rep.Metric, rep.Method
	dir := "lower is better"
	if m.HigherIsBetter {
		dir = "higher is better"
	}
	v.Method = []string{
		fmt.Sprintf("Metric %s (%s, unit %s); ratio = median new / median base; trials are base / new.", m.Name, dir, m.Unit),
		fmt.Sprintf("Two-sided Mann-Whitney U per case, Benjamini-Hochberg over %d cases (q), alpha %g; %s percentile bootstrap interval of the ratio (%d resamples, seed %d); threshold ±%s.",
			me.Family, me.Alpha, levelText(me.Level), me.Resamples, me.Seed, pctText(me.Threshold)),
		"Base: " + rep.Base.Path + " · new: " + rep.New.Path,
	}
	return v
}

func qValue(q float64) string {
	switch {
	case q < 0.0001:
		return "<0.0001"
	case q >= 0.01:
		return fmt.Sprintf("%.2f", q)
	}
	return fmt.Sprintf("%.4f", q)
}

func levelText(l float64) string {
	return strconv.FormatFloat(math.Round(1000*l)/10, 'f', -1, 64) + "%"
}

func pctText(f float64) string { return strconv.FormatFloat(100*f, 'f', -1, 64) + "%" }

// compareValue formats a median of the metric's unit: times as durations,
// other values with SI suffixes.
func compareValue(v float64, unit string) string {
	switch {
	case unit == "ns/pkt" || strings.HasSuffix(unit, "-ns") || strings.HasPrefix(unit, "ns/") || unit == "ns":
		return usLabel(sigRound(v / 1e3))
	case strings.HasPrefix(unit, "sec/") || strings.HasSuffix(unit, "-sec"):
		return usLabel(sigRound(v * 1e6))
	}
	return si(v)
}

// sigRound rounds v to three significant digits.
func sigRound(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// Ratios.

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

// What differs.

type hostDiff struct{ What, Base, New string }

type knobDiff struct{ Case, Knob, Target, Base, New string }

type differsView struct {
	Host        []hostDiff
	HaveResults bool
	NoResults   string
	Knobs       []knobDiff
}

func buildDiffers(rep *compare.Report, base, new *result.Result) differsView {
	var v differsView
	add := func(what, b, n string) {
		if b != n {
			v.Host = append(v.Host, hostDiff{What: what, Base: orNone(b), New: orNone(n)})
		}
	}
	bh, nh := rep.Base.Host, rep.New.Host
	add("kernel", bh.Kernel, nh.Kernel)
	add("arch", bh.Arch, nh.Arch)
	add("CPU", bh.CPUModel, nh.CPUModel)
	add("vCPUs", countText(bh.VCPUs), countText(nh.VCPUs))
	add("tool version", rep.Base.Tool, rep.New.Tool)
	add("format", rep.Base.Format, rep.New.Format)
	if base != nil && new != nil {
		add("steal", fmt.Sprintf("%.1f%%", base.Host.StealPct), fmt.Sprintf("%.1f%%", new.Host.StealPct))
		add("Go version", base.Tool.GoVersion, new.Tool.GoVersion)
		bs, ns := base.Settings, new.Settings
		add("trials", strconv.Itoa(bs.Trials), strconv.Itoa(ns.Trials))
		add("trial duration", bs.Duration.String(), ns.Duration.String())
		add("warmup", bs.Warmup.String(), ns.Warmup.String())
		add("confidence", levelText(bs.Confidence), levelText(ns.Confidence))
		add("interleaved", strconv.FormatBool(bs.Interleaved), strconv.FormatBool(ns.Interleaved))
	}
	if base == nil || new == nil {
		v.NoResults = "Knob values are only known for vethbench result files; at least one input is in the Go benchmark format."
		return v
	}
	v.HaveResults = true
	for _, k := range diffMaps(base.HostKnobs, new.HostKnobs) {
		v.Knobs = append(v.Knobs, knobDiff{Case: "(host)", Knob: k.key, Target: "host", Base: k.base, New: k.new})
	}
	bc, nc := casesByName(base), casesByName(new)
	for _, c := range rep.Cases {
		if c.In != compare.InBoth {
			continue
		}
		b, okb := bc[cmp.Or(c.BaseName, c.Name)]
		n, okn := nc[cmp.Or(c.NewName, c.Name)]
		if !okb || !okn {
			continue
		}
		v.Knobs = append(v.Knobs, caseKnobDiffs(c.Name, b, n)...)
	}
	return v
}

func orNone(s string) string { return cmp.Or(s, "—") }

func countText(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func casesByName(r *result.Result) map[string]*result.Case {
	m := make(map[string]*result.Case, len(r.Cases))
	for i := range r.Cases {
		m[r.Cases[i].Name] = &r.Cases[i]
	}
	return m
}

type mapDiff struct{ key, base, new string }

// diffMaps lists the keys whose values differ, sorted; a key missing on
// one side shows as "—".
func diffMaps(b, n map[string]string) []mapDiff {
	var out []mapDiff
	keys := slices.Sorted(maps.Keys(b))
	for k := range n {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		bv, bok := b[k]
		nv, nok := n[k]
		if bok && nok && bv == nv {
			continue
		}
		if !bok {
			bv = "—"
		}
		if !nok {
			nv = "—"
		}
		out = append(out, mapDiff{k, bv, nv})
	}
	return out
}

// caseKnobDiffs lists a case's differing knobs: every DeviceKnobs field by
// role, every Setting by knob and target, every namespace sysctl.
func caseKnobDiffs(name string, b, n *result.Case) []knobDiff {
	var out []knobDiff
	roles := slices.Sorted(maps.Keys(b.Knobs))
	for r := range n.Knobs {
		if _, ok := b.Knobs[r]; !ok {
			roles = append(roles, r)
		}
	}
	slices.Sort(roles)
	for _, role := range roles {
		bk, bok := b.Knobs[role]
		nk, nok := n.Knobs[role]
		if !bok || !nok {
			out = append(out, knobDiff{Case: name, Knob: "device", Target: role, Base: presence(bok), New: presence(nok)})
			continue
		}
		for _, d := range diffMaps(deviceKnobValues(bk), deviceKnobValues(nk)) {
			out = append(out, knobDiff{Case: name, Knob: d.key, Target: role, Base: d.base, New: d.new})
		}
	}
	settings := func(c *result.Case) map[string]string {
		m := map[string]string{}
		for _, s := range c.Settings {
			v := s.After
			if s.Status != "" && s.Status != "ok" {
				v += " (" + s.Status + ")"
			}
			m[s.Knob+"\x00"+s.Target] = v
		}
		return m
	}
	for _, d := range diffMaps(settings(b), settings(n)) {
		knob, target, _ := strings.Cut(d.key, "\x00")
		out = append(out, knobDiff{Case: name, Knob: knob + " (setting)", Target: target, Base: d.base, New: d.new})
	}
	nss := slices.Sorted(maps.Keys(b.Sysctls))
	for ns := range n.Sysctls {
		if _, ok := b.Sysctls[ns]; !ok {
			nss = append(nss, ns)
		}
	}
	slices.Sort(nss)
	for _, ns := range nss {
		for _, d := range diffMaps(b.Sysctls[ns], n.Sysctls[ns]) {
			out = append(out, knobDiff{Case: name, Knob: d.key, Target: "netns " + ns, Base: d.base, New: d.new})
		}
	}
	return out
}

func presence(ok bool) string {
	if ok {
		return "present"
	}
	return "absent"
}

// deviceKnobValues flattens a device's knobs to name → value, by their
// JSON names, so that every field (present and future) is compared; the
// features map gives one entry per feature.
func deviceKnobValues(k result.DeviceKnobs) map[string]string {
	out := map[string]string{}
	v := reflect.ValueOf(k)
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			name = f.Name
		}
		if name == "ifname" {
			continue // carries each run's own id: always differs, never a knob
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Map:
			iter := fv.MapRange()
			for iter.Next() {
				out[fmt.Sprintf("%s.%v", name, iter.Key().Interface())] = fmt.Sprint(iter.Value().Interface())
			}
		case reflect.Slice:
			var parts []string
			for j := range fv.Len() {
				parts = append(parts, fmt.Sprint(fv.Index(j).Interface()))
			}
			if len(parts) > 0 {
				out[name] = strings.Join(parts, "; ")
			}
		default:
			out[name] = fmt.Sprint(fv.Interface())
		}
	}
	return out
}
