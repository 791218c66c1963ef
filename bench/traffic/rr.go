package traffic

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/internal/netns"
)

// Protocols of RRConfig.Proto.
const (
	ProtoUDP = "udp"
	ProtoTCP = "tcp"
)

// Limits of an RRConfig.
const (
	DefaultRRSize = 64
	// MaxRRSize bounds a TCP request; a UDP request is also bounded by
	// what one datagram carries.
	MaxRRSize        = 1 << 20
	DefaultRRTimeout = 100 * time.Millisecond
	MaxRRTimeout     = time.Minute
)

// wakeMargin: an open-loop sender sleeps until this long before a request
// is due and spins on the clock for the rest. Even with a timer slack of
// 1 ns a nanosleep here overshoots by 25 us (median; 40 us p99), which a
// request stamped with its due time would count as round-trip time.
const wakeMargin = 50 * time.Microsecond

// RRConfig describes request/response traffic: each flow sends requests of
// Size bytes to an RRServer that sends each one back. It is plain data:
// Validate needs no privileges and touches nothing.
type RRConfig struct {
	Proto string // ProtoUDP or ProtoTCP
	// Src is the client's address (the unspecified address lets the
	// kernel choose), Dst:Port the server's.
	Src, Dst netip.Addr
	Port     uint16
	// SrcPortBase: flow i binds Src:SrcPortBase+i; 0 lets the kernel pick
	// ephemeral ports.
	SrcPortBase uint16
	Flows       int // connections (TCP) or connected sockets (UDP), >= 1
	// Size is the payload bytes of a request and of its response, the
	// vethbench header included; 0 means DefaultRRSize.
	Size int
	// Rate > 0: open loop at this many requests per second in total
	// (each worker an equal share), whether responses come or not.
	// 0: closed loop, each flow sends its next request when the response
	// to the last one has arrived (or, for UDP, it timed out).
	Rate float64
	// Workers is the number of goroutines driving the flows (worker w
	// drives flows w, w+Workers...); 0 means 1, at most Flows. In open
	// loop each worker has a sending and a receiving thread.
	Workers int
	// CPUs pins worker w's threads to CPUs[w % len(CPUs)]; empty pins
	// nothing.
	CPUs []int
	// Timeout (UDP) is how long a request waits for its response before
	// it counts as lost; 0 means DefaultRRTimeout. It also bounds the
	// drain at the end of a Run, for TCP too.
	Timeout time.Duration
}

// IPv6 reports whether the configured traffic is IPv6.
func (c RRConfig) IPv6() bool { return c.Dst.Unmap().Is6() }

func (c RRConfig) withDefaults() RRConfig {
	c.Src, c.Dst = c.Src.Unmap(), c.Dst.Unmap()
	if c.Size == 0 {
		c.Size = DefaultRRSize
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultRRTimeout
	}
	return c
}

// maxSize is the largest request Size the protocol carries in one message.
func (c RRConfig) maxSize() int {
	if c.Proto == ProtoTCP {
		return MaxRRSize
	}
	most := maxIPPacket - UDPHeaderLen
	if !c.IPv6() {
		most -= IPv4HeaderLen
	}
	return most
}

// Validate checks the configuration and returns an error wrapping
// ErrInvalid that names the first bad field.
func (c RRConfig) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	c = c.withDefaults()
	if c.Proto != ProtoUDP && c.Proto != ProtoTCP {
		return bad("Proto %q: want %q or %q", c.Proto, ProtoUDP, ProtoTCP)
	}
	if err := checkAddrs(c.Src, c.Dst); err != nil {
		return bad("%v", err)
	}
	if c.Port == 0 {
		return bad("Port 0: need the server's port")
	}
	if c.Flows < 1 || c.Flows > MaxFlows {
		return bad("Flows %d out of range [1, %d]", c.Flows, MaxFlows)
	}
	if c.SrcPortBase != 0 {
		last := int(c.SrcPortBase) + c.Flows - 1
		if last > math.MaxUint16 {
			return bad("SrcPortBase %d + Flows %d: last source port %d above 65535", c.SrcPortBase, c.Flows, last)
		}
		if c.Src == c.Dst && c.Port >= c.SrcPortBase && int(c.Port) <= last {
			return bad("Port %d is one of the source ports of a client on the server's own address", c.Port)
		}
	}
	if most := c.maxSize(); c.Size < HeaderLen || c.Size > most {
		return bad("Size %d out of range [%d, %d] for %s (0: %d)", c.Size, HeaderLen, most, c.Proto, DefaultRRSize)
	}
	if math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate < 0 {
		return bad("Rate %v: must be a finite number of requests per second >= 0 (0: closed loop)", c.Rate)
	}
	if c.Workers < 0 || c.Workers > c.Flows {
		return bad("Workers %d out of range [1, Flows=%d] (0: 1)", c.Workers, c.Flows)
	}
	if err := checkCPUs(c.CPUs); err != nil {
		return bad("%v", err)
	}
	if c.Timeout < 0 || c.Timeout > MaxRRTimeout {
		return bad("Timeout %v out of range (0, %v] (0: %v)", c.Timeout, MaxRRTimeout, DefaultRRTimeout)
	}
	return nil
}

// RRClient sends requests to an RRServer and measures the round trip of
// each in a latency histogram.
type RRClient struct {
	cfg     RRConfig
	udp     bool
	flows   []*rrFlow
	workers []*rrWorker
	lag     lagMeter
	errs    errnoCounts
	state   runState
}

// rrFlow is one socket and its sequence of requests. Sequence numbers
// start at 0 and continue over Runs; every request below next has been
// answered or given up.
type rrFlow struct {
	fd  int
	req []byte // the request: the header, then zeros

	// Owned by the sending side.
	seq    uint32 // sequence number of the next request
	woff   int    // TCP: bytes of the current request written; 0: none pending
	sentAt int64  // closed loop: when the outstanding request was sent

	// Owned by the receiving side.
	next uint32 // lowest sequence number neither answered nor given up
	rbuf []byte // UDP: one datagram; TCP: responses, rlen of them read
	rlen int

	sent, responses, lost, late, invalid atomic.Uint64
}

// outstanding is the number of requests sent and not yet resolved. It
// loads the resolved counts before sent, and sent is raised before a
// request goes out, so it is never negative.
func (f *rrFlow) outstanding() uint64 {
	done := f.responses.Load() + f.lost.Load()
	return f.sent.Load() - done
}

// rrWorker drives its flows: in closed loop from one thread, in open loop
// from a sending and a receiving one.
type rrWorker struct {
	c     *RRClient
	flows []*rrFlow
	pfds  []unix.PollFd // the flows' sockets, for waiting on several
	cpu   int
	rate  float64 // requests/s of this worker; 0: closed loop
	clock monoClock
	stop  *atomic.Bool

	senderDone atomic.Bool // open loop: the sending thread has returned
	cpuNS      atomic.Int64
	hist       [histogram.NumBuckets]atomic.Uint64 // round trips, ns
}

// NewRRClient validates cfg and opens its flows inside ns (nil: the current
// namespace): UDP sockets connected to Dst:Port, or TCP connections to an
// RRServer listening there (it need not be running yet). The caller closes
// the client.
func NewRRClient(ns *netns.NS, cfg RRConfig) (*RRClient, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &RRClient{cfg: cfg, udp: cfg.Proto == ProtoUDP}
	remote := netip.AddrPortFrom(cfg.Dst, cfg.Port)
	nodelay := func(fd int) error {
		// Each request is a segment of its own, as in netperf TCP_RR.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			return fmt.Errorf("set TCP_NODELAY: %w", err)
		}
		return nil
	}
	open := func() error {
		for i := range cfg.Flows {
			local := netip.AddrPortFrom(cfg.Src, 0)
			if cfg.SrcPortBase != 0 {
				local = netip.AddrPortFrom(cfg.Src, cfg.SrcPortBase+uint16(i))
			}
			var fd int
			var err error
			if c.udp {
				fd, err = udpSocket(local, remote)
			} else {
				fd, err = tcpConnect(local, remote, nodelay)
			}
			if err != nil {
				return fmt.Errorf("open flow %d: %w", i, err)
			}
			c.flows = append(c.flows, c.newFlow(fd))
		}
		return nil
	}
	if err := ns.Do(open); err != nil {
		c.Close()
		return nil, err
	}
	for w := range cfg.Workers {
		k := &rrWorker{c: c, cpu: -1, rate: cfg.Rate / float64(cfg.Workers)}
		if len(cfg.CPUs) > 0 {
			k.cpu = cfg.CPUs[w%len(cfg.CPUs)]
		}
		for f := w; f < len(c.flows); f += cfg.Workers {
			k.flows = append(k.flows, c.flows[f])
			k.pfds = append(k.pfds, unix.PollFd{Fd: int32(c.flows[f].fd), Events: unix.POLLIN})
		}
		c.workers = append(c.workers, k)
	}
	return c, nil
}

func (c *RRClient) newFlow(fd int) *rrFlow {
	size := c.cfg.Size
	f := &rrFlow{fd: fd, req: make([]byte, size)}
	Encode(f.req, Header{})
	if c.udp {
		f.rbuf = make([]byte, size)
	} else {
		// Room for many pipelined responses per read.
		f.rbuf = make([]byte, max(size, (64<<10)/size*size))
	}
	return f
}

// Config returns the configuration with defaults filled in.
func (c *RRClient) Config() RRConfig { return c.cfg }

func (c *RRClient) sum(counter func(f *rrFlow) *atomic.Uint64) uint64 {
	var n uint64
	for _, f := range c.flows {
		n += counter(f).Load()
	}
	return n
}

// Sent is the number of requests sent, over all Runs (a TCP request counts
// once its first byte is written).
func (c *RRClient) Sent() uint64 { return c.sum(func(f *rrFlow) *atomic.Uint64 { return &f.sent }) }

// SentBytes is the bytes of the requests sent: for UDP whole frames
// (Ethernet header to the end of the payload, like a device's byte
// counters), for TCP the payload bytes written.
func (c *RRClient) SentBytes() uint64 {
	per := uint64(c.cfg.Size)
	if c.udp {
		per += EthHeaderLen + UDPHeaderLen + uint64(ipHeaderLen(c.cfg.IPv6()))
	}
	return c.Sent() * per
}

// Responses is the number of responses received in time; RTT holds their
// round trips.
func (c *RRClient) Responses() uint64 {
	return c.sum(func(f *rrFlow) *atomic.Uint64 { return &f.responses })
}

// Lost is the number of requests given up (UDP only): unanswered after
// Timeout, or skipped over by the response to a later request of their
// flow (one socket and one server thread do not reorder, so a response
// that is overtaken was lost or is late), or still unanswered when a Run's
// drain ended.
func (c *RRClient) Lost() uint64 { return c.sum(func(f *rrFlow) *atomic.Uint64 { return &f.lost }) }

// Late is the number of responses that came after their request was
// given up; they are neither in Responses nor in RTT.
func (c *RRClient) Late() uint64 { return c.sum(func(f *rrFlow) *atomic.Uint64 { return &f.late }) }

// Invalid counts UDP responses that were not a vethbench message of Size
// bytes.
func (c *RRClient) Invalid() uint64 {
	return c.sum(func(f *rrFlow) *atomic.Uint64 { return &f.invalid })
}

// Outstanding is the number of requests sent whose response has neither
// arrived nor been given up: Sent = Responses + Lost + Outstanding. It is
// 0 after a Run whose drain completed.
func (c *RRClient) Outstanding() uint64 {
	var n uint64
	for _, f := range c.flows {
		n += f.outstanding()
	}
	return n
}

// RTT returns the histogram of round trips in nanoseconds, over all Runs:
// from the request's send time (open loop: the time it was due) to the
// arrival of its response. It may be read while Run runs.
func (c *RRClient) RTT() histogram.Histogram {
	h := histogram.Histogram{Counts: make([]uint64, histogram.NumBuckets)}
	for _, k := range c.workers {
		for i := range k.hist {
			h.Counts[i] += k.hist[i].Load()
		}
	}
	return h
}

// Errors returns send and receive errors by errno name.
func (c *RRClient) Errors() map[string]uint64 { return c.errs.snapshot() }

// MaxLag is, in open loop, the worst delay between a request's due time
// and its send call over all Runs; 0 in closed loop.
func (c *RRClient) MaxLag() time.Duration { return c.lag.max() }

// CPUTime is the CPU time of the client's threads over all Runs, updated
// when a Run returns.
func (c *RRClient) CPUTime() time.Duration {
	var n int64
	for _, k := range c.workers {
		n += k.cpuNS.Load()
	}
	return time.Duration(n)
}

// Threads is the number of threads a Run uses: Workers in closed loop,
// twice that in open loop (a sender and a receiver each).
func (c *RRClient) Threads() int {
	if c.cfg.Rate > 0 {
		return 2 * len(c.workers)
	}
	return len(c.workers)
}

// Run sends requests until ctx is done, then stops sending and waits for
// the outstanding responses, at most Timeout (UDP requests still
// unanswered then count as lost), and returns nil. It returns at once with
// ErrClosed if Close stopped it, ErrRunning if another Run is running, and
// another error for a broken socket or connection. Run may be called
// again; counters and sequence numbers continue, an open-loop schedule
// starts afresh.
func (c *RRClient) Run(ctx context.Context) error {
	stop, end, err := c.state.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	clock := newMonoClock()
	var fns []func() error
	for _, k := range c.workers {
		k.clock, k.stop = clock, stop
		if c.cfg.Rate > 0 {
			k.senderDone.Store(false)
			fns = append(fns, k.thread(k.sendLoop), k.thread(k.recvLoop))
		} else {
			fns = append(fns, k.thread(k.closedLoop))
		}
	}
	defer reserveProcs(len(fns))()
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns[1:] {
		wg.Go(func() { errs[i+1] = fn() })
	}
	errs[0] = fns[0]()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return c.state.closedErr()
}

// thread wraps a loop of the worker: pinned, its CPU time counted, and a
// failure stops the others.
func (k *rrWorker) thread(loop func() error) func() error {
	return func() error {
		unpin, err := pin(k.cpu)
		if err != nil {
			k.stop.Store(true)
			return err
		}
		defer unpin()
		c0 := threadCPU()
		err = loop()
		k.cpuNS.Add(int64(threadCPU() - c0))
		if err != nil {
			k.stop.Store(true)
		}
		return err
	}
}

// closedLoop keeps one request outstanding per flow: it sends a flow's next
// request as soon as the last one is resolved, stamped with the time of
// the send call. It waits for responses blocked in recv(2) (or poll(2)),
// like sockperf's default: spinning on MSG_DONTWAIT instead saved nothing
// unless the server spun too, and both spinning on this 2-vCPU machine
// cut the median but made the tail and the rate erratic.
func (k *rrWorker) closedLoop() error {
	udp := k.c.udp
	timeout := int64(k.c.cfg.Timeout)
	for !k.stop.Load() {
		now := k.clock.now()
		waiting := false
		for _, f := range k.flows {
			if f.woff > 0 {
				if err := k.flush(f); err != nil {
					return err
				}
			}
			if f.seq != f.next {
				if !udp || now-f.sentAt <= timeout {
					waiting = true
					continue
				}
				f.lost.Add(uint64(f.seq - f.next))
				f.next = f.seq
			}
			f.sentAt = k.clock.now()
			sent, _, err := k.sendReq(f, f.sentAt)
			if err != nil {
				return err
			}
			waiting = waiting || sent
		}
		if !waiting {
			k.sleep(minSleep) // every send failed (ENOBUFS...): try again
			continue
		}
		if err := k.receive(true, false); err != nil {
			return err
		}
	}
	return k.drain(k.clock.now())
}

// drain stops sending (after finishing TCP requests written in part) and
// receives until every request is resolved, Timeout has passed since start,
// or Close was called; UDP requests still unanswered then are lost.
func (k *rrWorker) drain(start int64) error {
	deadline := start + int64(k.c.cfg.Timeout)
	for k.c.state.closedErr() == nil && k.clock.now() < deadline {
		pending := false
		for _, f := range k.flows {
			if f.woff > 0 {
				if err := k.flush(f); err != nil {
					return err
				}
			}
			pending = pending || f.seq != f.next
		}
		if !pending {
			break
		}
		if err := k.receive(true, true); err != nil {
			return err
		}
	}
	if k.c.udp {
		for _, f := range k.flows {
			f.lost.Add(uint64(f.seq - f.next))
			f.next = f.seq
		}
	}
	return nil
}

// sendLoop is the open loop's sending thread: request n of the worker is
// due at t0 + n/rate and is stamped with that due time, not the time it is
// actually sent, so that a sender held up (by a full socket buffer, a
// preempted thread) charges the delay to every request that should have
// gone out meanwhile. It never waits for responses.
func (k *rrWorker) sendLoop() error {
	defer k.senderDone.Store(true)
	// Sleep precisely; restored before the thread goes back to the pool.
	if old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); err == nil {
		if unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) == nil {
			defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0)
		}
	}
	nsPerReq := 1e9 / k.rate
	t0 := k.clock.now()
	var n int64 // position in the schedule
	flow := 0
	for !k.stop.Load() {
		due := t0 + int64(float64(n)*nsPerReq)
		now := k.clock.now()
		if wait := due - now; wait > 0 {
			if wait > int64(wakeMargin) {
				k.sleep(time.Duration(wait) - wakeMargin)
			}
			continue // spin on the clock for the last stretch
		}
		k.c.lag.note(now - due)
		f := k.flows[flow]
		if f.woff > 0 {
			// The previous request on this connection is still being
			// written (the socket buffer is full): finish it first.
			if err := k.flush(f); err != nil {
				return err
			}
			continue
		}
		sent, retry, err := k.sendReq(f, due)
		if err != nil {
			return err
		}
		if !sent && retry {
			continue // the same request, still stamped with its due time
		}
		n++
		if flow++; flow == len(k.flows) {
			flow = 0
		}
	}
	// Complete requests written in part, so the stream stays in step.
	for deadline := k.clock.now() + int64(k.c.cfg.Timeout); k.clock.now() < deadline && k.c.state.closedErr() == nil; {
		pending := false
		for _, f := range k.flows {
			if f.woff > 0 {
				if err := k.flush(f); err != nil {
					return err
				}
				pending = pending || f.woff > 0
			}
		}
		if !pending {
			break
		}
	}
	return nil
}

// recvLoop is the open loop's receiving thread. When the Run is stopped it
// drains, from the moment the sending thread has returned.
func (k *rrWorker) recvLoop() error {
	for !k.stop.Load() || !k.senderDone.Load() {
		if err := k.receive(true, true); err != nil {
			return err
		}
	}
	return k.drain(k.clock.now())
}

// sleep waits for d or until Run is stopped, in chunks of at most
// maxSleepChunk.
func (k *rrWorker) sleep(d time.Duration) {
	for d > 0 && !k.stop.Load() {
		c := min(d, maxSleepChunk)
		ts := unix.NsecToTimespec(int64(c))
		_ = unix.Nanosleep(&ts, nil) // EINTR: the caller re-reads the clock anyway
		d -= c
	}
}

// sendReq stamps f's next request with ts and sends it. sent: it went out
// (TCP: at least in part; flush writes the rest). retry: it did not, but
// may be tried again at once (the socket buffer was full for ioTimeout, a
// signal, a pending ICMP error); neither: the kernel refused it (UDP).
// Only a broken socket or connection returns an error.
func (k *rrWorker) sendReq(f *rrFlow, ts int64) (sent, retry bool, err error) {
	p := f.req
	binary.LittleEndian.PutUint32(p[4:8], f.seq)
	binary.LittleEndian.PutUint64(p[8:16], uint64(ts))
	f.sent.Add(1) // before the response can be counted
	n, e := sendRaw(f.fd, p, 0)
	if e != 0 {
		f.sent.Add(^uint64(0))
		retry, err = k.sendError(e)
		return false, retry, err
	}
	f.seq++
	if n < len(p) {
		f.woff = n
	}
	return true, false, nil
}

// flush writes more of f's partly written TCP request.
func (k *rrWorker) flush(f *rrFlow) error {
	n, e := sendRaw(f.fd, f.req[f.woff:], 0)
	if e != 0 {
		_, err := k.sendError(e)
		return err
	}
	if f.woff += n; f.woff == len(f.req) {
		f.woff = 0
	}
	return nil
}

func (k *rrWorker) sendError(e unix.Errno) (retry bool, err error) {
	k.c.errs.add(e)
	switch e {
	case unix.EAGAIN, unix.EINTR:
		return true, nil
	case unix.EBADF, unix.EFAULT, unix.EINVAL, unix.ENOTSOCK, unix.EDESTADDRREQ:
		return false, fmt.Errorf("send: %w", e)
	}
	if !k.c.udp {
		// EPIPE, ECONNRESET...: the server is gone.
		return false, fmt.Errorf("send: %w", e)
	}
	if e == unix.ECONNREFUSED {
		// An ICMP error of an earlier request, reported (and cleared)
		// instead of sending this one.
		return true, nil
	}
	return false, nil // ENOBUFS, EPERM, EMSGSIZE...: this request is dropped
}

// receive accounts the responses queued on the worker's flows. With wait
// it first waits for one, at most ioTimeout: in recv(2) itself when the
// worker has one flow, in poll(2) when it has several. With all it reads
// each flow until nothing is queued (in open loop many may be); otherwise
// once per flow (in closed loop at most one response is due).
func (k *rrWorker) receive(wait, all bool) error {
	if wait && len(k.flows) == 1 {
		return k.read(k.flows[0], 0, all)
	}
	if wait {
		n, err := unix.Poll(k.pfds, int(ioTimeout/time.Millisecond))
		if err == unix.EINTR || n == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		for i, f := range k.flows {
			if k.pfds[i].Revents != 0 {
				if err := k.read(f, unix.MSG_DONTWAIT, all); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, f := range k.flows {
		if err := k.read(f, unix.MSG_DONTWAIT, all); err != nil {
			return err
		}
	}
	return nil
}

// read receives on f once, with flags, and with all goes on without
// blocking until nothing is left.
func (k *rrWorker) read(f *rrFlow, flags int, all bool) error {
	for {
		var got bool
		var err error
		if k.c.udp {
			got, err = k.readUDP(f, flags)
		} else {
			got, err = k.readTCP(f, flags)
		}
		if err != nil || !got || !all {
			return err
		}
		flags = unix.MSG_DONTWAIT
	}
}

func (k *rrWorker) readUDP(f *rrFlow, flags int) (bool, error) {
	n, e := recvRaw(f.fd, f.rbuf, flags|unix.MSG_TRUNC)
	now := k.clock.now()
	if e != 0 {
		switch e {
		case unix.EAGAIN, unix.EINTR:
			return false, nil
		case unix.EBADF, unix.EFAULT, unix.EINVAL, unix.ENOTSOCK:
			k.c.errs.add(e)
			return false, fmt.Errorf("recv: %w", e)
		}
		// ECONNREFUSED: no server; the request will time out.
		k.c.errs.add(e)
		return false, nil
	}
	p := f.rbuf
	if n != len(p) || !hasMagic(p) {
		f.invalid.Add(1)
		return true, nil
	}
	k.account(f, binary.LittleEndian.Uint32(p[4:8]), now-int64(binary.LittleEndian.Uint64(p[8:16])))
	return true, nil
}

func (k *rrWorker) readTCP(f *rrFlow, flags int) (bool, error) {
	n, e := recvRaw(f.fd, f.rbuf[f.rlen:], flags)
	now := k.clock.now()
	switch {
	case e != 0:
		if e == unix.EAGAIN || e == unix.EINTR {
			return false, nil
		}
		k.c.errs.add(e)
		return false, fmt.Errorf("recv: %w", e)
	case n == 0:
		return false, errors.New("recv: server closed the connection")
	}
	f.rlen += n
	size := len(f.req)
	off := 0
	for ; f.rlen-off >= size; off += size {
		p := f.rbuf[off : off+size]
		if !hasMagic(p) {
			return false, fmt.Errorf("response stream out of step: no vethbench header at byte %d", off)
		}
		k.account(f, binary.LittleEndian.Uint32(p[4:8]), now-int64(binary.LittleEndian.Uint64(p[8:16])))
	}
	if off > 0 {
		f.rlen = copy(f.rbuf, f.rbuf[off:f.rlen])
	}
	return true, nil
}

// account resolves request seq of f, answered after rtt ns.
func (k *rrWorker) account(f *rrFlow, seq uint32, rtt int64) {
	d := seq - f.next
	if d >= 1<<31 {
		// Behind: given up already (or a duplicate).
		f.late.Add(1)
		return
	}
	if d > 0 {
		// Overtaken: the requests in between are lost (never on TCP).
		f.lost.Add(uint64(d))
	}
	f.next = seq + 1
	if k.c.udp && rtt > int64(k.c.cfg.Timeout) {
		f.lost.Add(1)
		f.late.Add(1)
		return
	}
	f.responses.Add(1)
	k.hist[histogram.BucketOf(uint64(max(rtt, 0)))].Add(1)
}

// Close stops a running Run (which then returns ErrClosed, without
// draining), waits for it and closes the sockets. Close is idempotent.
func (c *RRClient) Close() error {
	if !c.state.close() {
		return nil
	}
	var errs []error
	for _, f := range c.flows {
		if err := unix.Close(f.fd); err != nil {
			errs = append(errs, fmt.Errorf("close socket: %w", err))
		}
	}
	return errors.Join(errs...)
}
