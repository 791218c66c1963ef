package traffic

import (
	"runtime"
	"testing"
)

// TestReserveProcsOnlyGrows: GOMAXPROCS grows with reservations and stays
// at its largest while any is held (changing it stops the world, and an
// interleaved sweep starts and stops a generator every slice while its
// receivers hold theirs); it is back at the start when none is left.
func TestReserveProcsOnlyGrows(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	rcv := reserveProcs(1)
	if got := runtime.GOMAXPROCS(0); got != base+1 {
		t.Fatalf("one reserved: GOMAXPROCS %d, want %d", got, base+1)
	}
	gen := reserveProcs(2)
	if got := runtime.GOMAXPROCS(0); got != base+3 {
		t.Fatalf("three reserved: GOMAXPROCS %d, want %d", got, base+3)
	}
	gen()
	if got := runtime.GOMAXPROCS(0); got != base+3 {
		t.Errorf("a reservation released while another is held: GOMAXPROCS %d, want it kept at %d", got, base+3)
	}
	gen2 := reserveProcs(2) // the next slice's generator: no change
	if got := runtime.GOMAXPROCS(0); got != base+3 {
		t.Errorf("GOMAXPROCS %d, want %d", got, base+3)
	}
	gen2()
	rcv()
	rcv() // idempotent
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Errorf("none reserved: GOMAXPROCS %d, want %d", got, base)
	}
}
