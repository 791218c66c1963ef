package traffic

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNotSupported is wrapped by errors for what the kernel lacks (UDP GSO,
// live XDP frames...): the case is reported "unsupported".
var ErrNotSupported = errors.New("not supported by this kernel")

// Generator is a traffic source that the runner drives: Run until the
// context is done, reading the cumulative counters before and after (tcp,
// rr: one measurement window at a time) or, for a Tagger, while it runs
// across windows. UDPSender, PacketSender, XDPSender, TCPSender and
// RRClient implement it.
type Generator interface {
	// Run generates until ctx is done and then returns nil; ErrClosed if
	// Close stopped it; ErrRunning if another Run is in progress. It may
	// be called again; counters continue.
	Run(ctx context.Context) error
	// Sent counts the generator's units handed to the kernel, over all
	// Runs: datagrams (udp, packet, xdp), requests (rr) or bytes written
	// (tcp). It may be read while Run is running.
	Sent() uint64
	// SentBytes counts the frame bytes (Ethernet header included) of what
	// was sent; for tcp the bytes written to the socket.
	SentBytes() uint64
	// Errors counts per-send errors by errno name.
	Errors() map[string]uint64
	// MaxLag is the worst delay behind an open-loop schedule; 0 unlimited.
	MaxLag() time.Duration
	// CPUTime is the CPU time (user+system, of the threads that ran the
	// generator's loops) used by all Runs so far. On veth it includes the
	// receive path's softirq work done on the sending thread.
	CPUTime() time.Duration
	// Threads is the number of threads the generator runs on, so that
	// CPUTime/(elapsed*Threads) is its utilisation.
	Threads() int
	// Close stops a running Run and releases everything; idempotent.
	Close() error
}

// Tagger is implemented by the datagram generators (UDPSender,
// PacketSender, XDPSender): the runner tags every measurement window, so
// that each window counts the datagrams sent in it, wherever and however
// late they arrive (see Header).
type Tagger interface {
	// SetTag makes the datagrams sent from now on carry tag, each flow's
	// sequence numbers starting again at 0. It may be called while Run
	// is running; a batch being sent keeps the tag it was stamped with.
	SetTag(tag uint8)
	// SentTagged counts the datagrams the kernel accepted that carried
	// tag, over the generator's life (a tag used again adds to its
	// count). It may be read while Run is running.
	SentTagged(tag uint8) uint64
}

// sendSpan is how long the last Run of a generator sent: from the first of
// its workers entering its send loop (pinned, ready) to the last leaving
// it. Without the Run's start (raising GOMAXPROCS, starting and pinning
// threads) and end, which take a few hundred microseconds: in a 20 ms
// interleaved slice that is 1-2% of time in which nothing is sent.
type sendSpan struct {
	mu          sync.Mutex
	first, last time.Time
	d           atomic.Int64
}

// reset starts a Run's span.
func (s *sendSpan) reset() {
	s.mu.Lock()
	s.first, s.last = time.Time{}, time.Time{}
	s.mu.Unlock()
	s.d.Store(0)
}

// begin is called by a worker entering its loop, end when it leaves.
func (s *sendSpan) begin() {
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = time.Now()
	}
	s.mu.Unlock()
}

func (s *sendSpan) end() {
	s.mu.Lock()
	s.last = time.Now()
	if !s.first.IsZero() {
		s.d.Store(int64(s.last.Sub(s.first)))
	}
	s.mu.Unlock()
}

func (s *sendSpan) get() time.Duration { return time.Duration(s.d.Load()) }

// tagSet is the tag a generator's workers stamp, set by SetTag and read
// by each worker once per batch.
type tagSet struct{ cur atomic.Uint32 }

func (t *tagSet) set(tag uint8) { t.cur.Store(uint32(tag)) }
func (t *tagSet) get() uint8    { return uint8(t.cur.Load()) }

// tagCounts counts one worker's datagrams sent per tag; the worker adds,
// anyone reads.
type tagCounts [256]atomic.Uint64

// sumTagged adds up tag's count over workers' counters.
func sumTagged[W any](workers []W, counts func(W) *tagCounts, tag uint8) uint64 {
	var n uint64
	for _, w := range workers {
		n += counts(w)[tag].Load()
	}
	return n
}

// threadCPU returns the CPU time the calling OS thread has used (its
// scheduler runtime, to the nanosecond). The caller must have locked its
// goroutine to the thread (pin does). Without IRQ time accounting (this
// kernel's configuration) it includes the softirq work the thread did,
// which on veth is the receive path of what it sent.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// tidCPU reads the CPU clock of thread tid of this process, from any
// thread: the clock id is the kernel's MAKE_THREAD_CPUCLOCK(tid,
// CPUCLOCK_SCHED).
func tidCPU(tid int) (time.Duration, bool) {
	var ts unix.Timespec
	id := int32(^uint32(tid))<<3 | 4 | 2 // per-thread | CPUCLOCK_SCHED
	if unix.ClockGettime(id, &ts) != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// cpuMeter accumulates the CPU time of the threads a loop runs on — one
// Run after another, or several threads at once (a server's connections)
// — and can be read while they run: a long-running receiver is read at the
// edges of every measurement window.
type cpuMeter struct {
	mu   sync.Mutex
	done time.Duration         // threads that have ended
	live map[int]time.Duration // running thread -> its CPU clock at begin
}

// begin is called on the loop's locked thread when it starts.
func (m *cpuMeter) begin() {
	tid, now := unix.Gettid(), threadCPU()
	m.mu.Lock()
	if m.live == nil {
		m.live = map[int]time.Duration{}
	}
	m.live[tid] = now
	m.mu.Unlock()
}

// end is called on the same thread when the loop stops.
func (m *cpuMeter) end() {
	tid, now := unix.Gettid(), threadCPU()
	m.mu.Lock()
	if start, ok := m.live[tid]; ok {
		m.done += now - start
		delete(m.live, tid)
	}
	m.mu.Unlock()
}

// total is the CPU time of all threads so far, the running ones included.
func (m *cpuMeter) total() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.done
	for tid, start := range m.live {
		if now, ok := tidCPU(tid); ok {
			t += now - start
		}
	}
	return t
}
