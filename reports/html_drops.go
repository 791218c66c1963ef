package reports

// Drops and accounting per case, by drop reason.

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

func buildDrops(a *analysis) (any, error) {
	counters := map[string]bool{}
	for _, c := range a.r.Cases {
		if c.Summary != nil {
			counters[c.DropCounter] = true
		}
	}
	v := dropsView{Table: table{Head: []string{"case", "sent", "received", "dropped", "dropped %", "drops by reason", "unaccounted", "accounting"}}}
	if len(counters) == 1 {
		for k := range counters {
			v.Counter = k
		}
	} else {
		v.Table.Head = append(v.Table.Head, "drops counted by")
	}
	t := &v.Table
	for i := range a.r.Cases {
		c := &a.r.Cases[i]
		s := c.Summary
		if s == nil {
			continue
		}
		var unacc int64
		closed := 0
		for _, tr := range c.Trials {
			unacc += tr.Unaccounted
			if tr.Closed {
				closed++
			}
		}
		acct := tcell{Text: fmt.Sprintf("closed %d/%d", closed, len(c.Trials)), Title: "trials whose accounting closed", Class: "nowrap"}
		if !s.Closed {
			acct = tcell{Text: fmt.Sprintf("NOT CLOSED: %d/%d", closed, len(c.Trials)), Title: "trials whose accounting closed", Class: "bad nowrap"}
		}
		rs := "none"
		if len(s.DropReasons) > 0 {
			rs = reasonsThousands(s.DropReasons)
		}
		row := []tcell{
			{Text: c.Name, Class: "name"},
			num(Thousands(float64(s.Sent))),
			num(Thousands(float64(s.Received))),
			num(Thousands(float64(s.Dropped))),
			num(dropPct(s)),
			txt(rs),
			num(fmt.Sprintf("%+d", unacc)),
			acct,
		}
		if v.Counter == "" {
			row = append(row, txt(c.DropCounter))
		}
		t.Rows = append(t.Rows, row)
	}
	return v, nil
}

type dropsView struct {
	Table   table
	Counter string // how every case counted drops, when they agree
}

// reasonsThousands formats drop counts by reason, largest first.
func reasonsThousands(m map[string]uint64) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "\u00a0" + Thousands(float64(m[k]))
	}
	return strings.Join(parts, ", ")
}
