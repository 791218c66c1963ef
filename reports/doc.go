// Package reports turns result files into what people read: the plain-text
// table of `vethbench run`, the summary of `vethbench sweep`, the
// self-contained HTML report and the Markdown summary (see html.go). Reports read only the result
// file (package reports/result), so a report can be regenerated from JSON
// alone, on another machine.
//
// Privileges: none. Errors are write errors of the destination.
package reports
