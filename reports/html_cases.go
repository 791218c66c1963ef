package reports

// The table of every case, with its notes.

import (
	"fmt"
	"strings"

	"github.com/vethbench/vethbench/reports/result"
)

func buildCases(a *analysis) (any, error) {
	t := table{Head: []string{"case", "status", "Q", "trials", "pps", "interval", "device pps", "CPU ns/pkt", "p50 µs", "p99 µs", "p99.9 µs", "dropped", "limit"}}
	qIndex := map[string]int{}
	for i, g := range a.Groups {
		qIndex[g.Question] = i + 1
	}
	for i := range a.Caveats.Cases {
		cc := &a.Caveats.Cases[i]
		c := cc.Case
		var qs []string
		for _, q := range c.Questions {
			qs = append(qs, fmt.Sprintf("Q%d", qIndex[q]))
		}
		notes := strings.Join(shortNotes(cc), "; ")
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
				latCell(s, result.PctP50, s.P50), latCell(s, result.PctP99, s.P99), latCell(s, result.PctP999, s.P999),
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

// latCell is a latency median in µs, "≥ 98300.0" when lost requests make
// it a lower bound.
func latCell(s *result.Summary, p string, e result.Estimate) tcell {
	if !s.IsLowerBound(p) {
		return num(us(e.Median))
	}
	return tcell{Text: "≥ " + us(e.Median), Num: true, Class: "bad",
		Title: "a lower bound: rr requests were never answered, and this percentile falls on one in some trials; it is at least the largest round trip answered"}
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

// shortNotes are a case's flags and warnings, briefly, for the table of
// every case.
func shortNotes(cc *caseCaveats) []string {
	c := cc.Case
	var out []string
	for _, f := range flagTexts(cc) {
		if f != statusText(c) {
			out = append(out, "⚑ "+f)
		}
	}
	if c.Status != result.StatusOK {
		out = append(out, c.Error)
	}
	other := 0
	for _, w := range cc.Warnings {
		switch kind, ok := restated(w); {
		case ok && kind == caveatGeneratorBound:
			out = append(out, "⚑ generator-bound: the figure is the generator's limit, not the device's")
		case !ok:
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
		if cc.Overflow > 0 {
			out = append(out, fmt.Sprintf("socket overflowed (%.1f%% of sent)", 100*cc.Overflow))
		}
		if cc.Imprecise {
			out = append(out, "interval ±"+halfWidth(s.PPS)+": precision target not reached")
		}
	}
	if other > 0 {
		out = append(out, plural(other, "more warning", "more warnings")+" (see Flagged cases)")
	}
	return out
}
