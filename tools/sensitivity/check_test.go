package main

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/reports/result"
)

const (
	nameA  = "veth/pkt=64"
	nameA2 = "veth/pkt=64/replica=2"
	nameB  = "veth/pkt=64/cost_ns=80"
)

func ratio(r, lo, hi float64) *result.Ratio {
	return &result.Ratio{Ratio: r, Lo: lo, Hi: hi, Level: 0.95, Blocks: 300, Method: "t interval on block log-ratios"}
}

// aab is the result of a sensitivity sweep that passes: A costs 4000 ns a
// packet, so cost_ns 80 should read 1.02 in CPU.
func aab() *result.Result {
	r := result.NewResult()
	r.Settings.Method = "interleaved"
	r.Cases = []result.Case{{Name: nameA}, {Name: nameA2}, {Name: nameB}}
	r.Questions = []result.Question{{
		Text:     "Does vethbench see cost_ns 80?",
		Baseline: nameA,
		Paired: &result.Paired{Blocks: 300, Cases: []result.PairedCase{
			{Case: nameA, PPS: []float64{300e3, 310e3, 305e3}, CPUNsPerPkt: []float64{3900, 4000, 4100}},
			{Case: nameA2, PPS: []float64{301e3, 309e3, 306e3}, CPUNsPerPkt: []float64{3910, 3990, 4100},
				PPSRatio: ratio(1.001, 0.996, 1.006), CPURatio: ratio(0.999, 0.995, 1.003)},
			{Case: nameB, PPS: []float64{294e3, 304e3, 299e3}, CPUNsPerPkt: []float64{3980, 4080, 4180},
				PPSRatio: ratio(0.981, 0.977, 0.985), CPURatio: ratio(1.022, 1.018, 1.026)},
		}},
	}}
	return r
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*result.Result)
		pass [2]bool // A'/A, B/A
		why  string  // in the failing row's words
	}{
		{"pass", func(*result.Result) {}, [2]bool{true, true}, ""},
		{"A/A too wide", func(r *result.Result) {
			r.Questions[0].Paired.Cases[1].PPSRatio = ratio(1.002, 0.985, 1.019)
		}, [2]bool{false, true}, "beyond ±1%"},
		{"A/A sees an effect", func(r *result.Result) {
			r.Questions[0].Paired.Cases[1].PPSRatio = ratio(1.007, 1.003, 1.009)
		}, [2]bool{false, true}, "excludes 1"},
		{"B not detected", func(r *result.Result) {
			r.Questions[0].Paired.Cases[2].PPSRatio = ratio(0.99, 0.97, 1.01)
		}, [2]bool{true, false}, "contains 1"},
		{"B faster", func(r *result.Result) {
			r.Questions[0].Paired.Cases[2].PPSRatio = ratio(1.02, 1.01, 1.03)
		}, [2]bool{true, false}, "above 1"},
		{"B costs too little", func(r *result.Result) {
			r.Questions[0].Paired.Cases[2].CPURatio = ratio(1.008, 1.004, 1.012)
		}, [2]bool{true, false}, "CPU 1.0080 vs expected 1.0200 ± 0.0100: off"},
		{"B costs too much", func(r *result.Result) {
			r.Questions[0].Paired.Cases[2].CPURatio = ratio(1.035, 1.03, 1.04)
		}, [2]bool{true, false}, ": off"},
		{"question first among others", func(r *result.Result) {
			other := result.Question{Text: "Which device?", Baseline: "veth/pkt=1400"}
			r.Questions = append([]result.Question{other}, r.Questions...)
		}, [2]bool{true, true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := aab()
			tc.mod(r)
			rep, err := Check(r, DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			if rep.CostA != 4000 || rep.CostNS != 80 || math.Abs(rep.ExpectedCPU-1.02) > 1e-12 {
				t.Errorf("cost_A %v, N %d, expected CPU ratio %v; want 4000, 80, 1.02", rep.CostA, rep.CostNS, rep.ExpectedCPU)
			}
			if len(rep.Rows) != 2 || rep.Rows[0].Case != nameA2 || rep.Rows[1].Case != nameB {
				t.Fatalf("rows %+v", rep.Rows)
			}
			for i, want := range tc.pass {
				if rep.Rows[i].Pass != want {
					t.Errorf("%s: pass %v, want %v (%s)", rep.Rows[i].Pair, rep.Rows[i].Pass, want, rep.Rows[i].Why)
				}
				if !want && !strings.Contains(rep.Rows[i].Why, tc.why) {
					t.Errorf("%s: %q does not say %q", rep.Rows[i].Pair, rep.Rows[i].Why, tc.why)
				}
			}
			if rep.Pass != (tc.pass[0] && tc.pass[1]) {
				t.Errorf("report pass %v", rep.Pass)
			}
			var out bytes.Buffer
			if err := rep.Write(&out); err != nil {
				t.Fatal(err)
			}
			last := "FAIL"
			if rep.Pass {
				last = "PASS"
			}
			for _, s := range []string{nameA2, nameB, "1.0200", last + "\n"} {
				if !strings.Contains(out.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, out.String())
				}
			}
		})
	}
}

// A result that cannot answer is an input error naming what is missing,
// never a FAIL.
func TestCheckInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*result.Result)
		want string
	}{
		{"no questions", func(r *result.Result) { r.Questions = nil }, "not the result of a sweep"},
		{"missing Paired", func(r *result.Result) {
			r.Settings.Method, r.Questions[0].Paired = "rounds", nil
		}, "no paired blocks: its cases were not measured interleaved"},
		{"no replica", func(r *result.Result) {
			p := r.Questions[0].Paired
			p.Cases = append(p.Cases[:1], p.Cases[2])
		}, "no replica of the baseline (veth/pkt=64/replica=2)"},
		{"no cost case", func(r *result.Result) {
			p := r.Questions[0].Paired
			p.Cases = p.Cases[:2]
		}, "no case that is the baseline with a cost_ns"},
		{"replica of another case", func(r *result.Result) {
			r.Questions[0].Paired.Cases[1].Case = "veth/pkt=1400/replica=2"
		}, "no replica"},
		{"no ratios", func(r *result.Result) {
			r.Questions[0].Paired.Cases[2].PPSRatio = nil
		}, "veth/pkt=64/cost_ns=80 has no ratios"},
		{"no baseline cost", func(r *result.Result) {
			r.Questions[0].Paired.Cases[0].CPUNsPerPkt = []float64{0, math.NaN()}
		}, "no CPU cost per packet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := aab()
			tc.mod(r)
			rep, err := Check(r, DefaultLimits)
			if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("report %+v, error %v; want ErrInput saying %q", rep, err, tc.want)
			}
		})
	}
}

// The exit status: 0 on PASS, 1 on FAIL, 2 on input the check cannot use.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, r *result.Result) string {
		p := filepath.Join(dir, name)
		if err := r.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	failing := aab()
	failing.Questions[0].Paired.Cases[2].PPSRatio = ratio(0.99, 0.97, 1.01)
	rounds := aab()
	rounds.Questions[0].Paired = nil
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string // in stdout, or stderr when the code is 2
	}{
		{"pass", []string{write("pass.json", aab())}, exitPass, "PASS"},
		{"fail", []string{write("fail.json", failing)}, exitFail, "FAIL"},
		{"strict A/A", []string{"-aa", "0.005", write("pass2.json", aab())}, exitFail, "beyond ±0.5%"},
		{"rounds", []string{write("rounds.json", rounds)}, exitInput, "no paired blocks"},
		{"no file", []string{filepath.Join(dir, "none.json")}, exitInput, "none.json"},
		{"no args", nil, exitInput, "usage"},
		{"bad aa", []string{"-aa", "2", "x.json"}, exitInput, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stdout %s; stderr %s", code, tc.code, stdout.String(), stderr.String())
			}
			got := stdout.String()
			if tc.code == exitInput {
				got = stderr.String()
			}
			if !strings.Contains(got, tc.out) {
				t.Errorf("output %q lacks %q", got, tc.out)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{0, -1, math.Inf(1), 5}, 5},
	} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %v, want NaN", got)
	}
}
