package reports

// The Markdown report's largest differences: every case against its
// question's baseline, largest change first.

import (
	"fmt"
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
	fmt.Fprintf(b, "Each case against its question's baseline, the largest changes first; q is the Mann-Whitney p-value adjusted (Benjamini-Hochberg) across the question.\n\n")
	fmt.Fprintf(b, "| Q | case vs baseline | ratio | %s CI | q | verdict |\n|---|---|--:|---|--:|---|\n", pct(1-rule.Alpha))
	measured := 0
	for _, e := range effs {
		if v := e.c.Vs.Verdict; v == stats.Improvement || v == stats.Regression {
			measured++
		}
	}
	for i, e := range effs {
		if i == MaxMarkdownEffects {
			fmt.Fprintf(b, "\n…and %d smaller differences.\n", len(effs)-i)
			break
		}
		vs := e.c.Vs
		verdict := verdictWords(vs.Verdict)
		if vs.Verdict == stats.Improvement || vs.Verdict == stats.Regression {
			verdict = "**" + verdict + "**"
		}
		fmt.Fprintf(b, "| Q%d | %s | %s | %.2f–%.2f | %s | %s |\n", e.Q, mdEscape(effectWhat(e)),
			fmtRatio(vs.Ratio.Ratio), vs.Ratio.Lo, vs.Ratio.Hi, fmtP(vs.Q), verdict)
	}
	if measured == 0 {
		fmt.Fprintf(b, "\nNo case is measurably faster or slower than its baseline: none has q < %.3g with its whole interval beyond ±%s.\n",
			rule.Alpha, pct(rule.Threshold))
	}
}
