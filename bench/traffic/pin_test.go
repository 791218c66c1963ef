package traffic

import (
	"errors"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// restrictThread locks the calling goroutine to its thread and limits the
// thread to cpus, as taskset does to a process; the thread dies with the
// goroutine, so nothing else ever runs with the narrower mask.
func restrictThread(cpus ...int) error {
	runtime.LockOSThread() // never unlocked: the thread exits with its goroutine
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	return unix.SchedSetaffinity(0, &set)
}

// Under a mask that leaves out CPU 0 (as `taskset -c 1` does), the allowed
// CPUs are named as they are, a pin outside them is refused, a pin inside
// works, and unpin gives the narrow mask back, not the machine's.
func TestPinRespectsAffinity(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs to leave one out")
	}
	done := make(chan struct{})
	go func() { // a goroutine of its own, so its thread can die with it
		defer close(done)
		if err := restrictThread(1); err != nil {
			t.Errorf("restrict the thread to CPU 1: %v", err)
			return
		}
		got, err := AllowedCPUs()
		if err != nil || !slices.Equal(got, []int{1}) {
			t.Errorf("AllowedCPUs under taskset -c 1: %v, %v; want [1]", got, err)
		}
		if err := checkCPU(1); err != nil {
			t.Errorf("CPU 1 refused under taskset -c 1: %v", err)
		}
		if err := checkCPU(0); err == nil {
			t.Error("CPU 0 accepted under taskset -c 1")
		}
		if _, err := pin(0); !errors.Is(err, ErrInvalid) {
			t.Errorf("pin(0) outside the mask: %v, want an ErrInvalid", err)
			return // the thread may now be on CPU 0: stop here
		}
		unpin, err := pin(1)
		if err != nil {
			t.Errorf("pin(1) inside the mask: %v", err)
			return
		}
		unpin()
		runtime.LockOSThread() // unpin unlocked once; keep the thread ours
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() != 1 || !set.IsSet(1) {
			t.Errorf("after unpin the mask has %d CPUs (err %v), want CPU 1 alone", set.Count(), err)
		}
	}()
	<-done
}

func TestFormatCPUs(t *testing.T) {
	for _, tc := range []struct {
		cpus []int
		want string
	}{
		{nil, "none"}, {[]int{1}, "1"}, {[]int{0, 1}, "0-1"}, {[]int{0, 1, 2, 3, 6}, "0-3,6"}, {[]int{1, 3, 5, 6}, "1,3,5-6"},
	} {
		if got := FormatCPUs(tc.cpus); got != tc.want {
			t.Errorf("FormatCPUs(%v) = %q, want %q", tc.cpus, got, tc.want)
		}
	}
}
