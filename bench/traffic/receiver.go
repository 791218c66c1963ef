package traffic

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/internal/netns"
)

// recvBatch is the number of datagrams one recvmmsg call may return.
const recvBatch = 64

// recvBufLen is how much of each datagram is copied out: the header is all
// the receiver reads. MSG_TRUNC makes the kernel report the full length, so
// Bytes stays exact while the copy stays short.
const recvBufLen = 64

// pollInterval is how long Run sleeps after draining the socket while
// traffic flows; with the default timer slack a sleep lasts about twice
// that. The socket buffer must hold what arrives meanwhile: at 2 Mpps
// about 200 datagrams, some 150 KiB of truesize at 64-byte frames.
const pollInterval = 50 * time.Microsecond

// idlePolls empty polls in a row (about 20 ms) put Run back to blocking in
// the socket.
const idlePolls = 200

// tagSlots is how many window tags a flow's sequence is followed under at
// once: a datagram of a tag newer than the one its slot (tag % tagSlots)
// followed starts the slot afresh, at sequence number 0. It is at least
// the BPF counter's vbpf.TagSlots, so that a late datagram the counter
// still counts in its window is followed here too.
const tagSlots = 4

// flowState follows one flow's (source port's) sequence numbers under one
// tag.
type flowState struct {
	next uint32 // next expected sequence number; every tag starts at 0
	tag  uint8
	used bool
}

// TagCounts is what a UDPReceiver counted of the datagrams of one window
// tag (see Header): counts since the receiver was opened, of which the
// caller takes differences.
type TagCounts struct {
	Received uint64 // valid datagrams carrying the tag
	Bytes    uint64 // their UDP payload bytes
	// Jumps counts the datagrams skipped over by sequence, flow by flow
	// (every flow starts at 0 under each tag), Late those that arrived
	// behind their flow's sequence, reordered or duplicated.
	Jumps, Late uint64
	// Next sums, over the flows, the sequence number each flow expects
	// next under the tag: the highest seen plus one. A flow's datagrams
	// sent after the last one received are missing too: sent - Next of
	// them in all (see Gaps).
	Next uint64
}

// Sub returns c minus prev, an earlier reading of the same tag.
func (c TagCounts) Sub(prev TagCounts) TagCounts {
	return TagCounts{
		Received: c.Received - prev.Received, Bytes: c.Bytes - prev.Bytes,
		Jumps: c.Jumps - prev.Jumps, Late: c.Late - prev.Late, Next: c.Next - prev.Next,
	}
}

// Gaps is the number of the tag's datagrams missing from the sequence
// numbers, given how many the generator sent with the tag: those skipped
// over inside each flow's sequence, less those that came late, plus those
// after each flow's last one (sent - Next). Once every datagram has
// arrived or been dropped, and with nothing reordered or duplicated (one
// veth pair), it equals sent - Received exactly: an independent count of
// the loss.
func (c TagCounts) Gaps(sent uint64) uint64 {
	g := int64(c.Jumps) - int64(c.Late) + int64(sent) - int64(c.Next)
	return uint64(max(g, 0))
}

// tagCounters are TagCounts as Run adds to them and anyone reads them.
type tagCounters struct {
	received, bytes, jumps, late, next atomic.Uint64
}

// UDPReceiver drains a UDP socket with recvmmsg and counts vethbench
// datagrams, per-flow sequence gaps included.
type UDPReceiver struct {
	fd     int
	rcvbuf int
	addr   netip.AddrPort
	cpu    int // Run pins itself to this CPU; -1: not pinned

	received atomic.Uint64
	bytes    atomic.Uint64
	invalid  atomic.Uint64
	jumps    atomic.Uint64 // datagrams skipped over by sequence
	late     atomic.Uint64
	stale    atomic.Uint64
	errs     errnoCounts
	tagged   [256]tagCounters

	state runState
	cpuT  cpuMeter

	// Used only by the goroutine in Run.
	buf     []byte
	iovs    []unix.Iovec
	names   []unix.RawSockaddrInet6 // large enough for either family
	msgs    []unix.Mmsghdr
	flows   [][tagSlots]flowState // indexed by source port, then tag % tagSlots
	perFlow []uint64              // valid datagrams, indexed by source port
	acc     tagAcc
	onRead  ReadHook       // nil unless OnRead set one
	clock   monoClock      // for onRead
	read    []ReadDatagram // the batch given to onRead, reused
}

// ReadDatagram is one vethbench datagram as the receiver read it: the
// fields that name it, as the stage stamps do, and its send time.
type ReadDatagram = vbpf.ReadDatagram

// ReadHook gets, after each recvmmsg that returned vethbench datagrams,
// the CLOCK_MONOTONIC time (ns) the call returned and those datagrams
// (vbpf.Stages.Read is one). It runs on the receiving goroutine, between
// reads, so it must be quick; ds is reused after it returns.
type ReadHook func(readNS int64, ds []ReadDatagram)

// OnRead sets the hook that sees every datagram read: the read boundary
// of the stage stamps on kernels that do not mark the read. Call it
// before Run.
func (r *UDPReceiver) OnRead(h ReadHook) {
	r.onRead = h
	r.clock = newMonoClock()
	r.read = make([]ReadDatagram, 0, recvBatch)
}

// tagAcc adds up one tag's counts over a run of datagrams of that tag,
// published to tagCounters when the tag changes or the batch ends.
type tagAcc struct {
	tag                                uint8
	received, bytes, jumps, late, next uint64
}

// NewUDPReceiver opens a UDP socket inside ns (nil: the current namespace)
// bound to addr:port (port 0: the kernel picks one, see Addr). rcvbuf sets
// SO_RCVBUF in bytes, beyond net.core.rmem_max if the process has
// CAP_NET_ADMIN (SO_RCVBUFFORCE); 0 keeps the namespace's default. The
// effective size, as the kernel reports it (twice the request, for its
// bookkeeping), is EffectiveRcvbuf.
func NewUDPReceiver(ns *netns.NS, addr netip.Addr, port uint16, rcvbuf int) (*UDPReceiver, error) {
	if !addr.IsValid() {
		return nil, fmt.Errorf("%w: receiver address: need an address (the unspecified address binds all)", ErrInvalid)
	}
	if rcvbuf < 0 {
		return nil, fmt.Errorf("%w: receiver rcvbuf %d: must be >= 0 (0: kernel default)", ErrInvalid, rcvbuf)
	}
	addr = addr.Unmap()
	r := &UDPReceiver{fd: -1, cpu: -1}
	open := func() error {
		fd, err := udpSocket(netip.AddrPortFrom(addr, port), netip.AddrPort{})
		if err != nil {
			return fmt.Errorf("receiver: %w", err)
		}
		r.fd = fd
		return nil
	}
	if err := ns.Do(open); err != nil {
		return nil, err
	}
	if err := r.setup(rcvbuf); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *UDPReceiver) setup(rcvbuf int) error {
	if rcvbuf > 0 {
		err := unix.SetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf)
		if errors.Is(err, unix.EPERM) {
			err = unix.SetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
		}
		if err != nil {
			return fmt.Errorf("set SO_RCVBUF %d: %w", rcvbuf, err)
		}
	}
	var err error
	if r.rcvbuf, err = unix.GetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err != nil {
		return fmt.Errorf("get SO_RCVBUF: %w", err)
	}
	if r.addr, err = localAddr(r.fd); err != nil {
		return err
	}
	r.buf = make([]byte, recvBatch*recvBufLen)
	r.iovs = make([]unix.Iovec, recvBatch)
	r.names = make([]unix.RawSockaddrInet6, recvBatch)
	r.msgs = make([]unix.Mmsghdr, recvBatch)
	for i := range recvBatch {
		r.iovs[i].Base = &r.buf[i*recvBufLen]
		r.iovs[i].SetLen(recvBufLen)
		h := &r.msgs[i].Hdr
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
	}
	r.flows = make([][tagSlots]flowState, 1<<16)
	r.perFlow = make([]uint64, 1<<16)
	return nil
}

// Addr is the address and port the receiver is bound to.
func (r *UDPReceiver) Addr() netip.AddrPort { return r.addr }

// EffectiveRcvbuf is SO_RCVBUF as the kernel reports it, in bytes.
func (r *UDPReceiver) EffectiveRcvbuf() int { return r.rcvbuf }

// Received counts valid vethbench datagrams (magic present).
func (r *UDPReceiver) Received() uint64 { return r.received.Load() }

// Bytes counts the UDP payload bytes of the valid datagrams.
func (r *UDPReceiver) Bytes() uint64 { return r.bytes.Load() }

// Invalid counts datagrams without the vethbench header.
func (r *UDPReceiver) Invalid() uint64 { return r.invalid.Load() }

// SeqGaps counts datagrams missing by per-flow sequence number (a flow is a
// source port; every flow starts at 0, again under every tag): a jump from
// an expected n to n+k adds k, a late datagram (see Late) takes one back.
// On one veth pair, where nothing reorders or duplicates, it is the number
// of datagrams lost between the sender's socket and this one, except those
// after each flow's last datagram received, which Tagged's Gaps adds. A
// receiver serves one sender (one life of each flow): a sender restarted
// on the same ports and tag starts again at 0 and its datagrams count as
// late.
func (r *UDPReceiver) SeqGaps() uint64 {
	late := r.late.Load()
	jumps := r.jumps.Load()
	if late >= jumps {
		return 0
	}
	return jumps - late
}

// Late counts datagrams that arrived with a sequence number below the one
// expected for their flow: reordered or duplicated.
func (r *UDPReceiver) Late() uint64 { return r.late.Load() }

// Stale counts datagrams of a tag older than the one their flow's slot
// followed when they came: more than tagSlots-1 windows late. They count
// in their tag's Received and Bytes, not in its sequence.
func (r *UDPReceiver) Stale() uint64 { return r.stale.Load() }

// Tagged returns the counts of the datagrams carrying tag, since the
// receiver was opened. It may be read while Run is running.
func (r *UDPReceiver) Tagged(tag uint8) TagCounts {
	c := &r.tagged[tag]
	return TagCounts{
		Received: c.received.Load(), Bytes: c.bytes.Load(),
		Jumps: c.jumps.Load(), Late: c.late.Load(), Next: c.next.Load(),
	}
}

// PerFlow returns the valid datagrams received per source port. It reads
// state that Run owns, so it fails with ErrRunning while Run runs.
func (r *UDPReceiver) PerFlow() (map[uint16]uint64, error) {
	r.state.mu.Lock()
	defer r.state.mu.Unlock()
	if r.state.running {
		return nil, ErrRunning
	}
	m := make(map[uint16]uint64)
	for port, n := range r.perFlow {
		if n > 0 {
			m[uint16(port)] = n
		}
	}
	return m, nil
}

// Errors returns receive errors by errno name.
func (r *UDPReceiver) Errors() map[string]uint64 { return r.errs.snapshot() }

// CPUTime is the CPU time of the thread draining the socket, over all
// Runs; it may be read while Run is running.
func (r *UDPReceiver) CPUTime() time.Duration { return r.cpuT.total() }

// PinTo makes Run pin its thread to cpu (-1: not pinned). Call it before Run.
func (r *UDPReceiver) PinTo(cpu int) error {
	if err := checkPinTo(cpu); err != nil {
		return err
	}
	r.cpu = cpu
	return nil
}

// Run drains the socket until ctx is done, then returns nil, within about
// 10 ms of the cancellation. It returns ErrClosed when Close stopped it.
// Run may be called again after it returned; counters continue.
//
// Run never lets the kernel wake it for each datagram: while traffic flows
// it takes what is queued without blocking and, once the queue is empty,
// sleeps pollInterval (the socket buffer holds what arrives meanwhile).
// A wakeup per datagram would run on the sending CPU (on veth the receive
// softirq runs there) and, with an inter-processor interrupt in a VM, cost
// more than the datapath being measured. Only after idlePolls empty polls
// does it block in the socket, so an idle receiver costs nothing.
func (r *UDPReceiver) Run(ctx context.Context) error {
	stop, end, err := r.state.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	defer reserveProcs(1)() // see procs.go
	unpin, err := pin(r.cpu)
	if err != nil {
		return err
	}
	defer unpin()
	r.cpuT.begin()
	defer r.cpuT.end()
	idle := idlePolls // start blocked: no traffic yet
	for !stop.Load() {
		block := idle >= idlePolls
		n, err := r.recv(block)
		if err != nil {
			return err
		}
		var readNS int64
		if n > 0 && r.onRead != nil {
			readNS = r.clock.now() // once per call: its datagrams became the reader's together
		}
		r.account(n)
		if len(r.read) > 0 {
			r.onRead(readNS, r.read)
			r.read = r.read[:0]
		}
		switch {
		case n == len(r.msgs): // more may be queued
			idle = 0
		case n > 0: // drained: let datagrams accumulate
			idle = 0
			r.sleep()
		case !block:
			idle++
			if idle < idlePolls {
				r.sleep()
			}
		}
	}
	return r.state.closedErr()
}

func (r *UDPReceiver) sleep() {
	ts := unix.NsecToTimespec(int64(pollInterval))
	_ = unix.Nanosleep(&ts, nil)
}

// recv is one recvmmsg that takes whatever is queued, up to recvBatch; with
// block it first waits for a datagram, at most ioTimeout.
func (r *UDPReceiver) recv(block bool) (int, error) {
	for i := range r.msgs {
		r.msgs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
	}
	flags := unix.MSG_TRUNC | unix.MSG_DONTWAIT
	if block {
		flags = unix.MSG_TRUNC | unix.MSG_WAITFORONE
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(r.fd),
		uintptr(unsafe.Pointer(&r.msgs[0])), uintptr(len(r.msgs)), uintptr(flags), 0, 0)
	switch e {
	case 0:
		return int(n), nil
	case unix.EAGAIN, unix.EINTR: // empty, or timeout: check for cancellation
		return 0, nil
	case unix.EBADF, unix.EFAULT, unix.EINVAL, unix.ENOTSOCK:
		r.errs.add(e)
		return 0, fmt.Errorf("recvmmsg: %w", e)
	default:
		// ECONNREFUSED and the like: a pending error reported once.
		r.errs.add(e)
		return 0, nil
	}
}

// account counts the n datagrams of the last recvmmsg.
func (r *UDPReceiver) account(n int) {
	var valid, invalid, bytes, jumps, late, stale uint64
	a := &r.acc
	for i := range n {
		m := &r.msgs[i]
		p := r.buf[i*recvBufLen : (i+1)*recvBufLen]
		if int(m.Len) < HeaderLen || !hasMagic(p) {
			invalid++
			continue
		}
		valid++
		bytes += uint64(m.Len)
		// The port is at the same offset of sockaddr_in and sockaddr_in6,
		// in network byte order.
		pb := (*[2]byte)(unsafe.Pointer(&r.names[i].Port))
		port := uint16(pb[0])<<8 | uint16(pb[1])
		tag := p[3]
		seq := uint32(p[4]) | uint32(p[5])<<8 | uint32(p[6])<<16 | uint32(p[7])<<24
		r.perFlow[port]++
		if r.onRead != nil {
			r.read = append(r.read, ReadDatagram{SrcPort: port, Seq: seq, SendTime: binary.LittleEndian.Uint64(p[8:16])})
		}
		if tag != a.tag {
			r.flush()
			a.tag = tag
		}
		a.received++
		a.bytes += uint64(m.Len)
		f := &r.flows[port][tag%tagSlots]
		if !f.used || f.tag != tag {
			if f.used && int8(tag-f.tag) < 0 {
				// Older than the tag the slot follows now: too late to
				// be followed in its flow's sequence.
				stale++
				continue
			}
			*f = flowState{tag: tag, used: true}
		}
		switch d := seq - f.next; {
		case d == 0:
			f.next++
			a.next++
		case d < 1<<31: // ahead: d datagrams missing
			jumps += uint64(d)
			a.jumps += uint64(d)
			f.next = seq + 1
			a.next += uint64(d) + 1
		default: // behind: reordered or duplicated
			late++
			a.late++
		}
	}
	r.flush()
	r.received.Add(valid)
	r.bytes.Add(bytes)
	if invalid > 0 {
		r.invalid.Add(invalid)
	}
	if jumps > 0 {
		r.jumps.Add(jumps)
	}
	if late > 0 {
		r.late.Add(late)
	}
	if stale > 0 {
		r.stale.Add(stale)
	}
}

// flush publishes what acc added up for its tag and empties it.
func (r *UDPReceiver) flush() {
	a := &r.acc
	if a.received == 0 {
		return
	}
	c := &r.tagged[a.tag]
	c.received.Add(a.received)
	c.bytes.Add(a.bytes)
	if a.jumps > 0 {
		c.jumps.Add(a.jumps)
	}
	if a.late > 0 {
		c.late.Add(a.late)
	}
	c.next.Add(a.next)
	*a = tagAcc{tag: a.tag}
}

// Close stops a running Run (which then returns ErrClosed), waits for it
// and closes the socket. Close is idempotent.
func (r *UDPReceiver) Close() error {
	if !r.state.close() || r.fd < 0 {
		return nil
	}
	err := unix.Close(r.fd)
	r.fd = -1
	if err != nil {
		return fmt.Errorf("close socket: %w", err)
	}
	return nil
}
