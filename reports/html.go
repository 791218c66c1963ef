package reports

// The HTML report: one self-contained page (inline CSS, charts as inline
// SVG, no script, no URL) assembled from sections, each a template of
// templates/ fed by its builder (html_*.go). docs/report.md describes the
// sections.

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/vethbench/vethbench/reports/result"
)

//go:embed templates/report.html.tmpl templates/compare.html.tmpl templates/report.css
var templateFS embed.FS

// pageTmpl holds the page and every section, of the report and of the
// comparison.
var pageTmpl = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"sentence": sentenceHTML,
	"wbr":      wbr,
}).ParseFS(templateFS, "templates/report.html.tmpl", "templates/compare.html.tmpl"))

func reportCSS() template.CSS {
	b, err := templateFS.ReadFile("templates/report.css")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return template.CSS(b) //nolint:gosec // our own stylesheet
}

// Section is one titled part of a report page. WriteHTML builds its own;
// RenderCompareHTML takes those of a comparison.
type Section struct {
	ID    string // the anchor, unique in the page
	Title string
	Body  template.HTML
}

type pageView struct {
	Title    string
	Subtitle []string
	Alert    string
	CSS      template.CSS
	Sections []Section
}

// WriteHTML writes the HTML report of a result: one self-contained page
// that works offline, prints, and can be regenerated from the result alone.
func WriteHTML(w io.Writer, r *result.Result) error {
	a := analyze(r)
	page := pageView{Title: reportTitle(r), Subtitle: subtitle(r), CSS: reportCSS()}
	if r.Interrupted {
		page.Alert = "This sweep was interrupted: the cases shown finished, the others did not run."
	}
	builders := []struct {
		id, title string
		build     func(*analysis) (any, error)
	}{
		{"answers", "Answers", buildAnswers},
		{"devices", "Device comparison", buildDevices},
		{"knobs", "Knob sweeps", buildKnobs},
		{"latency", "Latency", buildLatency},
		{"stages", "Where the time goes", buildStages},
		{"flagged", "Flagged cases", buildFlagged},
		{"drops", "Drops and accounting", buildDrops},
		{"cases", "Every case", buildCases},
		{"host", "Host and settings", buildHost},
		{"spec", "Spec", func(a *analysis) (any, error) { return a.r.Spec, nil }},
	}
	for _, b := range builders {
		data, err := b.build(a)
		if err != nil {
			return fmt.Errorf("html report: %s: %w", b.id, err)
		}
		if data == nil {
			continue // a section this result has nothing for (stages)
		}
		body, err := execute(b.id, data)
		if err != nil {
			return fmt.Errorf("html report: %w", err)
		}
		page.Sections = append(page.Sections, Section{ID: b.id, Title: b.title, Body: body})
	}
	return writePage(w, page)
}

// execute renders the section template name.
func execute(name string, data any) (template.HTML, error) {
	var b strings.Builder
	if err := pageTmpl.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return template.HTML(b.String()), nil //nolint:gosec // output of html/template
}

func writePage(w io.Writer, page pageView) error {
	var b strings.Builder
	if err := pageTmpl.ExecuteTemplate(&b, "page", page); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wbr escapes a case name and lets the browser break it after each "/".
func wbr(s string) template.HTML {
	return template.HTML(strings.ReplaceAll(template.HTMLEscapeString(s), "/", "/<wbr>")) //nolint:gosec // escaped
}

// sentenceHTML renders a sentence with its emphasis.
func sentenceHTML(s sentence) template.HTML {
	var b strings.Builder
	for _, f := range s {
		t := template.HTMLEscapeString(f.Text)
		if f.Strong {
			t = "<strong>" + t + "</strong>"
		}
		b.WriteString(t)
	}
	return template.HTML(b.String()) //nolint:gosec // escaped above
}
