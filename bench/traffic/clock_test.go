package traffic

import (
	"testing"
	"time"
)

// The calibrated clock must agree with clock_gettime(CLOCK_MONOTONIC), the
// clock of bpf_ktime_get_ns, to well within a microsecond or two.
func TestMonoClockMatchesClockGettime(t *testing.T) {
	c := newMonoClock()
	for range 5 {
		before := int64(MonotonicNow())
		got := c.now()
		after := int64(MonotonicNow())
		const slack = int64(5 * time.Microsecond)
		if got < before-slack || got > after+slack {
			t.Fatalf("calibrated clock %d outside [%d, %d] (+-%d ns)", got, before, after, slack)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkClock compares the two ways of reading CLOCK_MONOTONIC: the
// calibrated vDSO clock the sender uses and a clock_gettime system call.
func BenchmarkClock(b *testing.B) {
	b.Run("calibrated", func(b *testing.B) {
		c := newMonoClock()
		var s int64
		for b.Loop() {
			s += c.now()
		}
		_ = s
	})
	b.Run("clock_gettime", func(b *testing.B) {
		var s uint64
		for b.Loop() {
			s += MonotonicNow()
		}
		_ = s
	})
}
