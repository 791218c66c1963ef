package reports

// The in-run ratios of a comparison (compare.Report.InRun): each case of an
// interleaved question over its baseline in the same blocks, NEW's ratio
// against BASE's. Built only when the report has them; the data and their
// words come from package reports/compare.

import (
	"fmt"

	"github.com/vethbench/vethbench/reports/compare"
)

type inRunRow struct {
	Verdict, Class, Question, Case, Baseline, Base, New, Ratio, Change, Q, Blocks, Note string
}

type inRunView struct {
	Lead   string
	Note   string
	Rows   []inRunRow
	Method []string
}

func buildInRun(rep *compare.Report) inRunView {
	ir := rep.InRun
	v := inRunView{Note: ir.Note}
	v.Lead = fmt.Sprintf("%s of each case over its question's baseline, from the same blocks of one run; new / base is the new run's ratio over the base run's, which a host faster or slower in one run does not move. %s, %s, %d no change, %d inconclusive, %d not compared.",
		ir.Metric, plural(ir.Regressions, "regression", "regressions"), plural(ir.Improvements, "improvement", "improvements"),
		ir.NoChange, ir.Inconclusive, ir.NotCompared)
	paired := func(p *compare.PairedRatio) string {
		if p == nil {
			return "—"
		}
		return fmt.Sprintf("%.3f [%.3f, %.3f]", p.Ratio, p.Lo, p.Hi)
	}
	for _, c := range ir.Cases {
		r := inRunRow{Question: c.Question, Case: c.Case, Baseline: c.Baseline,
			Base: paired(c.Base), New: paired(c.New), Ratio: "—", Change: "—", Q: "—", Blocks: "—", Note: c.Note}
		r.Verdict, r.Class = verdictLook(c.Verdict)
		if c.Ratio != nil {
			r.Ratio = fmt.Sprintf("%.3f [%.3f, %.3f]", c.Ratio.Ratio, c.Ratio.Lo, c.Ratio.Hi)
			r.Change = fmt.Sprintf("%+.1f%%", 100*(c.Ratio.Ratio-1))
		}
		if c.Test != nil && c.Test.InFamily {
			r.Q = qValue(c.Test.Q)
		}
		if c.Base != nil && c.New != nil {
			r.Blocks = fmt.Sprintf("%d / %d", c.Base.Blocks, c.New.Blocks)
		}
		v.Rows = append(v.Rows, r)
	}
	me := ir.Method
	if me.Family > 0 {
		v.Method = append(v.Method, fmt.Sprintf("Each run's ratio: %s. New / base: %s, %s interval; Benjamini-Hochberg over these %d ratios (q), alpha %g; threshold ±%s.",
			me.Ratio, me.Interval, levelText(me.Level), me.Family, me.Alpha, pctText(me.Threshold)))
	}
	fails := map[string]string{
		compare.FailBoth:     "A regression of an in-run ratio fails the comparison (exit code 1), as one of an absolute figure does.",
		compare.FailInRun:    "Only a regression of an in-run ratio fails the comparison (exit code 1): --fail-on in-run.",
		compare.FailAbsolute: "A regression of an in-run ratio does not fail the comparison: --fail-on absolute.",
	}
	if s, ok := fails[rep.Method.FailOn]; ok {
		v.Method = append(v.Method, s)
	}
	return v
}
