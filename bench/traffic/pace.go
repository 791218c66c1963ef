package traffic

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// schedule is the open-loop sending schedule the rate-limited generators
// share: unit n (a datagram, a frame, a GSO message) is due at
// t0 + n/rate, whatever happened to the ones before it. Behind schedule,
// everything already due goes out at once (up to a limit per call),
// nothing is skipped, and the lateness is recorded: a stall shows as a
// burst and in MaxLag, not as units silently never sent. A closed loop
// ("sleep 1/rate after each send") would lower the offered load exactly
// when the system is slow and hide the stall.
type schedule struct {
	nsPer float64 // ns between units; 0: unlimited
	t0, n int64   // start; units scheduled so far
	lag   *lagMeter
}

// newSchedule starts a schedule of rate units/s (0: unlimited) at now.
func newSchedule(rate float64, now int64, lag *lagMeter) schedule {
	s := schedule{t0: now, lag: lag}
	if rate > 0 {
		s.nsPer = 1e9 / rate
	}
	return s
}

// quantumBatch is how many units one rate-limited call sends: about
// rate*scheduleQuantum, within [1, most].
func quantumBatch(rate float64, most int) int {
	if rate <= 0 {
		return most
	}
	return max(1, min(int(math.Round(rate*scheduleQuantum.Seconds())), most))
}

// next says how many units to send now: batch when on time, what is due
// up to most when behind. When the next unit is not due for a while it
// returns 0 and how long to wait.
func (s *schedule) next(now int64, batch, most int) (int, time.Duration) {
	if s.nsPer == 0 {
		return batch, 0
	}
	due := s.t0 + int64(float64(s.n)*s.nsPer)
	wait := due - now
	if wait >= int64(minSleep) {
		return 0, time.Duration(wait)
	}
	if wait < 0 {
		s.lag.note(-wait)
		if dueNow := int64(float64(now-s.t0)/s.nsPer) + 1 - s.n; dueNow > int64(batch) {
			return int(min(dueNow, int64(most))), 0
		}
	}
	return batch, 0
}

// advance moves the schedule on by n units sent (or given up on).
func (s *schedule) advance(n int) { s.n += int64(n) }

// lagMeter keeps the worst lateness behind a schedule, over all Runs.
type lagMeter struct{ ns atomic.Int64 }

func (m *lagMeter) note(lag int64) {
	for {
		cur := m.ns.Load()
		if lag <= cur || m.ns.CompareAndSwap(cur, lag) {
			return
		}
	}
}

func (m *lagMeter) max() time.Duration { return time.Duration(m.ns.Load()) }

// sleepFor waits for d or until stop is set, in chunks of at most
// maxSleepChunk so that cancellation is noticed promptly. nanosleep wakes
// within the timer slack, unlike time.Sleep, whose sub-millisecond sleeps
// can round up to the netpoller's millisecond.
func sleepFor(d time.Duration, stop *atomic.Bool) {
	for d > 0 && !stop.Load() {
		c := min(d, maxSleepChunk)
		ts := unix.NsecToTimespec(int64(c))
		_ = unix.Nanosleep(&ts, nil) // EINTR: the caller re-reads the clock anyway
		d -= c
	}
}

// runWorkers runs worker i's loop for every i < n, worker 0 on the calling
// goroutine, and joins their errors. A worker that fails sets stop, so
// the others end too.
func runWorkers(n int, stop *atomic.Bool, run func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Go(func() {
			if errs[i] = run(i); errs[i] != nil {
				stop.Store(true)
			}
		})
	}
	if errs[0] = run(0); errs[0] != nil {
		stop.Store(true)
	}
	wg.Wait()
	return errors.Join(errs...)
}
