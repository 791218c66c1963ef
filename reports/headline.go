package reports

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// How answers are derived from a result (see the comment atop html.go):
// cases are grouped by the question they answer (Case.Questions; a result
// without questions is one group), each case's dimensions are read from its
// name, and the dimension that varies across a group is compared at every
// combination of the other varying dimensions (its context).

// Dimension names that are not knobs.
const (
	dimDevice = "device"
	dimPkt    = "pkt_size"
	dimFamily = "family"
	dimQueues = "queues"
)

// NoEffectBand is the half-width of the band around a ratio of 1 within
// which a difference counts as no measurable effect even when its interval
// excludes 1: 3%, the default sweep's precision target.
const NoEffectBand = 0.03

// dimDefaults is the value a dimension has in a case whose name omits it
// (case names leave out default values).
var dimDefaults = map[string]string{
	dimFamily:   "ipv4",
	dimQueues:   "1x1",
	"flows":     "1",
	"senders":   "1",
	"rate":      "0",
	"batch":     "64",
	"rcvbuf":    "0",
	"mtu":       "default",
	"generator": "udp",
}

// nonKnobs are the name keys that are dimensions of the topology or the
// traffic, not knobs.
var nonKnobs = map[string]bool{
	dimDevice: true, dimPkt: true, dimFamily: true, dimQueues: true, "mtu": true,
	"flows": true, "senders": true, "rate": true, "batch": true, "rcvbuf": true, "generator": true,
}

// point is one case with its dimensions.
type point struct {
	c    *result.Case
	dims map[string]string
}

func (p point) ok() bool {
	return p.c.Status == result.StatusOK && p.c.Summary != nil && len(p.c.Trials) > 0
}

// pps returns the per-trial received rates.
func (p point) pps() []float64 {
	return trialValues(p.c, func(t result.Trial) float64 { return t.PPS })
}

func trialValues(c *result.Case, f func(result.Trial) float64) []float64 {
	v := make([]float64, 0, len(c.Trials))
	for _, t := range c.Trials {
		v = append(v, f(t))
	}
	return v
}

// caseDims reads a case's dimensions from its name: "veth/pkt=64/gro=on" is
// device veth, pkt_size 64, gro on; a segment without "=" is the family.
func caseDims(c *result.Case) map[string]string {
	d := map[string]string{}
	segs := strings.Split(c.Name, "/")
	dev := segs[0]
	if dev == "" {
		dev = c.Topology.Kind
		if c.Topology.Mode != "" {
			dev += "-" + c.Topology.Mode
		}
	}
	d[dimDevice] = dev
	for _, s := range segs[1:] {
		k, v, ok := strings.Cut(s, "=")
		switch {
		case !ok:
			d[dimFamily] = s
		case k == "pkt":
			d[dimPkt] = v
		default:
			d[k] = v
		}
	}
	if _, ok := d[dimPkt]; !ok && c.Traffic.FrameSize > 0 {
		d[dimPkt] = strconv.Itoa(c.Traffic.FrameSize)
	}
	return d
}

// group is the cases answering one question.
type group struct {
	Question string
	Points   []point
	Compare  string   // the dimension compared
	Context  []string // the other varying dimensions
	Values   map[string][]string
	Findings []finding
	// Notes are the cases that did not run, one per distinct value and
	// reason: "ipvlan: unsupported on this kernel (kernel has no ipvlan
	// support)".
	Notes []string
	// Answer is the one-sentence answer.
	Answer sentence
}

// varying reports the group's varying dimensions, compared first.
func (g *group) varying() []string { return append([]string{g.Compare}, g.Context...) }

// cell is one case of a finding: the compared value in a context.
type cell struct {
	Value string
	P     *point // nil if no case has this value in the context
	// VsBase is the case's pps over the baseline's (the first value that
	// ran), with its interval; nil for the baseline itself.
	VsBase *stats.RatioCI
}

// finding compares the values of the group's compared dimension in one
// context.
type finding struct {
	Context []string // values of g.Context, in order
	Cells   []cell
	// Winner and Loser index Cells: the fastest value, and the one it is
	// compared with (the runner-up for devices, the slowest for knobs).
	Winner, Loser int
	Ratio         stats.RatioCI // Winner over Loser
	P             float64       // Mann-Whitney two-sided p of the same
	Measurable    bool
	// Ref is, for devices, the comparison of the winner with veth when veth
	// is neither winner nor loser.
	Ref *comparison
	// Single is set when only one value ran in this context.
	Single bool
}

type comparison struct {
	Winner, Loser string
	Ratio         stats.RatioCI
	P             float64
	Measurable    bool
}

// measurable reports whether a ratio's interval shows an effect: it
// excludes 1 and is not within NoEffectBand of it.
func measurable(ci stats.RatioCI) bool {
	if math.IsNaN(ci.Lo) || math.IsNaN(ci.Hi) {
		return false
	}
	if ci.Lo <= 1 && ci.Hi >= 1 {
		return false
	}
	return ci.Lo < 1-NoEffectBand || ci.Hi > 1+NoEffectBand
}

// analysis is everything derived from a result that the reports show.
type analysis struct {
	r      *result.Result
	Groups []*group
	level  float64
	seed   uint64
}

func analyze(r *result.Result) *analysis {
	a := &analysis{r: r, level: r.Settings.Confidence, seed: r.Settings.Seed}
	if !(a.level > 0 && a.level < 1) {
		a.level = 0.95
	}
	if a.seed == 0 {
		a.seed = 1
	}
	var order []string
	byQ := map[string][]point{}
	for i := range r.Cases {
		c := &r.Cases[i]
		qs := c.Questions
		if len(qs) == 0 {
			qs = []string{""}
		}
		for _, q := range qs {
			if _, ok := byQ[q]; !ok {
				order = append(order, q)
			}
			byQ[q] = append(byQ[q], point{c: c, dims: caseDims(c)})
		}
	}
	for _, q := range order {
		g := &group{Question: q, Points: byQ[q]}
		a.analyzeGroup(g)
		a.Groups = append(a.Groups, g)
	}
	return a
}

func (a *analysis) analyzeGroup(g *group) {
	pts := g.Points
	// Every dimension any case names; missing ones take their default.
	var keys []string
	for _, p := range pts {
		for k := range p.dims {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	for _, p := range pts {
		for _, k := range keys {
			if _, ok := p.dims[k]; !ok {
				p.dims[k] = cmp.Or(dimDefaults[k], "default")
			}
		}
	}
	collapseModes(pts)
	g.Values = map[string][]string{}
	var varying []string
	for _, k := range keys {
		var vals []string
		for _, p := range pts {
			if v := p.dims[k]; !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
		sortNumeric(vals)
		g.Values[k] = vals
		if len(vals) > 1 {
			varying = append(varying, k)
		}
	}
	slices.SortStableFunc(varying, func(x, y string) int { return cmp.Compare(dimRank(x), dimRank(y)) })
	g.Compare = chooseCompare(g.Question, varying)
	for _, k := range varying {
		if k != g.Compare {
			g.Context = append(g.Context, k)
		}
	}
	g.Notes = notRun(g)
	if g.Compare == "" {
		g.Answer = a.singleAnswer(g)
		return
	}
	for _, ctx := range product(g.Context, g.Values) {
		if f, ok := a.find(g, ctx); ok {
			g.Findings = append(g.Findings, f)
		}
	}
	g.Answer = a.answer(g)
}

// collapseModes names a device by its kind alone ("macvlan", not
// "macvlan-bridge") when the group has one mode of that kind.
func collapseModes(pts []point) {
	modes := map[string]map[string]bool{}
	for _, p := range pts {
		kind, _, _ := strings.Cut(p.dims[dimDevice], "-")
		if modes[kind] == nil {
			modes[kind] = map[string]bool{}
		}
		modes[kind][p.dims[dimDevice]] = true
	}
	for _, p := range pts {
		kind, _, _ := strings.Cut(p.dims[dimDevice], "-")
		if len(modes[kind]) == 1 {
			p.dims[dimDevice] = kind
		}
	}
}

// sortNumeric sorts values numerically when every one is a number, and
// leaves them in the order of the spec otherwise.
func sortNumeric(vals []string) {
	for _, v := range vals {
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return
		}
	}
	slices.SortStableFunc(vals, func(x, y string) int {
		a, _ := strconv.ParseFloat(x, 64)
		b, _ := strconv.ParseFloat(y, 64)
		return cmp.Compare(a, b)
	})
}

// dimRank orders dimensions for comparison when the question names none:
// the device first, then knobs, then the topology's and traffic's shape,
// the packet size last (it is nearly always context).
func dimRank(d string) int {
	switch {
	case d == dimDevice:
		return 0
	case !nonKnobs[d]:
		return 1
	case d == dimQueues || d == "mtu":
		return 2
	case d == dimPkt:
		return 9
	case d == dimFamily || d == "flows" || d == "senders":
		return 8
	}
	return 5
}

// mentionWords are the words by which a question names a dimension.
var mentionWords = map[string][]string{
	dimDevice: {"device", "devices", "topology", "topologies", "kind", "kinds"},
	dimPkt:    {"packet size", "packet sizes", "pkt_size", "frame size", "frame sizes"},
	dimQueues: {"queue", "queues"},
	dimFamily: {"family", "ipv4", "ipv6"},
}

// chooseCompare picks the dimension a question asks about: among the varying
// ones, the first the question names, else the first by dimRank. Context
// dimensions (packet size, family, flows) are compared only when nothing
// else varies.
func chooseCompare(question string, varying []string) string {
	if len(varying) == 0 {
		return ""
	}
	q := strings.ToLower(question)
	best, bestAt := "", len(q)+1
	for _, d := range varying {
		words := mentionWords[d]
		if words == nil {
			words = []string{d, strings.ReplaceAll(d, "_", " ")}
		}
		for _, w := range words {
			loc := regexp.MustCompile(`\b` + regexp.QuoteMeta(w) + `\b`).FindStringIndex(q)
			if loc != nil && loc[0] < bestAt && (dimRank(d) < 8 || allContext(varying)) {
				best, bestAt = d, loc[0]
			}
		}
	}
	if best != "" {
		return best
	}
	return varying[0] // sorted by dimRank
}

func allContext(varying []string) bool {
	for _, d := range varying {
		if dimRank(d) < 8 {
			return false
		}
	}
	return true
}

// product lists every combination of the values of dims, the last fastest.
func product(dims []string, values map[string][]string) [][]string {
	out := [][]string{{}}
	for _, d := range dims {
		var next [][]string
		for _, prefix := range out {
			for _, v := range values[d] {
				next = append(next, append(slices.Clone(prefix), v))
			}
		}
		out = next
	}
	return out
}

// inContext reports whether p has the context values ctx of g.
func (g *group) inContext(p point, ctx []string) bool {
	for i, d := range g.Context {
		if p.dims[d] != ctx[i] {
			return false
		}
	}
	return true
}

func (a *analysis) ratio(base, new []float64) (stats.RatioCI, float64) {
	ci := stats.RatioOfMedians(base, new, a.level, stats.DefaultResamples, a.seed)
	return ci, stats.MannWhitneyU(new, base).P
}

// find compares the compared dimension's values in one context.
func (a *analysis) find(g *group, ctx []string) (finding, bool) {
	f := finding{Context: ctx}
	for _, v := range g.Values[g.Compare] {
		c := cell{Value: v}
		for i := range g.Points {
			p := g.Points[i]
			if p.dims[g.Compare] == v && g.inContext(p, ctx) {
				c.P = &g.Points[i]
				break
			}
		}
		f.Cells = append(f.Cells, c)
	}
	var ran []int // cells that measured, fastest first
	for i, c := range f.Cells {
		if c.P != nil && c.P.ok() {
			ran = append(ran, i)
		}
	}
	if len(ran) == 0 {
		return f, false
	}
	base := ran[0]
	for _, i := range ran[1:] {
		ci, _ := a.ratio(f.Cells[base].P.pps(), f.Cells[i].P.pps())
		f.Cells[i].VsBase = &ci
	}
	slices.SortStableFunc(ran, func(x, y int) int {
		return cmp.Compare(f.Cells[y].P.c.Summary.PPS.Median, f.Cells[x].P.c.Summary.PPS.Median)
	})
	if len(ran) == 1 {
		f.Single, f.Winner, f.Loser = true, ran[0], ran[0]
		return f, true
	}
	if g.Compare == dimDevice {
		// loopback has no device: it is the baseline, not a contender.
		var devs []int
		for _, i := range ran {
			if f.Cells[i].Value != "loopback" {
				devs = append(devs, i)
			}
		}
		if len(devs) >= 2 {
			ran = devs
		}
		f.Winner, f.Loser = ran[0], ran[1]
	} else {
		f.Winner, f.Loser = ran[0], ran[len(ran)-1]
	}
	f.Ratio, f.P = a.ratio(f.Cells[f.Loser].P.pps(), f.Cells[f.Winner].P.pps())
	f.Measurable = measurable(f.Ratio)
	if g.Compare == dimDevice {
		for _, i := range ran[2:] {
			if f.Cells[i].Value == "veth" {
				ci, p := a.ratio(f.Cells[i].P.pps(), f.Cells[f.Winner].P.pps())
				f.Ref = &comparison{Winner: f.Cells[f.Winner].Value, Loser: "veth", Ratio: ci, P: p, Measurable: measurable(ci)}
			}
		}
	}
	return f, true
}

// notRun lists the group's cases that did not measure, one note per value
// of the compared dimension (or case) and reason.
func notRun(g *group) []string {
	var out []string
	for _, p := range g.Points {
		if p.c.Status == result.StatusOK {
			continue
		}
		label := p.c.Name
		if g.Compare != "" {
			label = valueLabel(g.Compare, p.dims[g.Compare])
			// Name the case when the value also ran elsewhere in the group.
			for _, q := range g.Points {
				if q.c.Status == result.StatusOK && q.dims[g.Compare] == p.dims[g.Compare] {
					label = p.c.Name
					break
				}
			}
		}
		var note string
		switch p.c.Status {
		case result.StatusUnsupported:
			note = label + ": unsupported on this kernel"
		default:
			note = label + ": " + p.c.Status
		}
		if p.c.Error != "" {
			note += " (" + p.c.Error + ")"
		}
		if !slices.Contains(out, note) {
			out = append(out, note)
		}
	}
	return out
}

// A sentence is text with emphasised parts, rendered as HTML or Markdown.
type sentence []frag

type frag struct {
	Text   string
	Strong bool
}

func (s *sentence) add(text string)    { *s = append(*s, frag{Text: text}) }
func (s *sentence) strong(text string) { *s = append(*s, frag{Text: text, Strong: true}) }
func (s *sentence) addf(format string, args ...any) {
	s.add(fmt.Sprintf(format, args...))
}

// Plain is the sentence without emphasis.
func (s sentence) Plain() string {
	var b strings.Builder
	for _, f := range s {
		b.WriteString(f.Text)
	}
	return b.String()
}

// Markdown is the sentence with **emphasis**.
func (s sentence) Markdown() string {
	var b strings.Builder
	for _, f := range s {
		if f.Strong {
			b.WriteString("**" + mdEscape(f.Text) + "**")
		} else {
			b.WriteString(mdEscape(f.Text))
		}
	}
	return b.String()
}

// capitalize upper-cases the sentence's first letter when it starts with
// an English word, not an identifier such as "gro" or "macvlan".
func (s sentence) capitalize() sentence {
	if len(s) == 0 || s[0].Text == "" {
		return s
	}
	first, _, _ := strings.Cut(s[0].Text, " ")
	switch first {
	case "at", "under", "on", "with", "over", "the", "only":
	default:
		return s
	}
	out := slices.Clone(s)
	out[0].Text = strings.ToUpper(out[0].Text[:1]) + out[0].Text[1:]
	return out
}

// valueLabel names a value of a dimension: "64 B", "gro on", "2x2 queues".
func valueLabel(dim, v string) string {
	switch dim {
	case dimDevice, dimFamily:
		return v
	case dimPkt:
		return v + " B"
	case dimQueues:
		return v + " queues"
	case "flows", "senders":
		return v + " " + dim
	case "mtu":
		return "MTU " + v
	case "rate":
		if v == "0" {
			return "unlimited rate"
		}
		return "rate " + v + " pps"
	}
	return dim + " " + v
}

// contextLabel places a context value: "at 64 B", "under qdisc noqueue",
// "on veth", "with gro off".
func contextLabel(dim, v string) string {
	switch dim {
	case dimPkt:
		return "at " + valueLabel(dim, v)
	case "qdisc":
		return "under " + valueLabel(dim, v)
	case dimDevice:
		return "on " + v
	case dimFamily:
		return "over " + v
	}
	return "with " + valueLabel(dim, v)
}

func (g *group) contextPhrase(ctx []string) string {
	parts := make([]string, len(ctx))
	for i, v := range ctx {
		parts[i] = contextLabel(g.Context[i], v)
	}
	return strings.Join(parts, ", ")
}

// dimNoun names what a dimension is, as the subject of "had no measurable
// effect".
func dimNoun(dim string) string {
	switch dim {
	case dimDevice:
		return "the device"
	case dimPkt:
		return "the packet size"
	case dimQueues:
		return "the number of queues"
	case dimFamily:
		return "the address family"
	case "flows", "senders":
		return "the number of " + dim
	}
	return dim
}

// fmtRatio formats a ratio: "1.30x".
func fmtRatio(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("%.1fx", r)
	}
	return fmt.Sprintf("%.2fx", r)
}

// fmtCI formats an interval: "95% CI 1.25–1.36".
func fmtCI(ci stats.RatioCI) string {
	return fmt.Sprintf("%s CI %.2f–%.2f", pct(ci.Level), ci.Lo, ci.Hi)
}

func pct(level float64) string {
	s := strconv.FormatFloat(100*level, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + "%"
}

func (a *analysis) answer(g *group) sentence {
	var s sentence
	var clauses []sentence
	var none []finding // contexts with no measurable effect
	for _, f := range g.Findings {
		if !f.Single && !f.Measurable {
			none = append(none, f)
		}
	}
	if len(none) == len(g.Findings) && len(none) > 0 && g.Compare != dimDevice {
		// No effect anywhere: one clause for all contexts.
		var c sentence
		big := none[0]
		for _, f := range none[1:] {
			if f.Ratio.Ratio > big.Ratio.Ratio {
				big = f
			}
		}
		c.strong(dimNoun(g.Compare) + " had no measurable effect")
		if len(g.Context) > 0 {
			var ctxs []string
			for _, f := range none {
				ctxs = append(ctxs, g.contextPhrase(f.Context))
			}
			c.add(" " + joinOr(ctxs))
		}
		what := "the largest difference"
		if len(none) == 1 {
			what = "difference"
		}
		c.addf(" (%s %s, %s)", what, fmtRatio(big.Ratio.Ratio), fmtCI(big.Ratio))
		clauses = append(clauses, c)
	} else {
		for _, f := range g.Findings {
			clauses = append(clauses, a.clause(g, f))
		}
	}
	for i, c := range clauses {
		if i > 0 {
			s.add("; ")
		}
		s = append(s, c...)
	}
	if len(s) > 0 {
		s.add(".")
	}
	for _, n := range inertNotes(g) {
		if len(s) > 0 {
			s.add(" ")
		}
		s.add(n + ".")
	}
	for _, n := range g.Notes {
		if len(s) > 0 {
			s.add(" ")
		}
		s.add(n + ".")
	}
	if len(s) == 0 {
		s.add("No case of this question measured anything.")
	}
	return s.capitalize()
}

// clause states one context's finding.
func (a *analysis) clause(g *group, f finding) sentence {
	var s sentence
	if len(g.Context) > 0 {
		s.add(g.contextPhrase(f.Context) + ", ")
	}
	w, l := f.Cells[f.Winner], f.Cells[f.Loser]
	wl, ll := valueLabel(g.Compare, w.Value), valueLabel(g.Compare, l.Value)
	switch {
	case f.Single:
		s.add("only ")
		s.strong(wl)
		s.addf(" ran (%s pps)", Thousands(w.P.c.Summary.PPS.Median))
		return s
	case !f.Measurable && g.Compare == dimDevice:
		s.strong(wl)
		s.addf(" leads with %s pps, by no measurable margin: %s %s, the runner-up (%s)",
			Thousands(w.P.c.Summary.PPS.Median), fmtRatio(f.Ratio.Ratio), ll, fmtCI(f.Ratio))
	case !f.Measurable:
		s.strong(dimNoun(g.Compare) + " had no measurable effect")
		s.addf(" (%s %s vs %s: %s, %s)", dimNoun(g.Compare), w.Value, l.Value, fmtRatio(f.Ratio.Ratio), fmtCI(f.Ratio))
	case g.Compare == dimDevice:
		s.strong(wl)
		s.addf(" is fastest with %s pps: %s %s, the runner-up (%s)",
			Thousands(w.P.c.Summary.PPS.Median), fmtRatio(f.Ratio.Ratio), ll, fmtCI(f.Ratio))
	case len(f.Cells) == 2:
		s.strong(wl)
		s.addf(" is %s faster than %s (%s)", fmtRatio(f.Ratio.Ratio), ll, fmtCI(f.Ratio))
	default:
		s.strong(wl)
		s.addf(" is fastest: %s %s, the slowest (%s)", fmtRatio(f.Ratio.Ratio), ll, fmtCI(f.Ratio))
	}
	if r := f.Ref; r != nil {
		s.addf(", and %s veth (%s)", fmtRatio(r.Ratio.Ratio), fmtCI(r.Ratio))
	}
	return s
}

// singleAnswer describes a group in which nothing varies (one case, or
// repeated cases).
func (a *analysis) singleAnswer(g *group) sentence {
	var s sentence
	for _, p := range g.Points {
		if len(s) > 0 {
			s.add(" ")
		}
		if !p.ok() {
			s.add(p.c.Name + ": " + p.c.Status)
			if p.c.Error != "" {
				s.add(" (" + p.c.Error + ")")
			}
			s.add(".")
			continue
		}
		e := p.c.Summary.PPS
		s.strong(p.c.Name)
		s.addf(": %s pps (%s interval %s–%s), %.0f ns of CPU per packet, p99 latency %s µs.",
			Thousands(e.Median), pct(e.Level), Thousands(e.Lo), Thousands(e.Hi),
			p.c.Summary.CPUNsPerPkt.Median, us(p.c.Summary.P99.Median))
	}
	if len(s) == 0 {
		s.add("The result holds no case.")
	}
	return s
}

func joinOr(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

// effect is one group's difference in one context, for "largest
// differences" lists.
type effect struct {
	Question   string
	What       string // "txqueuelen 5000 vs txqueuelen 100 under qdisc pfifo_fast"
	Ratio      stats.RatioCI
	P          float64
	Measurable bool
}

// effects lists the difference of every group in every context (the
// fastest value against the runner-up for devices, against the slowest for
// knobs), largest first.
func (a *analysis) effects() []effect {
	var out []effect
	for _, g := range a.Groups {
		for _, f := range g.Findings {
			if f.Single {
				continue
			}
			what := valueLabel(g.Compare, f.Cells[f.Winner].Value) + " vs " + valueLabel(g.Compare, f.Cells[f.Loser].Value)
			if len(g.Context) > 0 {
				what += " " + g.contextPhrase(f.Context)
			}
			out = append(out, effect{Question: g.Question, What: what, Ratio: f.Ratio, P: f.P, Measurable: f.Measurable})
		}
	}
	slices.SortStableFunc(out, func(x, y effect) int { return cmp.Compare(y.Ratio.Ratio, x.Ratio.Ratio) })
	return out
}

// inertNotes says where the kernel reported the compared knob inert (a
// finding: txqueuelen under noqueue), once per context and reason:
// "txqueuelen is inert under qdisc noqueue (the root qdisc is noqueue,
// which queues nothing)".
func inertNotes(g *group) []string {
	var out []string
	for _, p := range g.Points {
		for _, st := range p.c.Settings {
			detail, ok := strings.CutPrefix(st.Detail, "inert")
			if st.Knob != g.Compare || !ok {
				continue
			}
			n := st.Knob + " is inert"
			var ctx []string
			for _, d := range g.Context {
				ctx = append(ctx, p.dims[d])
			}
			if len(ctx) > 0 {
				n += " " + g.contextPhrase(ctx)
			}
			if detail = strings.TrimLeft(detail, ": "); detail != "" {
				n += " (" + detail + ")"
			}
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}
