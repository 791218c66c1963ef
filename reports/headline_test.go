package reports

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// synthCase makes an ok case whose trials' pps scatter ±1% around pps.
func synthCase(name string, pps float64, questions ...string) result.Case {
	rng := rand.New(rand.NewPCG(uint64(len(name)), uint64(pps)))
	c := result.Case{Name: name, Status: result.StatusOK, Questions: questions}
	var v []float64
	for i := range 8 {
		p := pps * (1 + 0.02*(rng.Float64()-0.5))
		v = append(v, p)
		c.Trials = append(c.Trials, result.Trial{Index: i, PPS: p, DevicePPS: p, Closed: true, Sent: 1000, Received: 1000,
			Latency: result.Latency{Histogram: []uint64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 10, 20, 5, 1}, Resolution: 0.125}})
	}
	e := result.Estimate{Median: pps, Lo: pps * 0.99, Hi: pps * 1.01, Level: 0.99, N: 8, Min: pps * 0.99, Max: pps * 1.01}
	c.Summary = &result.Summary{PPS: e, DevicePPS: e, CPUNsPerPkt: result.Estimate{Median: 1e9 / pps, N: 8}, Closed: true, Sent: 8000, Received: 8000}
	return c
}

func synthResult(cases ...result.Case) *result.Result {
	r := result.NewResult()
	r.Settings = result.Settings{Trials: 8, Confidence: 0.95, Seed: 1}
	r.Cases = cases
	return r
}

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
	got := g.Answer.Plain()
	for _, want := range []string{
		"At 64 B, macvlan is fastest with 390,000 pps: 1.",
		"x veth, the runner-up (95% CI 1.",
		"at 1400 B, macvlan leads with 251,000 pps, by no measurable margin: 1.00x veth, the runner-up (95% CI",
		"ipvlan: unsupported on this kernel (kernel has no ipvlan support).",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("answer lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "loopback is fastest") {
		t.Errorf("loopback (no device) named fastest:\n%s", got)
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
	got := g.Answer.Plain()
	for _, want := range []string{
		"Under qdisc noqueue, txqueuelen had no measurable effect (txqueuelen ",
		"under qdisc pfifo_fast, txqueuelen 5000 is fastest: 1.4",
		"x txqueuelen 100, the slowest (95% CI",
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
	got := g.Answer.Plain()
	if want := "gro had no measurable effect at 64 B or at 1400 B (the largest difference 1.0"; !strings.HasPrefix(got, want) {
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
	if want := "With gro off, 2x2 queues is 1.4"; !strings.HasPrefix(g.Answer.Plain(), want) {
		t.Errorf("answer = %q, want prefix %q", g.Answer.Plain(), want)
	}
}

func TestAnswerSingleRun(t *testing.T) {
	g := analyze(synthResult(synthCase("veth/pkt=64", 300000))).Groups[0]
	if want := "veth/pkt=64: 300,000 pps"; !strings.HasPrefix(g.Answer.Plain(), want) {
		t.Errorf("answer = %q, want prefix %q", g.Answer.Plain(), want)
	}
}

func TestMeasurable(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   bool
	}{{0.9, 1.1, false}, {1.01, 1.02, false}, {0.98, 0.99, false}, {1.01, 1.05, true}, {0.5, 0.9, true}} {
		var ci = ratioCI(c.lo, c.hi)
		if got := measurable(ci); got != c.want {
			t.Errorf("measurable(%v..%v) = %v, want %v", c.lo, c.hi, got, c.want)
		}
	}
}

func ratioCI(lo, hi float64) stats.RatioCI {
	return stats.RatioCI{Ratio: (lo + hi) / 2, Lo: lo, Hi: hi, Level: 0.95}
}
