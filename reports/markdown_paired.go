package reports

// The Markdown report's paired ratios: for each interleaved question, how
// it was measured and a table of every case's ratios of pps and of CPU
// per packet to its context's baseline, as in the HTML report.

import (
	"fmt"
	"strings"
)

// writePaired writes the section of paired ratios; nothing when no
// question was measured in interleaved blocks.
func writePaired(b *strings.Builder, a *analysis) {
	head := false
	for i, g := range a.Groups {
		if g.Paired == nil || g.Compare == "" {
			continue
		}
		if !head {
			b.WriteString("\n### Paired ratios\n")
			head = true
		}
		base := valueLabel(g.Compare, g.BaseValue)
		fmt.Fprintf(b, "\n**Q%d** against %s. %s\n\n", i+1, mdEscape(base), mdEscape(pairedMethodText(g, a.pairedRule())))
		rows := 0
		var t strings.Builder
		fmt.Fprintf(&t, "| case | pps ratio [%s CI] | CPU/pkt ratio [%s CI] | blocks | q pps, CPU | verdict |\n|---|--:|--:|--:|--:|---|\n",
			pct(a.level), pct(a.level))
		for _, f := range g.Findings {
			for _, c := range f.compared() {
				pv := c.Pair
				what := valueLabel(g.Compare, c.Value)
				if len(g.Context) > 0 {
					what += " " + g.contextPhrase(f.Context)
				}
				verdict := mdEscape(pairedVerdictText(pv))
				if pv.PPS.effect() || pv.CPU.effect() {
					verdict = "**" + verdict + "**"
				}
				fmt.Fprintf(&t, "| %s | %s | %s | %d | %s, %s | %s |\n", mdEscape(what),
					mdEscape(pairedRatioText(pv.PPS)), mdEscape(pairedRatioText(pv.CPU)),
					max(pv.PPS.Blocks, pv.CPU.Blocks), fmtP(pv.PPS.Q), fmtP(pv.CPU.Q), verdict)
				rows++
			}
		}
		if rows == 0 {
			b.WriteString("No case was compared with its baseline: see the answer.\n")
			continue
		}
		b.WriteString(t.String())
	}
}
