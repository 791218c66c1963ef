// Package reports turns result files (package reports/result) into what
// people read: the plain-text table of `vethbench run` (WriteTable), the
// summary of `vethbench sweep` (WriteSummary), the self-contained HTML
// report (WriteHTML), its Markdown summary for CI (WriteMarkdown), and the
// HTML page comparing two runs (WriteCompareHTML). It reads only the result
// file, so a report can be made again from the JSON alone, on another
// machine. docs/report.md describes the reports and how their sentences are
// derived.
//
// Privileges: none; nothing here touches the kernel.
//
// Errors: any result file renders, so an error is the destination's write
// error, returned as is, or for HTML a template or chart that failed to
// render (a bug), wrapped with the section it was rendering.
// WriteCompareHTML also fails on a nil comparison.
package reports
