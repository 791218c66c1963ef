package bench

import (
	"context"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/internal/testenv"
	"github.com/vethbench/vethbench/reports/result"
	"github.com/vethbench/vethbench/tuning"
)

// TestBlockOrders: every block visits every case exactly once, so every
// case has the same number of slices; what precedes a case varies (every
// other case precedes it somewhere); the orders are the seed's.
func TestBlockOrders(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8} {
		blocks := 20 * n
		orders := blockOrders(rand.New(rand.NewPCG(3, 4)), n, blocks)
		if len(orders) != blocks {
			t.Fatalf("n=%d: %d blocks, want %d", n, len(orders), blocks)
		}
		visits := make([]int, n)
		before := map[[2]int]bool{}
		var flat []int
		for b, o := range orders {
			if got := slices.Sorted(slices.Values(o)); !slices.Equal(got, seq(n)) {
				t.Fatalf("n=%d block %d: order %v does not visit each case once", n, b, o)
			}
			for _, k := range o {
				visits[k]++
			}
			flat = append(flat, o...)
		}
		for i := 1; i < len(flat); i++ {
			before[[2]int{flat[i-1], flat[i]}] = true
		}
		for k, v := range visits {
			if v != blocks {
				t.Errorf("n=%d: case %d visited %d times, want %d", n, k, v, blocks)
			}
		}
		for a := range n {
			for b := range n {
				if n > 1 && a != b && !before[[2]int{a, b}] {
					t.Errorf("n=%d: case %d never runs right after case %d", n, b, a)
				}
			}
		}
		again := blockOrders(rand.New(rand.NewPCG(3, 4)), n, blocks)
		for b := range orders {
			if !slices.Equal(orders[b], again[b]) {
				t.Fatalf("n=%d: the same seed gave another order at block %d", n, b)
			}
		}
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestGroups: a case asked by two questions is in both groups; cases of no
// question form a last group with their first as baseline.
func TestGroups(t *testing.T) {
	a, b, c, d := vethCase(64), vethCase(128), vethCase(256), vethCase(512)
	a.Questions = []string{"q1", "q2"}
	b.Questions = []string{"q1"}
	c.Questions = []string{"q2"}
	qs := []result.Question{{Text: "q1", Baseline: b.Name()}, {Text: "q2", Baseline: a.Name()}}
	got := groups([]plan.Case{a, b, c, d}, qs)
	want := []group{
		{question: 0, baseline: b.Name(), cases: []int{0, 1}},
		{question: 1, baseline: a.Name(), cases: []int{0, 2}},
		{question: -1, baseline: d.Name(), cases: []int{3}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].question != want[i].question || got[i].baseline != want[i].baseline || !slices.Equal(got[i].cases, want[i].cases) {
			t.Errorf("group %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestInSlicesRates: an interleaved trial's rates count what arrived while
// the generator ran; the drain's arrivals are in the accounting and the
// CPU per packet, not in the rates.
func TestInSlicesRates(t *testing.T) {
	w := windowCounts{
		Unit: unitDatagrams, Generator: plan.GenUDP, FrameSize: 64, Elapsed: time.Second,
		Sent: 1000, SentBytes: 64000, Received: 990, HasReasons: true,
		Reasons: map[string]uint64{"SOCKET_RCVBUFF": 10},
		GenCPU:  990 * time.Microsecond, GenThreads: 1,
		InSlices: &inSlices{Received: 800, AtDevice: 900},
	}
	w.BPF.Segs, w.BPF.Matched = 1000, 1000
	tr := trialFigures(w)
	if tr.PPS != 800 || tr.DevicePPS != 900 || tr.BytesPerSec != 800*64 {
		t.Errorf("pps %v device %v bytes/s %v, want the slices' 800, 900, 51200", tr.PPS, tr.DevicePPS, tr.BytesPerSec)
	}
	if !tr.Closed || tr.Unaccounted != 0 {
		t.Errorf("accounting over slices and drains: closed %v unaccounted %d", tr.Closed, tr.Unaccounted)
	}
	if tr.ThreadCPUNsPerPkt != 1000 {
		t.Errorf("thread CPU per packet %v, want 990us/990 packets = 1000 ns", tr.ThreadCPUNsPerPkt)
	}
	w.InSlices = nil
	if tr := trialFigures(w); tr.PPS != 990 {
		t.Errorf("without slices pps %v, want 990", tr.PPS)
	}
}

// TestSetRatiosHand: the ratios recorded for a question are those of its
// block series, computed by hand in internal/stats' TestPairedRatioHand.
func TestSetRatiosHand(t *testing.T) {
	p := &result.Paired{Cases: []result.PairedCase{
		{Case: "b", PPS: []float64{102, 104, 101, 103}, CPUNsPerPkt: []float64{1000, 1000, 1000, 1000}},
		{Case: "a", PPS: []float64{100, 100, 100, 100}, CPUNsPerPkt: []float64{1020, 1040, 1010, 1030}},
		{Case: "short", PPS: []float64{100}, CPUNsPerPkt: []float64{1000}},
	}}
	setRatios(p, "a", 0.95)
	if p.Cases[1].PPSRatio != nil || p.Cases[1].CPURatio != nil {
		t.Errorf("the baseline has ratios: %+v", p.Cases[1])
	}
	r := p.Cases[0].PPSRatio
	if r == nil || math.Abs(r.Ratio-1.0249390202545523) > 1e-12 || math.Abs(r.Lo-1.0046006108928374) > 1e-12 ||
		math.Abs(r.Hi-1.0456891861799003) > 1e-12 || r.Blocks != 4 || math.Abs(r.P-0.02969743830903937) > 1e-9 || r.Method != stats.PairedMethod {
		t.Errorf("pps ratio %+v, want 1.02494 [1.00460, 1.04569] over 4 blocks, p 0.0297", r)
	}
	if c := p.Cases[0].CPURatio; c == nil || math.Abs(c.Ratio-1/1.0249390202545523) > 1e-12 {
		t.Errorf("cpu ratio %+v, want 1/1.02494", c)
	}
	if p.Cases[2].PPSRatio != nil {
		t.Errorf("one block gave a ratio interval: %+v", p.Cases[2].PPSRatio)
	}

	// Three trials of four blocks (internal/stats' TestPairedRatioTrials
	// by hand): a t interval over the trials' means, 2 degrees of freedom.
	base := []float64{100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100}
	x := []float64{102, 104, 101, 103, 101, 100, 102, 101, 103, 102, 104, 103}
	p = &result.Paired{TrialBlocks: []int{4, 4, 4}, Cases: []result.PairedCase{
		{Case: "a", PPS: base, CPUNsPerPkt: base}, {Case: "b", PPS: x, CPUNsPerPkt: x},
	}}
	setRatios(p, "a", 0.95)
	r = p.Cases[1].PPSRatio
	if r == nil || math.Abs(r.Ratio-1.0215945854189874) > 1e-12 || math.Abs(r.Lo-0.9960217852012161) > 1e-12 ||
		math.Abs(r.Hi-1.0478239657645174) > 1e-12 || r.Blocks != 12 || r.Trials != 3 || r.Method != stats.PairedTrialsMethod {
		t.Errorf("over trials: %+v, want 1.02159 [0.99602, 1.04782] over 3 trials of 12 blocks", r)
	}
}

// TestRunInterleaved runs a small sweep the interleaved way: two questions
// sharing a case, an unsupported case, and a question with a tcp case
// that runs in rounds.
func TestRunInterleaved(t *testing.T) {
	testenv.RequireRoot(t)
	a, lo, ipv, big := vethCase(64), vethCase(64), vethCase(64), vethCase(1400)
	lo.Topology.Kind = topology.KindLoopback
	ipv.Topology.Kind = topology.KindIPvlan
	tcp := vethCase(64)
	tcp.Traffic.Generator = plan.GenTCP
	a.Questions = []string{"kinds", "sizes"}
	lo.Questions, ipv.Questions = []string{"kinds"}, []string{"kinds"}
	big.Questions = []string{"sizes"}
	tcp.Questions = []string{"tcp"}
	qs := []result.Question{{Text: "kinds", Baseline: a.Name()}, {Text: "sizes", Baseline: a.Name()}, {Text: "tcp", Baseline: tcp.Name()}}
	m := plan.Measure{Trials: 2, MaxTrials: 2, Target: 1e-9, Seed: 5, Duration: 200 * time.Millisecond, Warmup: 40 * time.Millisecond, Confidence: 0.5, Slice: 20 * time.Millisecond}
	setups := map[string]int{}
	res, err := Run(context.Background(), []plan.Case{a, lo, ipv, big, tcp}, m, Options{Questions: qs, Progress: func(ev Event) {
		if ev.Phase == "setup" {
			setups[ev.Case]++
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Settings.Method != plan.MethodInterleaved || res.Settings.Slice != 20*time.Millisecond {
		t.Errorf("settings %+v", res.Settings)
	}
	// Every trial in topologies of its own: the shared case 2 trials in
	// each of its 2 questions, the others 2; ipvlan is tried once.
	if setups[a.Name()] != 4 || setups[lo.Name()] != 2 || setups[big.Name()] != 2 || setups[ipv.Name()] != 1 {
		t.Errorf("setups %v: want a case set up for every trial of every question it is in", setups)
	}
	perTrial := 10
	for qi, q := range res.Questions[:2] {
		p := q.Paired
		if p == nil {
			t.Fatalf("question %q has no paired series", q.Text)
		}
		if p.Blocks != m.Trials*perTrial || !slices.Equal(p.TrialBlocks, []int{perTrial, perTrial}) || p.WarmupBlocks != 2 || p.Seed == 0 {
			t.Errorf("question %d: %d blocks (want %d), trials %v, %d warm-up (want 2), seed %d", qi, p.Blocks, m.Trials*perTrial, p.TrialBlocks, p.WarmupBlocks, p.Seed)
		}
		if len(p.Cases) != 2 {
			t.Errorf("question %d: %d paired cases, want 2 (the unsupported one has no series)", qi, len(p.Cases))
		}
		if !strings.Contains(p.Stop, "maximum of 2 trials of 10 blocks") || !strings.Contains(p.Stop, "not achieved") {
			t.Errorf("question %d: stop %q", qi, p.Stop)
		}
		for _, c := range p.Cases {
			if len(c.PPS) != p.Blocks || len(c.CPUNsPerPkt) != p.Blocks {
				t.Errorf("question %d %s: %d/%d values for %d blocks", qi, c.Case, len(c.PPS), len(c.CPUNsPerPkt), p.Blocks)
			}
			if c.Case == a.Name() {
				if c.PPSRatio != nil {
					t.Errorf("the baseline has a ratio")
				}
				continue
			}
			if c.PPSRatio == nil || !(c.PPSRatio.Lo <= c.PPSRatio.Ratio && c.PPSRatio.Ratio <= c.PPSRatio.Hi) || c.PPSRatio.Blocks != p.Blocks || c.PPSRatio.Trials != 2 {
				t.Errorf("question %d %s: pps ratio %+v", qi, c.Case, c.PPSRatio)
			}
		}
	}
	if res.Questions[2].Paired != nil {
		t.Errorf("the tcp question has paired series")
	}
	for _, c := range res.Cases {
		switch c.Name {
		case ipv.Name():
			if c.Status != result.StatusUnsupported {
				t.Errorf("ipvlan: %s %s", c.Status, c.Error)
			}
			continue
		case tcp.Name():
			if c.Status != result.StatusOK || !slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.Contains(w, "measured in rounds") }) {
				t.Errorf("tcp: %s, warnings %q", c.Status, c.Warnings)
			}
			continue
		}
		want := m.Trials
		if c.Name == a.Name() {
			want = 2 * m.Trials // in both questions
		}
		if c.Status != result.StatusOK || len(c.Trials) != want || c.Summary == nil {
			t.Fatalf("%s: %s %s, %d trials (want %d)", c.Name, c.Status, c.Error, len(c.Trials), want)
		}
		// An unreachable target: every case with a ratio says so.
		warned := slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.Contains(w, "precision") && strings.Contains(w, "not achieved") })
		if warned != (c.Name != a.Name()) {
			t.Errorf("%s: warnings %q", c.Name, c.Warnings)
		}
		var sent, rcv, dropped uint64
		for i, tr := range c.Trials {
			if tr.Index != i || tr.Slices != perTrial || !tr.Closed {
				t.Errorf("%s trial %d: index %d, %d slices (want %d), closed %v (unaccounted %d)", c.Name, i, tr.Index, tr.Slices, perTrial, tr.Closed, tr.Unaccounted)
			}
			// The drain is not in the rate: what arrived while the
			// generator ran is at most what arrived in all.
			if inSlice := tr.PPS * tr.Duration.Seconds(); inSlice > float64(tr.Received)+0.5 {
				t.Errorf("%s trial %d: %v arrived in the slices, more than the %d received in all", c.Name, i, inSlice, tr.Received)
			}
			if tr.Duration <= 0 {
				t.Errorf("%s trial %d: %v of sending", c.Name, i, tr.Duration)
			}
			sent, rcv, dropped = sent+tr.Sent, rcv+tr.Received, dropped+tr.Dropped
		}
		// Over the whole run, every packet sent arrived or was dropped
		// with a reason.
		if d := math.Abs(float64(sent) - float64(rcv+dropped)); d > result.AccountingTolerance*float64(sent) || sent == 0 {
			t.Errorf("%s: sent %d, received %d + dropped %d", c.Name, sent, rcv, dropped)
		}
	}
}

// TestInterleavedHostKnob: a case's host-wide knob holds during its own
// slices only; the other case's slices run under the original, which is
// back after the run, and the knob is in the case's settings.
func TestInterleavedHostKnob(t *testing.T) {
	testenv.RequireRoot(t)
	const knob, file = "sysctl.net.core.netdev_max_backlog", "/proc/sys/net/core/netdev_max_backlog"
	read := func() string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	orig := read()
	value := "1234"
	if orig == value {
		value = "1235"
	}
	j, err := tuning.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, b := vethCase(64), vethCase(64)
	b.Knobs = []tuning.Setting{{Name: knob, Value: value}}
	a.Questions, b.Questions = []string{"q"}, []string{"q"}
	seen := map[string]map[string]int{}
	beforeSlice = func(name string) {
		if seen[name] == nil {
			seen[name] = map[string]int{}
		}
		seen[name][read()]++
	}
	defer func() { beforeSlice = nil }()
	m := plan.Measure{Trials: 1, Seed: 9, Duration: 100 * time.Millisecond, Warmup: 20 * time.Millisecond, Confidence: 0.5, Slice: 10 * time.Millisecond}
	res, err := Run(context.Background(), []plan.Case{a, b}, m, Options{Journal: j, Questions: []result.Question{{Text: "q", Baseline: a.Name()}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(); got != orig {
		t.Errorf("after the run the host holds %s, want the original %s", got, orig)
	}
	if len(j.Entries()) != 0 {
		t.Errorf("journal still holds %+v", j.Entries())
	}
	slicesEach := 2 + 10 // warm-up and measured blocks
	if !maps.Equal(seen[a.Name()], map[string]int{orig: slicesEach}) || !maps.Equal(seen[b.Name()], map[string]int{value: slicesEach}) {
		t.Errorf("values seen before slices: %v; want %s's %d slices under %s and %s's under %s", seen, a.Name(), slicesEach, orig, b.Name(), value)
	}
	for _, c := range res.Cases {
		if c.Status != result.StatusOK {
			t.Fatalf("%s: %s %s", c.Name, c.Status, c.Error)
		}
		has := slices.ContainsFunc(c.Settings, func(s result.Setting) bool {
			return s.Knob == knob && s.Target == tuning.HostTarget && s.Asked == value && s.Before == orig && s.After == value && s.Status == tuning.StatusOK
		})
		if has != (c.Name == b.Name()) {
			t.Errorf("%s: settings %+v", c.Name, c.Settings)
		}
	}
}

// TestInterleavedTimeLimit: a question stops adding trials once another
// would pass its share of the time limit, after the minimum, and says so;
// without the limit it goes on to the maximum.
func TestInterleavedTimeLimit(t *testing.T) {
	testenv.RequireRoot(t)
	a, b := vethCase(64), vethCase(128)
	a.Questions, b.Questions = []string{"q"}, []string{"q"}
	qs := []result.Question{{Text: "q", Baseline: a.Name()}}
	m := plan.Measure{Trials: 2, MaxTrials: 4, Target: 1e-9, Seed: 3, Duration: 100 * time.Millisecond, Warmup: 20 * time.Millisecond,
		Confidence: 0.5, Slice: 20 * time.Millisecond, TimeLimit: time.Millisecond}
	res, err := Run(context.Background(), []plan.Case{a, b}, m, Options{Questions: qs})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Questions[0].Paired
	if len(p.TrialBlocks) != 2 || !strings.Contains(p.Stop, "time limit") || res.Settings.TimeLimit != time.Millisecond {
		t.Errorf("with a 1 ms limit: %d trials, stop %q, settings %+v; want the minimum of 2 and the time limit named", len(p.TrialBlocks), p.Stop, res.Settings)
	}
	m.TimeLimit = 0
	res, err = Run(context.Background(), []plan.Case{a, b}, m, Options{Questions: qs})
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Questions[0].Paired; len(p.TrialBlocks) != 4 || !strings.Contains(p.Stop, "maximum of 4 trials") {
		t.Errorf("without a limit: %d trials, stop %q; want the maximum of 4", len(p.TrialBlocks), p.Stop)
	}
}

// TestInterleavedNoBaseline: a question whose baseline cannot run (ipvlan
// on a kernel without it) stops after its minimum of trials and says
// there was no ratio to take.
func TestInterleavedNoBaseline(t *testing.T) {
	testenv.RequireRoot(t)
	if has, ok := testenv.KernelConfig("IPVLAN"); !ok || has {
		t.Skip("the kernel has ipvlan (or its config is unknown): the baseline would run")
	}
	ipv, a := vethCase(64), vethCase(64)
	ipv.Topology.Kind = topology.KindIPvlan
	ipv.Questions, a.Questions = []string{"q"}, []string{"q"}
	m := plan.Measure{Trials: 1, MaxTrials: 3, Target: 0.01, Seed: 2, Duration: 100 * time.Millisecond, Confidence: 0.5, Slice: 20 * time.Millisecond}
	res, err := Run(context.Background(), []plan.Case{ipv, a}, m, Options{Questions: []result.Question{{Text: "q", Baseline: ipv.Name()}}})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Questions[0].Paired
	if len(p.TrialBlocks) != 1 || !strings.Contains(p.Stop, "no ratio to take") {
		t.Errorf("%d trials, stop %q; want 1 and no ratio to take", len(p.TrialBlocks), p.Stop)
	}
}
