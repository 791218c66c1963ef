package vbpf

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
)

// Read decodes vb_stage_slots' entries by these offsets: they must be
// struct vb_slot's, as bpf2go generated it.
func TestStageSlotLayout(t *testing.T) {
	var s stagesVbSlot
	for _, f := range []struct {
		name string
		off  uintptr
		want uintptr
	}{
		{"Sport", unsafe.Offsetof(s.Sport), 0}, {"Dport", unsafe.Offsetof(s.Dport), 2},
		{"Last", unsafe.Offsetof(s.Last), 4}, {"Done", unsafe.Offsetof(s.Done), 5},
		{"Seq", unsafe.Offsetof(s.Seq), 8}, {"Ts", unsafe.Offsetof(s.Ts), 16}, {"Stamp", unsafe.Offsetof(s.Stamp), 24},
	} {
		if f.off != f.want {
			t.Errorf("vb_slot.%s at %d, Read takes it at %d", f.name, f.off, f.want)
		}
	}
	if slotSize != 32 || reflect.TypeOf(s).Size() != 32 {
		t.Errorf("vb_slot is %d bytes, Read steps by %d", reflect.TypeOf(s).Size(), slotSize)
	}
}

// Where the kernel does not mark the read, ReadByReceiver makes the
// receiver's read the read boundary: every datagram read gets a socket
// stage, its stages still add up exactly to its trip (now to the read),
// and the trip to the read is longer than the stages to ingress. A
// datagram Read cannot find is counted, not timed. Where the kernel marks
// the read, the option changes nothing.
func TestStagesReadByReceiver(t *testing.T) {
	testenv.RequireRoot(t)
	for _, fam := range []topology.Family{topology.IPv4, topology.IPv6} {
		t.Run(string(fam), func(t *testing.T) {
			g := newStageRig(t, stageCase{kind: topology.KindVeth, fam: fam, recvRead: true}, 0)
			if readOffered(t) {
				if g.st.ReadByReceiver() {
					t.Fatal("the kernel marks the read, yet the receiver's read was taken")
				}
				t.Skip("the kernel marks the read: the receiver's is not used")
			}
			if !g.st.ReadByReceiver() {
				t.Fatalf("no receiver read; missing: %v", g.st.Missing())
			}
			const n = 1000
			if err := train(n, 300e3, g); err != nil { // 300 us apart
				t.Fatal(err)
			}
			r := g.result(t, n, StageSnapshot{})
			if got := r.stages.Boundaries; got[len(got)-1] != BoundaryRead || !r.stages.ReadByReceiver {
				t.Fatalf("boundaries %v, read by receiver %v", got, r.stages.ReadByReceiver)
			}
			checkSums(t, r)
			checkCounter(t, r)
			if r.stages.Seen[BoundaryRead] != n || r.stages.ReadUnmatched != 0 {
				t.Errorf("read: seen %d, unmatched %d; want %d and 0", r.stages.Seen[BoundaryRead], r.stages.ReadUnmatched, n)
			}
			var upTo uint64
			for _, s := range []Stage{StageSender, StageQdisc, StageDevice} {
				upTo += r.stages.Stages[s].SumNS
			}
			if !(r.stages.Total.SumNS > upTo) {
				t.Errorf("the trip to the read (%d ns in all) is not longer than the stages to ingress (%d ns)", r.stages.Total.SumNS, upTo)
			}

			// A datagram whose slot is not its own: counted unmatched,
			// not timed.
			before, err := g.st.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			g.st.Read(int64(^uint64(0)>>1), []ReadDatagram{{SrcPort: 1, Seq: 7, SendTime: 1}})
			after, err := g.st.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			d := after.Sub(before)
			if d.ReadUnmatched != 1 || d.Stages[StageSocket].Count != 0 || d.Total.Count != 0 {
				t.Errorf("an unknown datagram: unmatched %d, socket %d, total %d; want 1, 0, 0", d.ReadUnmatched, d.Stages[StageSocket].Count, d.Total.Count)
			}
			if err := g.st.Close(); err != nil {
				t.Fatal(err)
			}
			g.st.Read(0, []ReadDatagram{{SrcPort: 1}}) // after Close: nothing, no crash
		})
	}
}
