package reports

// The Markdown report's largest differences: every case against its
// question's baseline, largest change first.

import (
	"fmt"
	"math"
	"strings"

	"github.com/vethbench/vethbench/internal/stats"
)

// MaxMarkdownEffects is how many of the largest differences WriteMarkdown
// lists.
const MaxMarkdownEffects = 5

// writeEffects writes the section of the largest differences: each case
// against its question's baseline, with its interval, its q-value (the
// Mann-Whitney p adjusted across the question) and its verdict.
func writeEffects(b *strings.Builder, a *analysis) {
	b.WriteString("\n### Largest differences\n\n")
	effs := a.effects()
	if len(effs) == 0 {
		b.WriteString("Nothing to compare.\n")
		return
	}
	rule := a.rule()
	trials, paired := false, false
	for _, e := range effs {
		paired = paired || e.g.Paired != nil
		trials = trials || e.g.Paired == nil
	}
	switch {
	case !paired:
		fmt.Fprintf(b, "Each case against its question's baseline, the largest changes first; q is the Mann-Whitney p-value adjusted (Benjamini-Hochberg) across the question.\n\n")
	case !trials:
		fmt.Fprintf(b, "Each case's pps against its question's baseline, block by block (the paired ratios above), the largest changes first; q is the p-value of the blocks' log-ratios adjusted (Benjamini-Hochberg) across the question.\n\n")
	default:
		fmt.Fprintf(b, "Each case's pps against its question's baseline, the largest changes first: block by block (the paired ratios above) in interleaved questions, else by the trials' medians; q is the p-value adjusted (Benjamini-Hochberg) across the question: of the blocks' log-ratios, or of the trials' Mann-Whitney test.\n\n")
	}
	fmt.Fprintf(b, "| Q | case vs baseline | ratio | %s CI | q | verdict |\n|---|---|--:|---|--:|---|\n", pct(1-rule.Alpha))
	measured := 0
	for _, e := range effs {
		if v := e.c.headline().Verdict; v == stats.Improvement || v == stats.Regression {
			measured++
		}
	}
	for i, e := range effs {
		if i == MaxMarkdownEffects {
			fmt.Fprintf(b, "\n…and %d smaller differences.\n", len(effs)-i)
			break
		}
		vs := e.c.headline()
		verdict := verdictWords(vs.Verdict)
		ratio, ci := fmtRatio(vs.Ratio.Ratio), fmtRange(vs.Ratio.Lo, vs.Ratio.Hi)
		if vs.Paired {
			verdict = pairedWords(vs.Verdict, false)
			ratio, ci = fmtPaired(vs.Ratio)
			ci = strings.TrimPrefix(ci, pct(vs.Ratio.Level)+" CI ")
			if ci == "" {
				ci = "–"
			}
			if math.IsNaN(vs.Ratio.Ratio) {
				ratio = "–"
			}
		}
		if vs.Verdict == stats.Improvement || vs.Verdict == stats.Regression {
			verdict = "**" + verdict + "**"
		}
		fmt.Fprintf(b, "| Q%d | %s | %s | %s | %s | %s |\n", e.Q, mdEscape(effectWhat(e)), ratio, ci, fmtP(vs.Q), verdict)
	}
	if measured == 0 {
		fmt.Fprintf(b, "\nNo case is measurably faster or slower than its baseline: none has q < %.3g with its whole interval beyond ±%s.\n",
			rule.Alpha, pct(rule.Threshold))
	}
}
