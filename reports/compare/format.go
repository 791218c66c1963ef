package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vethbench/vethbench/internal/field"
	"github.com/vethbench/vethbench/internal/stats"
)

// Output formats.
const (
	Text     = "text"
	Markdown = "markdown"
	JSON     = "json"
)

// Formats lists the output formats.
var Formats = []string{Text, Markdown, JSON}

// Write writes the report in format (Text, Markdown or JSON).
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case Text:
		return r.WriteText(w)
	case Markdown:
		return r.WriteMarkdown(w)
	case JSON:
		return r.WriteJSON(w)
	}
	return field.Errorf(ErrInput, "format", "unknown format %q (%s)", format, strings.Join(Formats, ", "))
}

// WriteJSON writes the report as indented JSON (see the package
// documentation for its fields).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// headline is the one-line summary: "1 regression, 2 improvements, 20 no
// change, 1 inconclusive of 24 cases; geomean pps ratio 0.98 [0.96, 1.00]".
func headline(r *Report) string {
	s := r.Summary
	parts := []string{
		plural(s.Regressions, "regression", "regressions"),
		plural(s.Improvements, "improvement", "improvements"),
		fmt.Sprintf("%d no change", s.NoChange),
		fmt.Sprintf("%d inconclusive", s.Inconclusive),
	}
	if s.TooFewTrials > 0 {
		parts = append(parts, fmt.Sprintf("%d too few trials", s.TooFewTrials))
	}
	if s.NotCompared > 0 {
		parts = append(parts, fmt.Sprintf("%d not compared", s.NotCompared))
	}
	h := strings.Join(parts, ", ") + " of " + plural(s.Cases, "case", "cases")
	if g := s.Geomean; g != nil {
		h += fmt.Sprintf("; geomean %s ratio %.2f [%.2f, %.2f]", r.Metric.Name, g.Ratio, g.Lo, g.Hi)
	} else {
		h += "; no case to compare"
	}
	if r.InRun != nil && len(r.InRun.Cases) > 0 {
		h += "; " + inRunHeadline(r.InRun)
	}
	return h
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// WriteMarkdown writes the report as GitHub-flavoured Markdown, what a CI
// job posts as its summary: the headline, warnings, the verdict table
// sorted by severity, the cases not compared, the largest changes and how
// the verdicts were reached.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString(r.Summary.Headline + "\n\n")
	for _, warn := range r.Warnings {
		fmt.Fprintf(&b, "> **Warning:** %s\n\n", mdEscape(warn))
	}
	m := r.Metric
	compared, others := r.split()
	if r.InRun != nil && len(compared) > 0 {
		fmt.Fprintf(&b, "Absolute figures (%s of each case, NEW against BASE):\n\n", mdEscape(m.Name))
	}
	if len(compared) > 0 {
		fmt.Fprintf(&b, "| verdict | case | BASE %s | NEW %s | ratio | %s CI | change | q | %s | note |\n",
			mdEscape(m.Name), mdEscape(m.Name), pctLevel(r.Method.Level), r.samplesHeader())
		b.WriteString("|---|---|--:|--:|--:|---|--:|--:|--:|---|\n")
		for _, c := range compared {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				mdVerdict(c.Verdict), mdCode(c.Name),
				formatValue(c.Base.Median, m.Unit), formatValue(c.New.Median, m.Unit),
				ratioText(c.Ratio), ciText(c.Ratio), changeText(c.Ratio), qText(c.Test),
				r.samplesText(c), mdEscape(c.Note))
		}
		b.WriteString("\n")
	}
	if len(others) > 0 {
		b.WriteString("Not compared:\n\n")
		for _, c := range others {
			fmt.Fprintf(&b, "- %s: %s\n", mdCode(c.Name), mdEscape(c.Note))
		}
		b.WriteString("\n")
	}
	if big := r.largest(5); len(big) > 0 {
		b.WriteString("Largest changes:\n\n")
		for _, c := range big {
			fmt.Fprintf(&b, "- %s: %s %s, %s → %s (%s)\n", mdCode(c.Name), mdEscape(m.Name), changeText(c.Ratio),
				formatValue(c.Base.Median, m.Unit), formatValue(c.New.Median, m.Unit), c.Verdict)
		}
		b.WriteString("\n")
	}
	if ir := r.InRun; ir != nil {
		t := inRunTitle(ir)
		b.WriteString(mdEscape(strings.ToUpper(t[:1])+t[1:]) + ":\n\n")
		if ir.Note != "" {
			b.WriteString(mdEscape(ir.Note) + "\n\n")
		}
		done, notDone := ir.split()
		if len(done) > 0 {
			fmt.Fprintf(&b, "| verdict | question | case / baseline | BASE ratio | NEW ratio | NEW/BASE | %s CI | change | q | blocks | note |\n",
				pctLevel(ir.Method.Level))
			b.WriteString("|---|---|---|--:|--:|--:|---|--:|--:|--:|---|\n")
			for _, c := range done {
				fmt.Fprintf(&b, "| %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %d/%d | %s |\n",
					mdVerdict(c.Verdict), mdEscape(c.Question), mdCode(c.Case), mdCode(c.Baseline),
					pairedText(c.Base), pairedText(c.New), ratioText(c.Ratio), ciText(c.Ratio), changeText(c.Ratio),
					inRunQText(c.Test), c.Base.Blocks, c.New.Blocks, mdEscape(c.Note))
			}
			b.WriteString("\n")
		}
		if len(notDone) > 0 {
			b.WriteString("In-run ratios not compared:\n\n")
			for _, c := range notDone {
				fmt.Fprintf(&b, "- %s (%s): %s\n", mdCode(c.Case), mdEscape(c.Question), mdEscape(c.Note))
			}
			b.WriteString("\n")
		}
	}
	for _, line := range r.methodLines() {
		b.WriteString(mdEscape(line) + "  \n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText writes the report as plain text: the headline, warnings, an
// aligned table of the compared cases and a line per case not compared.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	b.WriteString(r.Summary.Headline + "\n")
	for _, warn := range r.Warnings {
		fmt.Fprintf(&b, "WARNING: %s\n", warn)
	}
	m := r.Metric
	compared, others := r.split()
	if len(compared) > 0 {
		b.WriteString("\n")
		if r.InRun != nil {
			fmt.Fprintf(&b, "absolute figures (%s of each case, NEW against BASE):\n", m.Name)
		}
		var t strings.Builder
		tw := tabwriter.NewWriter(&t, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "verdict\tcase\tBASE %s\tNEW %s\tratio\t%s CI\tchange\tq\t%s\tnote\n",
			m.Name, m.Name, pctLevel(r.Method.Level), r.samplesHeader())
		for _, c := range compared {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				c.Verdict, c.Name, formatValue(c.Base.Median, m.Unit), formatValue(c.New.Median, m.Unit),
				ratioText(c.Ratio), ciText(c.Ratio), changeText(c.Ratio), qText(c.Test), r.samplesText(c), c.Note)
		}
		writeTable(&b, tw, &t)
	}
	if len(others) > 0 {
		b.WriteString("\nnot compared:\n")
		for _, c := range others {
			fmt.Fprintf(&b, "  %s: %s\n", c.Name, c.Note)
		}
	}
	if ir := r.InRun; ir != nil {
		b.WriteString("\n" + inRunTitle(ir) + ":\n")
		if ir.Note != "" {
			b.WriteString("  " + ir.Note + "\n")
		}
		done, notDone := ir.split()
		if len(done) > 0 {
			var t strings.Builder
			tw := tabwriter.NewWriter(&t, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "verdict\tquestion\tcase / baseline\tBASE ratio\tNEW ratio\tNEW/BASE\t%s CI\tchange\tq\tblocks\tnote\n",
				pctLevel(ir.Method.Level))
			for _, c := range done {
				fmt.Fprintf(tw, "%s\t%s\t%s / %s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n",
					c.Verdict, c.Question, c.Case, c.Baseline, pairedText(c.Base), pairedText(c.New),
					ratioText(c.Ratio), ciText(c.Ratio), changeText(c.Ratio), inRunQText(c.Test),
					c.Base.Blocks, c.New.Blocks, c.Note)
			}
			writeTable(&b, tw, &t)
		}
		if len(notDone) > 0 {
			b.WriteString("in-run ratios not compared:\n")
			for _, c := range notDone {
				fmt.Fprintf(&b, "  %s (%s): %s\n", c.Case, c.Question, c.Note)
			}
		}
	}
	b.WriteString("\n")
	for _, line := range r.methodLines() {
		b.WriteString(line + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTable flushes tw, which writes to t, into b without trailing blanks.
func writeTable(b *strings.Builder, tw *tabwriter.Writer, t *strings.Builder) {
	tw.Flush()
	for line := range strings.Lines(t.String()) {
		b.WriteString(strings.TrimRight(line, " \n") + "\n")
	}
}

// samplesHeader is the title of the column of sample sizes: "trials" as
// always, "samples" when some case was compared on blocks.
func (r *Report) samplesHeader() string {
	if r.Method.Blocks != nil {
		return "samples"
	}
	return "trials"
}

// samplesText is a case's sample sizes, BASE/NEW, and their unit when
// some case was compared on blocks.
func (r *Report) samplesText(c Case) string {
	s := fmt.Sprintf("%d/%d", c.Base.N, c.New.N)
	switch {
	case c.Samples == SamplesBlocks:
		s += " blocks"
	case r.Method.Blocks != nil:
		s += " trials"
	}
	return s
}

// inRunTitle heads the in-run section.
func inRunTitle(ir *InRun) string {
	return "in-run ratios (" + ir.Metric + " of each case over its question's baseline in the same blocks of one run; " +
		"NEW/BASE is NEW's ratio over BASE's, which a host faster or slower in one run does not move)"
}

// split separates the in-run cases with a verdict from the others.
func (ir *InRun) split() (compared, others []InRunCase) {
	for _, c := range ir.Cases {
		if c.Verdict != "" && c.Ratio != nil && c.Base != nil && c.New != nil && c.Test != nil {
			compared = append(compared, c)
		} else {
			others = append(others, c)
		}
	}
	return compared, others
}

// pairedText is one run's ratio with its interval: "0.667 [0.665, 0.669]".
func pairedText(p *PairedRatio) string {
	return fmt.Sprintf("%.3f [%.3f, %.3f]", p.Ratio, p.Lo, p.Hi)
}

func inRunQText(t *InRunTest) string {
	if t == nil || !t.InFamily {
		return "-"
	}
	return qText(&Test{Q: t.Q, InFamily: true})
}

// split separates the cases with a verdict from the others, keeping the
// severity order.
func (r *Report) split() (compared, others []Case) {
	for _, c := range r.Cases {
		if c.Verdict != "" && c.Ratio != nil && c.Base != nil && c.New != nil {
			compared = append(compared, c)
		} else {
			others = append(others, c)
		}
	}
	return compared, others
}

// largest returns up to n compared cases with the largest changes, leaving
// out those that are NO CHANGE.
func (r *Report) largest(n int) []Case {
	c, _ := r.split()
	c = slices.DeleteFunc(c, func(c Case) bool { return magnitude(c) == 0 || c.Verdict == stats.NoChange })
	slices.SortStableFunc(c, func(a, b Case) int {
		if d := magnitude(b) - magnitude(a); d != 0 {
			return int(math.Copysign(1, d))
		}
		return strings.Compare(a.Name, b.Name)
	})
	if len(c) > n {
		c = c[:n]
	}
	return c
}

// methodLines say what was compared and how.
func (r *Report) methodLines() []string {
	m, me := r.Metric, r.Method
	dir := "lower is better"
	if m.HigherIsBetter {
		dir = "higher is better"
	}
	unit := ""
	if m.Unit != m.Name {
		unit = ", unit " + m.Unit
	}
	lines := []string{fmt.Sprintf("Metric %s (%s%s); ratio = median NEW / median BASE.", m.Name, dir, unit)}
	if bm := me.Blocks; bm == nil {
		lines = append(lines, fmt.Sprintf("Two-sided Mann-Whitney U per case, Benjamini-Hochberg over %s, alpha %g; "+
			"%s percentile bootstrap interval of the ratio (%d resamples, seed %d); threshold ±%s.",
			plural(me.Family, "case", "cases"), me.Alpha, pctLevel(me.Level), me.Resamples, me.Seed, pct(me.Threshold)))
	} else {
		trials := 0
		for _, c := range r.Cases {
			if c.Verdict != "" && c.Samples == "" {
				trials++
			}
		}
		if trials > 0 {
			lines = append(lines, fmt.Sprintf("%s compared on trials: two-sided Mann-Whitney U, %s percentile bootstrap interval of the ratio (%d resamples, seed %d).",
				plural(trials, "case", "cases"), pctLevel(me.Level), me.Resamples, me.Seed))
		}
		lines = append(lines,
			fmt.Sprintf("%s compared on block samples (both files measured them interleaved, at least %d blocks a side): "+
				"each side's blocks cut into %d contiguous batches, each batch its median block; ratio = geometric mean of NEW's batches / BASE's; "+
				"Welch's t on the log batch values for the p-value and the %s interval, since consecutive blocks share the machine's drift and are not independent.",
				plural(bm.Cases, "case", "cases"), bm.MinBlocks, bm.Batches, pctLevel(me.Level)),
			fmt.Sprintf("Benjamini-Hochberg over %s of both kinds, alpha %g; threshold ±%s.",
				plural(me.Family, "case", "cases"), me.Alpha, pct(me.Threshold)))
	}
	if ir := r.InRun; ir != nil && ir.Method.Family > 0 {
		lines = append(lines, fmt.Sprintf("In-run ratios: each run's ratio is the geometric mean of the block ratios case/baseline (%s); "+
			"NEW/BASE from the difference of their means on the log scale, standard errors combined, Welch-Satterthwaite t, %s interval; "+
			"Benjamini-Hochberg over %s of their own; same threshold.",
			ir.Method.Ratio, pctLevel(ir.Method.Level), plural(ir.Method.Family, "ratio", "ratios")))
	}
	if fo := me.FailOn; fo != "" {
		what := map[string]string{
			FailBoth:     "a REGRESSION of an absolute figure or of an in-run ratio",
			FailAbsolute: "a REGRESSION of an absolute figure only",
			FailInRun:    "a REGRESSION of an in-run ratio only",
		}[fo]
		lines = append(lines, fmt.Sprintf("Fails (exit code 1) on %s (--fail-on %s).", what, fo))
	}
	if len(me.Ignore) > 0 {
		lines = append(lines, "Cases matched ignoring name keys: "+strings.Join(me.Ignore, ", ")+".")
	}
	lines = append(lines, "BASE: "+sourceText(r.Base), "NEW: "+sourceText(r.New))
	return lines
}

func sourceText(s Source) string {
	parts := []string{s.Format}
	if s.Tool != "" {
		parts = append(parts, "vethbench "+s.Tool)
	}
	if s.Host.Kernel != "" {
		parts = append(parts, "kernel "+s.Host.Kernel)
	}
	if s.Host.CPUModel != "" {
		parts = append(parts, s.Host.CPUModel)
	}
	if s.Host.VCPUs > 0 {
		parts = append(parts, plural(s.Host.VCPUs, "vCPU", "vCPUs"))
	}
	return s.Path + " (" + strings.Join(parts, ", ") + ")"
}

func ratioText(r *Ratio) string { return fmt.Sprintf("%.3f", r.Ratio) }

func ciText(r *Ratio) string { return fmt.Sprintf("[%.3f, %.3f]", r.Lo, r.Hi) }

func changeText(r *Ratio) string { return fmt.Sprintf("%+.1f%%", 100*(r.Ratio-1)) }

// qText formats the adjusted p-value; "-" for a case outside the family
// (TOO FEW TRIALS), which has none.
func qText(t *Test) string {
	if t == nil || !t.InFamily {
		return "-"
	}
	switch {
	case t.Q < 0.0001:
		return "<0.0001"
	case t.Q >= 0.01:
		return fmt.Sprintf("%.2f", t.Q)
	}
	return fmt.Sprintf("%.4f", t.Q)
}

// pct formats a fraction as a percentage: 0.03 is "3%".
func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', -1, 64) + "%" }

// pctLevel formats a coverage level: 0.95 is "95%".
func pctLevel(l float64) string { return strconv.FormatFloat(math.Round(1000*l)/10, 'f', -1, 64) + "%" }

// formatValue formats v of unit compactly: times in ns as durations, other
// values with SI prefixes and three significant digits.
func formatValue(v float64, unit string) string {
	switch {
	case unit == "ns/pkt" || strings.HasSuffix(unit, "-ns") || strings.HasPrefix(unit, "ns/"):
		return duration(v)
	case strings.HasPrefix(unit, "sec/") || strings.HasSuffix(unit, "-sec"):
		return duration(v * 1e9)
	}
	s := si(v)
	if unit == "B/s" {
		s += "B/s"
	}
	return s
}

func duration(ns float64) string {
	return scaled(ns, []float64{1, 1e3, 1e6, 1e9}, []string{"ns", "µs", "ms", "s"}, 1e3)
}

func si(v float64) string {
	return scaled(v, []float64{1, 1e3, 1e6, 1e9, 1e12}, []string{"", "k", "M", "G", "T"}, 1e4)
}

// scaled formats v with the largest prefix whose scale it reaches (the
// first one from first on, so 4300 stays 4300 rather than 4.30k), moving
// up a prefix when rounding reaches 1000 (999.6k is 1.00M).
func scaled(v float64, scales []float64, names []string, first float64) string {
	pick := func(a float64) int {
		i := 0
		for i+1 < len(scales) && a >= scales[i+1] && a >= first {
			i++
		}
		return i
	}
	i := pick(math.Abs(v))
	s := sig3(v / scales[i])
	if r, err := strconv.ParseFloat(strings.TrimPrefix(s, "-"), 64); err == nil {
		if j := pick(r * scales[i]); j != i {
			i = j
			s = sig3(v / scales[i])
		}
	}
	return s + names[i]
}

// sig3 formats v with three significant digits, without an exponent
// (values of 1000 and more keep their integer digits).
func sig3(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	d := 2 - int(math.Floor(math.Log10(math.Abs(v))))
	if d < 0 {
		d = 0
	}
	s := strconv.FormatFloat(v, 'f', d, 64)
	// Rounding may add a digit (999.5 -> "1000"): drop the extra decimal.
	if d > 0 && strings.Contains(s, ".") && len(strings.TrimLeft(strings.Replace(s, ".", "", 1), "-0")) > 3 {
		s = strconv.FormatFloat(v, 'f', d-1, 64)
	}
	return s
}

func mdVerdict(v stats.Verdict) string {
	if v == stats.Regression || v == stats.Improvement {
		return "**" + string(v) + "**"
	}
	return string(v)
}

// mdCode quotes a case name as code, escaping the table separator.
func mdCode(s string) string {
	return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
}

// mdEscape escapes what would break a table cell or start markup.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`")
	return r.Replace(s)
}
