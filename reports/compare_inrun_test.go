package reports

import (
	"strings"
	"testing"

	"github.com/vethbench/vethbench/reports/compare"
	"github.com/vethbench/vethbench/reports/result"
)

// Two sweeps measured interleaved: the page has a section of in-run
// ratios beside the absolute verdicts, with bridge's regression first.
func TestWriteCompareHTMLInRun(t *testing.T) {
	bi, err := compare.Load(compareData + "paired-base.json")
	if err != nil {
		t.Fatal(err)
	}
	ni, err := compare.Load(compareData + "paired-new.json")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := compare.Compare(bi, ni, compare.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	base, err := result.ReadFile(compareData + "paired-base.json")
	if err != nil {
		t.Fatal(err)
	}
	nw, err := result.ReadFile(compareData + "paired-new.json")
	if err != nil {
		t.Fatal(err)
	}
	page := renderCompare(t, rep, base, nw)
	checkCompareSelfContained(t, page)
	if i, j, k := strings.Index(page, `id="ratios"`), strings.Index(page, `id="inrun"`), strings.Index(page, `id="differs"`); i < 0 || j < i || k < j {
		t.Errorf("sections at %d (ratios), %d (in-run), %d (differs): want in-run between", i, j, k)
	}
	inrun := sectionOf(t, page, "inrun")
	for _, want := range []string{
		">In-run ratios<",
		`<td class="bad">REGRESSION</td><td>Which device costs least per packet?</td><td class="name">bridge/pkt=64 / veth/pkt=64</td>`,
		`<td class="num">0.950 [0.948, 0.952]</td><td class="num">-5.0%</td>`,
		`<td class="">NO CHANGE</td>`, "400 / 400", "1 regression, 0 improvements, 1 no change",
		"A regression of an in-run ratio fails the comparison (exit code 1)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("in-run section lacks %q:\n%s", want, inrun)
		}
	}
	if i, j := strings.Index(inrun, "REGRESSION"), strings.Index(inrun, "NO CHANGE"); i < 0 || j < i {
		t.Errorf("REGRESSION at %d, NO CHANGE at %d", i, j)
	}

	// Files without blocks: no such section.
	rep, base, nw = compareFixture(t)
	if page := renderCompare(t, rep, base, nw); strings.Contains(page, `id="inrun"`) {
		t.Error("an in-run section for files without blocks")
	}
}
