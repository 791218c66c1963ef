package traffic

import (
	"runtime"
	"sync"
)

// A goroutine blocked in a raw system call keeps its P (the runtime's right
// to run Go code) until the runtime's monitor takes it away, which can take
// up to 10 ms when the monitor has backed off; a thread returning from a
// system call with no P free waits as long. With GOMAXPROCS at the CPU
// count (2 here) and more threads than that blocking and waking (an
// open-loop client's sender and receiver threads, a server, a sink), that
// wait showed up as the latency being measured: rr open loop at 20000/s,
// median round trip 0.8 ms and p99 30 ms with GOMAXPROCS 2, 43 us and
// 2.5 ms with 8. So every generator thread that blocks in the kernel
// reserves a P of its own for as long as it runs. The extra Ps only let
// threads run Go code when they are not blocked; the kernel still shares
// the CPUs.
var procs struct {
	mu       sync.Mutex
	reserved int
	base     int // GOMAXPROCS before the first reservation
}

// reserveProcs raises GOMAXPROCS by n until the returned function (which
// is idempotent) is called. GOMAXPROCS only grows while any reservation is
// held, to the most ever reserved at once, and goes back to what it was
// when none is left: changing it stops the world, and an interleaved sweep
// starts and stops a generator every slice, with its cases' receivers
// holding reservations throughout. So it changes at the start of the first
// Run and the end of the last, never inside a measurement.
func reserveProcs(n int) (release func()) {
	if n <= 0 {
		return func() {}
	}
	procs.mu.Lock()
	if procs.reserved == 0 {
		procs.base = runtime.GOMAXPROCS(0)
	}
	procs.reserved += n
	if want := procs.base + procs.reserved; want > runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(want)
	}
	procs.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			procs.mu.Lock()
			defer procs.mu.Unlock()
			procs.reserved -= n
			if procs.reserved == 0 {
				runtime.GOMAXPROCS(procs.base)
			}
		})
	}
}
