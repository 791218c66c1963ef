package reports

import (
	"strings"
	"testing"

	"github.com/vethbench/vethbench/reports/result"
)

// rrCase makes c an rr case whose trials lost lost requests each and had
// late responses, with its p99 and p99.9 lower bounds when lost > 0, as
// bench records them.
func rrCase(c result.Case, lost, late uint64) result.Case {
	c.Traffic.Generator, c.Traffic.Unit = "rr", "requests"
	var bounds []string
	if lost > 0 {
		bounds = []string{result.PctP99, result.PctP999}
	}
	for i := range c.Trials {
		t := &c.Trials[i]
		t.Sent, t.Received, t.Lost, t.Late = 1000+lost, 1000, lost, late
		t.Latency.Kind, t.Latency.Lost, t.Latency.LowerBounds = "round-trip", lost, bounds
		t.Latency.P50, t.Latency.P99, t.Latency.P999 = 20_000, 98_300_000, 98_300_000
	}
	s := c.Summary
	s.Sent, s.Received = uint64(len(c.Trials))*(1000+lost), uint64(len(c.Trials))*1000
	s.Lost, s.Late = uint64(len(c.Trials))*lost, uint64(len(c.Trials))*late
	s.LatencyLowerBounds = bounds
	s.P50 = result.Estimate{Median: 20_000, N: len(c.Trials)}
	s.P99 = result.Estimate{Median: 98_300_000, Lo: 98_300_000, Hi: 98_300_000, N: len(c.Trials)}
	s.P999 = s.P99
	return c
}

// Lost and late rr requests reach every report with a warning, and a
// percentile they make a lower bound is shown as one (≥), in the table,
// the HTML and the Markdown alike; a clean rr case has none of it.
func TestReportsRoundTripsLostAndLate(t *testing.T) {
	lossy := rrCase(synthCase("veth/pkt=64/generator=rr", 30000, "q"), 5, 3)
	late := rrCase(synthCase("veth/pkt=200/generator=rr", 29000, "q"), 0, 2)
	clean := rrCase(synthCase("veth/pkt=1400/generator=rr", 28000, "q"), 0, 0)
	r := synthResult(lossy, late, clean)

	cv := caveatsOf(r)
	c, ok := cv.find(caveatRoundTrips)
	if !ok || c.Of != 3 || strings.Join(c.Cases, " ") != lossy.Name+" "+late.Name {
		t.Fatalf("round-trip caveat %+v (found %v), want the lossy and the late case of 3", c, ok)
	}
	lossyText := roundTripText(cv.of(&r.Cases[0]).RoundTrips)
	lateText := roundTripText(cv.of(&r.Cases[1]).RoundTrips)
	wantLossy := "40 of 8,040 rr requests lost (never answered: 0.5%), 24 responses late (answered after the timeout): latency p99 and p99.9 are lower bounds"
	if lossyText != wantLossy || lateText != "16 responses late (answered after the timeout)" {
		t.Errorf("texts:\n%q\n%q", lossyText, lateText)
	}
	if cv.of(&r.Cases[2]).flagged() || !cv.of(&r.Cases[0]).flagged() || !cv.of(&r.Cases[1]).flagged() {
		t.Error("want the lossy and the late case flagged, the clean one not")
	}

	var table strings.Builder
	if err := WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	tab := table.String()
	for _, want := range []string{
		"lost  late", ">=98300.0", "latency p99 us    >=98300.0",
		"accounting: requests 8040 = responses 8000 + lost 40",
		"warning: " + wantLossy, "warning: 16 responses late (answered after the timeout)",
		"accounting: requests 8000 = responses 8000 + lost 0: closed in every trial\n",
	} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	if n := strings.Count(tab, "warning: "); n != 2 {
		t.Errorf("%d warnings in the table, want 2 (the clean case has none)", n)
	}

	var sum strings.Builder
	if err := WriteSummary(&sum, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{">=98300.0", wantLossy} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}

	page := renderHTML(t, r)
	for _, want := range []string{escape(caveatText(c)), escape(wantLossy), "≥ 98300.0"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	text := caveatText(c)
	for _, want := range []string{mdEscape(strings.ToUpper(text[:1]) + text[1:]), mdEscape(wantLossy), "`" + late.Name + "`: 16 responses late"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	if strings.Contains(md.String(), clean.Name) && strings.Contains(md.String(), "`"+clean.Name+"`:") {
		t.Errorf("Markdown flags the clean case:\n%s", md.String())
	}
}

// The answer to a question of one rr case says when its p99 is only a lower
// bound.
func TestAnswerRoundTripLowerBound(t *testing.T) {
	lossy := rrCase(synthCase("veth/pkt=64/generator=rr", 30000, "q"), 5, 3)
	page := renderHTML(t, synthResult(lossy))
	if !strings.Contains(page, "p99 latency at least 98300.0 µs") {
		t.Errorf("the answer does not say the p99 is a lower bound")
	}
	clean := rrCase(synthCase("veth/pkt=64/generator=rr", 30000, "q"), 0, 0)
	if page := renderHTML(t, synthResult(clean)); strings.Contains(page, "at least") || !strings.Contains(page, "p99 latency 98300.0 µs") {
		t.Errorf("a clean case's answer: want a plain p99")
	}
}
