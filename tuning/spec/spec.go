package spec

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/tuning"
)

// ErrInvalid is wrapped by every error Parse, Expand and Check return.
var ErrInvalid = errors.New("invalid sweep spec")

// Error is one problem in a spec: where it is and what is wrong.
type Error struct {
	File string // as given to Parse
	Line int    // 1-based; 0 when the position is unknown
	Path string // the field, e.g. "groups[1].vary.pkt_size"; empty for YAML syntax errors
	Msg  string
	Err  error // the catalog's or bench's error behind Msg, if any
}

// Error formats the error as "file:line: path: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns ErrInvalid and the underlying error, if any.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}

// Catalog knows the tuning knobs: Parse returns a knob value in canonical
// form, or an error for an unknown knob or a bad value. An error that is a
// *field.Error is shown by its Msg after the spec position, which already
// names the knob; any other error is shown whole.
type Catalog interface {
	Parse(knob, value string) (canonical string, err error)
}

// Spec is a parsed sweep spec: plain data, with the position of every value
// in the file so that Expand can point at the value that makes a case
// invalid.
type Spec struct {
	File     string // as given to Parse; errors start with it
	Name     string
	Measure  plan.Measure
	Defaults []Value // in file order
	Groups   []Group
	// Lines holds the line of the top-level keys ("name", "measure",
	// "defaults", "groups") and of the measure's values ("measure.trials").
	Lines map[string]int
}

// DefaultMeasure is what a spec's measure section starts from: a key left
// out keeps its value here (max_trials left out equals trials).
func DefaultMeasure() plan.Measure {
	return plan.Measure{Trials: 6, MaxTrials: 6, Duration: 2 * time.Second, Warmup: time.Second, Confidence: 0.95, Seed: 1, Target: 0.02}
}

// Group is one question and the small grid of cases that answers it.
type Group struct {
	Question string
	Path     string // "groups[i]"
	Line     int
	Set      []Value   // fixed for the whole group
	OneOf    [][]Value // alternative bundles of values; nil when absent
	Vary     []Axis    // in file order; the last varies fastest
	// Baseline is what `baseline:` names: values that select the one case
	// of the group's grid its answer compares every other case with; nil
	// when absent, and then the grid's first case is the baseline.
	Baseline     []Value
	BaselineLine int // of the baseline key
}

// Axis is one key under a group's vary: the values it takes.
type Axis struct {
	Key    string
	Path   string
	Line   int // of the key
	Values []Value
}

// Value is one value of a dimension or knob as the file gives it.
type Value struct {
	Key   string // dimension (pkt_size) or knob (gro, sysctl.net.core.rmem_max)
	Value string // canonical: decimal integers, "on"/"off", the catalog's form for knobs
	Path  string // where it is, e.g. "groups[1].vary.pkt_size"
	Line  int
	// Repeat is, in a vary list, 2 for the second time the list gives the
	// same value, 3 for the third (0 otherwise): its cases are replicas
	// of the first's (plan.Case.Replica), as an A/A comparison needs.
	Repeat int
}

// Setting is a knob and its canonical value.
type Setting = tuning.Setting

// CaseSpec is one case of the expanded grid.
type CaseSpec struct {
	Group    int    // index of the first group that asks for it
	Question string // that group's question
	// Groups and Questions list every group asking for this case (Group
	// and Question first): a case asked for by several groups is measured
	// once and reported under each of them.
	Groups    []int
	Questions []string
	// BaselineOf lists the groups whose baseline this case is.
	BaselineOf []int
	Case       plan.Case
	Knobs      []Setting // sorted by name; only the knobs the spec sets
	Name       string    // stable and unique within the sweep
}
