package reports

import (
	"html/template"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// What reports/trend's HTML page shares with the main report, so that the
// two pages look alike and are checked alike without a copy of either.

// CSS is the report's stylesheet, for another page to build on.
func CSS() template.CSS { return reportCSS() }

// InlineSVG draws p as an inline <svg> element as the report's charts are
// drawn: no URL, no XML prologue, the generic sans-serif family, a viewBox
// so that it scales, and label as its aria-label.
func InlineSVG(p *plot.Plot, w, h vg.Length, label string) (template.HTML, error) {
	return inlineSVG(p, w, h, label)
}

// SITicks is the report's value axis: four to seven round ticks labelled
// with SI suffixes (50k, 100k, 150k).
func SITicks() plot.Ticker { return siTicks{} }
