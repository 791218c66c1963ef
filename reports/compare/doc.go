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
// Block samples: when both files measured a case interleaved (result
// schema 3, Question.Paired) and the metric is measured per block (pps,
// cpu_ns_per_pkt), the case is compared on its blocks instead of its
// trials. Consecutive blocks share the machine's drift, so they are not
// taken for independent: each side's blocks are cut into Batches (5)
// contiguous batches, each its median block on the log scale, and Welch's
// t on the two sides' batch values gives the p-value and the interval of
// the ratio (NEW's geometric mean of batches over BASE's). A case needs
// MinBlocks a side and batches at least twice the blocks' correlation time
// long; otherwise its trials are compared, with a note. Its p-value joins
// the one Benjamini-Hochberg family with the trials' p-values.
//
// The summary holds the geometric mean of the ratios over every compared
// case with its bootstrap interval (resampling within cases; a case on
// block samples draws its log ratio from its t). A different host context
// (kernel, CPU model, vCPUs, arch) is a warning at the top.
//
// # In-run ratios
//
// For each question both files measured interleaved (matched by its text;
// cases and baselines by name after Ignore), each case other than the
// baseline has in each run a ratio to the baseline from the same blocks
// (stats.PairedRatio). NEW's ratio over BASE's, with an interval and a
// p-value from the difference of the two mean log-ratios (standard errors
// combined, Welch-Satterthwaite t), gets a verdict by the same rule,
// Benjamini-Hochberg over the in-run ratios as a family of their own. A
// host faster or slower in one run cancels in them. Report.InRun holds
// them; nil when neither file has interleaved questions.
//
// Only a REGRESSION makes Report.Failed true (the CLI's exit code 1): by
// default (Options.FailOn FailBoth) one of an absolute figure or of an
// in-run ratio; FailAbsolute or FailInRun count only one kind.
// Report.NothingCompared is a *NothingComparedError (ErrNothingCompared)
// when no case and no in-run ratio got a verdict: a file with no cases, no
// case in common, or no values a ratio can be taken of (all-zero trials).
// The CLI exits 2 on it, after writing the report, so that a gate does not
// pass on a comparison that compared nothing.
//
// # Outputs
//
// Text (an aligned table), Markdown (for a CI job summary: headline,
// warnings, verdict table sorted by severity, cases not compared, largest
// changes, in-run ratios, method) and JSON; the HTML page is package
// reports' WriteCompareHTML. The JSON form is a Report; within schema
// version 1 fields are only added:
//
//	schema, version        "vethbench-compare", 1
//	base, new              path, format ("vethbench-result" | "benchfmt"), tool (vethbench
//	                       version), host {kernel, arch, cpu_model, vcpus}, interrupted
//	metric                 name, unit (Go benchmark unit), higher_is_better
//	method                 test ("mann-whitney-u"), correction ("benjamini-hochberg"),
//	                       family (p-values corrected together), alpha, threshold,
//	                       interval ("percentile-bootstrap"), level, resamples, seed, ignore,
//	                       blocks {cases, min_blocks, batches, test ("welch-t-on-batches"),
//	                       interval ("welch-t")} when some case was compared on blocks,
//	                       fail_on ("both", "absolute", "in-run") when there is in_run
//	                       or it is not "both"
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
//	  ratio                {ratio, lo, hi, level}: median NEW / median BASE (block
//	                       samples: geometric mean of NEW's batches / BASE's)
//	  test                 {u (of NEW), p, exact, q (BH-adjusted; = p outside the
//	                       family), min_p, in_family}; block samples: method
//	                       ("welch-t-on-batches"), df, p, q, in_family
//	  samples              "blocks" when compared on block samples (base.n and
//	                       new.n count blocks); absent for trials
//	in_run                 absent when neither file has interleaved questions:
//	  metric, note         the figure (pps, cpu_ns_per_pkt); why nothing was compared
//	  method               ratio (stats.PairedMethod), interval, correction, family,
//	                       alpha, threshold, level
//	  regressions, improvements, no_change, inconclusive, not_compared
//	  cases[]              in severity order: question, case, baseline, in, verdict,
//	                       note, base and new {ratio, lo, hi, level, blocks, n_eff}
//	                       (each run's ratio case/baseline), ratio {ratio, lo, hi,
//	                       level} (NEW's / BASE's), test {p, q, df, in_family}
//
// Privileges: none. Errors: ErrInput (wrapped) for what was given to
// compare: an *InputError (file, line, message) for an unreadable or
// malformed file or one that is not a regular file of at most
// result.MaxFileSize (wrapping the *result.FileError), a *field.Error naming the option (Field "metric",
// "alpha", "ignore", "fail-on"...) for unknown metrics, options out of range and
// ambiguous --ignore matches; otherwise write errors of the destination.
package compare
