// Package reports turns result files into what people read. For now: the
// plain-text table that `vethbench run` prints. Reports read only the result
// file (package reports/result), so a report can be regenerated from JSON
// alone, on another machine.
//
// Privileges: none. Errors are write errors of the destination.
package reports
