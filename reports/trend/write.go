package trend

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Formats are trend's output formats.
var Formats = []string{"text", "markdown", "json", "junit", "html"}

// Write writes r in format (one of Formats).
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case "text":
		return WriteText(w, r)
	case "markdown":
		return WriteMarkdown(w, r)
	case "json":
		return WriteJSON(w, r)
	case "junit":
		return WriteJUnit(w, r)
	case "html":
		return WriteHTML(w, r)
	}
	return fmt.Errorf("unknown format %q (%s)", format, strings.Join(Formats, ", "))
}

// statusOrder is the order verdicts are listed in: what fails first.
var statusOrder = []string{StatusRegression, StatusBroken, StatusWatch, StatusAcknowledged, StatusImproved, StatusOK, StatusShort, StatusAbsent}

// Counts counts the series' verdicts by status.
func (r *Report) Counts() map[string]int {
	c := map[string]int{}
	for _, g := range r.Groups {
		for _, s := range g.Series {
			c[s.Verdict.Status]++
		}
	}
	return c
}

// Summary is the report's verdict in one line: "1 regression, 2 watch,
// 40 ok: exit 1".
func (r *Report) Summary() string {
	c := r.Counts()
	var parts []string
	for _, st := range statusOrder {
		if n := c[st]; n > 0 {
			w := st
			if st == StatusRegression && n > 1 {
				w = "regressions"
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, w))
		}
	}
	code := 0
	if r.Failing() {
		code = 1
	}
	return fmt.Sprintf("%s: exit %d", strings.Join(parts, ", "), code)
}

// SeriesName names a series for people: the case, and for a ratio its
// baseline.
func SeriesName(s Series) string {
	if s.Baseline != "" {
		return s.Case + " / " + s.Baseline
	}
	return s.Case
}

// span says which runs a group holds.
func span(g Group) string {
	first, last := g.Runs[0], g.Runs[len(g.Runs)-1]
	kernels := map[string]bool{}
	var ks []string
	for _, r := range g.Runs {
		if !kernels[r.Kernel] {
			kernels[r.Kernel] = true
			ks = append(ks, orUnknown(r.Kernel))
		}
	}
	return fmt.Sprintf("%d %s from %s, %s to %s, kernel %s", len(g.Runs), plural(len(g.Runs), "run"), g.Key, RunTime(first), RunTime(last), strings.Join(ks, ", "))
}

func (r *Report) method() string {
	return fmt.Sprintf("change points by E-divisive means, Welch's and Student's t at p ≤ %g (windows of %d runs, at least %d runs a side); steps with %s intervals; a regression beyond ±%s fails",
		r.PValue, r.Window, minSegment, percent(r.Level), percent(r.Threshold))
}

// changesText lists a series' change points: "run 10 -9.8%*, run 15 +10%*"
// (* beyond the threshold, "ack" acknowledged).
func changesText(s Series) string {
	if len(s.Changes) == 0 {
		return "-"
	}
	var w []string
	for _, c := range s.Changes {
		t := fmt.Sprintf("run %d %s", c.Run+1, signedPercent(c.Step))
		if c.Beyond {
			t += "*"
		}
		if c.Ack != nil {
			t += " ack"
		}
		w = append(w, t)
	}
	return strings.Join(w, ", ")
}

func newest(s Series) string {
	p := s.Points[len(s.Points)-1]
	return FormatValue(s.Metric, p.Value)
}

// WriteText writes r for a terminal.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "vethbench trend: %s\n", r.method())
	if r.AckFile != "" {
		fmt.Fprintf(&b, "acknowledgements: %s\n", r.AckFile)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "skipped %s: %s\n", s.Path, s.Reason)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, g := range r.Groups {
		fmt.Fprintf(&b, "\n%s\n", span(g))
		for _, e := range g.Events {
			fmt.Fprintf(&b, "  run %d (%s): %s\n", e.Run+1, RunTime(g.Runs[e.Run]), e.What)
		}
		for _, st := range statusOrder[:5] {
			for _, s := range g.Series {
				if s.Verdict.Status == st {
					fmt.Fprintf(&b, "%-12s %s, %s: %s\n", strings.ToUpper(st), SeriesName(s), s.Metric.Name, s.Verdict.Detail)
				}
			}
		}
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "case\tmetric\truns\tnewest\tchange points (* beyond the threshold)\tverdict")
		for _, s := range g.Series {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", SeriesName(s), s.Metric.Name, len(s.Points), newest(s), changesText(s), s.Verdict.Status)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(&b, "\n%s\n", r.Summary())
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape makes s safe inside a Markdown table cell or line.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`, "\n", " ")
	return r.Replace(s)
}

// WriteMarkdown writes r for a CI job summary.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	title := "no regression"
	if c := r.Counts(); c[StatusRegression]+c[StatusBroken] > 0 {
		title = fmt.Sprintf("%d failing", c[StatusRegression]+c[StatusBroken])
	}
	fmt.Fprintf(&b, "## vethbench trend: %s\n\n%s.\n\n", title, mdEscape(r.Summary()))
	fmt.Fprintf(&b, "_%s._\n", mdEscape(r.method()))
	if r.AckFile != "" {
		fmt.Fprintf(&b, "Acknowledgements: `%s`.\n", strings.ReplaceAll(r.AckFile, "`", "'"))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n> %s\n", mdEscape(n))
	}
	if len(r.Skipped) > 0 {
		b.WriteString("\nSkipped files:\n\n")
		for _, s := range r.Skipped {
			fmt.Fprintf(&b, "- %s: %s\n", mdEscape(s.Path), mdEscape(s.Reason))
		}
	}
	heads := map[string]string{
		StatusRegression: "Regressions (fail the job)", StatusBroken: "Broken (fail the job)", StatusWatch: "Watch (one run beyond the threshold)",
		StatusAcknowledged: "Acknowledged regressions", StatusImproved: "Improvements",
	}
	for _, g := range r.Groups {
		fmt.Fprintf(&b, "\n### %s\n", mdEscape(span(g)))
		for _, st := range statusOrder[:5] {
			first := true
			for _, s := range g.Series {
				if s.Verdict.Status != st {
					continue
				}
				if first {
					fmt.Fprintf(&b, "\n**%s**\n\n", heads[st])
					first = false
				}
				fmt.Fprintf(&b, "- **%s**, %s: %s\n", mdEscape(SeriesName(s)), s.Metric.Name, mdEscape(s.Verdict.Detail))
			}
		}
		if len(g.Events) > 0 {
			b.WriteString("\n**Events**\n\n")
			for _, e := range g.Events {
				fmt.Fprintf(&b, "- run %d (%s): %s\n", e.Run+1, RunTime(g.Runs[e.Run]), mdEscape(e.What))
			}
		}
		b.WriteString("\n<details><summary>Every series</summary>\n\n| case | metric | runs | newest | change points (* beyond the threshold) | verdict |\n|---|---|---:|---:|---|---|\n")
		for _, s := range g.Series {
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s |\n", mdEscape(SeriesName(s)), s.Metric.Name, len(s.Points), newest(s), mdEscape(changesText(s)), s.Verdict.Status)
		}
		b.WriteString("\n</details>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes r as indented JSON. Numbers that are not finite (an
// interval a run could not give) are written as null.
func WriteJSON(w io.Writer, r *Report) error {
	cp := *r
	cp.Groups = make([]Group, len(r.Groups))
	for i, g := range r.Groups {
		g.Series = append([]Series(nil), g.Series...)
		for j := range g.Series {
			g.Series[j].Points = append([]Point(nil), g.Series[j].Points...)
		}
		cp.Groups[i] = g
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(struct {
		Schema  string `json:"schema"`
		Version int    `json:"version"`
		*Report
		Failing bool   `json:"failing"`
		Summary string `json:"summary"`
	}{"vethbench-trend", 1, finite(&cp), r.Failing(), r.Summary()}); err != nil {
		return fmt.Errorf("encode trend: %w", err)
	}
	return nil
}

// finite replaces the points' non-finite interval ends, which JSON cannot
// hold, with the point's value: an interval of no width says "none".
func finite(r *Report) *Report {
	for _, g := range r.Groups {
		for _, s := range g.Series {
			for k := range s.Points {
				p := &s.Points[k]
				if math.IsNaN(p.Lo) || math.IsInf(p.Lo, 0) {
					p.Lo = p.Value
				}
				if math.IsNaN(p.Hi) || math.IsInf(p.Hi, 0) {
					p.Hi = p.Value
				}
			}
		}
	}
	return r
}
