package traffic

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// pin locks the calling goroutine to its OS thread and that thread to one
// CPU, so a measurement does not depend on where the scheduler happens to
// put the sender and the receiver (on a 2-vCPU machine, sharing a CPU or not
// changes the rate a lot). The returned function restores the thread's
// affinity and unlocks it. cpu < 0 only locks the goroutine to its thread,
// so that threadCPU measures the loop's own thread.
func pin(cpu int) (unpin func(), err error) {
	runtime.LockOSThread()
	if cpu < 0 {
		return runtime.UnlockOSThread, nil
	}
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("read CPU affinity: %w", err)
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("pin to CPU %d: %w", cpu, err)
	}
	return func() {
		if unix.SchedSetaffinity(0, &old) == nil {
			runtime.UnlockOSThread()
		}
		// Otherwise the thread keeps its lock and dies with the goroutine.
	}, nil
}
