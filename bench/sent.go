package bench

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vethbench/vethbench/reports/result"
)

// sendErrors lists send errors by count, largest first: "ENOBUFS 120,
// EPERM 3".
func sendErrors(m map[string]uint64) string {
	names := slices.Collect(maps.Keys(m))
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, m[n])
	}
	return strings.Join(parts, ", ")
}

// sentNothing fails a case one of whose trials sent nothing: its figures
// (0 pps, nothing to account for) would say nothing true. The error names
// the send errors the kernel gave instead.
func sentNothing(trials []result.Trial) error {
	for _, t := range trials {
		if t.Sent > 0 {
			continue
		}
		if len(t.SendErrs) == 0 {
			return fmt.Errorf("trial %d sent nothing, and the kernel reported no send error", t.Index+1)
		}
		return fmt.Errorf("trial %d sent nothing: the kernel refused every send: %s", t.Index+1, sendErrors(t.SendErrs))
	}
	return nil
}
