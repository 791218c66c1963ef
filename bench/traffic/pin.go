package traffic

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pin locks the calling goroutine to its OS thread and that thread to one
// CPU, so a measurement does not depend on where the scheduler happens to
// put the sender and the receiver (on a 2-vCPU machine, sharing a CPU or not
// changes the rate a lot). The returned function restores the thread's
// affinity and unlocks it. cpu < 0 only locks the goroutine to its thread,
// so that threadCPU measures the loop's own thread.
//
// A CPU outside the thread's affinity mask is refused: a thread may widen
// its own mask (within its cpuset), and pinning there would run vethbench
// on a CPU that taskset or the administrator took away from it.
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
	if !old.IsSet(cpu) {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("pin to CPU %d: %w: not among the CPUs this thread may use (%s)", cpu, ErrInvalid, FormatCPUs(cpusOf(&old)))
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

// AllowedCPUs returns the CPUs the calling thread may run on, ascending.
// Called from a goroutine not locked to a pinned thread, it is the
// process's affinity mask: what taskset, sched_setaffinity or a cgroup
// cpuset leaves vethbench (the kernel keeps every mask within the
// cpuset). Unlike runtime.NumCPU, it names the CPUs: `taskset -c 1` allows
// one CPU, and it is CPU 1.
func AllowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("read CPU affinity: %w", err)
	}
	return cpusOf(&set), nil
}

func cpusOf(set *unix.CPUSet) []int {
	var cpus []int
	for cpu, n := 0, set.Count(); len(cpus) < n; cpu++ {
		if set.IsSet(cpu) {
			cpus = append(cpus, cpu)
		}
	}
	return cpus
}

// checkCPU fails unless the process may run on cpu: what the generators'
// and receivers' CPU options accept.
func checkCPU(cpu int) error {
	allowed, err := AllowedCPUs()
	if err != nil {
		return err
	}
	for _, c := range allowed {
		if c == cpu {
			return nil
		}
	}
	return fmt.Errorf("CPU %d is not among the CPUs this process may use (%s)", cpu, FormatCPUs(allowed))
}

// FormatCPUs writes ascending CPU numbers as taskset -c and
// /proc/self/status (Cpus_allowed_list) do: "0-3,6".
func FormatCPUs(cpus []int) string {
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(cpus[i]))
		} else {
			parts = append(parts, strconv.Itoa(cpus[i])+"-"+strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// checkPinTo is the check of the receivers' PinTo: -1 (not pinned) or a
// CPU the process may use.
func checkPinTo(cpu int) error {
	if cpu == -1 {
		return nil
	}
	if err := checkCPU(cpu); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}
