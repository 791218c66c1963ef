// Package field holds Error, the error for one bad input value, shared by
// the packages that validate what a user asked for (bench/plan,
// bench/topology, reports/compare's options) so that the CLI can name the
// flag and tuning/spec the key, with errors.As instead of cutting strings.
// It needs no privileges and imports nothing of vethbench.
package field

import "fmt"

// Error is a bad value of one named field.
type Error struct {
	// Field is the field in flag form: "pkt-size", "tx-queues",
	// "trials", or a knob's name. Callers map it to a flag (--pkt-size)
	// or a spec key. It is empty when the message names what is wrong
	// (an unknown knob).
	Field string
	Msg   string // what is wrong, without the field's name
	// Err is the validating package's sentinel (plan.ErrInvalid,
	// topology.ErrInvalid), so errors.Is still works; it may be nil.
	Err error
}

// Errorf returns an *Error for field, wrapping sentinel.
func Errorf(sentinel error, name, format string, a ...any) *Error {
	return &Error{Field: name, Msg: fmt.Sprintf(format, a...), Err: sentinel}
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	if e.Err != nil {
		s = e.Err.Error() + ": " + s
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }
