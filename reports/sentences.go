package reports

import (
	"fmt"
	"slices"
	"strings"

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
	case "at", "under", "on", "with", "over", "the", "only":
	default:
		return s
	}
	out := slices.Clone(s)
	out[0].Text = strings.ToUpper(out[0].Text[:1]) + out[0].Text[1:]
	return out
}

// answer answers a group's question in one sentence, from its findings.
func answer(g *group) sentence {
	if g.Compare == "" {
		return singleAnswer(g)
	}
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
			clauses = append(clauses, clause(g, f))
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
	for _, n := range append(inertNotes(g), notRun(g)...) {
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
func clause(g *group, f finding) sentence {
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
	if r := f.VsVeth; r != nil {
		s.addf(", and %s veth (%s)", fmtRatio(r.Ratio), fmtCI(*r))
	}
	return s
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
		s.addf(": %s pps (%s interval %s–%s), %.0f ns of CPU per packet, p99 latency %s µs.",
			Thousands(e.Median), pct(e.Level), Thousands(e.Lo), Thousands(e.Hi),
			p.c.Summary.CPUNsPerPkt.Median, us(p.c.Summary.P99.Median))
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
