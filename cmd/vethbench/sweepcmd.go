package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vethbench/vethbench/bench"
	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/reports"
	"github.com/vethbench/vethbench/reports/result"
	"github.com/vethbench/vethbench/tuning"
	"github.com/vethbench/vethbench/tuning/spec"
)

// maxSpecSize is the largest sweep spec read: the default spec is 5 KB,
// and a spec past MaxCases cases is refused anyway.
const maxSpecSize = 1 << 20

type sweepFlags struct {
	file   string
	format string
	output string
	force  bool
	dryRun bool
	quiet  bool
	costNS int
}

func newSweepCmd(stdout, stderr io.Writer) *cobra.Command {
	var f sweepFlags
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Run a grid of cases from a YAML spec (or the embedded default) and write a result file",
		Long: `sweep runs every case of a sweep spec: groups of cases, each answering one
question ("does GRO help veth?"), each a small grid over topologies, packet
sizes, traffic and knobs. With no -f it runs the embedded default spec, which
compares veth, macvlan, ipvlan, bridge and loopback at 64 and 1400 bytes,
GRO on and off, txqueuelen under noqueue and pfifo_fast, and one vs two
queues, in 5 to 9 minutes on a 2-vCPU machine (vethbench sweep --print-default
shows it).

A question's cases are measured together (measure.method: interleaved, the
default): all are built at once, and the load moves from one to the next
every slice (20 ms), in blocks that give each case one slice in a shuffled,
balanced order. Each block yields every case's rate and CPU cost per packet
and its ratio to the question's baseline from the same block, so the
machine's drift cancels; the answers are those ratios with their intervals.
The time after each slice while the path drains is not counted in the rate.
measure.method: rounds measures whole trials in shuffled rounds instead.

Each case's figures mean what 'vethbench run' reports. CPU ns per packet is
the run's cost, not every CPU's: the busy time of the CPUs the run pinned
(per-CPU /proc/stat) over the span of the packet counts, per packet received.

The spec is validated in full before anything is created; an error names the
file, line and field and exits 2. The plan (cases, trials, estimated time) is
printed first, then a progress line. The result file is written into the
output directory even when the sweep is interrupted.

Host-wide knobs (global sysctls) are written to a journal before they change
and restored after each case, on Ctrl-C, and by the next vethbench start or
'vethbench cleanup' after a crash (journal in /var/lib/vethbench, or
$VETHBENCH_STATE_DIR, which must be root's and closed to others). The sweep
claims them all before its first case: a second vethbench that wants one is
refused at its start, naming this one.`,
		Example: `  vethbench sweep                       # the default spec, results in ./vethbench-results/<time>/
  vethbench sweep -f my.yaml -o out/    # your spec
  vethbench sweep --dry-run -f my.yaml  # validate and print the plan only
  vethbench sweep --print-default > my.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if p, _ := cmd.Flags().GetBool("print-default"); p {
				_, err := stdout.Write(spec.Default())
				return err
			}
			return runSweep(cmd, f, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVarP(&f.file, "file", "f", "", "sweep spec (YAML, a regular file of at most 1 MiB); default: the embedded default spec")
	fl.StringVarP(&f.output, "output", "o", "", "output directory, checked before anything is measured (default ./vethbench-results/<start time>/)")
	fl.StringVar(&f.format, "format", "table", "what goes to stdout at the end: table (a summary)|json|benchfmt (Go benchmark format); the result file is always written")
	fl.BoolVar(&f.force, "force", false, fmt.Sprintf("run a grid larger than %d cases", spec.MaxCases))
	fl.BoolVar(&f.dryRun, "dry-run", false, "validate the spec and print the plan; create nothing")
	fl.Bool("print-default", false, "print the embedded default spec and exit")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress line on stderr")
	fl.IntVar(&f.costNS, "cost-ns", 0, fmt.Sprintf("validation knob, never for real measurements: every case's receiver spends N ns more CPU per packet (at most %d), without a change to the cases' names, so that a history of sweeps holds a known regression for 'vethbench trend' to find; recorded as each case's traffic.cost_ns", plan.MaxCostNS))
	return cmd
}

func runSweep(cmd *cobra.Command, f sweepFlags, stdout, stderr io.Writer) error {
	if !slices.Contains(outputFormats, f.format) {
		return usageErr(fmt.Errorf("--format: unknown format %q (%s)", f.format, strings.Join(outputFormats, ", ")))
	}
	name, data := spec.DefaultFile, spec.Default()
	if f.file != "" {
		b, err := result.ReadInput(cmd.Context(), f.file, maxSpecSize)
		if err != nil {
			return usageErr(fmt.Errorf("read spec: %w", err))
		}
		name, data = f.file, b
	}
	s, err := spec.Parse(name, data, tuning.Catalog{})
	if err != nil {
		return usageErr(err)
	}
	if err := s.Check(f.force); err != nil {
		return usageErr(err)
	}
	cases, err := s.Expand()
	if err != nil {
		return usageErr(err)
	}
	if err := injectCost(cases, f.costNS); err != nil {
		return usageErr(err)
	}
	m := s.Measure
	dir := f.output
	if dir == "" {
		dir = filepath.Join("vethbench-results", time.Now().Format("2006-01-02T15-04-05"))
	}
	// The plan is for people: keep stdout for the data in other formats.
	planOut := stdout
	if f.format != "table" {
		planOut = stderr
	}
	if !f.dryRun {
		// Refused before the plan, which would read as if the sweep
		// were about to start; and the output directory is checked
		// (created and removed) before anything is measured.
		if !isRoot() {
			return needsRoot("sweep", "network namespaces, devices and BPF; --dry-run validates and plans without")
		}
		if err := checkOutputDir("-o", dir); err != nil {
			return err
		}
	}
	printPlan(planOut, s, cases, dir)
	if f.dryRun {
		return nil
	}
	var planned []plan.Case
	for _, c := range cases {
		planned = append(planned, c.Case)
	}
	j, err := openJournalFor(stderr, hostKnobNames(planned))
	if err != nil {
		return err
	}
	defer unclaim(j, stderr)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	bcases := make([]plan.Case, len(cases))
	for i, c := range cases {
		bcases[i] = c.Case
		bcases[i].Questions = c.Questions
	}
	opts := bench.Options{Journal: j, Spec: string(data), Command: append([]string{"vethbench"}, os.Args[1:]...), Questions: s.Questions(cases)}
	if !f.quiet {
		opts.Progress = newProgressLine(stderr, m, len(cases)).event
	}
	res, runErr := measure(cmd.Context(), bcases, m, opts)
	if res == nil {
		return runErr
	}
	path := filepath.Join(dir, "result.json")
	if err := res.WriteFile(path); err != nil {
		return errors.Join(runErr, err)
	}
	html := filepath.Join(dir, "report.html")
	if err := writeReport(html, "html", res); err != nil {
		return errors.Join(runErr, err)
	}
	if err := writeFormat(stdout, f.format, res, reports.WriteSummary); err != nil {
		return err
	}
	fmt.Fprintf(planOut, "\nresult: %s\nreport: %s\n", path, html)
	if runErr != nil {
		return runErr
	}
	for _, c := range res.Cases {
		if c.Status == result.StatusFailed {
			return fmt.Errorf("%s failed: %s", c.Name, c.Error)
		}
	}
	return nil
}

// injectCost applies sweep --cost-ns to every case. The cases keep their
// names on purpose: the point is a history in which the same cases got
// slower, as after a kernel change, and trend marks the runs where a
// case's cost_ns changed.
func injectCost(cases []spec.CaseSpec, ns int) error {
	if ns == 0 {
		return nil
	}
	if ns < 0 || ns > plan.MaxCostNS {
		return fmt.Errorf("--cost-ns: %d out of range [0, %d] (ns of CPU added per packet; 0 = off)", ns, plan.MaxCostNS)
	}
	for i := range cases {
		if cases[i].Case.Traffic.CostNS != 0 {
			return fmt.Errorf("--cost-ns: case %s sets cost_ns in its spec already", cases[i].Name)
		}
		cases[i].Case.Traffic.CostNS = ns
		cases[i].Case.Traffic.CostUnnamed = true
	}
	return nil
}

// printPlan says what the sweep will do before it does it.
func printPlan(w io.Writer, s *spec.Spec, cases []spec.CaseSpec, dir string) {
	m := s.Measure
	how := "in shuffled rounds, each trial in a fresh topology"
	if m.MethodOf() == plan.MethodInterleaved {
		how = fmt.Sprintf("interleaved: each question's cases alive at once, the load moving every %v", m.SliceOf())
	}
	about := spec.EstimateDuration(cases, m).Round(time.Second).String()
	if most := spec.EstimateLongest(cases, m).Round(time.Second); most.String() != about {
		about += fmt.Sprintf(" (at most %v)", most)
	}
	fmt.Fprintf(w, "sweep %q: %d cases in %d groups, %s; %d trials of %v each after a %v warm-up; about %s; results in %s\n",
		s.Name, len(cases), len(s.Groups), how, m.Trials, m.Duration, m.Warmup, about, dir)
	for gi, g := range s.Groups {
		n := 0
		for _, c := range cases {
			for _, x := range c.Groups {
				if x == gi {
					n++
				}
			}
		}
		fmt.Fprintf(w, "  %2d cases: %s\n", n, g.Question)
	}
}
