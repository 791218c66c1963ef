package reports

import (
	"strings"
	"testing"

	"github.com/vethbench/vethbench/reports/result"
)

// imprecise makes c stop short of the precision target, as bench records it.
func imprecise(c result.Case) result.Case {
	c.Stop = "precision target not reached within 10 trials"
	c.Warnings = append(c.Warnings, c.Stop)
	return c
}

func TestCaveatPrecision(t *testing.T) {
	for _, c := range []struct {
		name  string
		cases []result.Case
		want  string
	}{
		{"the only case", []result.Case{imprecise(synthCase("veth/pkt=64", 300000))}, "The case did not reach the precision target of ±3% within 10 trials: "},
		{"every case", []result.Case{imprecise(synthCase("veth/pkt=64", 300000)), imprecise(synthCase("veth/pkt=1400", 200000))}, "None of the 2 measured cases reached the precision target of ±3% within 10 trials: "},
		{"some cases", []result.Case{imprecise(synthCase("veth/pkt=64", 300000)), synthCase("veth/pkt=1400", 200000)}, "1 of 2 measured cases did not reach the precision target of ±3% within 10 trials: "},
	} {
		r := synthResult(c.cases...)
		r.Settings.Target, r.Settings.MaxTrials = 0.03, 10
		cv := caveatsOf(r)
		p, ok := cv.find(caveatPrecision)
		if !ok {
			t.Errorf("%s: no precision caveat", c.name)
			continue
		}
		if got := caveatText(p); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: %q, want prefix %q", c.name, got, c.want)
		}
	}
	cv := caveatsOf(synthResult(synthCase("veth/pkt=64", 300000)))
	if _, ok := cv.find(caveatPrecision); ok {
		t.Error("precision caveat for a case that reached the target")
	}
}

// TestCaveatPrecisionPaired: an interleaved sweep's precision target is its
// ratios' intervals: a case whose pps ratio interval is wider than the
// target is imprecise whatever its median's interval, and the caveat gives
// the ratios' widths.
func TestCaveatPrecisionPaired(t *testing.T) {
	r := synthResult(synthCase("veth/pkt=64", 300000, "q"), synthCase("veth/pkt=1400", 200000, "q"), synthCase("bridge/pkt=64", 100000, "q"))
	r.Settings.Target, r.Settings.MaxTrials, r.Settings.Method = 0.01, 12, "interleaved"
	r.Questions = []result.Question{{Text: "q", Baseline: "veth/pkt=64", Paired: &result.Paired{Blocks: 900, Cases: []result.PairedCase{
		{Case: "veth/pkt=64"},
		{Case: "veth/pkt=1400", PPSRatio: &result.Ratio{Ratio: 0.67, Lo: 0.67 * 0.98, Hi: 0.67 * 1.02}},
		{Case: "bridge/pkt=64", PPSRatio: &result.Ratio{Ratio: 0.33, Lo: 0.33 * 0.995, Hi: 0.33 * 1.005}},
	}}}}
	cv := caveatsOf(r)
	p, ok := cv.find(caveatPrecision)
	if !ok {
		t.Fatal("no precision caveat for a ratio interval of ±2% with a target of ±1%")
	}
	want := "1 of 3 measured cases did not reach the precision target of ±1% within 12 trials: their ratios' intervals to their baselines are ±2.0% to ±2.0%. Ratios closer to 1 than that cannot be told from 1"
	if got := caveatText(p); got != want || len(p.Cases) != 1 || p.Cases[0] != "veth/pkt=1400" {
		t.Errorf("%q for %v\nwant %q", got, p.Cases, want)
	}
	r.Questions[0].Paired.Cases[1].PPSRatio.Lo, r.Questions[0].Paired.Cases[1].PPSRatio.Hi = 0.67*0.995, 0.67*1.005
	cv = caveatsOf(r)
	if _, ok := cv.find(caveatPrecision); ok {
		t.Error("precision caveat although every ratio reached the target")
	}
}

// TestCaveatsBothReports checks that the HTML and the Markdown report state
// the same caveats, from the same values.
func TestCaveatsBothReports(t *testing.T) {
	over := synthCase("veth/pkt=64", 300000, "q")
	over.Summary.DropReasons = map[string]uint64{socketRcvBuff: 800} // of 8000 sent
	over.Summary.Bottleneck = &result.Bottleneck{Side: result.BoundGenerator}
	over.Traffic.Generator = "udp"
	r := synthResult(over, synthCase("veth/pkt=1400", 200000, "q"))
	cv := caveatsOf(r)
	var kinds []caveatKind
	for _, c := range cv.Result {
		kinds = append(kinds, c.Kind)
	}
	if len(kinds) != 2 || kinds[0] != caveatOverflow || kinds[1] != caveatGeneratorBound {
		t.Fatalf("caveat kinds %v, want overflow and generator-bound", kinds)
	}
	page := renderHTML(t, r)
	var md strings.Builder
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, c := range cv.Result {
		text := caveatText(c)
		if !strings.Contains(page, escape(text)) {
			t.Errorf("HTML lacks %q", text)
		}
		if !strings.Contains(md.String(), mdEscape(strings.ToUpper(text[:1])+text[1:])) {
			t.Errorf("Markdown lacks %q", text)
		}
	}
	if got := cv.of(&r.Cases[0]).Overflow; got != 0.1 {
		t.Errorf("overflow share %v, want 0.1", got)
	}
}
