package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/reports/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixture is a result of the default sweep on the project's 2-vCPU test
// machine (ipvlan unsupported there).
const fixture = "testdata/sweep.json"

func readFixture(t *testing.T) *result.Result {
	t.Helper()
	r, err := result.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func renderHTML(t *testing.T, r *result.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// checkSelfContained fails if the page could fetch anything.
func checkSelfContained(t *testing.T, page string) {
	t.Helper()
	lower := strings.ToLower(page)
	for _, bad := range []string{"http://", "https://", "url(", "<script", "<link", "<iframe", "<img", "<image", "@import", "src="} {
		if i := strings.Index(lower, bad); i >= 0 {
			t.Errorf("page holds %q: ...%s...", bad, page[max(0, i-80):min(len(page), i+80)])
		}
	}
	for _, svg := range regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(page, -1) {
		for _, f := range regexp.MustCompile(`font-family:[^;"]*`).FindAllString(svg, -1) {
			if f != "font-family:sans-serif" {
				t.Errorf("SVG names a font other than the generic sans-serif: %q", f)
				return
			}
		}
	}
}

func TestHTMLSections(t *testing.T) {
	r := readFixture(t)
	page := renderHTML(t, r)
	checkSelfContained(t, page)
	for _, id := range []string{"answers", "devices", "knobs", "latency", "flagged", "drops", "cases", "host", "spec"} {
		if !strings.Contains(page, `<section id="`+id+`">`) {
			t.Errorf("page lacks section %q", id)
		}
	}
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Error("page is not a complete HTML document")
	}
	// The first screen compares every device with the baseline, veth.
	answers := page[strings.Index(page, `<section id="answers">`):strings.Index(page, `<section id="devices">`)]
	if !regexp.MustCompile(`Against <strong>veth</strong>: at 64 B, macvlan is [0-9.]+x \(95% CI [0-9.]+–[0-9.]+, [a-z ]+\), bridge is [0-9.]+x \(95% CI [0-9.]+–[0-9.]+, <strong>slower</strong>\)`).MatchString(answers) {
		t.Errorf("answers do not compare the devices with veth:\n%s", answers)
	}
	// The device table: each case's ratio to the baseline and its verdict.
	if !strings.Contains(page, "<th>vs veth</th><th>verdict</th>") || !strings.Contains(page, `<td class="strong">slower</td>`) {
		t.Error("the device table lacks the ratio to veth and the verdict")
	}
	if !strings.Contains(answers, "ipvlan: unsupported on this kernel (kernel has no ipvlan support)") {
		t.Errorf("answers do not say ipvlan is unsupported:\n%s", answers)
	}
	// Every case is in the table of every case, and every question answered.
	cases := page[strings.Index(page, `<section id="cases">`):strings.Index(page, `<section id="host">`)]
	for _, c := range r.Cases {
		if !strings.Contains(cases, `<td class="name">`+strings.ReplaceAll(c.Name, "/", "/<wbr>")+`</td>`) {
			t.Errorf("case table lacks %s", c.Name)
		}
		for _, q := range c.Questions {
			if !strings.Contains(answers, escape(q)) {
				t.Errorf("answers lack question %q", q)
			}
		}
	}
	if n := strings.Count(page, `<svg viewBox=`); n < 6 {
		t.Errorf("%d charts, want at least 6 (devices, knobs, latency)", n)
	}
	if !strings.Contains(page, `<div class="heat">`) {
		t.Error("no heatmap for the two-knob sweep (qdisc x txqueuelen)")
	}
	if !strings.Contains(page, `<pre class="spec">`) {
		t.Error("spec not shown")
	}
}

func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\'':
			b.WriteString("&#39;")
		case '"':
			b.WriteString("&#34;")
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestHTMLEdgeCases renders results with nothing to compare, nothing
// measured, and an interrupted run.
func TestHTMLEdgeCases(t *testing.T) {
	single := synthResult(synthCase("veth/pkt=64", 300000))
	empty := synthResult()
	unsupported := synthResult(result.Case{Name: "ipvlan-l2/pkt=64", Status: result.StatusUnsupported, Error: "kernel has no ipvlan support"})
	interrupted := synthResult(synthCase("veth/pkt=64", 300000, "q"), synthCase("veth/pkt=1400", 200000, "q"))
	interrupted.Interrupted = true
	for name, r := range map[string]*result.Result{"single": single, "empty": empty, "unsupported": unsupported, "interrupted": interrupted} {
		t.Run(name, func(t *testing.T) {
			page := renderHTML(t, r)
			checkSelfContained(t, page)
			if !strings.Contains(page, `<section id="cases">`) {
				t.Error("no case table")
			}
		})
	}
}

// TestRenderFixture writes the fixture's HTML report to the file named by
// $VETHBENCH_REPORT_OUT (for .ci/report-check when the binary has no report
// command); without it, it only renders.
func TestRenderFixture(t *testing.T) {
	page := renderHTML(t, readFixture(t))
	out := os.Getenv("VETHBENCH_REPORT_OUT")
	if out == "" {
		return
	}
	if !filepath.IsAbs(out) {
		t.Fatalf("VETHBENCH_REPORT_OUT=%q: want an absolute path", out)
	}
	if err := os.WriteFile(out, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRenderCompareHTML(t *testing.T) {
	r := readFixture(t)
	var b bytes.Buffer
	err := RenderCompareHTML(&b, r, r, []Section{{ID: "verdicts", Title: "Verdicts", Body: "<p>NO CHANGE</p>"}})
	if err != nil {
		t.Fatal(err)
	}
	page := b.String()
	checkSelfContained(t, page)
	for _, want := range []string{`<section id="verdicts">`, "<p>NO CHANGE</p>", `<section id="host-base">`, `<section id="host-new">`} {
		if !strings.Contains(page, want) {
			t.Errorf("compare page lacks %q", want)
		}
	}
	b.Reset()
	if err := RenderCompareHTML(&b, nil, nil, nil); err != nil {
		t.Fatalf("without result files: %v", err)
	}
	checkSelfContained(t, b.String())
}
