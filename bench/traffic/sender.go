package traffic

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// ErrClosed is returned by Run on a sender or receiver that was closed.
var ErrClosed = errors.New("traffic: closed")

// ErrRunning is returned by Run when another Run of the same sender or
// receiver has not returned yet.
var ErrRunning = errors.New("traffic: already running")

// scheduleQuantum is the time one rate-limited batch covers: the batch size
// is about Rate*scheduleQuantum packets (per worker), clamped to [1, Batch].
const scheduleQuantum = 100 * time.Microsecond

// minSleep: a batch due sooner than this is sent at once rather than slept
// for (nanosleep overshoots by the timer slack, 50 us by default).
const minSleep = 10 * time.Microsecond

// maxSleepChunk bounds one sleep, so that cancellation is noticed promptly.
const maxSleepChunk = 5 * time.Millisecond

// UDPSender sends UDP datagrams carrying the vethbench header from one
// connected socket per flow, in batches of one sendmmsg each, from
// UDPConfig.Workers goroutines.
type UDPSender struct {
	span    sendSpan // the last Run's sending time
	cfg     UDPConfig
	payload int
	fds     []int // one connected socket per flow
	workers []*worker

	lag  lagMeter
	errs errnoCounts
	tag  tagSet

	state runState
}

var _ Tagger = (*UDPSender)(nil)

// worker is one sending goroutine and everything it alone touches. Worker
// w owns flows w, w+Workers, w+2*Workers...
type worker struct {
	s         *UDPSender
	fds       []int    // sockets of its flows
	tag       uint8    // the tag its sequence numbers belong to
	seq       []uint32 // next sequence number of each of its flows, under tag
	buf       []byte   // Batch messages, msgStride bytes apart
	msgStride int
	segs      int // datagrams per message: GSO, or 1
	iovs      []unix.Iovec
	msgs      []unix.Mmsghdr
	rate      float64 // datagrams/s of this worker; 0: unlimited
	cpu       int     // pinned to this CPU; -1: not pinned
	clock     monoClock
	stop      *atomic.Bool // the current Run's
	cpuT      cpuMeter

	sent   atomic.Uint64
	tagged tagCounts
	_      [56]byte // keep the hot counters of two workers off one cache line
}

// NewUDPSender validates cfg and opens its sockets inside ns (nil: the
// current namespace), one per flow, bound to Src:SrcPortBase+i and
// connected to Dst:DstPort. The caller closes the sender.
func NewUDPSender(ns *netns.NS, cfg UDPConfig) (*UDPSender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	payload, _ := PayloadLen(cfg.FrameSize, cfg.IPv6()) // checked by Validate
	s := &UDPSender{cfg: cfg, payload: payload}
	remote := netip.AddrPortFrom(cfg.Dst, cfg.DstPort)
	open := func() error {
		for i := range cfg.Flows {
			local := netip.AddrPortFrom(cfg.Src, cfg.SrcPortBase+uint16(i))
			fd, err := udpSocket(local, remote)
			if err != nil {
				return fmt.Errorf("open flow %d socket %s -> %s: %w", i, local, remote, err)
			}
			s.fds = append(s.fds, fd)
			if cfg.GSO > 0 {
				// Every send longer than one payload is cut into payloads.
				if err := unix.SetsockoptInt(fd, unix.SOL_UDP, unix.UDP_SEGMENT, payload); err != nil {
					if errors.Is(err, unix.ENOPROTOOPT) || errors.Is(err, unix.EINVAL) {
						return fmt.Errorf("%w: UDP GSO (UDP_SEGMENT): %w", ErrNotSupported, err)
					}
					return fmt.Errorf("set UDP_SEGMENT %d: %w", payload, err)
				}
			}
		}
		return nil
	}
	if err := ns.Do(open); err != nil {
		s.Close()
		return nil, err
	}
	for w := range cfg.Workers {
		s.workers = append(s.workers, s.newWorker(w))
	}
	return s, nil
}

// newWorker lays out worker w's payloads and the sendmmsg vector pointing
// at them. Every payload starts with the magic and is zero after the header.
// Without GSO each message is one payload on its own cache lines; with GSO
// a message is GSO payloads back to back, which the kernel cuts apart.
func (s *UDPSender) newWorker(w int) *worker {
	k := &worker{s: s, rate: s.cfg.Rate / float64(s.cfg.Workers), cpu: -1, segs: max(1, s.cfg.GSO)}
	if cpus := s.cfg.CPUs; len(cpus) > 0 {
		k.cpu = cpus[w%len(cpus)]
	}
	for f := w; f < len(s.fds); f += s.cfg.Workers {
		k.fds = append(k.fds, s.fds[f])
	}
	k.seq = make([]uint32, len(k.fds))
	n := s.cfg.Batch
	msgLen := k.segs * s.payload
	k.msgStride = (msgLen + 63) &^ 63
	k.buf = make([]byte, n*k.msgStride)
	k.iovs = make([]unix.Iovec, n)
	k.msgs = make([]unix.Mmsghdr, n)
	for i := range n {
		m := k.buf[i*k.msgStride : i*k.msgStride+msgLen]
		for j := range k.segs {
			Encode(m[j*s.payload:], Header{})
		}
		k.iovs[i].Base = &m[0]
		k.iovs[i].SetLen(msgLen)
		k.msgs[i].Hdr.Iov = &k.iovs[i]
		k.msgs[i].Hdr.SetIovlen(1)
	}
	return k
}

// Config returns the configuration with defaults filled in.
func (s *UDPSender) Config() UDPConfig { return s.cfg }

// PayloadLen is the UDP payload length of every datagram sent.
func (s *UDPSender) PayloadLen() int { return s.payload }

// CPUTime is the CPU time of the sending threads over all Runs (it
// includes the softirq work they did: on veth, the receive path).
func (s *UDPSender) CPUTime() time.Duration {
	var t time.Duration
	for _, k := range s.workers {
		t += k.cpuT.total()
	}
	return t
}

// Threads is the number of sending threads (Workers).
func (s *UDPSender) Threads() int { return len(s.workers) }

// Sent is the number of datagrams the kernel accepted. It may be read while
// Run is sending.
func (s *UDPSender) Sent() uint64 {
	var n uint64
	for _, k := range s.workers {
		n += k.sent.Load()
	}
	return n
}

// SentBytes is the frame bytes of the datagrams sent: FrameSize * Sent,
// comparable with a device's byte counters.
func (s *UDPSender) SentBytes() uint64 { return s.Sent() * uint64(s.cfg.FrameSize) }

// SetTag makes the datagrams sent from now on carry tag (see Tagger).
func (s *UDPSender) SetTag(tag uint8) { s.tag.set(tag) }

// SentTagged counts the datagrams sent carrying tag (see Tagger).
func (s *UDPSender) SentTagged(tag uint8) uint64 {
	return sumTagged(s.workers, func(k *worker) *tagCounts { return &k.tagged }, tag)
}

// Errors returns the send errors seen so far by errno name (ENOBUFS,
// ECONNREFUSED, EAGAIN, ...).
func (s *UDPSender) Errors() map[string]uint64 { return s.errs.snapshot() }

// MaxLag is how far behind its schedule a rate-limited sender fell at worst,
// over all Runs: the largest delay between a batch's due time and its send
// call. It stays 0 for an unlimited rate.
func (s *UDPSender) MaxLag() time.Duration { return s.lag.max() }

// Run sends until ctx is done, then returns nil, within about 10 ms of the
// cancellation even when the socket buffers are full. Send errors that a
// datagram generator meets in normal operation are counted in Errors and do
// not stop it; Run returns an error only for a broken socket, or ErrClosed
// when Close stopped it. Run may be called again after it returned;
// counters and sequence numbers continue, the rate schedule starts afresh.
func (s *UDPSender) Run(ctx context.Context) error {
	stop, end, err := s.state.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	defer reserveProcs(len(s.workers))() // see procs.go
	clock := newMonoClock()
	s.span.reset()
	err = runWorkers(len(s.workers), stop, func(i int) error { return s.workers[i].run(clock, stop) })
	if err != nil {
		return err
	}
	return s.state.closedErr()
}

// run is one worker's loop on its pinned thread.
func (k *worker) run(clock monoClock, stop *atomic.Bool) error {
	k.clock, k.stop = clock, stop
	unpin, err := pin(k.cpu)
	if err != nil {
		return err
	}
	defer unpin()
	k.cpuT.begin()
	defer k.cpuT.end()
	k.s.span.begin()
	defer k.s.span.end()
	return k.loop()
}

// SendTime is how long the last Run sent: from the first worker starting
// its send loop to the last one leaving it, without the Run's own start
// and end.
func (s *UDPSender) SendTime() time.Duration { return s.span.get() }

// loop sends messages (of segs datagrams each) on the open-loop schedule
// (see schedule), which counts messages: datagrams/segs.
func (k *worker) loop() error {
	rate := k.rate / float64(k.segs)
	most := k.s.cfg.Batch
	batch := quantumBatch(rate, most)
	sch := newSchedule(rate, k.clock.now(), &k.s.lag)
	flow := 0
	for !k.stop.Load() {
		b, wait := sch.next(k.clock.now(), batch, most)
		if wait > 0 {
			sleepFor(wait, k.stop)
			continue // re-read the clock, re-check stop
		}
		if err := k.sendBatch(flow, b); err != nil {
			return err
		}
		sch.advance(b)
		if flow++; flow == len(k.fds) {
			flow = 0
		}
	}
	return nil
}

// sendBatch stamps b messages (b*segs datagrams) with the current tag,
// flow's next sequence numbers and the current time and sends them on the
// flow's socket.
func (k *worker) sendBatch(flow, b int) error {
	if tag := k.s.tag.get(); tag != k.tag {
		k.tag = tag
		clear(k.seq) // every flow starts again at 0 under a new tag
	}
	tag := k.tag
	seq := k.seq[flow]
	p := k.s.payload
	for i := range b {
		m := k.buf[i*k.msgStride:]
		for j := range k.segs {
			h := m[j*p+3 : j*p+8]
			h[0] = tag
			h[1], h[2], h[3], h[4] = byte(seq), byte(seq>>8), byte(seq>>16), byte(seq>>24)
			seq++
		}
	}
	// One timestamp per batch, taken last: the time of the send call.
	ts := uint64(k.clock.now())
	for i := range b {
		m := k.buf[i*k.msgStride:]
		for j := range k.segs {
			h := m[j*p+8 : j*p+16]
			h[0], h[1], h[2], h[3] = byte(ts), byte(ts>>8), byte(ts>>16), byte(ts>>24)
			h[4], h[5], h[6], h[7] = byte(ts>>32), byte(ts>>40), byte(ts>>48), byte(ts>>56)
		}
	}
	sent, err := k.send(k.fds[flow], b)
	if sent > 0 {
		d := uint32(sent * k.segs)
		k.seq[flow] += d
		k.sent.Add(uint64(d))
		k.tagged[tag].Add(uint64(d))
	}
	if err != nil {
		return fmt.Errorf("send on socket %d: %w", k.fds[flow], err)
	}
	return nil
}

// send sends the first b messages of the batch with sendmmsg on fd and
// returns how many the kernel took: the datagrams before any that it
// refused, whose sequence numbers are thus contiguous. Only an error that
// makes the socket unusable is returned.
func (k *worker) send(fd, b int) (int, error) {
	off := 0
	for off < b {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd),
			uintptr(unsafe.Pointer(&k.msgs[off])), uintptr(b-off), 0, 0, 0)
		if e == 0 {
			off += int(r)
			continue
		}
		k.s.errs.add(e)
		switch e {
		case unix.EINTR:
		case unix.ECONNREFUSED:
			// A pending ICMP error of an earlier datagram, reported (and
			// cleared) instead of sending this one: send it again.
		case unix.EAGAIN:
			// The socket buffer stayed full for ioTimeout.
			if k.stop.Load() {
				return off, nil
			}
		case unix.EBADF, unix.EFAULT, unix.EINVAL, unix.ENOTSOCK, unix.ENOTCONN, unix.EDESTADDRREQ:
			return off, fmt.Errorf("sendmmsg: %w", e)
		default:
			// ENOBUFS, EPERM (a firewall), ENETUNREACH, EMSGSIZE...: the
			// kernel refused the datagram; drop the rest of the batch.
			return off, nil
		}
	}
	return off, nil
}

// Close stops a running Run (which then returns ErrClosed), waits for it
// and closes the sockets. Close is idempotent.
func (s *UDPSender) Close() error {
	if !s.state.close() {
		return nil
	}
	var errs []error
	for _, fd := range s.fds {
		if err := unix.Close(fd); err != nil {
			errs = append(errs, fmt.Errorf("close socket: %w", err))
		}
	}
	s.fds = nil
	return errors.Join(errs...)
}
