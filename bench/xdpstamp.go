package bench

import (
	"fmt"

	"github.com/vethbench/vethbench/bench/traffic"
	"github.com/vethbench/vethbench/reports/result"
)

// stampSpread reads how long the xdp generator's batch stamps served
// (traffic.XDPSender.StampSpread), for the result: nil unless the
// generator stamped per batch and measured a batch. Read before the
// generator is closed.
func stampSpread(l *load) *result.StampSpread {
	if l == nil {
		return nil
	}
	x, ok := l.gen.(*traffic.XDPSender)
	if !ok || !x.Config().BatchStamp {
		return nil
	}
	s, err := x.StampSpread()
	if err != nil || s.Batches == 0 {
		return nil
	}
	return &result.StampSpread{Batches: s.Batches, MeanNs: float64(s.Mean.Nanoseconds()), MaxNs: float64(s.Max.Nanoseconds())}
}

// stampWarning says what stamps read once per batch did to the one-way
// latency figures, or "".
func stampWarning(t result.Traffic) string {
	s := t.StampSpread
	if !t.XDPBatchStamp || s == nil || s.Batches == 0 {
		return ""
	}
	return fmt.Sprintf("send times were read once per batch of up to %d frames (xdp_batch_stamp): a stamp served its batch for %.1f us on average, %.1f us at most, so one-way latencies read high by up to that (a batch's last frames the most)",
		t.Batch, s.MeanNs/1e3, s.MaxNs/1e3)
}
