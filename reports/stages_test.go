package reports

import (
	"bytes"
	"html/template"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/reports/result"
)

// stageFig is a stage's mean (ns) with its interval over 5 trials.
type stageFig struct {
	name          string
	mean, lo, hi  float64
	merged, count uint64 // in each trial
}

func est(median, lo, hi float64, n int) result.Estimate {
	return result.Estimate{Median: median, Lo: lo, Hi: hi, Level: 0.94, Min: lo, Max: hi, N: n}
}

// stagedCase is a case of 5 trials whose stages are figs, stamped at
// boundaries; the total is the stages' sum.
func stagedCase(name string, questions []string, boundaries []string, pps float64, figs ...stageFig) result.Case {
	c := result.Case{Name: name, Status: result.StatusOK, Questions: questions,
		Topology: result.Topology{Kind: strings.SplitN(name, "/", 2)[0]}}
	var sum, lo, hi float64
	var sums []result.StageSummary
	for _, f := range figs {
		sum, lo, hi = sum+f.mean, lo+f.lo, hi+f.hi
		sums = append(sums, result.StageSummary{Name: f.name, MeanNs: est(f.mean, f.lo, f.hi, 5),
			P50: est(0.9*f.mean, 0.9*f.lo, 0.9*f.hi, 5), P99: est(3*f.mean, 3*f.lo, 3*f.hi, 5)})
	}
	sums = append(sums, result.StageSummary{Name: "total", MeanNs: est(sum, lo, hi, 5),
		P50: est(0.9*sum, 0.9*lo, 0.9*hi, 5), P99: est(3*sum, 3*lo, 3*hi, 5)})
	for i := range 5 {
		st := &result.Stages{Boundaries: boundaries}
		for _, f := range figs {
			st.Stages = append(st.Stages, result.Stage{Name: f.name, Count: f.count, Merged: f.merged, MeanNs: f.mean})
		}
		st.Total = result.Stage{Name: "total", Count: 1000, MeanNs: sum}
		p := pps * (1 + 0.002*float64(i-2))
		c.Trials = append(c.Trials, result.Trial{Index: i, Sent: 1000, Received: 1000, PPS: p, DevicePPS: p, Closed: true, Stages: st})
	}
	c.Summary = &result.Summary{PPS: est(pps, 0.996*pps, 1.004*pps, 5), DevicePPS: est(pps, 0.996*pps, 1.004*pps, 5),
		Closed: true, Stages: sums}
	return c
}

var ingressOnly = []string{"send", "queue", "xmit", "ingress"}

// stagedResult is a sweep of two questions: veth against bridge (whose
// stages' intervals all overlap veth's), and veth without and with a
// queueing qdisc at saturation (whose qdisc stage grows far beyond its
// interval, and whose sender and device stages move a little beyond
// theirs).
func stagedResult() *result.Result {
	const qDev, qQdisc = "Which device is fastest?", "What does a queueing qdisc cost?"
	veth := stagedCase("veth/pkt=64", []string{qDev, qQdisc}, ingressOnly, 1e6,
		stageFig{"sender", 1000, 900, 1100, 0, 1000}, stageFig{"qdisc", 300, 250, 350, 0, 1000}, stageFig{"device", 2000, 1800, 2200, 0, 1000})
	bridge := stagedCase("bridge/pkt=64", []string{qDev}, ingressOnly, 0.8e6,
		stageFig{"sender", 1050, 950, 1150, 0, 1000}, stageFig{"qdisc", 310, 260, 360, 0, 1000}, stageFig{"device", 2150, 1900, 2400, 50, 1000})
	fifo := stagedCase("veth/pkt=64/qdisc=pfifo_fast", []string{qQdisc}, ingressOnly, 0.9e6,
		stageFig{"sender", 1300, 1200, 1400, 0, 1000}, stageFig{"qdisc", 41000, 39000, 43000, 0, 1000}, stageFig{"device", 2300, 2250, 2400, 0, 1000})
	return &result.Result{
		Settings:  result.Settings{Trials: 5, Confidence: 0.95, Seed: 1},
		Questions: []result.Question{{Text: qDev, Baseline: "veth/pkt=64"}, {Text: qQdisc, Baseline: "veth/pkt=64"}},
		Cases:     []result.Case{veth, bridge, fifo},
	}
}

// section is the page's "Where the time goes", "" when it has none.
func stagesSection(page string) string {
	i := strings.Index(page, `<section id="stages">`)
	if i < 0 {
		return ""
	}
	return page[i : i+strings.Index(page[i:], "</section>")]
}

func TestStagesHTML(t *testing.T) {
	page := renderHTML(t, stagedResult())
	checkSelfContained(t, page)
	sec := stagesSection(page)
	if sec == "" {
		t.Fatal("a result with stages has no stages section")
	}
	if !strings.Contains(page, `<a href="#stages">Where the time goes</a>`) {
		t.Error("the navigation does not link the stages section")
	}
	// One chart per question, with its legend in path order.
	for _, q := range []string{"Q1", "Q2"} {
		if !strings.Contains(sec, `<svg viewBox=`) || !strings.Contains(sec, `aria-label="Where the time goes: `+q+`"`) {
			t.Errorf("no chart for %s", q)
		}
	}
	legend := regexp.MustCompile(`<span class="box" style="--c: (#[0-9a-f]{6})"></span>(sender|qdisc|device)</span>`).FindAllStringSubmatch(sec, -1)
	if len(legend) != 6 || legend[0][2] != "sender" || legend[1][2] != "qdisc" || legend[2][2] != "device" {
		t.Errorf("legend: want sender, qdisc, device per chart, got %q", legend)
	}
	// Fixed colours: the qdisc is the same colour in both charts, and its
	// bars are drawn in it.
	if len(legend) == 6 && (legend[1][1] != legend[4][1] || legend[1][1] == legend[2][1]) {
		t.Errorf("stage colours are not fixed and distinct: %q", legend)
	}
	if len(legend) == 6 && !strings.Contains(strings.ToLower(sec), "fill:"+legend[1][1]) {
		t.Errorf("no bar is drawn in the qdisc's colour %s", legend[1][1])
	}
	// Each case's table: every stage with p50 and p99 and its share, the
	// total last.
	for _, want := range []string{
		`<h3><span class="name">veth/<wbr>pkt=64/<wbr>qdisc=pfifo_fast</span></h3>`,
		// veth's sender: mean 1.0 of a 3.3 µs trip (30%), p50 0.9, p99 3.0, with intervals.
		`<td>sender</td><td class="num" title="median of 5 trials, interval at 94% coverage">1.0 (0.90–1.1)</td><td class="num" title="median of 5 trials, interval at 94% coverage">0.90 (0.81–0.99)</td><td class="num" title="median of 5 trials, interval at 94% coverage">3.0 (2.7–3.3)</td><td class="num">30%</td>`,
		// pfifo_fast's qdisc: 41 of 44.4 µs, 92%.
		`>41 (39–43)</td>`, `<td>qdisc</td><td class="num" title="median of 5 trials, interval at 94% coverage">0.30 (0.25–0.35)</td>`, `<td class="num">92%</td>`,
		`<td class="strong">total</td>`,
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("stages section lacks %s", want)
		}
	}
	if n := strings.Count(sec, `<td class="strong">total</td>`); n != 3 {
		t.Errorf("%d total rows, want one per case (3)", n)
	}
	// What the boundaries mean: no read boundary here; bridge's device
	// stage holds the skipped qdisc stage's time for 50 of 1000 datagrams
	// in each of 5 trials.
	if n := strings.Count(sec, template.HTMLEscapeString("Every case: boundaries: send, queue, xmit, ingress; "+noReadText+".")); n != 1 {
		t.Errorf("the section says %d times that every case has no read boundary, want once:\n%s", n, sec)
	}
	if !strings.Contains(sec, "For 250 of its 5,000 datagrams (5%), not seen at the xmit boundary, the device stage&#39;s time includes the skipped qdisc stage&#39;s.") {
		t.Errorf("bridge's merged device stage is not said:\n%s", sec)
	}
	if strings.Count(sec, "includes the skipped") != 1 {
		t.Error("a stage without merged datagrams is said to hold a skipped stage's time")
	}
	// Which stage a knob changed: the qdisc stage for pfifo_fast (not the
	// sender's, first in path order, or the device's, which moved beyond
	// their intervals too, but less); nothing for bridge, whose intervals
	// overlap veth's.
	if !strings.Contains(sec, `<strong>veth/qdisc=pfifo_fast</strong>: the <strong>qdisc stage rose</strong> from 0.30 µs to 41 µs (+41 µs, 137x) against veth (the others moved by at most 0.30 µs).`) {
		t.Errorf("the qdisc stage is not named for pfifo_fast:\n%s", sec)
	}
	if !strings.Contains(sec, `<strong>bridge</strong>: no stage changed beyond its interval against veth.`) {
		t.Errorf("bridge, whose intervals overlap veth's, is said to change a stage:\n%s", sec)
	}
	if i, j := strings.Index(sec, `<svg`), strings.Index(sec, `qdisc stage rose`); i < 0 || j < 0 || !strings.Contains(sec[:j], `href="#q2">Q2</a> What does a queueing qdisc cost?`) {
		t.Error("the qdisc sentence is not under its question")
	}
}

func TestStagesMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, stagedResult()); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	i := strings.Index(md, "### Where the time goes")
	if i < 0 {
		t.Fatalf("markdown has no stages section:\n%s", md)
	}
	sec := md[i:]
	sec = sec[:strings.Index(sec, "### Flagged cases")]
	for _, want := range []string{
		"stamped by eBPF at each boundary. Boundaries: send, queue, xmit, ingress; " + noReadText + ".",
		"| case | sender | qdisc | device | total |",
		"| `veth/pkt=64` | 1.0 µs (30%) | 0.30 µs (9.1%) | 2.0 µs (61%) | 3.3 µs |",
		"- **veth/qdisc=pfifo_fast**: the **qdisc stage rose** from 0.30 µs to 41 µs (+41 µs, 137x) against veth (the others moved by at most 0.30 µs).",
		"- **bridge**: no stage changed beyond its interval against veth.",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("markdown stages section lacks %q:\n%s", want, sec)
		}
	}
}

// Cases stamped at different boundaries say each their own, in both
// reports.
func TestStagesBoundariesDiffer(t *testing.T) {
	r := stagedResult()
	withRead := []string{"send", "queue", "xmit", "ingress", "read"}
	for i := range r.Cases[2].Trials {
		r.Cases[2].Trials[i].Stages.Boundaries = withRead
	}
	sec := stagesSection(renderHTML(t, r))
	if strings.Contains(sec, "Every case:") {
		t.Error("the section says every case had the same boundaries")
	}
	if n := strings.Count(sec, "; no read boundary"); n != 2 {
		t.Errorf("%d cases say they have no read boundary, want 2", n)
	}
	if !strings.Contains(sec, "<p class=\"note\">Boundaries: send, queue, xmit, ingress, read.</p>") {
		t.Errorf("the case with a read boundary does not say so:\n%s", sec)
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"| total | boundaries |", "| 3.3 µs | send, queue, xmit, ingress; " + noReadText + " |", "| send, queue, xmit, ingress, read |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// Without stages, neither report has the section: the fixtures were
// measured without them.
func TestStagesAbsent(t *testing.T) {
	for _, f := range []string{fixture, "testdata/sweep-interleaved.json"} {
		r, err := result.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		page := renderHTML(t, r)
		if strings.Contains(page, `id="stages"`) || strings.Contains(page, "Where the time goes") {
			t.Errorf("%s: the page has a stages section without stages", f)
		}
		var b bytes.Buffer
		if err := WriteMarkdown(&b, r); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "Where the time goes") {
			t.Errorf("%s: the markdown has a stages section without stages", f)
		}
	}
	// A result with stages on some cases has it.
	r := stagedResult()
	r.Cases[0].Summary.Stages = nil
	r.Cases[1].Summary.Stages = nil
	if sec := stagesSection(renderHTML(t, r)); sec == "" || !strings.Contains(sec, "pfifo_fast") || strings.Contains(sec, `aria-label="Where the time goes: Q1"`) {
		t.Error("a result with stages on one case does not show that case alone")
	}
}

// Intervals that overlap, or a single trial, claim no change; a change
// beyond the intervals is named, in either direction.
func TestStageChange(t *testing.T) {
	mk := func(n int, mean, lo, hi float64) *caseStages {
		return &caseStages{Stages: []result.StageSummary{
			{Name: "sender", MeanNs: est(1000, 900, 1100, n)},
			{Name: "device", MeanNs: est(mean, lo, hi, n)},
		}}
	}
	base := mk(5, 2000, 1900, 2100)
	if ch := changeOf(mk(5, 2200, 2050, 2300), base); ch.Stage != "" {
		t.Errorf("overlapping intervals: claimed %s changed", ch.Stage)
	}
	if ch := changeOf(mk(5, 1500, 1400, 1600), base); ch.Stage != "device" || !strings.Contains(ch.sentence().Plain(), "device stage fell from 2.0 µs to 1.5 µs (−0.50 µs, −25%)") {
		t.Errorf("a fall beyond the intervals: %+v %q", ch, ch.sentence().Plain())
	}
	if ch := changeOf(mk(1, 9000, 9000, 9000), mk(1, 2000, 2000, 2000)); !ch.TooFew || ch.Stage != "" ||
		!strings.Contains(ch.sentence().Plain(), "too few trials") {
		t.Errorf("one trial each: %+v", ch)
	}
	if ch := changeOf(mk(5, 6.61e6, 6.5e6, 6.7e6), base); !strings.Contains(ch.sentence().Plain(), "(+6608 µs, 3305x)") {
		t.Errorf("a rise of three orders: %q", ch.sentence().Plain())
	}
	only := &caseStages{Stages: []result.StageSummary{{Name: "sender", MeanNs: est(1000, 900, 1100, 5)}}}
	if s := changeOf(only, base).sentence().Plain(); !strings.Contains(s, "only one of the two has the device stage") {
		t.Errorf("a stage only the baseline has is not said: %q", s)
	}
}

// Names from the result are escaped in the page and its charts.
func TestStagesEscaped(t *testing.T) {
	r := stagedResult()
	r.Cases[2].Name = `<b>&veth`
	r.Questions[1].Text = `<i>qdisc</i> cost?`
	for i := range r.Cases {
		for j, q := range r.Cases[i].Questions {
			if q == "What does a queueing qdisc cost?" {
				r.Cases[i].Questions[j] = r.Questions[1].Text
			}
		}
	}
	page := renderHTML(t, r)
	sec := stagesSection(page)
	if sec == "" {
		t.Fatal("no stages section")
	}
	for _, raw := range []string{"<b>", "<i>"} {
		if strings.Contains(page, raw) {
			t.Errorf("page holds %q unescaped", raw)
		}
	}
	if !strings.Contains(sec, "&lt;b&gt;&amp;veth") || !strings.Contains(sec, "&lt;i&gt;qdisc&lt;/i&gt; cost?") {
		t.Errorf("escaped names missing from the section:\n%s", sec)
	}
	if os.Getenv("VETHBENCH_STAGES_PAGE") != "" {
		// For .ci/report-check --page: the page of stagedResult.
		if err := os.WriteFile(os.Getenv("VETHBENCH_STAGES_PAGE"), []byte(renderHTML(t, stagedResult())), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// testdata/sweep-stages.json is a real sweep with stages: examples/quick.yaml
// (veth, bridge, macvlan at 64 B, interleaved, saturated) with
// measure.stages: true, on the development VM (kernel 6.18: no read
// boundary), quiet; its stage histograms trimmed. At saturation the wait is
// in the sender stage (the send call's batch), and the bridge's is longer.
func TestStagesRealSweep(t *testing.T) {
	r, err := result.ReadFile("testdata/sweep-stages.json")
	if err != nil {
		t.Fatal(err)
	}
	page := renderHTML(t, r)
	for _, want := range []string{"Where the time goes", "no read boundary on this kernel",
		"<strong>bridge</strong>: the <strong>sender stage rose</strong> from", "<strong>macvlan-bridge</strong>: no stage changed beyond its interval"} {
		if !strings.Contains(page, want) {
			t.Errorf("the real sweep's page lacks %q", want)
		}
	}
}

// The sweep's closing summary says which stage each case changed, as the
// report does, and says nothing of stages for a result without them.
func TestStagesSummary(t *testing.T) {
	r, err := result.ReadFile("testdata/sweep-stages.json")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteSummary(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Logf("\n%s", out)
	for _, want := range []string{"\nWhere the time goes: ", "\n  bridge: the sender stage rose from ", "\n  macvlan-bridge: no stage changed beyond its interval against veth."} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	plain, err := result.ReadFile("testdata/sweep-interleaved.json")
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := WriteSummary(&b, plain); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "Where the time goes") {
		t.Errorf("a result without stages has a stages part:\n%s", b.String())
	}
}

func TestPctOf(t *testing.T) {
	for v, want := range map[float64]string{0: "0%", 7.6e-5: "<0.1%", 0.0005: "0.1%", 0.033: "3.3%", 0.5: "50%"} {
		if got := pctOf(v); got != want {
			t.Errorf("pctOf(%g) = %q, want %q", v, got, want)
		}
	}
}

// A read the receiver marked is said, and cases whose reads were marked
// by different hands do not share one line of boundaries.
func TestStagesReadBy(t *testing.T) {
	all := []string{"send", "queue", "xmit", "ingress", "read"}
	recv := &caseStages{Boundaries: all, ReadBy: "receiver"}
	kern := &caseStages{Boundaries: all, ReadBy: "kernel"}
	if got := recv.boundaryText(); !strings.Contains(got, "the read is the receiver's, when its recvmmsg returned") {
		t.Errorf("receiver's read: %q", got)
	}
	if got := kern.boundaryText(); strings.Contains(got, "receiver") || strings.Contains(got, noReadText) {
		t.Errorf("kernel's read: %q", got)
	}
	if sameBoundaries([]*caseStages{recv, kern}) {
		t.Error("a receiver's read and a kernel's taken for the same boundaries")
	}
}

// testdata/sweep-stages-shape.json is examples/stages.yaml run on the
// development VM (kernel 6.18, so the receiver marks the read), quiet, its
// stage histograms trimmed: a knob that moves the wait into the qdisc
// stage (shape_mbit=20), one that leaves it in the sender's (shape_mbit=50)
// and one that changes nothing that matters (qdisc=pfifo_fast). The page,
// the Markdown and the sweep's summary say which stage each changed.
func TestStagesRealShapeSweep(t *testing.T) {
	r, err := result.ReadFile("testdata/sweep-stages-shape.json")
	if err != nil {
		t.Fatal(err)
	}
	page := renderHTML(t, r)
	for _, want := range []string{"Where the time goes", "the read is the receiver&#39;s, when its recvmmsg returned",
		"<strong>veth/shape_mbit=20</strong>: the <strong>qdisc stage rose</strong> from",
		"<strong>veth/shape_mbit=50</strong>: the <strong>sender stage rose</strong> from"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	var sum strings.Builder
	if err := WriteSummary(&sum, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sum.String(), "\n  veth/shape_mbit=20: the qdisc stage rose from ") {
		t.Errorf("the summary lacks the qdisc stage's rise:\n%s", sum.String())
	}
	for _, c := range r.Cases {
		for _, tr := range c.Trials {
			if st := tr.Stages; st == nil || st.ReadBy != "receiver" || st.ReadUnmatched != 0 {
				t.Fatalf("%s trial %d: stages %+v: want the receiver's read, nothing unmatched", c.Name, tr.Index+1, st)
			}
		}
	}
}
