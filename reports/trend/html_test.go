package trend

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The metrics of the hand-built reports, as the model describes them.
var (
	tmPPS    = Metric{Name: MetricPPS, Label: "pps", Unit: "pps", HigherIsBetter: true}
	tmDevPPS = Metric{Name: MetricDevicePPS, Label: "device pps", Unit: "pps", HigherIsBetter: true}
	tmCPU    = Metric{Name: MetricCPU, Label: "CPU ns/pkt", Unit: "ns"}
	tmP99    = Metric{Name: MetricP99, Label: "p99 latency", Unit: "ns"}
	tmRatio  = Metric{Name: MetricPPSRatio, Label: "pps ratio to the baseline", Unit: "x", HigherIsBetter: true}
)

// seriesSpec builds a series of a hand-built report: a level with 1.5%
// noise, steps (a run index and a factor) and each run's ±1% interval.
type seriesSpec struct {
	kase   string
	metric Metric
	level  float64
	steps  map[int]float64
	from   int  // first run with a figure
	to     int  // last run with a figure (inclusive)
	noCI   bool // NaN intervals
	last   float64
}

func buildSeries(rng *rand.Rand, sp seriesSpec) Series {
	s := Series{Case: sp.kase, Metric: sp.metric, Changes: []Change{}}
	lvl := sp.level
	for i := sp.from; i <= sp.to; i++ {
		if f, ok := sp.steps[i]; ok {
			lvl *= f
		}
		v := lvl * (1 + 0.015*rng.NormFloat64())
		if i == sp.to && sp.last != 0 {
			v = lvl * sp.last
		}
		p := Point{Run: i, Value: v, Lo: v * 0.99, Hi: v * 1.01}
		if sp.noCI {
			p.Lo, p.Hi = math.NaN(), math.NaN()
		}
		s.Points = append(s.Points, p)
	}
	return s
}

// geomean is the geometric mean of s's points of runs from..to.
func geomean(s Series, from, to int) float64 {
	var sum float64
	n := 0
	for _, p := range s.Points {
		if p.Run >= from && p.Run <= to {
			sum += math.Log(p.Value)
			n++
		}
	}
	return math.Exp(sum / float64(n))
}

// addChange puts a change point at run at, its segments from..at-1 and
// at..to.
func addChange(s *Series, g *Group, from, at, to int, threshold float64) *Change {
	c := Change{Run: at, Before: geomean(*s, from, at-1), After: geomean(*s, at, to), P: 1e-6}
	c.Step = c.After/c.Before - 1
	c.Lo, c.Hi = c.Step-0.012, c.Step+0.012
	worse := c.Step < 0
	if !s.Metric.HigherIsBetter {
		worse = !worse
	}
	c.Direction = DirImprovement
	if worse {
		c.Direction = DirRegression
	}
	c.Beyond = math.Abs(c.Step) > threshold
	for _, e := range g.Events {
		if e.Run >= at-1 && e.Run <= at+1 {
			c.Events = append(c.Events, fmt.Sprintf("run %d: %s", e.Run+1, e.What))
		}
	}
	s.Changes = append(s.Changes, c)
	return &s.Changes[len(s.Changes)-1]
}

func setBand(s *Series, from, to int, threshold float64) {
	l := geomean(*s, from, to)
	s.Band = &Band{From: from, To: to, Level: l, Lo: l * (1 - threshold), Hi: l * (1 + threshold)}
}

func stepSentence(s Series, g Group, c *Change) string {
	return fmt.Sprintf("%s moved %s from run %d (%s) on: %s → %s, beyond the ±3%% threshold",
		s.Metric.Label, StepText(*c), c.Run+1, RunTime(g.Runs[c.Run]), FormatValue(s.Metric, c.Before), FormatValue(s.Metric, c.After))
}

// sampleReport is a realistic hand-built report: one machine, 20 nightly
// runs, 3 cases x 4 metrics and a ratio, with change points, bands, events
// and every status.
func sampleReport(kases ...string) *Report {
	if len(kases) == 0 {
		kases = []string{"veth/pkt=64", "macvlan/bridge/pkt=64", "veth/gro=on/pkt=1500"}
	}
	const n, th = 20, 0.03
	rng := rand.New(rand.NewPCG(16, 3))
	start := time.Date(2026, 11, 14, 2, 0, 0, 0, time.UTC)
	g := Group{Key: "ci-runner-3"}
	for i := range n {
		k := "6.12.48"
		if i >= 6 {
			k = "6.18.0"
		}
		g.Runs = append(g.Runs, Run{Path: fmt.Sprintf("2026-11-%02dT0200.json", 14+i), Started: start.Add(time.Duration(i) * 24 * time.Hour).Add(time.Duration(i*37) * time.Second),
			Host: "ci-runner-3", Kernel: k, Tool: "v0.16.0", Interrupted: i == 9})
	}
	g.Events = []Event{
		{Run: 6, What: "kernel 6.12.48 → 6.18.0"},
		{Run: 14, What: "cost_ns 0 → 200 (a validation knob: the cases' receivers spent that much more CPU per packet on purpose)"},
	}
	a, b, c := kases[0], kases[1], kases[2]
	ack := &Ack{Case: a, Metric: MetricDevicePPS, Since: g.Runs[14].Started, Reason: "cost_ns 200 is the validation knob, on purpose"}

	// a: the knob's regression in pps, acknowledged in device pps, CPU
	// per packet up; p99 on watch (the newest run alone above its band).
	s := buildSeries(rng, seriesSpec{kase: a, metric: tmPPS, level: 312345, steps: map[int]float64{14: 0.9}, to: n - 1})
	ch := addChange(&s, &g, 0, 14, n-1, th)
	setBand(&s, 0, 13, th)
	s.Verdict = Verdict{Status: StatusRegression, Change: ch, Detail: "regression: " + stepSentence(s, g, ch)}
	g.Series = append(g.Series, s)

	s = buildSeries(rng, seriesSpec{kase: a, metric: tmDevPPS, level: 318000, steps: map[int]float64{14: 0.91}, to: n - 1})
	ch = addChange(&s, &g, 0, 14, n-1, th)
	ch.Ack = ack
	setBand(&s, 0, 13, th)
	s.Verdict = Verdict{Status: StatusAcknowledged, Change: ch, Detail: "acknowledged regression: " + stepSentence(s, g, ch) + "; acknowledged: " + ack.Reason}
	g.Series = append(g.Series, s)

	s = buildSeries(rng, seriesSpec{kase: a, metric: tmCPU, level: 3848, steps: map[int]float64{6: 0.985, 14: 1.12}, to: n - 1})
	addChange(&s, &g, 0, 6, 13, th)
	ch = addChange(&s, &g, 6, 14, n-1, th)
	setBand(&s, 6, 13, th)
	s.Verdict = Verdict{Status: StatusRegression, Change: ch, Detail: "regression: " + stepSentence(s, g, ch)}
	g.Series = append(g.Series, s)

	s = buildSeries(rng, seriesSpec{kase: a, metric: tmP99, level: 208900, to: n - 1, last: 1.09})
	setBand(&s, 0, n-2, th)
	s.Verdict = Verdict{Status: StatusWatch, Detail: fmt.Sprintf("watch: the newest run, %s, is 9.0%% above the level of runs 1-19 (%s), beyond the ±3%% threshold; one run is not a change point",
		FormatValue(s.Metric, s.Points[n-1].Value), FormatValue(s.Metric, s.Band.Level))}
	g.Series = append(g.Series, s)

	// b: improved pps after the kernel change, a change within the
	// threshold in device pps, steady CPU, a short p99.
	s = buildSeries(rng, seriesSpec{kase: b, metric: tmPPS, level: 402000, steps: map[int]float64{6: 1.06}, to: n - 1})
	ch = addChange(&s, &g, 0, 6, n-1, th)
	setBand(&s, 0, 5, th)
	s.Verdict = Verdict{Status: StatusImproved, Change: ch, Detail: "improved: " + stepSentence(s, g, ch)}
	g.Series = append(g.Series, s)

	s = buildSeries(rng, seriesSpec{kase: b, metric: tmDevPPS, level: 405000, steps: map[int]float64{7: 1.022}, to: n - 1})
	ch = addChange(&s, &g, 0, 7, n-1, th)
	setBand(&s, 7, n-2, th)
	s.Verdict = Verdict{Status: StatusOK, Detail: fmt.Sprintf("steady: the newest run is within ±3%% of the level of runs 8-19 (%s); the last change, %s at run 8, is within the threshold",
		FormatValue(s.Metric, s.Band.Level), signedPercent(ch.Step))}
	g.Series = append(g.Series, s)

	s = buildSeries(rng, seriesSpec{kase: b, metric: tmCPU, level: 2950, to: n - 1})
	setBand(&s, 0, n-2, th)
	s.Verdict = Verdict{Status: StatusOK, Detail: fmt.Sprintf("steady: the newest run is within ±3%% of the level of runs 1-19 (%s); no change point in 20 runs", FormatValue(s.Metric, s.Band.Level))}
	g.Series = append(g.Series, s)

	s = buildSeries(rng, seriesSpec{kase: b, metric: tmP99, level: 150000, from: n - 3, to: n - 1})
	s.Verdict = Verdict{Status: StatusShort, Detail: "3 runs with this figure: at least 4 are needed to look for a change"}
	g.Series = append(g.Series, s)

	// c: broken in the newest run, a metric it stopped giving, p99
	// without intervals (NaN: single trials), and a ratio to a baseline.
	s = buildSeries(rng, seriesSpec{kase: c, metric: tmPPS, level: 98000, to: n - 2})
	s.Verdict = Verdict{Status: StatusBroken, Detail: "broken: the case failed in the newest run (set gro on veth0: operation not supported), after it ran in run 19"}
	g.Series = append(g.Series, s)

	s = buildSeries(rng, seriesSpec{kase: c, metric: tmDevPPS, level: 99000, to: 9})
	s.Verdict = Verdict{Status: StatusAbsent, Detail: "the newest run has no device pps for this case"}
	g.Series = append(g.Series, s)

	s = buildSeries(rng, seriesSpec{kase: c, metric: tmCPU, level: 9100, to: n - 1, noCI: true})
	setBand(&s, 0, n-2, th)
	s.Verdict = Verdict{Status: StatusOK, Detail: fmt.Sprintf("steady: the newest run is within ±3%% of the level of runs 1-19 (%s); no change point in 20 runs", FormatValue(s.Metric, s.Band.Level))}
	g.Series = append(g.Series, s)

	s = buildSeries(rng, seriesSpec{kase: c, metric: tmRatio, level: 0.684, steps: map[int]float64{14: 0.93}, to: n - 1})
	s.Question, s.Baseline = "gro", a
	ch = addChange(&s, &g, 0, 14, n-1, th)
	setBand(&s, 0, 13, th)
	s.Verdict = Verdict{Status: StatusRegression, Change: ch, Detail: "regression: " + stepSentence(s, g, ch)}
	g.Series = append(g.Series, s)

	return &Report{Threshold: th, PValue: 0.001, Level: 0.95, Window: 50, AckFile: "history/acknowledged.yaml",
		Groups:  []Group{g},
		Skipped: []Skipped{{Path: "2026-11-02T0200.json", Reason: "not a result file: unexpected end of JSON input"}},
		Notes:   []string{"The acknowledgement of veth/* p99_ns since 2026-10-01T02:00:00Z (\"old\") matches no regression: it can be removed."}}
}

func renderHTML(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	return b.String()
}

// forbidden are the strings .ci/report-check refuses: anything the page
// could fetch.
var forbidden = []string{"http://", "https://", "url(", "<script src", "<link", "@import"}

// TestWriteHTMLSelfContained: nothing the page could fetch, and no script
// at all. With TREND_HTML_OUT set it also writes the page there, for
// .ci/report-check --page.
func TestWriteHTMLSelfContained(t *testing.T) {
	page := renderHTML(t, sampleReport())
	low := strings.ToLower(page)
	for _, bad := range append(forbidden, "<script", "xmlns") {
		if i := strings.Index(low, bad); i >= 0 {
			t.Errorf("the page holds %q: ...%s...", bad, page[max(0, i-60):min(len(page), i+60)])
		}
	}
	if n := strings.Count(page, "<svg"); n != 12 {
		t.Errorf("%d charts, want one per series (12)", n)
	}
	if out := os.Getenv("TREND_HTML_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", out, len(page))
	}
}

// TestWriteHTMLHoldsEverySeries: every series' case and metric, its
// verdict's detail and status in words, every change point's step (in the
// chart's label and the caption) and every event.
func TestWriteHTMLHoldsEverySeries(t *testing.T) {
	r := sampleReport()
	page := renderHTML(t, r)
	g := r.Groups[0]
	for i, s := range g.Series {
		name := fmt.Sprintf("%s %s", s.Case, s.Metric.Name)
		fig := figureOf(t, page, seriesAnchor(0, i))
		text := html.UnescapeString(fig)
		for _, want := range []string{s.Case, s.Metric.Label, s.Verdict.Detail} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: its figure lacks %q", name, want)
			}
		}
		caption := fig[strings.Index(fig, "<figcaption>"):]
		if !strings.Contains(caption, fmt.Sprintf(`class="st st-%s">%s<`, s.Verdict.Status, s.Verdict.Status)) {
			t.Errorf("%s: no %s badge with the status in words", name, s.Verdict.Status)
		}
		row := fmt.Sprintf(`<a href="#%s" class="st st-%s">%s</a>`, seriesAnchor(0, i), s.Verdict.Status, s.Verdict.Status)
		if !strings.Contains(page, row) {
			t.Errorf("%s: the table has no row linking to its chart", name)
		}
		for _, c := range s.Changes {
			label := signedPercent(c.Step)
			if !regexp.MustCompile(`<text[^>]*>` + regexp.QuoteMeta(label) + ` (worse|better|ack)</text>`).MatchString(text) {
				t.Errorf("%s: the chart has no label %q for its change point at run %d", name, label, c.Run+1)
			}
			if !strings.Contains(text, StepText(c)) {
				t.Errorf("%s: the caption lacks the step %q", name, StepText(c))
			}
		}
	}
	text := html.UnescapeString(page)
	for _, e := range g.Events {
		item := fmt.Sprintf("run %d (%s): %s", e.Run+1, RunTime(g.Runs[e.Run]), e.What)
		if !strings.Contains(text, item) {
			t.Errorf("the event %q is not listed", item)
		}
		if !strings.Contains(text, "<title>"+item+"</title>") {
			t.Errorf("the event %q has no mark with a tooltip on the charts", item)
		}
	}
	for _, want := range append([]string{r.AckFile, r.Skipped[0].Path, r.Skipped[0].Reason, r.Notes[0]}, RunTime(g.Runs[0]), RunTime(g.Runs[len(g.Runs)-1])) {
		if !strings.Contains(text, want) {
			t.Errorf("the head lacks %q", want)
		}
	}
}

// figureOf cuts the figure with id anchor out of page.
func figureOf(t *testing.T, page, anchor string) string {
	t.Helper()
	i := strings.Index(page, `<figure id="`+anchor+`"`)
	if i < 0 {
		t.Fatalf("no figure %s", anchor)
	}
	j := strings.Index(page[i:], "</figure>")
	if j < 0 {
		t.Fatalf("figure %s is not closed", anchor)
	}
	// The figure holds the metric and the detail; the case is its
	// section's heading, the nearest before it.
	h := strings.LastIndex(page[:i], "<h4>")
	return page[h:i] + page[i:i+j]
}

// TestWriteHTMLVerdictFirst: the verdict comes before the charts, failing
// series first, then watch, acknowledged, improved, and says the exit
// code; without a failing series it says 0.
func TestWriteHTMLVerdictFirst(t *testing.T) {
	r := sampleReport()
	page := renderHTML(t, r)
	firstChart := strings.Index(page, "<svg")
	prev := -1
	for _, st := range []string{StatusRegression, StatusBroken, StatusWatch, StatusAcknowledged, StatusImproved} {
		i := strings.Index(page, fmt.Sprintf(`<li><span class="st st-%s">`, st))
		switch {
		case i < 0:
			t.Errorf("the verdict summary lists no %s series", st)
		case i > firstChart:
			t.Errorf("the %s series are listed after the first chart", st)
		case i < prev:
			t.Errorf("the %s series are listed before the status above them", st)
		}
		prev = i
	}
	if !r.Failing() || !strings.Contains(page, "<strong>Exit code 1:</strong>") {
		t.Errorf("a failing report's page does not say exit code 1")
	}
	for i := range r.Groups[0].Series {
		if r.Groups[0].Series[i].Verdict.Failing() {
			r.Groups[0].Series[i].Verdict.Status = StatusAcknowledged
		}
	}
	if page := renderHTML(t, r); !strings.Contains(page, "<strong>Exit code 0:</strong>") || strings.Contains(page, "Exit code 1") {
		t.Errorf("a report with nothing failing does not say exit code 0")
	}
}

// TestWriteHTMLEscapes: a case name with <, & and quotes is escaped
// everywhere it appears: the summary, the table, the headings, the charts'
// aria-labels; and an event's words in the list and the charts' tooltips.
func TestWriteHTMLEscapes(t *testing.T) {
	const evil = `veth/<b>&"it's"`
	const evilEvent = `settings: <i>&"quoted"`
	r := sampleReport(evil, "macvlan/bridge/pkt=64", "veth/gro=on/pkt=1500")
	r.Groups[0].Events = append(r.Groups[0].Events, Event{Run: 3, What: evilEvent})
	page := renderHTML(t, r)
	for _, raw := range []string{"<b>", `&"it`, "<i>", `&"quoted`} {
		if strings.Contains(page, raw) {
			i := strings.Index(page, raw)
			t.Errorf("%q reaches the page unescaped: ...%s...", raw, page[max(0, i-80):i+20])
		}
	}
	esc := html.EscapeString(evil)
	if n := strings.Count(page, esc); n < 10 {
		t.Errorf("the escaped case name %q appears %d times, want it in the summary, the table, the heading and the charts", esc, n)
	}
	if !regexp.MustCompile(`aria-label="` + regexp.QuoteMeta(esc) + `, pps:`).MatchString(page) {
		t.Errorf("no chart's aria-label names the escaped case")
	}
	g := r.Groups[0]
	tip := fmt.Sprintf("<title>run 4 (%s): %s</title>", RunTime(g.Runs[3]), html.EscapeString(evilEvent))
	if n := strings.Count(page, tip); n != len(g.Series) {
		t.Errorf("%d charts have the escaped tooltip %s, want %d", n, tip, len(g.Series))
	}
}

// TestWriteHTMLNoGroups: a report with nothing to judge renders a page
// that says so, with what was skipped.
func TestWriteHTMLNoGroups(t *testing.T) {
	r := &Report{Threshold: 0.03, PValue: 0.001, Level: 0.95, Window: 50,
		Skipped: []Skipped{{Path: "a&b.json", Reason: "not a result file"}}}
	page := renderHTML(t, r)
	for _, want := range []string{"Nothing to show", "a&amp;b.json", "not a result file"} {
		if !strings.Contains(page, want) {
			t.Errorf("the empty report's page lacks %q", want)
		}
	}
	if strings.Contains(page, "<svg") || strings.Contains(page, "Exit code") {
		t.Errorf("the empty report's page draws a chart or claims an exit code")
	}
	page = renderHTML(t, &Report{})
	if !strings.Contains(page, "Nothing to show") {
		t.Errorf("a zero Report's page does not say there is nothing to show")
	}
}

// errBars counts the error bars drawn: one path each, in errColor alone.
func errBars(page string) int {
	return strings.Count(page, "stroke:"+svgColor(errColor))
}

func svgColor(c interface{ RGBA() (r, g, b, a uint32) }) string {
	r, g, b, _ := c.RGBA()
	return fmt.Sprintf("#%02X%02X%02X", r>>8, g>>8, b>>8)
}

// TestWriteHTMLNaNIntervals: a point without an interval (NaN, or Lo = Hi
// as result files say none) draws no error bar and no NaN text; one with
// an interval draws exactly one bar. A step without an interval writes no
// NaN either.
func TestWriteHTMLNaNIntervals(t *testing.T) {
	r := sampleReport()
	g := &r.Groups[0]
	g.Series = g.Series[:1]
	s := &g.Series[0]
	s.Changes, s.Band = nil, nil
	if got := errBars(renderHTML(t, r)); got != len(s.Points) {
		t.Fatalf("%d error bars for %d points with intervals", got, len(s.Points))
	}
	for i := range s.Points {
		p := &s.Points[i]
		switch i % 3 {
		case 0:
			p.Lo, p.Hi = math.NaN(), math.NaN()
		case 1:
			p.Lo, p.Hi = p.Value, p.Value
		case 2:
			p.Lo = math.NaN()
		}
	}
	// A change point whose step has no interval (a hand-built report).
	s.Changes = []Change{{Run: 14, Before: 312345, After: 281000, Step: -0.1, Lo: math.NaN(), Hi: math.NaN(), Direction: DirRegression, Beyond: true}}
	page := renderHTML(t, r)
	if got := errBars(page); got != 0 {
		t.Errorf("%d error bars for points without intervals", got)
	}
	if strings.Contains(page, "NaN") {
		i := strings.Index(page, "NaN")
		t.Errorf("the page writes NaN: ...%s...", page[max(0, i-80):i+20])
	}
	if got := strings.Count(page, "<circle "); got < len(s.Points) {
		t.Errorf("%d points have a tooltip, want %d", got, len(s.Points))
	}
}

// TestWriteHTMLEmptySeries: a hand-built group without runs and a series
// without points render (no index out of range) with n/a for the newest
// figure and no NaN.
func TestWriteHTMLEmptySeries(t *testing.T) {
	r := &Report{Threshold: 0.03, PValue: 0.001, Level: 0.95, Window: 50, Groups: []Group{{Key: "bare",
		Events: []Event{{Run: 3, What: "an event past the runs"}},
		Series: []Series{{Case: "veth/pkt=64", Metric: tmPPS, Verdict: Verdict{Status: StatusAbsent, Detail: "no figure"}}}}}}
	page := renderHTML(t, r)
	if !strings.Contains(page, `<td class="num">n/a</td>`) || strings.Contains(page, "NaN") {
		t.Errorf("a series without points: want n/a as its newest figure and no NaN")
	}
}

// TestWriteHTMLWideInterval: one night's wide interval does not set the
// value axis (the series would be flattened): the axis spans the points
// and the band and at most half their spread more; positive figures keep
// a positive axis.
func TestWriteHTMLWideInterval(t *testing.T) {
	r := sampleReport()
	s := r.Groups[0].Series[0]
	s.Points = append([]Point(nil), s.Points...)
	s.Points[5].Lo, s.Points[5].Hi = 0, 50*s.Points[5].Value
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range s.Points {
		lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
	}
	lo, hi = math.Min(lo, s.Band.Lo), math.Max(hi, s.Band.Hi)
	tp := &trendPlotter{s: s, g: r.Groups[0], threshold: r.Threshold}
	_, _, ymin, ymax := tp.DataRange()
	// Half the spread either side, then the room for the marks and labels.
	if span := hi - lo; ymax > hi+span/2+0.3*2*span || ymin < lo-span/2-0.12*2*span || ymin < 0 {
		t.Errorf("axis %g to %g for points and band %g to %g: the wide interval sets it", ymin, ymax, lo, hi)
	}
	r.Groups[0].Series = []Series{s}
	if page := renderHTML(t, r); errBars(page) != len(s.Points) {
		t.Errorf("%d error bars, want one per point, the cut one too", errBars(page))
	}
}
