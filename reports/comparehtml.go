package reports

// The comparison page: the sections of a comparison (package
// reports/compare), each a template of templates/compare.html.tmpl fed by
// its builder (compare_*.go), in the report's page layout. Like the
// report, the page is self-contained: inline CSS and SVG, no script, no URL.

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vethbench/vethbench/reports/compare"
	"github.com/vethbench/vethbench/reports/result"
)

// WriteCompareHTML writes the comparison rep as one self-contained HTML
// page: the verdicts, a chart of every case's ratio with its interval, and
// what differs between the two runs (host context and knob values). base
// and new are the result files compared, for the host sections and the
// knob diff; either may be nil (Go benchmark inputs have none).
func WriteCompareHTML(w io.Writer, rep *compare.Report, base, new *result.Result) error {
	if rep == nil {
		return fmt.Errorf("html comparison: no report")
	}
	builders := []struct {
		id, title string
		build     func() (any, error)
	}{
		{"verdicts", "Verdicts", func() (any, error) { return buildVerdicts(rep), nil }},
		{"ratios", "Ratios", func() (any, error) { return buildRatios(rep) }},
		{"differs", "What differs", func() (any, error) { return buildDiffers(rep, base, new), nil }},
	}
	if rep.InRun != nil { // beside the absolute verdicts and their chart (compare_inrun.go)
		in := builders[0]
		in.id, in.title, in.build = "inrun", "In-run ratios", func() (any, error) { return buildInRun(rep), nil }
		builders = slices.Insert(builders, 2, in)
	}
	var sections []Section
	for _, b := range builders {
		data, err := b.build()
		if err != nil {
			return fmt.Errorf("html comparison: %s: %w", b.id, err)
		}
		body, err := execute(b.id, data)
		if err != nil {
			return fmt.Errorf("html comparison: %w", err)
		}
		sections = append(sections, Section{ID: b.id, Title: b.title, Body: body})
	}
	return RenderCompareHTML(w, base, new, sections)
}

// RenderCompareHTML writes a comparison of two results in the report's
// page layout: a header naming both, then the given sections (those
// WriteCompareHTML builds from a compare.Report, or a caller's own), then
// the host context of each result. base and new may be nil (inputs in the
// Go benchmark format have no result file): their host sections are then
// left out.
func RenderCompareHTML(w io.Writer, base, new *result.Result, sections []Section) error {
	name := func(r *result.Result) string {
		if r == nil {
			return "benchmark file"
		}
		return reportName(r)
	}
	page := pageView{
		Title:    "vethbench comparison: " + name(base) + " → " + name(new),
		CSS:      reportCSS(),
		Sections: slices.Clone(sections),
	}
	for i, r := range []*result.Result{base, new} {
		which := [...]string{"base", "new"}[i]
		if r == nil {
			continue
		}
		page.Subtitle = append(page.Subtitle, which+": "+strings.Join(subtitle(r), ", "))
		data, err := buildHost(&analysis{r: r})
		if err != nil {
			return fmt.Errorf("html comparison: host (%s): %w", which, err)
		}
		body, err := execute("host", data)
		if err != nil {
			return fmt.Errorf("html comparison: %s: %w", which, err)
		}
		page.Sections = append(page.Sections, Section{ID: "host-" + which, Title: "Host and settings (" + which + ")", Body: body})
	}
	return writePage(w, page)
}
