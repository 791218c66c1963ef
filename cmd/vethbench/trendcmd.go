package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vethbench/vethbench/reports/trend"
)

type trendFlags struct {
	format    string
	output    string
	threshold float64
	pValue    float64
	level     float64
	window    int
	ack       string
	byKernel  bool
}

func newTrendCmd(stdout, stderr io.Writer) *cobra.Command {
	var f trendFlags
	def := trend.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "trend RESULT... | DIR",
		Short: "Find where a history of results changed, and judge the newest run (nightly CI)",
		Long: `trend reads a history of result files, a nightly job's sweeps: files, or a
directory searched for *.json two levels deep (DIR/<run>/result.json, as
'vethbench sweep -o DIR/<time>' writes them). Runs are ordered by their start
time. Runs from different machines (host name, CPU model, vCPUs) are separate
histories, judged each on its own and said; a kernel change within one is an
event marked beside the change points (--by-kernel splits by kernel instead).

For every case and metric (pps, device pps, CPU ns per packet, p99 latency,
and the in-run pps and CPU ratios to the question's baseline where the runs
were interleaved) it finds change points: E-divisive means (Matteson and
James) with a t-test at --p-value (Welch's and Student's must both pass),
in windows of 50 runs, as Apache Otava does, on the logs of the runs'
figures. One run alone is never a
change point: a change needs at least 2 runs on each side. Each change has
the run where it starts, the size of the step with its interval (Welch's t on
the two segments' logs) and its direction by the metric's sense.

The newest run is judged per series: REGRESSION when it continues a change
for the worse larger than --threshold (starting at it or before), unless
acknowledged; WATCH when it alone lies beyond the threshold from the level
before it (one bad night is not a change point: it will become one if the
next runs stay there); IMPROVED, OK, SHORT (fewer than 4 runs), ABSENT;
BROKEN when the case failed in the newest run after running before.

Acknowledgements: a regression people accepted (a known kernel change) is
listed in a YAML file, DIR/acknowledged.yaml beside the history or --ack:

  acknowledged:
    - case: veth/pkt=64            # a case name or a pattern (veth/*)
      metric: pps                  # optional: every metric when absent
      since: 2026-11-20T03:00:04Z  # start of the run where it starts, as trend prints it
      reason: kernel 6.19's veth change, accepted in #123

It then stops failing the job and is still shown (ACKNOWLEDGED).

Formats: text; markdown (a CI job summary); json; junit (one test case per
case and metric, failed on a regression: GitLab, Jenkins...); html (an
offline page with a small chart per case: the runs with their intervals,
the change points, the band the newest run is judged against).

Exit codes: 0 no regression in the newest run; 1 a regression (or a broken
case) the newest run shows, after the output is written; 2 bad flags or
input (an unreadable file, a file that is not a result, a bad
acknowledgements file, nothing to judge).`,
		Example: `  vethbench trend history/                          # every run under history/
  vethbench trend --format markdown history/ >> "$GITHUB_STEP_SUMMARY"
  vethbench trend --format junit -o junit.xml history/
  vethbench trend --format html -o trend.html history/
  vethbench trend --threshold 0.05 a.json b.json c.json d.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTrend(cmd.Context(), args, f, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&f.format, "format", "text", "output: "+strings.Join(trend.Formats, "|"))
	fl.StringVarP(&f.output, "output", "o", "", "write the output to this file instead of stdout (checked before anything is read)")
	fl.Float64Var(&f.threshold, "threshold", def.Threshold, "smallest step that fails the job, as a fraction (0.03 = 3%); smaller changes are shown, never failed")
	fl.Float64Var(&f.pValue, "p-value", def.PValue, "significance level of a change point (Welch's and Student's t-tests on the segments either side must both pass)")
	fl.Float64Var(&f.level, "level", def.Level, "coverage of the steps' intervals")
	fl.IntVar(&f.window, "window", def.Window, "E-divisive's window, in runs (each window overlaps the next by half)")
	fl.StringVar(&f.ack, "ack", "", "acknowledgements file (YAML); default: DIR/"+trend.AckFileName+" when one directory is given and it exists")
	fl.BoolVar(&f.byKernel, "by-kernel", false, "split each machine's history by kernel instead of marking kernel changes in it")
	return cmd
}

func runTrend(ctx context.Context, args []string, f trendFlags, stdout, stderr io.Writer) error {
	if !slices.Contains(trend.Formats, f.format) {
		return usageErr(fmt.Errorf("--format: unknown format %q (%s)", f.format, strings.Join(trend.Formats, ", ")))
	}
	if f.output != "" {
		if err := checkOutputFile("-o", f.output); err != nil {
			return err
		}
	}
	o := trend.DefaultOptions()
	o.Threshold, o.PValue, o.Level, o.Window, o.ByKernel = f.threshold, f.pValue, f.level, f.window, f.byKernel
	ackPath := f.ack
	if ackPath == "" && len(args) == 1 {
		if fi, err := os.Stat(args[0]); err == nil && fi.IsDir() {
			if p, ok := trend.DefaultAckFile(args[0]); ok {
				ackPath = p
			}
		}
	}
	if ackPath != "" {
		acks, err := trend.ReadAcks(ctx, ackPath)
		if err != nil {
			return usageErr(err)
		}
		o.Acks, o.AckFile = acks, ackPath
	}
	h, err := trend.Load(ctx, args)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return usageErr(err)
	}
	rep, err := trend.Analyze(h, o)
	if err != nil {
		return badInput(err)
	}
	var buf bytes.Buffer
	if err := trend.Write(&buf, rep, f.format); err != nil {
		return err
	}
	if f.output != "" {
		if err := os.WriteFile(f.output, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.output, err)
		}
		fmt.Fprintf(stderr, "%s\n%s: %s\n", rep.Summary(), f.format, f.output)
	} else if _, err := stdout.Write(buf.Bytes()); err != nil {
		return err
	}
	if rep.Failing() {
		return &exitError{code: exitFailure, err: errors.New(failingWords(rep))}
	}
	return nil
}

// failingWords names what fails, for the last line on stderr.
func failingWords(rep *trend.Report) string {
	var names []string
	for _, g := range rep.Groups {
		for _, s := range g.Series {
			if s.Verdict.Failing() {
				w := fmt.Sprintf("%s %s", trend.SeriesName(s), s.Metric.Name)
				if c := s.Verdict.Change; c != nil {
					w += " " + trend.StepText(*c)
				} else {
					w += " " + s.Verdict.Status
				}
				names = append(names, w)
			}
		}
	}
	n := len(names)
	if n > 5 {
		names = append(names[:5], fmt.Sprintf("and %d more", n-5))
	}
	word := "series fail"
	if n == 1 {
		word = "series fails"
	}
	return fmt.Sprintf("%d %s in the newest run: %s", n, word, strings.Join(names, "; "))
}
