// Command vethbench measures what Linux virtual network devices cost and
// which knobs make them faster. This package is the CLI only: it turns flags
// into plan cases, a sweep spec into its cases (tuning/spec), and options
// into calls of the library packages, and prints what they return; the
// logic lives in bench, tuning, reports and below (see the README's Layout).
// main only calls run(ctx, args, stdout, stderr) and exits with its code;
// no package holds flag globals. The two package variables in guard.go,
// isRoot and measure, are seams for FuzzFlags, which replaces them so that
// no argv it makes up can reach the kernel.
//
//	vethbench run     one case, measured and printed as a table (or JSON, benchfmt)
//	vethbench sweep   a sweep spec (-f, or the embedded default), result.json and report.html
//	vethbench report  a result file as HTML or Markdown; --compare for two
//	vethbench compare BASE and NEW: a verdict per case, exit 1 on a regression
//	vethbench doctor  what this kernel supports, probed in scratch namespaces
//	vethbench cleanup put back host sysctls a killed run left changed
//	vethbench version
//
// `vethbench COMMAND --help` documents each command's flags, and
// examples/annotated.yaml every key of a sweep spec.
//
// Privileges: run, sweep, doctor and cleanup need root (namespaces,
// devices, BPF, host sysctls) and say so when they lack it; sweep --dry-run,
// report, compare and version need none.
//
// Exit codes: 0 success; 1 the run failed, or compare found a regression;
// 2 bad flags or input, reported before anything is created or measured (a
// flag is named as --flag, a spec error as file:line: field; an input that
// is not a regular file within its size limit, an output path that cannot
// be written, by the path as given); 3 the kernel does not
// support what a run asked for; 130 interrupted (everything created is
// removed first).
package main
