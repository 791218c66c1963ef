package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/reports/compare"
	"github.com/vethbench/vethbench/reports/result"
)

const compareData = "compare/testdata/"

// compareFixture compares the synthetic files of reports/compare and reads
// them as result files too.
func compareFixture(t *testing.T) (*compare.Report, *result.Result, *result.Result) {
	t.Helper()
	bi, err := compare.Load(compareData + "base.json")
	if err != nil {
		t.Fatal(err)
	}
	ni, err := compare.Load(compareData + "new.json")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := compare.Compare(bi, ni, compare.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	base, err := result.ReadFile(compareData + "base.json")
	if err != nil {
		t.Fatal(err)
	}
	nw, err := result.ReadFile(compareData + "new.json")
	if err != nil {
		t.Fatal(err)
	}
	return rep, base, nw
}

func renderCompare(t *testing.T, rep *compare.Report, base, nw *result.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteCompareHTML(&b, rep, base, nw); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func checkCompareSelfContained(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []string{"http://", "https://", "url(", "<script", "<link"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
}

func TestWriteCompareHTML(t *testing.T) {
	rep, base, nw := compareFixture(t)
	page := renderCompare(t, rep, base, nw)
	checkCompareSelfContained(t, page)
	for _, want := range []string{
		`id="verdicts"`, ">Verdicts<", `id="ratios"`, ">Ratios<", `id="differs"`, ">What differs<",
		"<svg", `id="host-base"`, `id="host-new"`, "Geomean pps ratio",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if len(rep.Cases) == 0 {
		t.Fatal("no cases compared")
	}
	verdicts := sectionOf(t, page, "verdicts")
	for _, c := range rep.Cases {
		if !strings.Contains(verdicts, `<td class="name">`+c.Name+`</td>`) {
			t.Errorf("verdict table lacks %s", c.Name)
		}
	}
	// Regressions first.
	if i, j := strings.Index(verdicts, "REGRESSION"), strings.Index(verdicts, "NO CHANGE"); i < 0 || j < 0 || i > j {
		t.Errorf("REGRESSION at %d, NO CHANGE at %d: regressions should come first", i, j)
	}
	if !strings.Contains(verdicts, "veth/pkt=64") {
		t.Error("the regression is missing")
	}
	differs := sectionOf(t, page, "differs")
	if !strings.Contains(differs, "No differences: every knob") {
		t.Errorf("unmodified knobs should show no differences:\n%s", differs)
	}
}

// A knob changed in one case of a copy shows in "What differs".
func TestWriteCompareHTMLKnobDiff(t *testing.T) {
	rep, base, nw := compareFixture(t)
	name := "veth/pkt=64"
	set := func(r *result.Result, mtu int, gro bool, after string) {
		for i := range r.Cases {
			r.Cases[i].Knobs = map[string]result.DeviceKnobs{"sender": {Ifname: "veth0", MTU: 1500, Qdisc: "noqueue"}}
			if r.Cases[i].Name == name {
				r.Cases[i].Knobs = map[string]result.DeviceKnobs{"receiver": {
					Ifname: "veth1", MTU: mtu, Qdisc: "noqueue",
					Features: map[string]bool{"generic-receive-offload": gro},
				}}
				r.Cases[i].Settings = []result.Setting{{Knob: "gro", Target: "receiver", After: after, Status: "ok"}}
			}
		}
	}
	set(base, 1500, false, "off")
	set(nw, 9000, true, "on")
	nw.HostKnobs = map[string]string{"net.core.rmem_max": "4194304"}
	page := renderCompare(t, rep, base, nw)
	checkCompareSelfContained(t, page)
	differs := sectionOf(t, page, "differs")
	for _, want := range []string{
		"<td class=\"key\">mtu</td><td>receiver</td><td>1500</td><td>9000</td>",
		"<td class=\"key\">features.generic-receive-offload</td><td>receiver</td><td>false</td><td>true</td>",
		"<td class=\"key\">gro (setting)</td><td>receiver</td><td>off</td><td>on</td>",
		"<td class=\"key\">net.core.rmem_max</td><td>host</td><td>—</td><td>4194304</td>",
	} {
		if !strings.Contains(differs, want) {
			t.Errorf("what differs lacks %q:\n%s", want, differs)
		}
	}
	if strings.Contains(differs, "No differences: every knob") || strings.Contains(differs, ">sender<") {
		t.Errorf("only the changed knobs should be listed:\n%s", differs)
	}
}

// Go benchmark inputs have no result files: no host sections, no knobs.
func TestWriteCompareHTMLBenchfmt(t *testing.T) {
	bi, err := compare.Load(compareData + "base.txt")
	if err != nil {
		t.Fatal(err)
	}
	ni, err := compare.Load(compareData + "new.txt")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := compare.Compare(bi, ni, compare.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	page := renderCompare(t, rep, nil, nil)
	checkCompareSelfContained(t, page)
	if strings.Contains(page, `id="host-base"`) || !strings.Contains(page, "Go benchmark format") || !strings.Contains(page, "<svg") {
		t.Errorf("benchfmt page:\n%s", page)
	}
}

// sectionOf returns the HTML from the section with the id to the next
// section.
func sectionOf(t *testing.T, page, id string) string {
	t.Helper()
	_, rest, ok := strings.Cut(page, `id="`+id+`"`)
	if !ok {
		t.Fatalf("no section %q", id)
	}
	if i := strings.Index(rest, "<section"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}
