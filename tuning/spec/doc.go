// Package spec reads sweep specs: the YAML files `vethbench sweep -f` runs,
// and the embedded default spec (Default, default.yaml beside this file). A
// spec is a list of questions, each a group whose small grid of cases
// answers it. Parse checks a file in full against the format and a knob
// Catalog (package tuning's, or a fake in tests); Check applies the
// grid-size limits (MaxCases unless forced, HardMaxCases always); Expand
// turns the spec into the list of cases to measure, each a plan.Case with
// its name (the case-name grammar of reports/result), its knobs, the
// groups that ask for it and those whose baseline it is, a case asked for
// by several groups appearing once, a value a vary list gives again making
// a replica (plan.Case.Replica, named replica=N) for A/A checks; Questions lists the questions with
// their baseline cases, for the result file. EstimateDuration says how long the cases take at the minimum
// number of trials, TrialsFor how many trials a confidence level needs.
//
// The format, every key, the precedence of defaults, set, one_of and vary,
// the order of the cases and every error message are described in
// docs/specs.md; examples/annotated.yaml, at the top of the repository, is
// a commented example of every feature, and examples/ holds further specs
// to copy.
//
// Nothing here touches the kernel or needs privileges.
//
// Errors: every error of Parse, Check and Expand is one *Error,
// "file:line: path: message", and wraps ErrInvalid (the CLI exits 2 on it).
// Path names the field as the file spells it (measure.trials,
// groups[1].vary.pkt_size, groups[2].one_of[0].tx_queues); Line is that of
// the offending value (for a vary list, of the element), or of the key when
// the key itself is wrong, and 0 when unknown. When a case is refused by
// plan.Case.Validate or the catalog, Error.Err holds that error, so
// errors.Is and errors.As still reach plan.ErrInvalid, topology.ErrInvalid
// or the catalog's error, and the position points at the most specific
// value involved (a vary element before a set value before a default).
package spec
