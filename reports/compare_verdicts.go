package reports

// The verdicts of a comparison, case by case, with the method.

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/compare"
)

type verdictRow struct {
	Verdict, Class, Name, Base, New, Ratio, Change, Q, Trials, Note string
}

type verdictsView struct {
	Headline string
	Counts   []string
	Warnings []string
	Rows     []verdictRow
	Method   []string
}

func buildVerdicts(rep *compare.Report) verdictsView {
	s := rep.Summary
	v := verdictsView{Headline: s.Headline, Warnings: rep.Warnings}
	if v.Headline == "" {
		v.Headline = fmt.Sprintf("%d regressions, %d improvements of %d cases", s.Regressions, s.Improvements, s.Cases)
	}
	if v.Headline == s.Headline && s.Headline != "" {
		v.Counts = nil // the headline has the counts
	} else {
		v.Counts = []string{fmt.Sprintf("%d not compared, of %d cases.", s.NotCompared, s.Cases)}
	}
	if g := s.Geomean; g != nil {
		v.Counts = append(v.Counts, fmt.Sprintf("Geomean %s ratio (new/base) over %d compared cases: %.3f [%.3f, %.3f] (%s interval), %+.1f%%.",
			rep.Metric.Name, s.GeomeanCases, g.Ratio, g.Lo, g.Hi, levelText(g.Level), 100*(g.Ratio-1)))
	} else {
		v.Counts = append(v.Counts, "No geomean ratio: no case was compared.")
	}
	cases := slices.Clone(rep.Cases)
	slices.SortStableFunc(cases, func(a, b compare.Case) int {
		return cmp.Compare(compare.Severity(a.Verdict), compare.Severity(b.Verdict))
	})
	unit := rep.Metric.Unit
	for _, c := range cases {
		r := verdictRow{Name: c.Name, Base: "—", New: "—", Ratio: "—", Change: "—", Q: "—", Trials: "—", Note: c.Note}
		r.Verdict, r.Class = verdictLook(c.Verdict)
		if c.Base != nil {
			r.Base = compareValue(c.Base.Median, unit)
		}
		if c.New != nil {
			r.New = compareValue(c.New.Median, unit)
		}
		if c.Ratio != nil {
			r.Ratio = fmt.Sprintf("%.3f [%.3f, %.3f]", c.Ratio.Ratio, c.Ratio.Lo, c.Ratio.Hi)
			r.Change = fmt.Sprintf("%+.1f%%", 100*(c.Ratio.Ratio-1))
		}
		if t := c.Test; t != nil && t.InFamily {
			r.Q = qValue(t.Q)
		}
		if c.Base != nil || c.New != nil {
			n := func(s *compare.Sample) string {
				if s == nil {
					return "–"
				}
				return strconv.Itoa(s.N)
			}
			r.Trials = n(c.Base) + " / " + n(c.New)
		}
		v.Rows = append(v.Rows, r)
	}
	m, me := rep.Metric, rep.Method
	dir := "lower is better"
	if m.HigherIsBetter {
		dir = "higher is better"
	}
	v.Method = []string{
		fmt.Sprintf("Metric %s (%s, unit %s); ratio = median new / median base; trials are base / new.", m.Name, dir, m.Unit),
		fmt.Sprintf("Two-sided Mann-Whitney U per case, Benjamini-Hochberg over %d cases (q), alpha %g; %s percentile bootstrap interval of the ratio (%d resamples, seed %d); threshold ±%s.",
			me.Family, me.Alpha, levelText(me.Level), me.Resamples, me.Seed, pctText(me.Threshold)),
		"Base: " + rep.Base.Path + " · new: " + rep.New.Path,
	}
	return v
}

func qValue(q float64) string {
	switch {
	case q < 0.0001:
		return "<0.0001"
	case q >= 0.01:
		return fmt.Sprintf("%.2f", q)
	}
	return fmt.Sprintf("%.4f", q)
}

func levelText(l float64) string {
	return strconv.FormatFloat(math.Round(1000*l)/10, 'f', -1, 64) + "%"
}

func pctText(f float64) string { return strconv.FormatFloat(100*f, 'f', -1, 64) + "%" }

// compareValue formats a median of the metric's unit: times as durations,
// other values with SI suffixes.
func compareValue(v float64, unit string) string {
	switch {
	case unit == "ns/pkt" || strings.HasSuffix(unit, "-ns") || strings.HasPrefix(unit, "ns/") || unit == "ns":
		return usLabel(sigRound(v / 1e3))
	case strings.HasPrefix(unit, "sec/") || strings.HasSuffix(unit, "-sec"):
		return usLabel(sigRound(v * 1e6))
	}
	return si(v)
}

// sigRound rounds v to three significant digits.
func sigRound(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// verdictLook is how a verdict shows in the compare page's tables: its
// words and its row's class.
func verdictLook(v stats.Verdict) (words, class string) {
	switch v {
	case "":
		return "not compared", "muted"
	case stats.Regression:
		return string(v), "bad"
	case stats.Improvement:
		return string(v), "strong"
	}
	return string(v), ""
}
