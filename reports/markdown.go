package reports

import (
	"fmt"
	"io"
	"strings"

	"github.com/vethbench/vethbench/reports/result"
)

// WriteMarkdown writes the summary a CI job posts: the title and context,
// each question's answer in one sentence, the paired ratios of the
// questions measured in interleaved blocks, the caveats (precision not
// reached, socket overflows, generator-bound cases, rr requests lost or
// late), the largest differences, where the time goes (when some case
// has stages), and the flagged cases (not run, a knob
// refused or changed, accounting not closed, rr requests lost or late)
// with their reasons. The HTML report has every warning of every case.
func WriteMarkdown(w io.Writer, r *result.Result) error {
	a := analyze(r)
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", mdEscape(reportTitle(r)))
	fmt.Fprintf(&b, "%s\n\n", mdEscape(strings.Join(subtitle(r), " · ")))
	if r.Interrupted {
		b.WriteString("> **Interrupted:** the cases below finished; the others did not run.\n\n")
	}
	b.WriteString("### Answers\n\n")
	for i, g := range a.Groups {
		fmt.Fprintf(&b, "%d. **%s**  \n   %s\n", i+1, mdEscape(questionText(g)), answer(g).Markdown())
	}
	writePaired(&b, a)
	var caveats []string
	for _, c := range a.Caveats.Result {
		// The flagged cases below name the other kinds' cases.
		switch c.Kind {
		case caveatPrecision, caveatOverflow, caveatGeneratorBound, caveatRoundTrips:
			t := caveatText(c)
			caveats = append(caveats, strings.ToUpper(t[:1])+t[1:]+".")
		}
	}
	if len(caveats) > 0 {
		b.WriteString("\n### Caveats\n\n")
		for _, c := range caveats {
			fmt.Fprintf(&b, "- %s\n", mdEscape(c))
		}
	}
	writeEffects(&b, a)
	writeStagesMarkdown(&b, a)
	b.WriteString("\n### Flagged cases\n\n")
	n := 0
	for i := range a.Caveats.Cases {
		cc := &a.Caveats.Cases[i]
		rs := flagTexts(cc)
		if len(rs) == 0 {
			continue
		}
		n++
		fmt.Fprintf(&b, "- `%s`: %s\n", cc.Case.Name, mdEscape(strings.Join(rs, "; ")))
	}
	if n == 0 {
		b.WriteString("None: every case ran, every knob took its value, every trial's accounting closed and no rr request was lost or late.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Markdown is the sentence with **emphasis**.
func (s sentence) Markdown() string {
	var b strings.Builder
	for _, f := range s {
		if f.Strong {
			b.WriteString("**" + mdEscape(f.Text) + "**")
		} else {
			b.WriteString(mdEscape(f.Text))
		}
	}
	return b.String()
}

// fmtP formats a p-value: four decimals, "<0.0001" below, "–" for none.
func fmtP(p float64) string {
	switch {
	case p != p: // NaN
		return "–"
	case p < 0.0001:
		return "<0.0001"
	}
	return fmt.Sprintf("%.4f", p)
}

var mdReplacer = strings.NewReplacer(`\`, `\\`, "*", `\*`, "|", `\|`, "`", "\\`", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`)

// mdEscape makes text literal in Markdown (GitHub's dialect).
func mdEscape(s string) string { return mdReplacer.Replace(s) }
