package reports

import (
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/reports/result"
)

func TestWriteTable(t *testing.T) {
	r := result.NewResult()
	r.Tool.Version = "test"
	r.Host = result.Host{Kernel: "6.18", CPUModel: "cpu", VCPUs: 2}
	r.Settings = result.Settings{Trials: 2, Duration: time.Second, Confidence: 0.95}
	est := result.Estimate{Median: 1234567, Lo: 1000000, Hi: 1500000, Level: 0.5, Min: 1000000, Max: 1500000, N: 2}
	r.Cases = []result.Case{
		{
			Name: "veth/pkt=64", Status: result.StatusOK, Counter: "tcx",
			Trials: []result.Trial{
				{Index: 0, Sent: 100, Received: 100, Closed: true, PPS: 1000000, Latency: result.Latency{P50: 2500, Resolution: 0.125}},
				{Index: 1, Sent: 100, Received: 90, Dropped: 5, Unaccounted: 5, PPS: 1500000},
			},
			DropCounter: "kfree_skb via tp_btf",
			Summary:     &result.Summary{PPS: est, Sent: 200, Received: 190, Dropped: 5, DropReasons: map[string]uint64{"NO_SOCKET": 1, "SOCKET_RCVBUFF": 4}},
			Warnings:    []string{"trial 2: accounting did not close"},
		},
		{Name: "ipvlan/pkt=64", Status: result.StatusUnsupported, Error: "kernel has no ipvlan"},
	}
	var b strings.Builder
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"kernel 6.18", "== veth/pkt=64  [ok]  counted at receiver ingress via tcx",
		"1,000,000", "1,234,567", "closed", "OPEN (+5)", "2.5",
		"NOT CLOSED", "interval (50.0%)", "buckets are 12.5% wide",
		"warning: trial 2: accounting did not close",
		"drops by reason (kfree_skb via tp_btf): SOCKET_RCVBUFF 4, NO_SOCKET 1",
		"== ipvlan/pkt=64  [unsupported]", "unsupported: kernel has no ipvlan",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -1000: "-1,000"} {
		if got := Thousands(in); got != want {
			t.Errorf("Thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteSummary(t *testing.T) {
	r := result.NewResult()
	r.Interrupted = true
	est := result.Estimate{Median: 250000, Lo: 240000, Hi: 260000, Level: 0.96875, N: 6}
	r.Cases = []result.Case{
		{Name: "veth/pkt=64/gro=on", Status: result.StatusOK, Flags: []string{"knob changed: gro=on on receiver"},
			Summary: &result.Summary{PPS: est, CPUNsPerPkt: est, P99: est, Dropped: 7}},
		{Name: "ipvlan-l2/pkt=64", Status: result.StatusUnsupported, Error: "kernel has no ipvlan support"},
	}
	var b strings.Builder
	if err := WriteSummary(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"INTERRUPTED", "veth/pkt=64/gro=on", "250,000", "240,000 .. 260,000 (97%)", "knob changed", "unsupported", "kernel has no ipvlan support"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

// TestWriteSummaryPaired: an interleaved sweep's summary lists each
// question's paired ratios to its baseline, "n/a" where a case has none.
func TestWriteSummaryPaired(t *testing.T) {
	r := result.NewResult()
	r.Questions = []result.Question{{Text: "Which device?", Baseline: "veth/pkt=64", Paired: &result.Paired{
		Blocks: 450, Slice: 20 * time.Millisecond, Stop: "every ratio's interval reached ±0.40% or better",
		Cases: []result.PairedCase{
			{Case: "veth/pkt=64"},
			{Case: "bridge/pkt=64", PPSRatio: &result.Ratio{Ratio: 0.675, Lo: 0.671, Hi: 0.679, Level: 0.95}, CPURatio: &result.Ratio{Ratio: 1.474, Lo: 1.466, Hi: 1.482, Level: 0.95}},
			{Case: "macvlan/pkt=64"},
		}}}, {Text: "rounds question", Baseline: "x"}}
	var b strings.Builder
	if err := WriteSummary(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"Which device?", "against veth/pkt=64, 450 blocks of 20ms slices; every ratio's", "bridge/pkt=64", "0.675x", "0.671-0.679 (95%)", "1.474x", "1.466-1.482 (95%)", "macvlan/pkt=64  n/a"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "rounds question") {
		t.Errorf("a question without blocks is listed:\n%s", out)
	}
}

// A case measured with stages says where the time went, and each stage's
// share of the trip.
func TestWriteTableStages(t *testing.T) {
	r := result.NewResult()
	r.Settings = result.Settings{Trials: 1, Duration: time.Second, Confidence: 0.95}
	e := func(v float64) result.Estimate { return result.Estimate{Median: v, Lo: v, Hi: v, N: 1} }
	r.Cases = []result.Case{{
		Name: "veth/pkt=64", Status: result.StatusOK,
		Trials: []result.Trial{{Stages: &result.Stages{Boundaries: []string{"send", "queue", "xmit", "ingress"}}}},
		Summary: &result.Summary{Stages: []result.StageSummary{
			{Name: result.StageSender, MeanNs: e(3000), P50: e(2000), P99: e(9000)},
			{Name: result.StageQdisc, MeanNs: e(200), P50: e(150), P99: e(700)},
			{Name: result.StageDevice, MeanNs: e(800), P50: e(600), P99: e(2000)},
			{Name: "total", MeanNs: e(4000), P50: e(3000), P99: e(11000)},
		}},
	}}
	var b strings.Builder
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"stages, boundaries send, queue, xmit, ingress (median over trials; each datagram's stages add up to its total); " + noReadText + ":\n",
		"  sender  3.0      2.0     9.0     75%",
		"  qdisc   0.20     0.15    0.70    5%",
		"  device  0.80     0.60    2.0     20%",
		"  total   4.0      3.0     11      -",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
