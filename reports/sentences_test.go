package reports

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/reports/result"
)

func TestAnswerDevices(t *testing.T) {
	const q = "Which device is fastest, for small and large packets?"
	r := synthResult(
		synthCase("veth/pkt=64", 300000, q),
		synthCase("veth/pkt=1400", 250000, q),
		synthCase("macvlan-bridge/pkt=64", 390000, q),
		synthCase("macvlan-bridge/pkt=1400", 251000, q),
		result.Case{Name: "ipvlan-l2/pkt=64", Status: result.StatusUnsupported, Error: "kernel has no ipvlan support", Questions: []string{q}},
		result.Case{Name: "ipvlan-l2/pkt=1400", Status: result.StatusUnsupported, Error: "kernel has no ipvlan support", Questions: []string{q}},
		synthCase("bridge/pkt=64", 200000, q),
		synthCase("bridge/pkt=1400", 180000, q),
		synthCase("loopback/pkt=64", 900000, q),
		synthCase("loopback/pkt=1400", 800000, q),
	)
	a := analyze(r)
	if len(a.Groups) != 1 {
		t.Fatalf("%d groups, want 1", len(a.Groups))
	}
	g := a.Groups[0]
	if g.Compare != dimDevice || len(g.Context) != 1 || g.Context[0] != dimPkt {
		t.Fatalf("compare %q context %v, want device at pkt_size", g.Compare, g.Context)
	}
	got := answer(g).Plain()
	for _, want := range []string{
		"Against veth: at 64 B, macvlan is 1.29x (95% CI 1.",
		", faster), bridge is 0.67x (95% CI 0.",
		", slower), loopback is 3.01x (95% CI ",
		"; at 1400 B, macvlan is 1.00x (95% CI 1.00–1.01, no measurable difference), bridge",
		"ipvlan: unsupported on this kernel (kernel has no ipvlan support).",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}
	if v := verdictOf(got, "macvlan"); v != "faster" {
		t.Errorf("macvlan at 64 B: %q, want faster:\n%s", v, got)
	}
	if strings.Contains(got, "fastest") {
		t.Errorf("a device named fastest after sorting:\n%s", got)
	}
	if n := strings.Count(got, "ipvlan"); n != 2 {
		t.Errorf("ipvlan named %d times, want once with its reason:\n%s", n, got)
	}
}

func TestAnswerKnobs(t *testing.T) {
	const q = "Does txqueuelen matter, without a qdisc and with a queueing one?"
	var cases []result.Case
	for _, qd := range []string{"noqueue", "pfifo_fast"} {
		for _, l := range []int{100, 1000, 5000} {
			pps := 300000.0
			if qd == "pfifo_fast" {
				pps = 200000 + 20*float64(l)
			}
			cases = append(cases, synthCase(fmt.Sprintf("veth/pkt=64/qdisc=%s/txqueuelen=%d", qd, l), pps, q))
		}
	}
	g := analyze(synthResult(cases...)).Groups[0]
	if g.Compare != "txqueuelen" {
		t.Fatalf("compare %q, want txqueuelen (the question names it first)", g.Compare)
	}
	got := answer(g).Plain()
	for _, want := range []string{
		"Against txqueuelen 100: under qdisc noqueue, txqueuelen 1000 is 1.00x (95% CI ",
		"; under qdisc pfifo_fast, txqueuelen 1000 is 1.08x (95% CI 1.",
		", faster), txqueuelen 5000 is 1.48x (95% CI 1.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}
}

func TestAnswerNoEffect(t *testing.T) {
	const q = "Does GRO help veth?"
	g := analyze(synthResult(
		synthCase("veth/pkt=64/gro=off", 300000, q),
		synthCase("veth/pkt=64/gro=on", 301000, q),
		synthCase("veth/pkt=1400/gro=off", 250000, q),
		synthCase("veth/pkt=1400/gro=on", 249000, q),
	)).Groups[0]
	got := answer(g).Plain()
	if want := "gro had no measurable effect at 64 B or at 1400 B: every interval lies within ±3% of gro off (the largest difference "; !strings.HasPrefix(got, want) {
		t.Errorf("answer = %q, want prefix %q", got, want)
	}
}

func TestAnswerQueues(t *testing.T) {
	const q = "Do two queues help two senders?"
	g := analyze(synthResult(
		synthCase("veth/pkt=64/flows=2/senders=2/gro=off", 300000, q),
		synthCase("veth/pkt=64/flows=2/senders=2/gro=on", 300000, q),
		synthCase("veth/pkt=64/queues=2x2/flows=2/senders=2/gro=off", 450000, q),
		synthCase("veth/pkt=64/queues=2x2/flows=2/senders=2/gro=on", 450000, q),
	)).Groups[0]
	if g.Compare != dimQueues || len(g.Context) != 1 || g.Context[0] != "gro" {
		t.Fatalf("compare %q context %v, want queues with gro", g.Compare, g.Context)
	}
	if want := "Against 1x1 queues: with gro off, 2x2 queues is 1.49x (95% CI 1.48–1.51, faster); with gro on, 2x2 queues is 1.49x"; !strings.HasPrefix(answer(g).Plain(), want) {
		t.Errorf("answer = %q, want prefix %q", answer(g).Plain(), want)
	}
}

func TestAnswerSingleRun(t *testing.T) {
	g := analyze(synthResult(synthCase("veth/pkt=64", 300000))).Groups[0]
	if want := "veth/pkt=64: 300,000 pps"; !strings.HasPrefix(answer(g).Plain(), want) {
		t.Errorf("answer = %q, want prefix %q", answer(g).Plain(), want)
	}
}

// TestAnswerBaseline: the answer compares with the baseline the result
// names for the question, whatever the order of the cases in the file;
// without a name, with the question's first case in the file. A baseline
// missing from the result, or not run, leaves its contexts uncompared and
// says so.
func TestAnswerBaseline(t *testing.T) {
	const q = "Does GRO help veth?"
	cases := []result.Case{
		synthCase("veth/pkt=64/gro=off", 300000, q),
		synthCase("veth/pkt=1400/gro=off", 250000, q),
		synthCase("veth/pkt=64/gro=on", 360000, q),
		synthCase("veth/pkt=1400/gro=on", 250000, q),
	}

	r := synthResult(cases...)
	g := analyze(r).Groups[0]
	if g.Baseline != "veth/pkt=64/gro=off" || g.Named || g.BaseValue != "off" {
		t.Errorf("without questions: baseline %q named %v value %q, want the first case, off", g.Baseline, g.Named, g.BaseValue)
	}
	if got, want := answer(g).Plain(), "Against gro off: at 64 B, gro on is 1.20x"; !strings.HasPrefix(got, want) {
		t.Errorf("answer = %q, want prefix %q", got, want)
	}

	r.Questions = []result.Question{{Text: "Unasked", Baseline: "x"}, {Text: q, Baseline: "veth/pkt=1400/gro=on"}}
	g = analyze(r).Groups[0]
	if g.Baseline != "veth/pkt=1400/gro=on" || !g.Named || g.BaseValue != "on" {
		t.Errorf("named: baseline %q named %v value %q, want veth/pkt=1400/gro=on, on", g.Baseline, g.Named, g.BaseValue)
	}
	got := answer(g).Plain()
	for _, want := range []string{"Against gro on: at 64 B, gro off is 0.83x (95% CI 0.", ", slower); at 1400 B, gro off is 1.00x"} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}

	// The named baseline is not in the file (an interrupted run): 1400 B
	// still compares with gro on there.
	r = synthResult(cases[0], cases[1], cases[3])
	r.Questions = []result.Question{{Text: q, Baseline: "veth/pkt=64/gro=on"}}
	got = answer(analyze(r).Groups[0]).Plain()
	for _, want := range []string{
		"Against gro on: at 64 B, gro on did not run: nothing to compare with; at 1400 B, gro off is 1.00x",
		"The baseline, veth/pkt=64/gro=on, is not in the result.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}

	// A device baseline the kernel lacks.
	const dq = "Which device?"
	r = synthResult(
		result.Case{Name: "ipvlan-l2/pkt=64", Status: result.StatusUnsupported, Error: "kernel has no ipvlan support", Questions: []string{dq}},
		synthCase("veth/pkt=64", 300000, dq),
	)
	got = answer(analyze(r).Groups[0]).Plain()
	if want := "Against ipvlan: ipvlan did not run: nothing to compare with. ipvlan: unsupported on this kernel (kernel has no ipvlan support)."; got != want {
		t.Errorf("answer = %q, want %q", got, want)
	}
}

// TestQuestionOrder: the questions the result lists come in its order,
// then any others in the order of their first case.
func TestQuestionOrder(t *testing.T) {
	r := synthResult(
		synthCase("veth/pkt=64", 300000, "A", "B"),
		synthCase("bridge/pkt=64", 200000, "B", "C"),
		synthCase("veth/pkt=1400", 250000, "A"),
	)
	r.Questions = []result.Question{{Text: "B", Baseline: "bridge/pkt=64"}, {Text: "A", Baseline: "veth/pkt=64"}, {Text: "D", Baseline: "veth/pkt=9000"}}
	var got []string
	for _, g := range analyze(r).Groups {
		got = append(got, g.Question+":"+g.Baseline)
	}
	if want := []string{"B:bridge/pkt=64", "A:veth/pkt=64", "C:bridge/pkt=64"}; !slices.Equal(got, want) {
		t.Errorf("groups %q, want %q", got, want)
	}
}

// TestAnswerNothingRan: a question none of whose cases measured says why,
// and compares nothing.
func TestAnswerNothingRan(t *testing.T) {
	const q = "Does ipvlan do large packets?"
	r := synthResult(
		result.Case{Name: "ipvlan-l2/pkt=64", Status: result.StatusUnsupported, Error: "kernel has no ipvlan support", Questions: []string{q}},
		result.Case{Name: "ipvlan-l2/pkt=1400", Status: result.StatusUnsupported, Error: "kernel has no ipvlan support", Questions: []string{q}},
	)
	got := answer(analyze(r).Groups[0]).Plain()
	if want := "64 B: unsupported on this kernel (kernel has no ipvlan support). 1400 B: unsupported on this kernel (kernel has no ipvlan support)."; got != want {
		t.Errorf("answer = %q, want %q", got, want)
	}
}
