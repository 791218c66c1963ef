package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vethbench/vethbench/reports/result"
)

// ErrInput is wrapped by the errors of a result that does not hold what the
// check needs: it says nothing about the sensitivity (exit status 2).
var ErrInput = errors.New("cannot check")

// Limits are the pass criteria.
type Limits struct {
	// AA bounds A'/A: its pps interval must lie within [1-AA, 1+AA].
	AA float64
	// CPUTolerance bounds B/A: its CPU ratio must be within CPUTolerance
	// times the expected effect N/cost_A of 1 + N/cost_A.
	CPUTolerance float64
}

// DefaultLimits are issue 14's: A'/A within ±1%, and the CPU effect of B
// within half of what was injected (the spin adds about half a clock read
// beyond N, and a slower sender costs its receiver a little more per
// packet: docs/counters.md).
var DefaultLimits = Limits{AA: 0.01, CPUTolerance: 0.5}

// Row is one pair's outcome.
type Row struct {
	Pair string // "A'/A" or "B/A"
	Case string
	PPS  result.Ratio
	CPU  result.Ratio
	Pass bool
	Why  string // what passed or failed, in words
}

// Report is the check of one A/A/B question.
type Report struct {
	Question string
	Baseline string
	Blocks   int     // measured blocks of the question
	CostA    float64 // A's CPU ns per packet: the median over the blocks
	CostNS   int     // N, B's cost_ns
	// ExpectedCPU is 1 + CostNS/CostA: B/A's CPU ratio if B costs exactly
	// N more per packet.
	ExpectedCPU float64
	Limits      Limits
	Rows        []Row // A'/A, then B/A
	Pass        bool
}

// Check finds the A/A/B question of r (the first question whose paired
// cases include its baseline's replica=2 and the baseline with a cost_ns)
// and checks it against lim.
func Check(r *result.Result, lim Limits) (*Report, error) {
	if len(r.Questions) == 0 {
		return nil, fmt.Errorf("%w: the result has no questions: not the result of a sweep", ErrInput)
	}
	var errs []error
	for _, q := range r.Questions {
		rep, err := check(q, lim)
		if err == nil {
			return rep, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, fmt.Errorf("%w: no question has a baseline, its replica=2 and a cost_ns case: %w", ErrInput, errors.Join(errs...))
}

func check(q result.Question, lim Limits) (*Report, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: question %q: %s", ErrInput, q.Text, fmt.Sprintf(format, a...))
	}
	if q.Paired == nil {
		return nil, bad("no paired blocks: its cases were not measured interleaved (run the spec with measure.method interleaved)")
	}
	base, err := result.ParseName(q.Baseline)
	if err != nil {
		return nil, bad("baseline: %v", err)
	}
	var a, replica, cost *result.PairedCase
	n := 0
	for i := range q.Paired.Cases {
		pc := &q.Paired.Cases[i]
		name, err := result.ParseName(pc.Case)
		if err != nil {
			return nil, bad("%v", err)
		}
		switch {
		case pc.Case == q.Baseline:
			a = pc
		case name.Dims[result.DimReplica] == "2" && sameBut(name, base, result.DimReplica):
			replica = pc
		case name.Dims[result.DimCostNS] != "0" && sameBut(name, base, result.DimCostNS):
			if cost != nil {
				return nil, bad("two cost_ns cases, %s and %s: want one", cost.Case, pc.Case)
			}
			cost = pc
			if n, err = strconv.Atoi(name.Dims[result.DimCostNS]); err != nil || n <= 0 {
				return nil, bad("%s: cost_ns %q is not a positive integer", pc.Case, name.Dims[result.DimCostNS])
			}
		}
	}
	switch {
	case a == nil:
		return nil, bad("its baseline %s is not among the paired cases", q.Baseline)
	case replica == nil:
		return nil, bad("no replica of the baseline (%s/replica=2): give the baseline's value twice in the vary list", q.Baseline)
	case cost == nil:
		return nil, bad("no case that is the baseline with a cost_ns")
	}
	costA := median(a.CPUNsPerPkt)
	if !(costA > 0) {
		return nil, bad("the baseline %s has no CPU cost per packet in its blocks", a.Case)
	}
	for _, pc := range []*result.PairedCase{replica, cost} {
		if pc.PPSRatio == nil || pc.CPURatio == nil {
			return nil, bad("%s has no ratios to the baseline (fewer than 2 blocks with both)", pc.Case)
		}
	}

	rep := &Report{
		Question: q.Text, Baseline: q.Baseline, Blocks: q.Paired.Blocks,
		CostA: costA, CostNS: n, ExpectedCPU: 1 + float64(n)/costA, Limits: lim,
	}
	rep.Rows = []Row{checkAA(replica, lim), rep.checkEffect(cost)}
	rep.Pass = rep.Rows[0].Pass && rep.Rows[1].Pass
	return rep, nil
}

// sameBut reports whether names x and y are the same but for dimension dim.
func sameBut(x, y result.CaseName, dim string) bool {
	dims := make(map[string]string, len(x.Dims))
	for k, v := range x.Dims {
		dims[k] = v
	}
	dims[dim] = y.Dims[dim]
	return result.FormatName(x.Device, dims, x.Knobs) == y.String()
}

// checkAA: no effect where there is none, measured precisely enough to say
// so.
func checkAA(pc *result.PairedCase, lim Limits) Row {
	row := Row{Pair: "A'/A", Case: pc.Case, PPS: *pc.PPSRatio, CPU: *pc.CPURatio}
	p := row.PPS
	switch {
	case p.Lo > 1 || p.Hi < 1:
		row.Why = "pps interval excludes 1: an effect between identical cases"
	case p.Lo < 1-lim.AA || p.Hi > 1+lim.AA:
		row.Why = fmt.Sprintf("pps interval reaches beyond ±%s: too wide to tell", pct(lim.AA))
	default:
		row.Pass = true
		row.Why = fmt.Sprintf("pps interval within ±%s, contains 1", pct(lim.AA))
	}
	return row
}

// checkEffect: the injected cost is seen in the rate, and the CPU it adds
// is what was injected.
func (rep *Report) checkEffect(pc *result.PairedCase) Row {
	row := Row{Pair: "B/A", Case: pc.Case, PPS: *pc.PPSRatio, CPU: *pc.CPURatio}
	var why []string
	ppsOK := false
	switch p := row.PPS; {
	case p.Hi < 1:
		ppsOK = true
		why = append(why, "pps interval below 1")
	case p.Lo > 1:
		why = append(why, "pps interval above 1: the rate rose with a cost")
	default:
		why = append(why, "pps interval contains 1: the effect was not seen")
	}
	tol := rep.Limits.CPUTolerance * (rep.ExpectedCPU - 1)
	cpuOK := math.Abs(row.CPU.Ratio-rep.ExpectedCPU) <= tol
	verdict := "ok"
	if !cpuOK {
		verdict = "off"
	}
	why = append(why, fmt.Sprintf("CPU %.4f vs expected %.4f ± %.4f: %s", row.CPU.Ratio, rep.ExpectedCPU, tol, verdict))
	row.Pass = ppsOK && cpuOK
	row.Why = strings.Join(why, "; ")
	return row
}

// Write prints the report as a short table and the verdict.
func (rep *Report) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "question\t%s\n", rep.Question)
	fmt.Fprintf(tw, "baseline\t%s (A): %.0f ns of CPU per packet (median of %d blocks)\n", rep.Baseline, rep.CostA, rep.Blocks)
	fmt.Fprintf(tw, "injected\tcost_ns=%d in B: expected CPU ratio 1 + %d/%.0f = %.4f\n\n", rep.CostNS, rep.CostNS, rep.CostA, rep.ExpectedCPU)
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "pair\tcase\tpps ratio\tinterval\tCPU ratio\tinterval\tcheck")
	for _, r := range rep.Rows {
		verdict := "FAIL"
		if r.Pass {
			verdict = "ok"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4f\t%s\t%.4f\t%s\t%s: %s\n", r.Pair, r.Case,
			r.PPS.Ratio, interval(r.PPS), r.CPU.Ratio, interval(r.CPU), verdict, r.Why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "FAIL"
	if rep.Pass {
		verdict = "PASS"
	}
	_, err := fmt.Fprintln(w, verdict)
	return err
}

func interval(r result.Ratio) string {
	return fmt.Sprintf("%.4f .. %.4f (%s, %d blocks)", r.Lo, r.Hi, pct(r.Level), r.Blocks)
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'g', 4, 64) + "%" }

// median of the positive, finite values of xs; NaN when there are none.
func median(xs []float64) float64 {
	var v []float64
	for _, x := range xs {
		if x > 0 && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m]
	}
	return (v[m-1] + v[m]) / 2
}
