// Package plan holds what is to be measured, as plain data: a Case (a
// topology spec, the traffic, the knobs to set), a Measure (trials,
// durations, confidence, adaptive stopping), their validation and the
// case's name. The CLI fills them from flags, tuning/spec from a sweep
// spec, and the runner (package bench) measures them.
//
// Nothing here touches the kernel or needs privileges: Validate checks a
// case and its Measure against the limits the runner and the generators
// accept, so that bad input is refused before anything is created.
//
// Errors: every validation error wraps ErrInvalid and carries a
// *field.Error whose Field is the flag's name ("pkt-size", "trials"); the
// CLI turns it into "--pkt-size: ..." and tuning/spec into the spec's key.
//
// Names: Case.Name writes the case-name grammar of reports/result
// (FormatName), from which reports read the dimensions back (ParseName).
package plan
