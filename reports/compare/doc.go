// Package compare is `vethbench compare BASE NEW`: it matches the cases of
// two files and gives each a verdict a nightly CI can trust, with the
// estimators and tests of package internal/stats. The method, and why, is
// in docs/statistics.md; this comment is the contract.
//
// # Inputs
//
// Either file may be a vethbench result (JSON, package reports/result) or
// Go benchmark output (package reports/benchfmt: what `vethbench run
// --format benchfmt` writes, what `go test -bench` prints, what benchstat
// reads); Load tells them apart by content. Cases are matched by name,
// after Options.Ignore removes name segments "/KEY=..." (so that an A/B
// run that differs only in, say, rate matches case by case). Benchmark names
// drop their "Vethbench/" prefix, so a result file and a benchmark file of
// vethbench match. Cases on one side only, and cases unsupported or failed on
// either side, are listed with a note and get no verdict.
//
// # Method
//
// Per case, on the per-trial values of the metric (pps by default; see
// Metrics; for Go benchmark files any unit, e.g. sec/op):
//
//   - a two-sided Mann-Whitney U test of NEW against BASE;
//   - the p-values of all cases that can be significant are adjusted
//     together by Benjamini-Hochberg (q). A case whose sample sizes cannot
//     give p < alpha at all (MinP >= alpha: fewer than 4 trials per side at
//     0.05) is TOO FEW TRIALS, never NO CHANGE, and is left out of the
//     family, since it cannot be rejected (Tarone's refinement);
//   - the ratio median(NEW)/median(BASE) with a percentile bootstrap
//     interval at level 1-alpha (10,000 resamples, recorded seed);
//   - the verdict (stats.Decide): REGRESSION when q < alpha and the interval
//     lies wholly beyond the threshold on the bad side, IMPROVEMENT mirrored,
//     NO CHANGE when q >= alpha and the interval lies within ±threshold,
//     INCONCLUSIVE otherwise. For pps, device_pps and bytes_per_sec higher
//     is better; for cpu_ns_per_pkt and latency lower is better.
//
// The summary holds the geometric mean of the ratios over every compared
// case with its bootstrap interval (resampling within cases). Only a
// REGRESSION makes Report.Failed true (the CLI's exit code 1). A different
// host context (kernel, CPU model, vCPUs, arch) is a warning at the top.
//
// # Outputs
//
// Text (an aligned table), Markdown (for a CI job summary: headline,
// warnings, verdict table sorted by severity, cases not compared, largest
// changes, method) and JSON. The JSON form is a Report; within schema
// version 1 fields are only added:
//
//	schema, version        "vethbench-compare", 1
//	base, new              path, format ("vethbench-result" | "benchfmt"), tool (vethbench
//	                       version), host {kernel, arch, cpu_model, vcpus}, interrupted
//	metric                 name, unit (Go benchmark unit), higher_is_better
//	method                 test ("mann-whitney-u"), correction ("benjamini-hochberg"),
//	                       family (p-values corrected together), alpha, threshold,
//	                       interval ("percentile-bootstrap"), level, resamples, seed, ignore
//	warnings               host context differences, interrupted runs
//	summary                cases, regressions, improvements, no_change, inconclusive,
//	                       too_few_trials, not_compared, geomean {ratio, lo, hi, level}
//	                       (absent when nothing was compared), geomean_cases, headline
//	cases[]                in severity order (regressions, improvements by size of
//	                       change, inconclusive, too few trials, no change, not compared):
//	  name                 after --ignore; base_name, new_name: as in the files, when different
//	  in                   "both", "base" or "new"
//	  base_status, new_status   "ok", "unsupported", "failed"
//	  verdict              "REGRESSION", "IMPROVEMENT", "NO CHANGE", "INCONCLUSIVE",
//	                       "TOO FEW TRIALS"; absent when not compared
//	  note                 why not compared, or what an INCONCLUSIVE or TOO FEW TRIALS needs
//	  base, new            {n, median, min, max, cv} of the metric's values
//	  ratio                {ratio, lo, hi, level}: median NEW / median BASE
//	  test                 {u (of NEW), p, exact, q (BH-adjusted; = p outside the
//	                       family), min_p, in_family}
//
// Privileges: none. Errors: ErrInput (wrapped) for what was given to
// compare: an *InputError (file, line, message) for an unreadable or
// malformed file, a *field.Error naming the option (Field "metric",
// "alpha", "ignore"...) for unknown metrics, options out of range and
// ambiguous --ignore matches; otherwise write errors of the destination.
package compare
