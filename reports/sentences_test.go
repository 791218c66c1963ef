package reports

import (
	"fmt"
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
	got := answer(g).Plain()
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
	got := answer(g).Plain()
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
	if want := "With gro off, 2x2 queues is 1.4"; !strings.HasPrefix(answer(g).Plain(), want) {
		t.Errorf("answer = %q, want prefix %q", answer(g).Plain(), want)
	}
}

func TestAnswerSingleRun(t *testing.T) {
	g := analyze(synthResult(synthCase("veth/pkt=64", 300000))).Groups[0]
	if want := "veth/pkt=64: 300,000 pps"; !strings.HasPrefix(answer(g).Plain(), want) {
		t.Errorf("answer = %q, want prefix %q", answer(g).Plain(), want)
	}
}
