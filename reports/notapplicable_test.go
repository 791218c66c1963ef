package reports

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// zeroTrials is the fixture with every number of every trial 0 but its
// index: all-zero counters, whose ratios (0/0) have no meaning.
func zeroTrials(t *testing.T) *result.Result {
	t.Helper()
	raw, err := json.Marshal(readFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var zero func(v any)
	zero = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if _, ok := x.(float64); ok && k != "index" {
					v[k] = 0.0
				} else {
					zero(x)
				}
			}
		case []any:
			for i, x := range v {
				if _, ok := x.(float64); ok {
					v[i] = 0.0
				} else {
					zero(x)
				}
			}
		}
	}
	for _, c := range doc["cases"].([]any) {
		zero(c.(map[string]any)["trials"])
	}
	if raw, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	var r result.Result
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// A report of all-zero trials says n/a where a ratio has no meaning, never
// NaN or Inf.
func TestReportsAllZeroTrialsNoNaN(t *testing.T) {
	r := zeroTrials(t)
	for name, write := range map[string]func(*bytes.Buffer) error{
		"html":     func(b *bytes.Buffer) error { return WriteHTML(b, r) },
		"markdown": func(b *bytes.Buffer) error { return WriteMarkdown(b, r) },
		"summary":  func(b *bytes.Buffer) error { return WriteSummary(b, r) },
		"table":    func(b *bytes.Buffer) error { return WriteTable(b, r) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, bad := range []string{"NaN", "+Inf", "-Inf"} {
			if i := strings.Index(b.String(), bad); i >= 0 {
				t.Errorf("%s has %q: …%s…", name, bad, b.String()[max(0, i-80):min(b.Len(), i+40)])
			}
		}
		if name == "markdown" && !strings.Contains(b.String(), "| n/a | n/a |") {
			t.Errorf("markdown has no n/a ratio:\n%s", b.String())
		}
	}
}

// The formatters themselves: a ratio or bound that is NaN or Inf is n/a.
func TestFormatNotApplicable(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range [][2]string{
		{fmtRatio(nan), "n/a"},
		{fmtRatio(inf), "n/a"},
		{fmtRange(0, nan), "n/a"},
		{fmtCI(stats.RatioCI{Ratio: 1, Lo: nan, Hi: 1, Level: 0.95}), "no interval"},
		{summaryRatio(&result.Ratio{Ratio: nan}), "n/a"},
		{summaryInterval(&result.Ratio{Ratio: 1, Lo: inf, Hi: inf}), "n/a"},
		{fmtRatio(1.3), "1.30x"},
		{fmtRange(1, 1.5), "1.00–1.50"},
	} {
		if tc[0] != tc[1] {
			t.Errorf("got %q, want %q", tc[0], tc[1])
		}
	}
	if r, ci := fmtPaired(stats.RatioCI{Ratio: nan, Lo: nan, Hi: nan}); r != "n/a" || ci != "" {
		t.Errorf("fmtPaired(NaN) = %q, %q", r, ci)
	}
}
