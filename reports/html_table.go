package reports

// The generic table of the HTML report.

import (
	"fmt"

	"github.com/vethbench/vethbench/reports/result"
)

// table is a generic table; cells with Num are right-aligned.
type table struct {
	Head []string
	Rows [][]tcell
	// RowClass is an optional class per row (same index as Rows).
	RowClass []string
	// Fit makes the table as wide as the page, wrapping its text, instead
	// of scrolling sideways.
	Fit bool
}

// addNoteRow adds a row spanning the whole table under the last row, and
// marks that row as having one.
func (t *table) addNoteRow(text string) {
	for len(t.RowClass) < len(t.Rows) {
		t.RowClass = append(t.RowClass, "")
	}
	t.RowClass[len(t.Rows)-1] = "has-note"
	t.Rows = append(t.Rows, []tcell{{Text: text, Colspan: len(t.Head), Class: "rownote"}})
	t.RowClass = append(t.RowClass, "note-row")
}

func (t table) RowClassAt(i int) string {
	if i < len(t.RowClass) {
		return t.RowClass[i]
	}
	return ""
}

type tcell struct {
	Text    string
	Num     bool
	Class   string
	Title   string
	Colspan int
}

func txt(s string) tcell { return tcell{Text: s} }
func num(s string) tcell { return tcell{Text: s, Num: true} }

// dropPct is the share of packets sent that were dropped.
func dropPct(s *result.Summary) string {
	if s.Sent == 0 {
		return "0"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(s.Dropped)/float64(s.Sent))
}
