package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// A sentence is text with emphasised parts; the HTML and the Markdown
// report each render it (sentenceHTML, sentence.Markdown).
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

// capitalize upper-cases the sentence's first letter when it starts with
// an English word, not an identifier such as "gro" or "macvlan".
func (s sentence) capitalize() sentence {
	if len(s) == 0 || s[0].Text == "" {
		return s
	}
	first, _, _ := strings.Cut(s[0].Text, " ")
	switch first {
	case "at", "under", "on", "with", "over", "the", "only", "against":
	default:
		return s
	}
	out := slices.Clone(s)
	out[0].Text = strings.ToUpper(out[0].Text[:1]) + out[0].Text[1:]
	return out
}

// answer answers a group's question in one sentence, from its findings:
// each case against the question's baseline, context by context, with its
// ratio, interval and verdict (compareAnswer), or, when every case is
// within the noise threshold of the baseline, that once. In an interleaved
// question the ratios are the blocks' paired ratios of pps and of CPU per
// packet (pairedClause, pairedNoEffectClause).
func answer(g *group) sentence {
	if g.Compare == "" {
		return singleAnswer(g)
	}
	var s sentence
	switch {
	case g.Paired != nil && noEffect(g):
		s = pairedNoEffectClause(g)
	case noEffect(g):
		s = noEffectClause(g)
	case len(g.Findings) > 0:
		s = compareAnswer(g)
	}
	if len(s) > 0 {
		s.add(".")
	}
	notes := inertNotes(g)
	if !slices.ContainsFunc(g.Points, func(p point) bool { return p.c.Name == g.Baseline }) {
		notes = append(notes, "the baseline, "+g.Baseline+", is not in the result")
	}
	for _, n := range append(notes, notRun(g)...) {
		if len(s) > 0 {
			s.add(" ")
		}
		s.add(capitalized(n) + ".")
	}
	if len(s) == 0 {
		s.add("No case of this question measured anything.")
	}
	return s.capitalize()
}

// noEffect reports whether every context compared its cases with its
// baseline and found no measurable difference in any.
func noEffect(g *group) bool {
	for _, f := range g.Findings {
		cs := f.compared()
		if len(cs) == 0 {
			return false
		}
		for _, c := range cs {
			switch {
			case c.Pair != nil:
				if c.Pair.PPS.Verdict != stats.NoChange || c.Pair.CPU.Verdict != stats.NoChange {
					return false
				}
			case c.Vs.Verdict != stats.NoChange:
				return false
			}
		}
	}
	return len(g.Findings) > 0
}

// noEffectClause says once that the compared dimension made no measurable
// difference anywhere, with the largest difference.
func noEffectClause(g *group) sentence {
	var s sentence
	var big *cell
	var ctxs []string
	n := 0
	for i := range g.Findings {
		f := &g.Findings[i]
		if len(g.Context) > 0 {
			ctxs = append(ctxs, g.contextPhrase(f.Context))
		}
		for _, c := range f.compared() {
			n++
			if big == nil || math.Abs(math.Log(c.Vs.Ratio.Ratio)) > math.Abs(math.Log(big.Vs.Ratio.Ratio)) {
				big = c
			}
		}
	}
	s.strong(dimNoun(g.Compare) + " had no measurable effect")
	if len(ctxs) > 0 {
		s.add(" " + joinOr(ctxs))
	}
	what := "the largest difference"
	if n == 1 {
		what = "difference"
	}
	s.addf(": every interval lies within ±%s of %s (%s %s, %s)", pct(stats.DefaultThreshold),
		valueLabel(g.Compare, g.BaseValue), what, fmtRatio(big.Vs.Ratio.Ratio), fmtCI(big.Vs.Ratio))
	return s
}

// compareAnswer names the baseline, then states each context's
// comparisons: "against veth: at 64 B, macvlan is 0.98x (95% CI
// 0.95–1.01, no measurable difference), bridge is 0.80x (95% CI 0.77–0.83,
// slower); at 1400 B, ...".
func compareAnswer(g *group) sentence {
	var s sentence
	base := valueLabel(g.Compare, g.BaseValue)
	s.add("against ")
	s.strong(base)
	s.add(": ")
	for i, f := range g.Findings {
		if i > 0 {
			s.add("; ")
		}
		if len(g.Context) > 0 {
			s.add(g.contextPhrase(f.Context) + ", ")
		}
		s = append(s, g.clause(f, base)...)
	}
	return s
}

// clause states one context's comparisons with its baseline, base.
func (g *group) clause(f finding, base string) sentence {
	var s sentence
	if g.Paired != nil && f.baseRan() && !f.Single {
		for i, c := range f.compared() {
			if i > 0 {
				s.add(", ")
			}
			s = append(s, g.pairedClause(c, base)...)
		}
		return s
	}
	switch {
	case !f.baseRan():
		s.addf("%s did not run: nothing to compare with", base)
		return s
	case f.Single:
		s.addf("only %s ran (%s pps)", base, Thousands(f.Cells[f.Base].P.c.Summary.PPS.Median))
		return s
	}
	for i, c := range f.compared() {
		if i > 0 {
			s.add(", ")
		}
		s.addf("%s is %s (%s, ", valueLabel(g.Compare, c.Value), fmtRatio(c.Vs.Ratio.Ratio), fmtCI(c.Vs.Ratio))
		switch v := verdictWords(c.Vs.Verdict); c.Vs.Verdict {
		case stats.Improvement, stats.Regression:
			s.strong(v)
		default:
			s.add(v)
		}
		s.add(")")
	}
	return s
}

// capitalized upper-cases a note's first letter unless it starts with a
// case name or an identifier (a value label such as "ipvlan").
func capitalized(n string) string {
	if strings.HasPrefix(n, "the ") {
		return "The" + n[3:]
	}
	return n
}

// singleAnswer describes a group in which nothing varies (one case, or
// repeated cases).
func singleAnswer(g *group) sentence {
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
		p99 := us(p.c.Summary.P99.Median) + " µs"
		if p.c.Summary.IsLowerBound(result.PctP99) {
			// Lost rr requests: the percentile is at least this.
			p99 = "at least " + p99
		}
		s.addf(": %s pps (%s interval %s–%s), %.0f ns of CPU per packet, p99 latency %s.",
			Thousands(e.Median), pct(e.Level), Thousands(e.Lo), Thousands(e.Hi),
			p.c.Summary.CPUNsPerPkt.Median, p99)
	}
	if len(s) == 0 {
		s.add("The result holds no case.")
	}
	return s
}

// notRun lists the group's cases that did not measure, one note per value
// of the compared dimension (or case) and reason: "ipvlan: unsupported on
// this kernel (kernel has no ipvlan support)".
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
