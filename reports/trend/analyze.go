package trend

import (
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vethbench/vethbench/internal/field"
	"github.com/vethbench/vethbench/internal/stats"
)

// ErrInvalid is the sentinel behind a bad option (a *field.Error).
var ErrInvalid = errors.New("invalid trend option")

// Options tune Analyze.
type Options struct {
	// Threshold is the smallest step that fails the job, as a fraction
	// (0.03: 3%); smaller significant changes are shown, never failed.
	Threshold float64
	// PValue is a change point's significance level (Otava's 0.001).
	PValue float64
	// Level is the coverage of the steps' intervals.
	Level float64
	// Window is E-divisive's window, in runs (Otava's 50).
	Window int
	// ByKernel splits a machine's history by kernel. By default a kernel
	// change is an event inside one history: catching the step it makes
	// is what a nightly job is for.
	ByKernel bool
	Acks     []Ack
	AckFile  string
}

// DefaultOptions are the CLI's defaults.
func DefaultOptions() Options {
	return Options{Threshold: 0.03, PValue: 0.001, Level: 0.95, Window: 50}
}

// minSegment is the fewest runs on either side of a change point: one run
// alone is never a change point, however far off it is (an outlier night
// must not page anyone), and Welch's t needs two for a variance.
const minSegment = 2

// minRuns is the fewest points a series needs to be searched.
const minRuns = 2 * minSegment

func (o Options) check() error {
	switch {
	case !(o.Threshold > 0 && o.Threshold < 1):
		return field.Errorf(ErrInvalid, "threshold", "%v out of range (0, 1): a fraction, 0.03 = 3%%", o.Threshold)
	case !(o.PValue > 0 && o.PValue <= 0.5):
		return field.Errorf(ErrInvalid, "p-value", "%v out of range (0, 0.5]", o.PValue)
	case !(o.Level > 0.5 && o.Level < 1):
		return field.Errorf(ErrInvalid, "level", "%v out of range (0.5, 1)", o.Level)
	case o.Window < 2*minRuns:
		return field.Errorf(ErrInvalid, "window", "%d runs: at least %d", o.Window, 2*minRuns)
	}
	return nil
}

var metricInfo = map[string]Metric{
	MetricPPS:       {Name: MetricPPS, Label: "pps", Unit: "pps", HigherIsBetter: true},
	MetricDevicePPS: {Name: MetricDevicePPS, Label: "device pps", Unit: "pps", HigherIsBetter: true},
	MetricCPU:       {Name: MetricCPU, Label: "CPU ns/pkt", Unit: "ns", HigherIsBetter: false},
	MetricP99:       {Name: MetricP99, Label: "p99 latency", Unit: "ns", HigherIsBetter: false},
	MetricPPSRatio:  {Name: MetricPPSRatio, Label: "pps ratio to the baseline", Unit: "x", HigherIsBetter: true},
	MetricCPURatio:  {Name: MetricCPURatio, Label: "CPU/pkt ratio to the baseline", Unit: "x", HigherIsBetter: false},
}

// Metrics are the metrics trend follows, in the order it shows them.
var Metrics = []string{MetricPPS, MetricDevicePPS, MetricCPU, MetricP99, MetricPPSRatio, MetricCPURatio}

// MetricOf returns the metric named name and whether it exists.
func MetricOf(name string) (Metric, bool) {
	m, ok := metricInfo[name]
	return m, ok
}

// Analyze finds the change points of every series of h and judges each
// group's newest run.
func Analyze(h *History, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	rep := &Report{Threshold: o.Threshold, PValue: o.PValue, Level: o.Level, Window: o.Window, AckFile: o.AckFile,
		Skipped: h.Skipped, Groups: []Group{}}
	byKey := map[string][]runData{}
	var keys []string
	for _, rd := range h.runs {
		k := rd.group
		if o.ByKernel {
			k += ", kernel " + orUnknown(rd.Kernel)
		}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], rd)
	}
	// The group with the newest run first: it is the one people ran
	// trend for.
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := byKey[keys[i]], byKey[keys[j]]
		return a[len(a)-1].Started.After(b[len(b)-1].Started)
	})
	used := make([]bool, len(o.Acks))
	for _, k := range keys {
		g := analyzeGroup(k, byKey[k], o, used)
		if len(g.Series) > 0 {
			rep.Groups = append(rep.Groups, g)
		}
	}
	if len(rep.Groups) == 0 {
		return nil, fmt.Errorf("%w: no case has a figure in any of the %d runs", ErrNothing, len(h.runs))
	}
	if len(rep.Groups) > 1 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("The runs are from %d histories (%s), judged each on its own: figures from different machines or kernels are not one series.",
			len(rep.Groups), groupKeys(rep.Groups)))
	}
	for i, a := range o.Acks {
		if !used[i] {
			rep.Notes = append(rep.Notes, fmt.Sprintf("The acknowledgement of %s%s since %s (%q) matches no regression: it can be removed.",
				a.Case, metricSuffix(a.Metric), a.Since.UTC().Format(time.RFC3339), a.Reason))
		}
	}
	return rep, nil
}

func groupKeys(gs []Group) string {
	var k []string
	for _, g := range gs {
		k = append(k, g.Key)
	}
	return strings.Join(k, "; ")
}

func metricSuffix(m string) string {
	if m == "" {
		return ""
	}
	return " " + m
}

func analyzeGroup(key string, rds []runData, o Options, used []bool) Group {
	g := Group{Key: key, Series: []Series{}}
	for _, rd := range rds {
		g.Runs = append(g.Runs, rd.Run)
	}
	g.Events = events(rds, o.ByKernel)
	newest := len(rds) - 1

	// Cases in the newest run's order, then those only older runs have.
	var names []string
	have := map[string]bool{}
	for i := newest; i >= 0; i-- {
		for _, n := range rds[i].order {
			if !have[n] {
				have[n] = true
				names = append(names, n)
			}
		}
	}
	type rkey struct{ question, kase, metric string }
	var rkeys []rkey
	rseries := map[rkey]*Series{}
	for i := newest; i >= 0; i-- {
		for _, r := range rds[i].ratios {
			k := rkey{r.question, r.kase, r.metric}
			if rseries[k] == nil {
				rseries[k] = &Series{Case: r.kase, Question: r.question, Baseline: r.baseline, Metric: metricInfo[r.metric]}
				rkeys = append(rkeys, k)
			}
		}
	}
	for i := range rds {
		for _, r := range rds[i].ratios {
			s := rseries[rkey{r.question, r.kase, r.metric}]
			p := r.p
			p.Run = i
			s.Points = append(s.Points, p)
		}
	}
	for _, name := range names {
		for _, m := range Metrics[:4] {
			s := Series{Case: name, Metric: metricInfo[m]}
			for i, rd := range rds {
				if p, ok := rd.cases[name].figs[m]; ok {
					p.Run = i
					s.Points = append(s.Points, p)
				}
			}
			if len(s.Points) == 0 {
				continue
			}
			g.Series = append(g.Series, s)
		}
		for _, m := range Metrics[4:] {
			for _, k := range rkeys {
				if k.kase == name && k.metric == m {
					g.Series = append(g.Series, *rseries[k])
				}
			}
		}
	}
	for i := range g.Series {
		judge(&g.Series[i], &g, rds, o, used)
	}
	return g
}

// events lists what changed from one run of a group to the next besides
// the figures.
func events(rds []runData, byKernel bool) []Event {
	var ev []Event
	for i := 1; i < len(rds); i++ {
		a, b := rds[i-1], rds[i]
		if !byKernel && a.Kernel != b.Kernel {
			ev = append(ev, Event{Run: i, What: fmt.Sprintf("kernel %s → %s", orUnknown(a.Kernel), orUnknown(b.Kernel))})
		}
		if a.Tool != b.Tool {
			ev = append(ev, Event{Run: i, What: fmt.Sprintf("vethbench %s → %s", orUnknown(a.Tool), orUnknown(b.Tool))})
		}
		if d := diffWords(a.settings, b.settings); d != "" {
			ev = append(ev, Event{Run: i, What: "settings: " + d})
		}
		if ca, cb := costWords(a.costNS), costWords(b.costNS); ca != cb {
			ev = append(ev, Event{Run: i, What: fmt.Sprintf("cost_ns %s → %s (validation knob)", ca, cb)})
		}
	}
	return ev
}

// diffWords says which comma-separated items of a changed in b.
func diffWords(a, b string) string {
	if a == b {
		return ""
	}
	as, bs := strings.Split(a, ", "), strings.Split(b, ", ")
	var out []string
	for _, x := range bs {
		if !slices.Contains(as, x) {
			out = append(out, x)
		}
	}
	for _, x := range as {
		if !slices.Contains(bs, x) {
			out = append(out, "no longer "+x)
		}
	}
	return strings.Join(out, ", ")
}

func costWords(c map[int]bool) string {
	var v []int
	for k := range c {
		v = append(v, k)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return "0"
	}
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprint(x))
	}
	return strings.Join(s, "/")
}

// judge finds s's change points and the verdict on the group's newest run.
func judge(s *Series, g *Group, rds []runData, o Options, used []bool) {
	newest := len(rds) - 1
	s.Changes = []Change{}
	if len(s.Points) >= minRuns {
		x := make([]float64, len(s.Points))
		for i, p := range s.Points {
			x[i] = math.Log(p.Value)
		}
		cps := stats.ChangePoints(x, stats.ChangePointOptions{PValue: o.PValue, Window: o.Window, MinSegment: minSegment, Level: o.Level,
			Quantum: quantum(s, rds)})
		for _, cp := range cps {
			s.Changes = append(s.Changes, change(s, g, cp, o, used))
		}
	}
	last := s.Points[len(s.Points)-1]
	if last.Run != newest {
		s.Verdict = missing(s, rds)
		return
	}
	if len(s.Points) < minRuns {
		s.Verdict = Verdict{Status: StatusShort, Detail: fmt.Sprintf("%d %s with this figure: at least %d are needed to look for a change", len(s.Points), plural(len(s.Points), "run"), minRuns)}
		return
	}
	var c *Change
	if n := len(s.Changes); n > 0 {
		c = &s.Changes[n-1]
	}
	// The band: what the newest run is judged against. After a change
	// beyond the threshold, the level before it; otherwise the newest
	// run's own segment without it.
	from, to := 0, len(s.Points)-2
	beyond := c != nil && c.Beyond
	back := undone(s, o)
	switch {
	case back != nil:
		// Back where it was before the change it undoes: that level.
		from, to = segment(s, len(s.Changes)-2)
	case beyond:
		from, to = segment(s, len(s.Changes)-1)
	case c != nil:
		from = pointIndex(s, c.Run)
	}
	s.Band = band(s, from, to, o.Threshold)
	switch {
	case back != nil && c.Direction == DirRegression:
		s.Verdict = Verdict{Status: StatusOK, Detail: fmt.Sprintf("back: the newest run, %s, is within ±%s of the level of runs %d-%d (%s), where it was before the %s at run %d (%s) that the change at run %d (%s) undid",
			FormatValue(s.Metric, last.Value), percent(o.Threshold), s.Band.From+1, s.Band.To+1, FormatValue(s.Metric, s.Band.Level),
			back.Direction, back.Run+1, signedPercent(back.Step), c.Run+1, signedPercent(c.Step))}
	case beyond && c.Direction == DirRegression && c.Ack != nil:
		s.Verdict = Verdict{Status: StatusAcknowledged, Change: c, Detail: "acknowledged regression: " + stepWords(s, g, c, o) + "; acknowledged: " + c.Ack.Reason}
	case beyond && c.Direction == DirRegression:
		s.Verdict = Verdict{Status: StatusRegression, Change: c, Detail: "regression: " + stepWords(s, g, c, o)}
	case beyond:
		d := "improved: " + stepWords(s, g, c, o)
		if back != nil {
			d += fmt.Sprintf("; back within ±%s of the level of runs %d-%d, before the regression at run %d (%s)", percent(o.Threshold), s.Band.From+1, s.Band.To+1, back.Run+1, signedPercent(back.Step))
		}
		s.Verdict = Verdict{Status: StatusImproved, Change: c, Detail: d}
	default:
		s.Verdict = steady(s, g, c, last, o)
	}
}

// undone returns the change that s's last change undoes, if it does: both
// beyond the threshold, in opposite directions, and the level after the
// last within the threshold of the level before the other (a ratio that
// rose while a knob was set and fell back when it was unset). A return to
// an old level is not a new regression.
func undone(s *Series, o Options) *Change {
	n := len(s.Changes)
	if n < 2 {
		return nil
	}
	c, p := &s.Changes[n-1], &s.Changes[n-2]
	if !c.Beyond || !p.Beyond || c.Direction == p.Direction || math.Abs(c.After/p.Before-1) > o.Threshold {
		return nil
	}
	return p
}

// segment is the points before change k of s, back to the change before
// it (or the first point): indices into s.Points.
func segment(s *Series, k int) (from, to int) {
	to = pointIndex(s, s.Changes[k].Run) - 1
	if k > 0 {
		from = pointIndex(s, s.Changes[k-1].Run)
	}
	return from, to
}

// quantum is the step s's values are known to: for a p99, which falls on
// a latency histogram's bucket, the log of 1 + the bucket's relative
// width (the widest any run had); 0 for the other figures.
func quantum(s *Series, rds []runData) float64 {
	if s.Metric.Name != MetricP99 {
		return 0
	}
	var res float64
	for _, p := range s.Points {
		res = max(res, rds[p.Run].cases[s.Case].latencyRes)
	}
	return math.Log1p(res)
}

// steady judges a newest run that continues its segment: ok, or watch
// when it alone lies beyond the band on the bad side.
func steady(s *Series, g *Group, c *Change, last Point, o Options) Verdict {
	b := s.Band
	rel := last.Value/b.Level - 1
	bad := (s.Metric.HigherIsBetter && last.Value < b.Lo) || (!s.Metric.HigherIsBetter && last.Value > b.Hi)
	where := fmt.Sprintf("runs %d-%d", b.From+1, b.To+1)
	if b.From == b.To {
		where = fmt.Sprintf("run %d", b.From+1)
	}
	if bad {
		return Verdict{Status: StatusWatch, Detail: fmt.Sprintf("watch: the newest run, %s, is %s %s the level of %s (%s), beyond the ±%s threshold; one run is not a change point, and if the next runs stay there one will be found",
			FormatValue(s.Metric, last.Value), percent(math.Abs(rel)), aboveBelow(rel), where, FormatValue(s.Metric, b.Level), percent(o.Threshold))}
	}
	d := fmt.Sprintf("steady: the newest run, %s, is within ±%s of the level of %s (%s)", FormatValue(s.Metric, last.Value), percent(o.Threshold), where, FormatValue(s.Metric, b.Level))
	if c != nil {
		d += fmt.Sprintf("; the last change, %s at run %d, is within the threshold", signedPercent(c.Step), c.Run+1)
	} else {
		d += fmt.Sprintf("; no change point in %d runs", len(s.Points))
	}
	return Verdict{Status: StatusOK, Detail: d}
}

func aboveBelow(rel float64) string {
	if rel < 0 {
		return "below"
	}
	return "above"
}

// missing judges a series the newest run has no figure for.
func missing(s *Series, rds []runData) Verdict {
	newest := rds[len(rds)-1]
	cd, ok := newest.cases[s.Case]
	switch {
	case !ok:
		return Verdict{Status: StatusAbsent, Detail: "not in the newest run"}
	case cd.status == "failed":
		lastOK := s.Points[len(s.Points)-1].Run
		return Verdict{Status: StatusBroken, Detail: fmt.Sprintf("broken: the case failed in the newest run (%s), after it ran in run %d", cd.err, lastOK+1)}
	case cd.status == "unsupported":
		return Verdict{Status: StatusAbsent, Detail: "unsupported in the newest run: " + cd.err}
	}
	return Verdict{Status: StatusAbsent, Detail: "the newest run has no " + s.Metric.Label + " for this case"}
}

func pointIndex(s *Series, run int) int {
	for i, p := range s.Points {
		if p.Run == run {
			return i
		}
	}
	return -1
}

// band is the geometric mean of points from..to and the threshold around it.
func band(s *Series, from, to int, threshold float64) *Band {
	if from < 0 || to < from {
		return nil
	}
	var sum float64
	for _, p := range s.Points[from : to+1] {
		sum += math.Log(p.Value)
	}
	lvl := math.Exp(sum / float64(to-from+1))
	return &Band{From: s.Points[from].Run, To: s.Points[to].Run, Level: lvl, Lo: lvl * (1 - threshold), Hi: lvl * (1 + threshold)}
}

// change turns a change point of the logs into a Change of s.
func change(s *Series, g *Group, cp stats.ChangePoint, o Options, used []bool) Change {
	c := Change{
		Run:    s.Points[cp.Index].Run,
		Before: math.Exp(cp.MeanBefore),
		After:  math.Exp(cp.MeanAfter),
		Step:   math.Expm1(cp.Diff),
		Lo:     math.Expm1(cp.Lo),
		Hi:     math.Expm1(cp.Hi),
		P:      cp.P,
	}
	worse := c.Step < 0
	if !s.Metric.HigherIsBetter {
		worse = c.Step > 0
	}
	c.Direction = DirImprovement
	if worse {
		c.Direction = DirRegression
	}
	c.Beyond = math.Abs(c.Step) > o.Threshold
	for _, e := range g.Events {
		if e.Run == c.Run || e.Run == c.Run-1 || e.Run == c.Run+1 {
			c.Events = append(c.Events, fmt.Sprintf("run %d: %s", e.Run+1, e.What))
		}
	}
	if c.Direction == DirRegression {
		for i, a := range o.Acks {
			if a.covers(s, g, c.Run) {
				used[i] = true
				ack := a
				c.Ack = &ack
				break
			}
		}
	}
	return c
}

// covers reports whether a acknowledges a change of s starting at run.
func (a Ack) covers(s *Series, g *Group, run int) bool {
	if a.Metric != "" && a.Metric != s.Metric.Name {
		return false
	}
	if !caseMatch(a.Case, s.Case) {
		return false
	}
	since := a.Since.UTC().Truncate(time.Second)
	for i := max(0, run-1); i <= min(len(g.Runs)-1, run+1); i++ {
		if g.Runs[i].Started.Truncate(time.Second).Equal(since) {
			return true
		}
	}
	return false
}

// caseMatch matches a case name against an acknowledgement's pattern:
// path.Match's syntax, except that * and ? also match the / between a
// name's parts, so that veth/* is every veth case, veth/pkt=64/gro=on
// included.
func caseMatch(pattern, name string) bool {
	if pattern == name {
		return true
	}
	ok, _ := path.Match(strings.ReplaceAll(pattern, "/", "\x1f"), strings.ReplaceAll(name, "/", "\x1f"))
	return ok
}

// stepWords describes change c of s in one clause.
func stepWords(s *Series, g *Group, c *Change, o Options) string {
	verb := "rose"
	if c.Step < 0 {
		verb = "fell"
	}
	n := 0
	for _, p := range s.Points {
		if p.Run >= c.Run {
			n++
		}
	}
	w := fmt.Sprintf("%s %s %s (%s CI %s to %s) from run %d (%s) on, %d %s so far: %s → %s, beyond the ±%s threshold",
		s.Metric.Label, verb, percent(math.Abs(c.Step)), percent(o.Level), signedPercent(c.Lo), signedPercent(c.Hi),
		c.Run+1, RunTime(g.Runs[c.Run]), n, plural(n, "run"), FormatValue(s.Metric, c.Before), FormatValue(s.Metric, c.After), percent(o.Threshold))
	if len(c.Events) > 0 {
		w += "; next to " + strings.Join(c.Events, "; ")
	}
	return w
}

// RunTime is how trend names a run's start: RFC 3339 in UTC to the second,
// what an acknowledgement's since takes.
func RunTime(r Run) string { return r.Started.UTC().Format(time.RFC3339) }

func plural(n int, w string) string {
	if n == 1 {
		return w
	}
	return w + "s"
}
