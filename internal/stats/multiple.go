package stats

import (
	"math"
	"slices"
)

// BenjaminiHochberg returns the Benjamini-Hochberg adjusted p-values
// (q-values) of p, in the same order as p: with the m p-values sorted
// ascending, q_(i) = min over j >= i of m * p_(j) / j, capped at 1. Rejecting
// every hypothesis with q < alpha (or <=, as R does) controls the false
// discovery rate at alpha. The q-values are monotone in p. NaN entries stay
// NaN and are not counted in m (as R's p.adjust does with NA). It matches
// R's p.adjust(p, "BH").
func BenjaminiHochberg(p []float64) []float64 {
	q := make([]float64, len(p))
	idx := make([]int, 0, len(p))
	for i, v := range p {
		if math.IsNaN(v) {
			q[i] = math.NaN()
			continue
		}
		idx = append(idx, i)
	}
	// Stable sort so that equal p-values keep their input order.
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case p[a] < p[b]:
			return -1
		case p[a] > p[b]:
			return 1
		}
		return 0
	})
	m := float64(len(idx))
	run := 1.0
	for r := len(idx) - 1; r >= 0; r-- {
		i := idx[r]
		run = math.Min(run, p[i]*m/float64(r+1))
		q[i] = run
	}
	return q
}
