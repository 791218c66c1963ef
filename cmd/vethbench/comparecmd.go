package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/compare"
)

type compareFlags struct {
	alpha     float64
	threshold float64
	metric    string
	format    string
	seed      uint64
	ignore    []string
	failOn    string
}

func newCompareCmd(stdout, stderr io.Writer) *cobra.Command {
	var f compareFlags
	def := compare.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "compare BASE NEW",
		Short: "Compare two result files case by case and say what regressed",
		Long: `compare matches the cases of two files by name and gives each a verdict:
REGRESSION, IMPROVEMENT, NO CHANGE, INCONCLUSIVE (collect more trials) or
TOO FEW TRIALS (so few that no difference could ever be shown: fewer than 4
per side at --alpha 0.05), with the ratio median NEW / median BASE and its
confidence interval, and a summary with the geometric mean of the ratios.

BASE and NEW may each be a vethbench result file (run -o, sweep) or Go
benchmark output (run --format benchfmt, go test -bench, what benchstat
reads); the format is found from the content.

Per case: a two-sided Mann-Whitney U test on the per-trial values, its
p-values adjusted across the cases by Benjamini-Hochberg (q), and a
percentile bootstrap interval of the ratio (10,000 resamples, --seed) at
level 1 - alpha. REGRESSION when q < alpha and the interval lies wholly
beyond --threshold on the bad side; NO CHANGE when q >= alpha and the
interval lies within ±threshold; INCONCLUSIVE otherwise.

Cases on one side only, and cases unsupported or failed on either side, are
listed without a verdict. A different kernel, CPU model or vCPU count
between the files is a warning at the top.

Sweeps measured interleaved (result schema 3) carry every case's rate and
cost per block. A case both files measured so is compared on its blocks:
each side's blocks cut into 5 contiguous batches and Welch's t on them,
since consecutive blocks share the machine's drift. And for each question
both files measured interleaved, each case's in-run ratio to the question's
baseline (from the same blocks of one run, so a host faster or slower
tonight cancels) is compared NEW against BASE, with the same verdicts, in a
section "in-run ratios" (pps and cpu_ns_per_pkt only).

Exit codes: 0 no regression; 1 at least one REGRESSION (by default of an
absolute figure or of an in-run ratio; see --fail-on); 2 bad flags or input
(unreadable or malformed file, unknown metric) or nothing compared (a file
with no cases, no case in common, no values to compare, e.g. all-zero
trials), after the report is written.`,
		Example: `  vethbench compare base.json new.json
  vethbench compare --format markdown nightly-prev.json nightly.json >> "$GITHUB_STEP_SUMMARY"
  vethbench compare --metric p99 --threshold 0.05 base.json new.json
  vethbench compare --metric stage_qdisc base.json new.json  # where the time moved (measure.stages)
  vethbench compare --ignore rate a.json b.json      # A/B: cases differ only in /rate=
  vethbench compare --metric sec/op old.txt new.txt  # any go test -bench output
  vethbench compare --fail-on in-run last-night.json tonight.json  # shared CI runners`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCompare(cmd.Context(), args[0], args[1], f, stdout)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.Float64Var(&f.alpha, "alpha", def.Alpha, "significance level of the Benjamini-Hochberg adjusted p-values, in (0, 1); the interval's level is 1 - alpha")
	fl.Float64Var(&f.threshold, "threshold", def.Threshold, "noise threshold theta as a fraction (0.03 = 3%): smaller changes are never a regression")
	fl.StringVar(&f.metric, "metric", def.Metric, "what to compare: "+strings.Join(compare.MetricNames(), "|")+
		" (cpu_ns_per_pkt and latency: lower is better); with Go benchmark files also any unit, e.g. sec/op")
	fl.StringVar(&f.format, "format", compare.Text, "output: "+strings.Join(compare.Formats, "|")+" (markdown for a CI job summary)")
	fl.Uint64Var(&f.seed, "seed", def.Seed, "bootstrap seed, recorded in the output: the same seed gives the same intervals")
	fl.StringSliceVar(&f.ignore, "ignore", nil, "name key to ignore when matching cases: segments /KEY=... are removed (repeatable)")
	fl.StringVar(&f.failOn, "fail-on", def.FailOn, "which regressions exit 1: "+strings.Join(compare.FailOnValues, "|")+
		" (in-run: only those of the in-run ratios, which a host slower in NEW than in BASE cannot cause)")
	return cmd
}

func runCompare(ctx context.Context, basePath, newPath string, f compareFlags, stdout io.Writer) error {
	switch f.format {
	case compare.Text, compare.Markdown, compare.JSON:
	default:
		return usageErr(fmt.Errorf("--format: unknown format %q (%s)", f.format, strings.Join(compare.Formats, ", ")))
	}
	o := compare.DefaultOptions()
	o.Alpha, o.Threshold, o.Metric, o.Seed, o.Ignore, o.FailOn = f.alpha, f.threshold, f.metric, f.seed, f.ignore, f.failOn
	base, err := compare.LoadContext(ctx, basePath)
	if err != nil {
		return badInput(err)
	}
	nw, err := compare.LoadContext(ctx, newPath)
	if err != nil {
		return badInput(err)
	}
	rep, err := compare.Compare(base, nw, o)
	if err != nil {
		return badInput(err)
	}
	if err := rep.Write(stdout, f.format); err != nil {
		return err
	}
	// A gate must not pass on a comparison that compared nothing.
	if err := rep.NothingCompared(); err != nil {
		return usageErr(err)
	}
	if !rep.Failed() {
		return nil
	}
	var names []string
	if rep.Method.FailOn != compare.FailInRun {
		for _, c := range rep.Cases {
			if c.Verdict == stats.Regression {
				names = append(names, fmt.Sprintf("%s %+.1f%%", c.Name, 100*(c.Ratio.Ratio-1)))
			}
		}
	}
	if rep.InRun != nil && rep.Method.FailOn != compare.FailAbsolute {
		for _, c := range rep.InRun.Cases {
			if c.Verdict == stats.Regression {
				names = append(names, fmt.Sprintf("in-run %s over %s %+.1f%%", c.Case, c.Baseline, 100*(c.Ratio.Ratio-1)))
			}
		}
	}
	n := len(names)
	if n > 5 {
		names = append(names[:5], fmt.Sprintf("and %d more", n-5))
	}
	word := "regressions"
	if n == 1 {
		word = "regression"
	}
	return &exitError{code: exitFailure, err: fmt.Errorf("%d %s in %s: %s (%s)", n, word, rep.Metric.Name, strings.Join(names, ", "), newPath)}
}
