// Package trend reads a history of result files (a nightly job's sweeps)
// and finds where each case's figures changed: change points by E-divisive
// means with Welch's and Student's t-tests (internal/stats.ChangePoints), each with the
// run where it starts, the size of the step with an interval and its
// direction. It judges the newest run (does it start or continue a
// regression larger than the threshold?) and writes the answer as text,
// Markdown, JSON, JUnit XML or an HTML page.
//
// It reads only result files and an acknowledgements file (YAML): no
// privileges. Errors: a file that cannot be read or is not a result is a
// *InputError (the CLI exits 2); a history with nothing to judge is
// ErrNothing; a bad acknowledgements file is a *AckError.
package trend
