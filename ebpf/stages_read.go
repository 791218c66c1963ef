package vbpf

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/vethbench/vethbench/internal/histogram"
)

// The read boundary from the receiving application. Where consume_skb
// does not mark the read (6.18 frees a read UDP skb later, elsewhere: see
// readDeferredFrom), the application that reads the datagrams marks it:
// after each recvmmsg the runner's receiver gives Read what it read and
// when the call returned. Read finds each datagram's slot in
// vb_stage_slots, mapped into the process, where the ingress stamp left
// its time at the last boundary, and times the socket stage (that stamp
// -> the read) and the whole trip (the send call -> the read). Per
// datagram the stages still add up to the trip exactly: the socket stage
// starts where the stamps before it ended.
//
// What it reads is final: a datagram is read only after its ingress
// program ran, and its slot is written again only by a datagram with the
// same slot key (the same flow 65536 sequence numbers later, or another
// flow's colliding one: "unmatched" then). A batch shares one read time:
// its datagrams became the reader's with one call.

// ReadDatagram names a vethbench datagram the receiver read, as the stage
// stamps name it: its UDP source port, its sequence number and its send
// time (ns of CLOCK_MONOTONIC, from the payload).
type ReadDatagram struct {
	SrcPort  uint16
	Seq      uint32
	SendTime uint64
}

// slotSize is sizeof(struct vb_slot): vb_stage_slots' mapped entries
// follow one another at this stride (TestStageSlotLayout).
const slotSize = int(unsafe.Sizeof(stagesVbSlot{}))

// receiverRead is a case's read boundary from its receiver: the socket
// stage and the trip, timed in user space, at the stage histograms'
// layout.
type receiverRead struct {
	slots     *ebpf.Memory
	socket    StageHistogram
	total     StageHistogram
	seen      uint64 // datagrams given to Read
	unmatched uint64 // of seen: no slot of their own, or not through the last stamped boundary
	badTS     uint64 // of seen: read before their last stamp (clocks apart)
	buf       [slotSize]byte
}

func newReceiverRead(slots *ebpf.Map) (*receiverRead, error) {
	mem, err := slots.Memory()
	if err != nil {
		return nil, err
	}
	return &receiverRead{
		slots:  mem,
		socket: StageHistogram{Latency: histogram.New(LatencyScale)},
		total:  StageHistogram{Latency: histogram.New(LatencyScale)},
	}, nil
}

// slotKey is vb_stamp's slot index of a datagram (stages.c): sport as the
// packet carries it, in network order.
func slotKey(dport, sport uint16, seq uint32) uint32 {
	h := ((uint32(dport) << 16) | uint32(bits.ReverseBytes16(sport))) * 0x9e3779b1
	return (seq ^ h>>16) & (stageSlots - 1)
}

// ReadByReceiver reports whether the read boundary is the receiver's: Read
// must then be given every datagram the case's receiver reads.
func (st *Stages) ReadByReceiver() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.rread != nil
}

// Read marks the read of datagrams ds, which the receiver's recvmmsg
// returned at readNS (ns of CLOCK_MONOTONIC). It does nothing unless the
// read boundary is the receiver's (ReadByReceiver). It is safe to call
// while the stage stamps run and Snapshot reads them.
func (st *Stages) Read(readNS int64, ds []ReadDatagram) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r := st.rread
	if r == nil || st.closed {
		return
	}
	for _, d := range ds {
		r.seen++
		key := slotKey(st.port, d.SrcPort, d.Seq)
		if _, err := r.slots.ReadAt(r.buf[:], int64(key)*int64(slotSize)); err != nil {
			r.unmatched++
			continue
		}
		b := r.buf[:]
		sport, dport := binary.NativeEndian.Uint16(b[0:]), binary.NativeEndian.Uint16(b[2:])
		last, done := Boundary(b[4]), b[5] != 0
		seq := binary.NativeEndian.Uint32(b[8:])
		ts, stamp := binary.NativeEndian.Uint64(b[16:]), binary.NativeEndian.Uint64(b[24:])
		if last == 0 || !done || dport != st.port || sport != bits.ReverseBytes16(d.SrcPort) || seq != d.Seq || ts != d.SendTime {
			r.unmatched++
			continue
		}
		if readNS < int64(stamp) || stamp < ts {
			r.badTS++
			continue
		}
		// Its last stamp is the socket stage's start: the ingress, or an
		// earlier boundary where the case has none (merged, as in BPF).
		r.socket.record(uint64(readNS)-stamp, last != BoundaryIngress)
		r.total.record(uint64(readNS)-ts, false)
	}
}

// record counts one time, as vb_record does.
func (h *StageHistogram) record(ns uint64, merged bool) {
	h.Count++
	h.SumNS += ns
	if merged {
		h.Merged++
	}
	h.Latency.Record(ns)
}

// clone copies h, its histogram's counts included.
func (h StageHistogram) clone() StageHistogram {
	h.Latency.Counts = slices.Clone(h.Latency.Counts)
	return h
}

// into puts the receiver's read into s, a snapshot of the stamps: the
// read boundary, the socket stage and the trip to the read, which
// replaces the trip to the last stamped boundary.
func (r *receiverRead) into(s *StageSnapshot) {
	s.Boundaries = append(s.Boundaries, BoundaryRead)
	s.Stages[StageSocket] = r.socket.clone()
	s.Total = r.total.clone()
	s.Seen[BoundaryRead] = r.seen
	s.ReadByReceiver = true
	s.ReadUnmatched = r.unmatched
	s.BadTimestamp += r.badTS
}
