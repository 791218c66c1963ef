package compare

import (
	"errors"
	"fmt"
)

// ErrNothingCompared is what a NothingComparedError wraps: a comparison
// that gave no verdict at all, which must not pass a CI gate as "no
// regression".
var ErrNothingCompared = errors.New("nothing compared")

// NothingComparedError says why no case got a verdict.
type NothingComparedError struct {
	Reason string
}

func (e *NothingComparedError) Error() string { return "nothing compared: " + e.Reason }
func (e *NothingComparedError) Unwrap() error { return ErrNothingCompared }

// NothingCompared is a *NothingComparedError when no case, and no in-run
// ratio, got a verdict: one file has no cases, the files have no case in
// common, or none of the common ones could be compared (all-zero or failed
// trials); nil otherwise.
func (r *Report) NothingCompared() error {
	for _, c := range r.Cases {
		if c.Verdict != "" {
			return nil
		}
	}
	if r.InRun != nil && len(r.InRun.Cases) > r.InRun.NotCompared {
		return nil
	}
	var both, base, nw int
	var note string
	for _, c := range r.Cases {
		switch c.In {
		case InBoth:
			both++
			if note == "" {
				note = c.Name + ": " + c.Note
			}
		case InBase:
			base++
		case InNew:
			nw++
		}
	}
	var why string
	switch {
	case base+both == 0 && nw+both == 0:
		why = "BASE and NEW have no cases"
	case base+both == 0:
		why = fmt.Sprintf("BASE %s has no cases", r.Base.Path)
	case nw+both == 0:
		why = fmt.Sprintf("NEW %s has no cases", r.New.Path)
	case both == 0:
		why = fmt.Sprintf("no case in common (%d in BASE only, %d in NEW only; --ignore KEY matches names that differ in /KEY=)", base, nw)
	default:
		why = fmt.Sprintf("none of the %d cases in both files has values to compare (%s)", both, note)
	}
	return &NothingComparedError{Reason: why}
}
