package reports

// Where the one-way time goes (issue 17): each case's stages, from the
// result's per-stage summaries (measure.stages), and, in each question,
// which stage a case changed against its context's baseline. The numbers
// and their words; html_stages.go draws them for the HTML report and
// writeStagesMarkdown writes them for the Markdown one.

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vethbench/vethbench/reports/result"
)

// stageOrder is the stages' path order: stage i runs from boundaryOrder[i]
// to boundaryOrder[i+1].
var (
	stageOrder    = []string{result.StageSender, result.StageQdisc, result.StageDevice, result.StageSocket}
	boundaryOrder = []string{"send", "queue", "xmit", "ingress", "read"}
)

// stageTotal names the trip's total among Summary.Stages.
const stageTotal = "total"

// stageRank orders stage names by path; a name this report does not know
// comes after the known ones.
func stageRank(name string) int {
	if i := slices.Index(stageOrder, name); i >= 0 {
		return i
	}
	return len(stageOrder)
}

// caseStages is where one case's one-way time went.
type caseStages struct {
	c *result.Case
	// Stages are the summary's stages in path order, the total left out.
	Stages []result.StageSummary
	// Total is the trip's; HasTotal is false when the summary lacks it.
	Total    result.StageSummary
	HasTotal bool
	// Boundaries are those any trial was stamped at, in path order;
	// Uneven is set when the trials were not all stamped at the same.
	Boundaries []string
	Uneven     bool
	// ReadBy is who marked the read ("kernel", "receiver"), from the
	// trials; "" without a read boundary.
	ReadBy string
	// Merged sums, over the trials, the datagrams of each stage timed
	// from an earlier boundary (its first was not seen), and Count the
	// stage's datagrams, for the stages with Merged > 0.
	Merged map[string]mergedCount
}

type mergedCount struct{ Merged, Count uint64 }

// stagesOfCase is a case's stages, nil when it has none (stages were off,
// or it did not measure).
func stagesOfCase(c *result.Case) *caseStages {
	if c.Status != result.StatusOK || c.Summary == nil || len(c.Summary.Stages) == 0 {
		return nil
	}
	cs := &caseStages{c: c, Merged: map[string]mergedCount{}}
	for _, st := range c.Summary.Stages {
		if st.Name == stageTotal {
			cs.Total, cs.HasTotal = st, true
			continue
		}
		cs.Stages = append(cs.Stages, st)
	}
	slices.SortStableFunc(cs.Stages, func(x, y result.StageSummary) int { return cmp.Compare(stageRank(x.Name), stageRank(y.Name)) })
	seen := map[string]bool{}
	var first []string
	for _, t := range c.Trials {
		if t.Stages == nil {
			continue
		}
		if first == nil {
			first = t.Stages.Boundaries
		} else if !slices.Equal(first, t.Stages.Boundaries) {
			cs.Uneven = true
		}
		for _, b := range t.Stages.Boundaries {
			seen[b] = true
		}
		cs.ReadBy = cmp.Or(cs.ReadBy, t.Stages.ReadBy)
		for _, st := range t.Stages.Stages {
			if st.Merged > 0 {
				m := cs.Merged[st.Name]
				m.Merged += st.Merged
				cs.Merged[st.Name] = m
			}
		}
	}
	// The stages' counts over every trial, for the share merged.
	for _, t := range c.Trials {
		if t.Stages == nil {
			continue
		}
		for _, st := range t.Stages.Stages {
			if m, ok := cs.Merged[st.Name]; ok {
				m.Count += st.Count
				cs.Merged[st.Name] = m
			}
		}
	}
	for _, b := range boundaryOrder {
		if seen[b] {
			cs.Boundaries = append(cs.Boundaries, b)
			delete(seen, b)
		}
	}
	for _, t := range c.Trials { // boundaries this report does not know, as the trials list them
		if t.Stages == nil {
			continue
		}
		for _, b := range t.Stages.Boundaries {
			if seen[b] {
				cs.Boundaries = append(cs.Boundaries, b)
				delete(seen, b)
			}
		}
	}
	return cs
}

// stage is the case's stage name, and whether it has it.
func (cs *caseStages) stage(name string) (result.StageSummary, bool) {
	i := slices.IndexFunc(cs.Stages, func(s result.StageSummary) bool { return s.Name == name })
	if i < 0 {
		return result.StageSummary{}, false
	}
	return cs.Stages[i], true
}

// share is a stage's mean as a share of the trip's (medians over trials;
// they need not add up to 1 exactly), NaN without a total.
func (cs *caseStages) share(st result.StageSummary) float64 {
	if !cs.HasTotal || !(cs.Total.MeanNs.Median > 0) {
		return math.NaN()
	}
	return st.MeanNs.Median / cs.Total.MeanNs.Median
}

// hasRead reports whether the trip ends at the socket's read.
func (cs *caseStages) hasRead() bool { return slices.Contains(cs.Boundaries, "read") }

// noReadText says what a trip without the read boundary measures.
const noReadText = "no read boundary on this kernel: the trip ends at the receiving device's ingress"

// receiverReadText says what the read is where vethbench's receiver
// marked it.
const receiverReadText = "the read is the receiver's, when its recvmmsg returned (this kernel does not mark a UDP datagram's read)"

// boundaryText says which boundaries the case's trials were stamped at,
// and what a missing read boundary means.
func (cs *caseStages) boundaryText() string {
	b := "Boundaries: " + strings.Join(cs.Boundaries, ", ")
	if cs.Uneven {
		b += " (not every trial had each of them)"
	}
	return b + cs.readNote() + "."
}

// readNote says, after "; ", what ends the trip where that is not the
// kernel's read: no read boundary, or the receiver's read; "" otherwise.
func (cs *caseStages) readNote() string {
	switch {
	case !cs.hasRead():
		return "; " + noReadText
	case cs.ReadBy == "receiver":
		return "; " + receiverReadText
	}
	return ""
}

// notes are what qualifies the case's stages: the boundaries (unless
// sameBoundaries says every case had the same, said once), and stages that
// hold a skipped stage's time.
func (cs *caseStages) notes(sameBoundaries bool) []string {
	var out []string
	if !sameBoundaries {
		out = append(out, cs.boundaryText())
	}
	for _, st := range cs.Stages {
		m, ok := cs.Merged[st.Name]
		if !ok || m.Merged == 0 {
			continue
		}
		k := stageRank(st.Name)
		from, skipped := "its first boundary", "stage before it"
		if k > 0 && k < len(stageOrder) {
			from, skipped = "the "+boundaryOrder[k]+" boundary", stageOrder[k-1]+" stage"
		}
		share := ""
		if m.Count > 0 {
			share = fmt.Sprintf(" (%s)", pctOf(float64(m.Merged)/float64(m.Count)))
		}
		out = append(out, fmt.Sprintf("For %s of its %s datagrams%s, not seen at %s, the %s stage's time includes the skipped %s's.",
			Thousands(float64(m.Merged)), Thousands(float64(m.Count)), share, from, st.Name, skipped))
	}
	return out
}

// pctOf formats a share as a percentage, with a decimal below 10%, and
// "<0.1%" for a share above 0 that would round to "0%".
func pctOf(v float64) string {
	if v > 0 && v < 0.0005 {
		return "<0.1%"
	}
	if v < 0.1 {
		return trimZeros(fmt.Sprintf("%.1f", 100*v)) + "%"
	}
	return fmt.Sprintf("%.0f%%", 100*v)
}

// usText formats nanoseconds in µs with two or three significant digits:
// "0.31 µs", "4.2 µs", "41 µs".
func usText(ns float64) string { return usNum(ns) + " µs" }

// usNum is usText without the unit, for tables headed in µs; a stage can
// take a fraction of a microsecond.
func usNum(ns float64) string {
	v := ns / 1e3
	switch a := math.Abs(v); {
	case a >= 10:
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// stageChange is a case's stages against its context's baseline.
type stageChange struct {
	Label, BaseLabel string
	// Stage changed most among those whose medians' intervals do not
	// overlap; "" when none did. From and To are its means (ns).
	Stage    string
	From, To float64
	// Rest is the largest change of the other stages both have (ns).
	Rest float64
	// TooFew: a case has fewer than 2 trials, so no interval to tell by.
	TooFew bool
	// Only lists the stages one of the two has and the other lacks.
	Only []string
}

// changeOf compares case x's stages with its baseline base's: of the
// stages both have, the one whose mean (median over trials) moved most
// while its two intervals do not overlap.
func changeOf(x, base *caseStages) stageChange {
	var ch stageChange
	type move struct {
		name     string
		from, to float64
		apart    bool
	}
	var moves []move
	for _, st := range x.Stages {
		b, ok := base.stage(st.Name)
		if !ok {
			ch.Only = append(ch.Only, st.Name)
			continue
		}
		if st.MeanNs.N < 2 || b.MeanNs.N < 2 {
			ch.TooFew = true
		}
		apart := st.MeanNs.Lo > b.MeanNs.Hi || b.MeanNs.Lo > st.MeanNs.Hi
		moves = append(moves, move{st.Name, b.MeanNs.Median, st.MeanNs.Median, apart})
	}
	for _, b := range base.Stages {
		if _, ok := x.stage(b.Name); !ok {
			ch.Only = append(ch.Only, b.Name)
		}
	}
	slices.SortStableFunc(ch.Only, func(p, q string) int { return cmp.Compare(stageRank(p), stageRank(q)) })
	slices.SortStableFunc(moves, func(p, q move) int { return cmp.Compare(math.Abs(q.to-q.from), math.Abs(p.to-p.from)) })
	if ch.TooFew {
		return ch
	}
	at := slices.IndexFunc(moves, func(m move) bool { return m.apart && m.to != m.from })
	if at < 0 {
		return ch
	}
	ch.Stage, ch.From, ch.To = moves[at].name, moves[at].from, moves[at].to
	for i, m := range moves {
		if i != at {
			ch.Rest = math.Max(ch.Rest, math.Abs(m.to-m.from))
		}
	}
	return ch
}

// sentence says which stage the case changed: "qdisc=pfifo_fast: the
// qdisc stage rose from 0.31 µs to 41 µs (+41 µs, 132x) against veth
// (the others moved by at most 0.40 µs)".
func (ch stageChange) sentence() sentence {
	var s sentence
	s.strong(ch.Label)
	s.add(": ")
	switch {
	case ch.TooFew:
		s.addf("too few trials to tell which stage changed against %s (an interval needs 2)", ch.BaseLabel)
	case ch.Stage == "":
		s.addf("no stage changed beyond its interval against %s", ch.BaseLabel)
	default:
		verb := "rose"
		if ch.To < ch.From {
			verb = "fell"
		}
		s.add("the ")
		s.strong(ch.Stage + " stage " + verb)
		s.addf(" from %s to %s (%s) against %s", usText(ch.From), usText(ch.To), relChange(ch.From, ch.To), ch.BaseLabel)
		if ch.Rest > 0 {
			s.addf(" (the others moved by at most %s)", usText(ch.Rest))
		} else {
			s.add(" (no other stage moved)")
		}
	}
	if len(ch.Only) > 0 {
		what := "stage"
		if len(ch.Only) > 1 {
			what = "stages"
		}
		s.addf("; only one of the two has the %s %s", joinAnd(ch.Only), what)
	}
	s.add(".")
	return s
}

// relChange is a change in absolute and relative terms: "+41 µs, 132x",
// "−1.8 µs, −36%".
func relChange(from, to float64) string {
	d := to - from
	abs := usText(math.Abs(d))
	sign := "+"
	if d < 0 {
		sign = "−"
	}
	switch {
	case from <= 0:
		return sign + abs
	case to/from >= 100:
		return fmt.Sprintf("%s%s, %.0fx", sign, abs, to/from) // "3305x", not %g's "3.3e+03x"
	case to/from >= 2:
		return fmt.Sprintf("%s%s, %.3gx", sign, abs, to/from)
	}
	return fmt.Sprintf("%s%s, %s%.0f%%", sign, abs, sign, 100*math.Abs(d)/from)
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

// shortNames names cases within a set by the segments of their names that
// not all share, after the device: "veth/qdisc=pfifo_fast" among
// "veth/pkt=64" and "veth/pkt=64/qdisc=pfifo_fast".
func shortNames(names []string) map[string]string {
	parts := make([][]string, len(names))
	count := map[string]int{}
	for i, n := range names {
		parts[i] = strings.Split(n, "/")
		seen := map[string]bool{}
		for _, p := range parts[i][1:] {
			if !seen[p] {
				seen[p] = true
				count[p]++
			}
		}
	}
	out := map[string]string{}
	for i, n := range names {
		keep := parts[i][:1]
		for _, p := range parts[i][1:] {
			if len(names) < 2 || count[p] < len(names) {
				keep = append(keep, p)
			}
		}
		out[n] = strings.Join(keep, "/")
	}
	return out
}

// stageQuestion is a question whose cases have stages: its cases'
// stages, and which stage each non-baseline case changed.
type stageQuestion struct {
	N      int // the group's number, from 1
	g      *group
	Cases  []*caseStages
	Short  map[string]string // the cases' short names within the question
	Change []stageChange
}

// stageQuestions lists the questions with stages on their cases.
func (a *analysis) stageQuestions() []stageQuestion {
	var out []stageQuestion
	for i, g := range a.Groups {
		q := stageQuestion{N: i + 1, g: g}
		by := map[*result.Case]*caseStages{}
		var names []string
		for _, p := range g.Points {
			if cs := stagesOfCase(p.c); cs != nil {
				q.Cases = append(q.Cases, cs)
				by[p.c] = cs
				names = append(names, p.c.Name)
			}
		}
		if len(q.Cases) == 0 {
			continue
		}
		q.Short = shortNames(names)
		for _, f := range g.Findings {
			if f.Base < 0 || f.Cells[f.Base].P == nil {
				continue
			}
			base := by[f.Cells[f.Base].P.c]
			if base == nil {
				continue
			}
			for j, c := range f.Cells {
				if j == f.Base || c.P == nil || by[c.P.c] == nil {
					continue
				}
				ch := changeOf(by[c.P.c], base)
				ch.Label, ch.BaseLabel = q.Short[c.P.c.Name], q.Short[base.c.Name]
				q.Change = append(q.Change, ch)
			}
		}
		out = append(out, q)
	}
	return out
}

// sameBoundaries reports whether every case's trials were stamped at the
// same boundaries.
func sameBoundaries(cases []*caseStages) bool {
	for _, cs := range cases {
		if cs.Uneven || !slices.Equal(cs.Boundaries, cases[0].Boundaries) || cs.ReadBy != cases[0].ReadBy {
			return false
		}
	}
	return true
}

// anyStages reports whether some case of the result has stages.
func anyStages(r *result.Result) bool {
	for i := range r.Cases {
		if stagesOfCase(&r.Cases[i]) != nil {
			return true
		}
	}
	return false
}

// writeStagesMarkdown writes the Markdown report's "Where the time goes":
// each case's stage means with their share of the trip, then, per
// question, which stage each case changed against its baseline. Nothing
// when no case has stages.
func writeStagesMarkdown(b *strings.Builder, a *analysis) {
	if !anyStages(a.r) {
		return
	}
	b.WriteString("\n### Where the time goes\n\n")
	var cases []*caseStages
	var names []string
	for i := range a.r.Cases {
		if cs := stagesOfCase(&a.r.Cases[i]); cs != nil {
			cases = append(cases, cs)
			for _, st := range cs.Stages {
				if !slices.Contains(names, st.Name) {
					names = append(names, st.Name)
				}
			}
		}
	}
	slices.SortStableFunc(names, func(p, q string) int { return cmp.Compare(stageRank(p), stageRank(q)) })
	uneven := !sameBoundaries(cases)
	b.WriteString("Mean one-way time per datagram in each stage (median over trials) and its share of the trip's, stamped by eBPF at each boundary")
	if !uneven {
		b.WriteString(". " + mdEscape(strings.TrimSuffix(cases[0].boundaryText(), ".")))
	}
	b.WriteString(".\n\n| case |")
	for _, n := range names {
		b.WriteString(" " + mdEscape(n) + " |")
	}
	b.WriteString(" total |")
	if uneven {
		b.WriteString(" boundaries |")
	}
	b.WriteString("\n|---|" + strings.Repeat("--:|", len(names)+1))
	if uneven {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, cs := range cases {
		fmt.Fprintf(b, "| `%s` |", cs.c.Name)
		for _, n := range names {
			st, ok := cs.stage(n)
			switch {
			case !ok:
				b.WriteString(" – |")
			case math.IsNaN(cs.share(st)):
				fmt.Fprintf(b, " %s |", usText(st.MeanNs.Median))
			default:
				fmt.Fprintf(b, " %s (%s) |", usText(st.MeanNs.Median), pctOf(cs.share(st)))
			}
		}
		if cs.HasTotal {
			fmt.Fprintf(b, " %s |", usText(cs.Total.MeanNs.Median))
		} else {
			b.WriteString(" – |")
		}
		if uneven {
			fmt.Fprintf(b, " %s |", mdEscape(strings.TrimPrefix(strings.TrimSuffix(cs.boundaryText(), "."), "Boundaries: ")))
		}
		b.WriteString("\n")
	}
	for _, q := range a.stageQuestions() {
		if len(q.Change) == 0 {
			continue
		}
		fmt.Fprintf(b, "\nQ%d. %s\n\n", q.N, mdEscape(questionText(q.g)))
		for _, ch := range q.Change {
			fmt.Fprintf(b, "- %s\n", ch.sentence().Markdown())
		}
	}
}
