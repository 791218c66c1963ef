package reports

// Latency percentile charts, from the trials' merged histograms.

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vethbench/vethbench/internal/histogram"
)

type latencyView struct {
	Figures []figure
	Note    string
	Empty   string
}

func buildLatency(a *analysis) (any, error) {
	v := latencyView{Empty: "No case recorded a latency histogram."}
	res := 0.0
	for _, g := range a.Groups {
		if g.Compare == "" {
			if len(g.Points) == 0 {
				continue
			}
			var names []string
			var hists []histogram.Histogram
			for _, p := range g.Points {
				if p.ok() {
					names = append(names, p.c.Name)
					hists = append(hists, mergedHistogram(p.c))
				}
			}
			svg, err := percentileChart("One-way latency", names, hists)
			if err != nil {
				return nil, err
			}
			if svg != "" {
				v.Figures = append(v.Figures, figure{SVG: svg, Legend: percentileLegend(names), Caption: "Latency percentiles from the trials' merged histograms."})
			}
			continue
		}
		for _, f := range g.Findings {
			var names []string
			var hists []histogram.Histogram
			for _, c := range f.Cells {
				if c.P == nil || !c.P.ok() {
					continue
				}
				names = append(names, valueLabel(g.Compare, c.Value))
				hists = append(hists, mergedHistogram(c.P.c))
				if len(c.P.c.Trials) > 0 {
					res = math.Max(res, c.P.c.Trials[0].Latency.Resolution)
				}
			}
			title := "Latency by " + strings.TrimPrefix(dimNoun(g.Compare), "the ")
			if len(g.Context) > 0 {
				title += " " + g.contextPhrase(f.Context)
			}
			svg, err := percentileChart(title, names, hists)
			if err != nil {
				return nil, err
			}
			if svg == "" {
				continue
			}
			v.Figures = append(v.Figures, figure{SVG: svg, Legend: percentileLegend(names), Caption: "Q" + fmt.Sprint(slices.Index(a.Groups, g)+1) + ": " + g.Question})
		}
	}
	v.Note = "One-way latency from the sender's send call to the receiver's ingress hook, all trials' eBPF histograms merged. " +
		"At full rate it includes each packet's wait behind the rest of its sendmmsg batch and in the receive backlog."
	if res > 0 {
		v.Note += fmt.Sprintf(" Each point is its histogram bucket's midpoint, within ±%.1f%%.", 100*res/2)
	}
	return v, nil
}
