package bench

import (
	"testing"

	"github.com/vethbench/vethbench/reports/result"
)

func TestBottleneck(t *testing.T) {
	est := func(v float64) result.Estimate { return result.Estimate{Median: v, N: 5} }
	sum := func(gen, rcv, soft, sentPPS float64, sent uint64, reasons map[string]uint64) *result.Summary {
		s := &result.Summary{GeneratorCPUPct: est(gen), ReceiverCPUPct: est(rcv), SenderSoftirqPct: est(soft), SentPPS: est(sentPPS), Sent: sent, DropReasons: reasons}
		for _, n := range reasons {
			s.Dropped += n
		}
		return s
	}
	udp := result.Traffic{Generator: "udp"}
	for _, tc := range []struct {
		name string
		t    result.Traffic
		s    *result.Summary
		want string
	}{
		{"saturated sender, nothing dropped", udp, sum(99, 40, 30, 3e5, 1e6, nil), result.BoundGenerator},
		{"saturated sender mostly in softirq", result.Traffic{Generator: "xdp"}, sum(99, 40, 80, 1e6, 1e6, nil), result.BoundPath},
		{"socket overflow", udp, sum(99, 95, 30, 3e5, 1e6, map[string]uint64{"SOCKET_RCVBUFF": 5e4}), result.BoundReceiver},
		{"receiver saturated", udp, sum(60, 97, 30, 3e5, 1e6, nil), result.BoundReceiver},
		{"qdisc drops", udp, sum(99, 50, 30, 3e5, 1e6, map[string]uint64{"QDISC_DROP": 5e4}), result.BoundPath},
		{"few drops do not decide", udp, sum(99, 50, 30, 3e5, 1e6, map[string]uint64{"QDISC_DROP": 10}), result.BoundGenerator},
		{"fixed rate met", result.Traffic{Generator: "udp", Rate: 1e4}, sum(5, 3, 10, 9990, 1e5, nil), result.BoundNone},
		{"fixed rate missed, sender saturated", result.Traffic{Generator: "udp", Rate: 1e6}, sum(99, 30, 30, 3e5, 1e6, nil), result.BoundGenerator},
		{"nothing saturated, unlimited", udp, sum(60, 30, 30, 3e5, 1e6, nil), result.BoundUnknown},
		{"closed-loop rr", result.Traffic{Generator: "rr"}, sum(40, 30, 10, 5e4, 1e5, nil), result.BoundNone},
	} {
		got := bottleneck(tc.t, tc.s)
		if got.Side != tc.want || got.Detail == "" {
			t.Errorf("%s: %s (%s), want %s", tc.name, got.Side, got.Detail, tc.want)
		}
	}
}
