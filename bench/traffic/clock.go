package traffic

import (
	"time"

	"golang.org/x/sys/unix"
)

// MonotonicNow reads CLOCK_MONOTONIC with a system call, in nanoseconds: the
// clock of the payload timestamps and of bpf_ktime_get_ns.
func MonotonicNow() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic("clock_gettime(CLOCK_MONOTONIC): " + err.Error()) // cannot fail on Linux
	}
	return uint64(ts.Nano())
}

// monoClock reads CLOCK_MONOTONIC cheaply. Go's monotonic clock is
// CLOCK_MONOTONIC read through the vDSO, minus an offset fixed at process
// start; time.Time hides the offset, so it is measured once: a
// clock_gettime system call bracketed by two time.Now calls, the narrowest
// bracket of a few tries. The error is half that bracket (well under a
// microsecond); reading the clock then costs one vDSO call instead of a
// system call.
type monoClock struct {
	base   time.Time
	baseNS int64 // CLOCK_MONOTONIC at base
}

func newMonoClock() monoClock {
	var best monoClock
	bestWidth := time.Duration(1<<63 - 1)
	for range 16 {
		t1 := time.Now()
		ns := MonotonicNow()
		t2 := time.Now()
		if w := t2.Sub(t1); w < bestWidth {
			bestWidth = w
			best = monoClock{base: t1.Add(w / 2), baseNS: int64(ns)}
		}
	}
	return best
}

// now returns CLOCK_MONOTONIC in nanoseconds.
func (c *monoClock) now() int64 { return c.baseNS + int64(time.Since(c.base)) }
