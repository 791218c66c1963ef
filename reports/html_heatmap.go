package reports

import (
	"fmt"
	"html/template"
	"math"
)

// heatmap is a two-dimensional sweep as a table of coloured cells.
type heatmap struct {
	Corner string
	Cols   []string
	Rows   []heatRow
	Note   string
}

type heatRow struct {
	Head  string
	Cells []heatCell
}

type heatCell struct {
	Main, Sub string
	Style     template.CSS
	Title     string
}

func (a *analysis) heatmap(g *group) *heatmap {
	h := &heatmap{Corner: g.Context[0] + " \\ " + g.Compare}
	for _, v := range g.Values[g.Compare] {
		h.Cols = append(h.Cols, v)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, f := range g.Findings {
		for _, c := range f.Cells {
			if c.P != nil && c.P.ok() {
				m := c.P.c.Summary.PPS.Median
				lo, hi = math.Min(lo, m), math.Max(hi, m)
			}
		}
	}
	for _, f := range g.Findings {
		row := heatRow{Head: f.Context[0]}
		for _, c := range f.Cells {
			if c.P == nil || !c.P.ok() {
				st := "n/a"
				if c.P != nil {
					st = c.P.c.Status
				}
				row.Cells = append(row.Cells, heatCell{Main: st, Style: "background:#eeeeee"})
				continue
			}
			e := c.P.c.Summary.PPS
			t := 0.0
			if hi > lo {
				t = (e.Median - lo) / (hi - lo)
			}
			row.Cells = append(row.Cells, heatCell{
				Main:  si(e.Median) + " pps",
				Sub:   "±" + halfWidth(e),
				Style: template.CSS("background:" + heatColor(t)), //nolint:gosec // a colour we made
				Title: fmt.Sprintf("%s: %s pps, interval %s–%s", c.P.c.Name, Thousands(e.Median), Thousands(e.Lo), Thousands(e.Hi)),
			})
		}
		h.Rows = append(h.Rows, row)
	}
	h.Note = fmt.Sprintf("Median pps; darker is faster (%s to %s pps). ± is the interval's half-width relative to the median.", si(lo), si(hi))
	return h
}

// halfWidth is an interval's larger half-width relative to its median, as
// a percentage.
// heatColor maps t in [0, 1] from a pale to a mid blue.
func heatColor(t float64) string {
	t = math.Max(0, math.Min(1, t))
	from := [3]float64{0xf2, 0xf7, 0xfd}
	to := [3]float64{0x6f, 0xa8, 0xdc}
	var c [3]int
	for i := range c {
		c[i] = int(math.Round(from[i] + t*(to[i]-from[i])))
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
}
