package tuning

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// The shape_mbit knob puts a tbf root qdisc on a sending device, as the CNI
// bandwidth plugin (and so Kubernetes' egress-bandwidth annotation) does on
// a pod's veth: a token bucket at the rate, whose queue holds shapeLatency
// of traffic at that rate before it drops. At saturation that queue fills,
// so it is the knob that makes a qdisc queue on veth, which never stops
// its transmit queue for pfifo_fast to fill.

// shapeLatency is how long the tbf queue may hold packets: the CNI
// bandwidth plugin's 25 ms (its latencyInMillis), so a shaped case queues
// as a shaped pod does.
const shapeLatencyUs = 25_000

// shapeBurstMin is the least burst: one 64 KiB GSO packet, so tbf never
// has to segment a packet the device was given whole. Above it the burst
// is 1 ms of the rate.
const shapeBurstMin = 64 << 10

// tbfParams is a tbf qdisc: rate in bytes per second, burst and limit in
// bytes.
type tbfParams struct {
	rate         uint64
	burst, limit uint32
}

// shapeParams derives the tbf for mbit Mbit/s.
func shapeParams(mbit int64) tbfParams {
	rate := uint64(mbit) * 1_000_000 / 8
	burst := max(rate/1000, shapeBurstMin)
	limit := rate*shapeLatencyUs/1_000_000 + burst
	return tbfParams{rate: rate, burst: uint32(min(burst, 1<<31)), limit: uint32(min(limit, 1<<31))}
}

// mbitOf is a tbf rate, in bytes per second, in whole Mbit/s.
func mbitOf(rate uint64) int64 { return int64((rate*8 + 500_000) / 1_000_000) }

var shapeOps = &deviceOps{
	get: func(e *devEnv) (string, error) {
		q, err := e.k.rootQdisc()
		if err != nil || q.kind != "tbf" {
			return "0", err
		}
		return strconv.FormatInt(mbitOf(q.rate), 10), nil
	},
	set:     setShape,
	restore: restoreShape,
}

func setShape(e *devEnv, v string) error {
	mbit, _ := strconv.ParseInt(v, 10, 64)
	cur, err := e.k.rootQdisc()
	if err != nil {
		return err
	}
	if mbit == 0 {
		if cur.kind != "tbf" {
			return nil
		}
		return deleteRoot(e, cur)
	}
	if cur.kind != "tbf" {
		e.unshaped = cur.kind
	}
	// The kernel does not change a qdisc's kind in place.
	if err := deleteRoot(e, cur); err != nil {
		return err
	}
	err = e.k.addRootTbf(shapeParams(mbit))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOENT):
		return &unsupportedError{reason: "kernel has no sch_tbf (ENOENT adding qdisc tbf)"}
	case errors.Is(err, unix.EOPNOTSUPP):
		return notApplicable("the device takes no tbf root qdisc (EOPNOTSUPP)")
	}
	return fmt.Errorf("set root qdisc tbf %d Mbit/s: %w", mbit, err)
}

// restoreShape puts back the root qdisc the device had before it was
// shaped: deleting the tbf gives the kernel's default, which is not always
// what the device had.
func restoreShape(e *devEnv, before string) error {
	if before != "0" || e.unshaped == "" {
		return setShape(e, before)
	}
	return restoreQdisc(e, e.unshaped)
}

// shapeNote says what the tbf holds: "tbf at 100 Mbit/s: burst 64 KiB,
// queue 376 KiB (25 ms at the rate, and the burst)".
func shapeNote(q rootQdisc) string {
	if q.kind != "tbf" {
		return ""
	}
	return fmt.Sprintf("tbf at %d Mbit/s: queue %s (%d ms at the rate, and the burst)",
		mbitOf(q.rate), kib(q.limit), shapeLatencyUs/1000)
}

func kib(n int) string {
	if n < 1<<10 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%d KiB", (n+512)>>10)
}
