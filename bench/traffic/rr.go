package traffic

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
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
	// DefaultRRDrain is the shortest default final drain (see
	// RRConfig.Drain): ten times the timeout if that is longer.
	DefaultRRDrain = time.Second
	MaxRRDrain     = 10 * MaxRRTimeout
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
	// to the last one has arrived (or, for UDP, after Timeout without it).
	Rate float64
	// Workers is the number of goroutines driving the flows (worker w
	// drives flows w, w+Workers...); 0 means 1, at most Flows. In open
	// loop each worker has a sending and a receiving thread.
	Workers int
	// CPUs pins worker w's threads to CPUs[w % len(CPUs)]; empty pins
	// nothing.
	CPUs []int
	// Timeout is the round trip above which a response counts as late:
	// it is still recorded, with its real round trip, and counted in
	// Late. In a UDP closed loop it is also how long a flow waits for a
	// response before it sends its next request (the one it gave up
	// waiting for stays pending). 0 means DefaultRRTimeout.
	Timeout time.Duration
	// Drain is how long a Run waits, once it has stopped sending, for the
	// responses still due. A request still unanswered then is lost: it
	// counts as never answered. 0 means DefaultRRDrain or 10*Timeout,
	// whichever is longer.
	Drain time.Duration
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
	if c.Drain == 0 {
		c.Drain = min(max(DefaultRRDrain, 10*c.Timeout), MaxRRDrain)
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
	if c.Drain < 0 || c.Drain > MaxRRDrain {
		return bad("Drain %v out of range (0, %v] (0: the longer of %v and 10*Timeout)", c.Drain, MaxRRDrain, DefaultRRDrain)
	}
	return nil
}

// RTTScale is the layout of the round-trip histogram: 128 buckets per power
// of two, none wider than 0.78% of its lower bound, so that a percentile
// (its bucket's midpoint) is within 0.4% of the round trip it stands for.
var RTTScale = histogram.RoundTrip

// RRClient sends requests to an RRServer and measures the round trip of
// each in a latency histogram.
type RRClient struct {
	cfg      RRConfig
	udp      bool
	flows    []*rrFlow
	workers  []*rrWorker
	lag      lagMeter
	errs     errnoCounts
	state    runState
	sendTime atomic.Int64 // ns: the last Run's sending time
}

// rrFlow is one socket and its sequence of requests. Sequence numbers
// start at 0 and continue over Runs.
type rrFlow struct {
	fd  int
	req []byte // the request: the header, then zeros

	// Owned by the sending side.
	seq    uint32 // sequence number of the next request
	woff   int    // TCP: bytes of the current request written; 0: none pending
	sentAt int64  // closed loop: when the last request was sent

	// Owned by the receiving side.
	pend rrPending // which requests are answered
	rbuf []byte    // UDP: one datagram; TCP: responses, rlen of them read
	rlen int

	sent, responses, lost, late, stale, invalid atomic.Uint64
}

// outstanding is the number of requests sent and not yet resolved. It
// loads the resolved counts before sent, and sent is raised before a
// request goes out, so it is never negative.
func (f *rrFlow) outstanding() uint64 {
	done := f.responses.Load() + f.lost.Load()
	return f.sent.Load() - done
}

// rrPending tracks, for the receiving side of a flow, which requests are
// answered: from base, the lowest sequence number not yet resolved, a bit
// per request in a ring over sequence numbers (request s is bit s&mask),
// set when its response came. A response is matched by its sequence
// number whenever it comes, also after the responses to later requests (a
// UDP request the closed loop stopped waiting for; a datagram held up);
// only the Run's final drain gives up on the requests still unanswered.
// The ring grows to span the oldest unanswered request and the newest
// answered one, a bit per request sent meanwhile.
type rrPending struct {
	base uint32
	bits []uint64 // a power of two of words
}

// rrPendingWords is the ring's size to start with: 1024 requests.
const rrPendingWords = 16

// has reports whether request base+d is answered.
func (p *rrPending) has(d uint32) bool {
	if uint64(d) >= 64*uint64(len(p.bits)) {
		return false
	}
	i := (p.base + d) & uint32(64*len(p.bits)-1)
	return p.bits[i/64]&(1<<(i%64)) != 0
}

// answer marks request base+d answered and moves base past the answered
// requests at its front. It returns false if the request was resolved
// already: answered (a duplicate), or behind base (d >= 2^31).
func (p *rrPending) answer(d uint32) bool {
	if d >= 1<<31 || p.has(d) {
		return false
	}
	if need := uint64(d) + 1; need > 64*uint64(len(p.bits)) {
		p.grow(need)
	}
	mask := uint32(64*len(p.bits) - 1)
	i := (p.base + d) & mask
	p.bits[i/64] |= 1 << (i % 64)
	for {
		i := p.base & mask
		if p.bits[i/64]&(1<<(i%64)) == 0 {
			return true
		}
		p.bits[i/64] &^= 1 << (i % 64)
		p.base++
	}
}

// grow makes the ring hold at least n requests from base, keeping each
// answered one's bit.
func (p *rrPending) grow(n uint64) {
	size := uint64(64 * max(len(p.bits), rrPendingWords))
	for size < n {
		size *= 2
	}
	bits := make([]uint64, size/64)
	old := uint64(64 * len(p.bits))
	for d := range old {
		if p.has(uint32(d)) {
			i := (p.base + uint32(d)) & uint32(size-1)
			bits[i/64] |= 1 << (i % 64)
		}
	}
	p.bits = bits
}

// giveUp resolves every request from base up to next (the sequence number
// of the next request to be sent): it returns how many of them are not
// answered, and starts afresh from next.
func (p *rrPending) giveUp(next uint32) uint64 {
	var answered uint64
	for i, w := range p.bits {
		answered += uint64(bits.OnesCount64(w))
		p.bits[i] = 0
	}
	n := uint64(next-p.base) - answered
	p.base = next
	return n
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
	sendEnd    int64       // when this Run stopped sending, on clock
	cpuNS      atomic.Int64
	hist       []atomic.Uint64 // round trips, ns, in RTTScale's buckets
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
		k := &rrWorker{c: c, cpu: -1, rate: cfg.Rate / float64(cfg.Workers), hist: make([]atomic.Uint64, RTTScale.NumBuckets())}
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
	f := &rrFlow{fd: fd, req: make([]byte, size), pend: rrPending{bits: make([]uint64, rrPendingWords)}}
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

// Responses is the number of requests answered, late ones included; RTT
// holds their round trips.
func (c *RRClient) Responses() uint64 {
	return c.sum(func(f *rrFlow) *atomic.Uint64 { return &f.responses })
}

// Lost is the number of requests never answered: still unanswered when a
// Run's final drain (Drain after it stopped sending) ended. Nothing is
// given up on before that; a lost request counts as slower than every
// answered one.
func (c *RRClient) Lost() uint64 { return c.sum(func(f *rrFlow) *atomic.Uint64 { return &f.lost }) }

// Late is the number of responses whose round trip exceeded Timeout. They
// are in Responses and in RTT, with their real round trips.
func (c *RRClient) Late() uint64 { return c.sum(func(f *rrFlow) *atomic.Uint64 { return &f.late }) }

// Stale counts responses to requests already resolved: answered before (a
// duplicate) or lost at the end of an earlier Run's drain. They are in
// neither Responses nor RTT.
func (c *RRClient) Stale() uint64 { return c.sum(func(f *rrFlow) *atomic.Uint64 { return &f.stale }) }

// Invalid counts responses that were not a vethbench message of Size bytes
// (UDP) or that carried the sequence number of no request sent.
func (c *RRClient) Invalid() uint64 {
	return c.sum(func(f *rrFlow) *atomic.Uint64 { return &f.invalid })
}

// Outstanding is the number of requests sent whose response has neither
// arrived nor been given up: Sent = Responses + Lost + Outstanding. It is
// 0 after a Run that was not closed.
func (c *RRClient) Outstanding() uint64 {
	var n uint64
	for _, f := range c.flows {
		n += f.outstanding()
	}
	return n
}

// RTT returns the histogram of round trips in nanoseconds (of RTTScale),
// over all Runs: from the request's send time (open loop: the time it was
// due) to the arrival of its response. It may be read while Run runs.
func (c *RRClient) RTT() histogram.Histogram {
	h := histogram.New(RTTScale)
	for _, k := range c.workers {
		for i := range k.hist {
			h.Counts[i] += k.hist[i].Load()
		}
	}
	return h
}

// SendTime is how long the last Run sent requests: from its start until it
// stopped sending, without the final drain that follows. Divided into the
// requests sent (or answered) in that Run it gives their rate, as a
// datagram generator's Run time does for its packets.
func (c *RRClient) SendTime() time.Duration { return time.Duration(c.sendTime.Load()) }

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

// Run sends requests until ctx is done, then stops sending and drains: it
// waits for the outstanding responses, at most Drain; requests still
// unanswered then are lost. It returns nil after the drain; SendTime is
// the time it sent, without the drain. It returns at once with ErrClosed
// if Close stopped it, ErrRunning if another Run is running, and another
// error for a broken socket or connection. Run may be called again;
// counters and sequence numbers continue, an open-loop schedule starts
// afresh.
func (c *RRClient) Run(ctx context.Context) error {
	stop, end, err := c.state.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	clock := newMonoClock()
	t0 := clock.now()
	var fns []func() error
	for _, k := range c.workers {
		k.clock, k.stop, k.sendEnd = clock, stop, t0
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
	var last int64
	for _, k := range c.workers {
		last = max(last, k.sendEnd)
	}
	c.sendTime.Store(last - t0)
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
// request as soon as the last one is answered (UDP: or Timeout has passed
// without its response, which stays pending), stamped with the time of the
// send call. It waits for responses blocked in recv(2) (or poll(2)), like
// sockperf's default: spinning on MSG_DONTWAIT instead saved nothing
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
			if f.seq != f.pend.base && !f.pend.has(f.seq-1-f.pend.base) {
				if !udp || now-f.sentAt <= timeout {
					waiting = true
					continue
				}
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
	k.sendEnd = k.clock.now()
	return k.drain(k.sendEnd)
}

// drain stops sending (after finishing TCP requests written in part) and
// receives until every request is resolved, Drain has passed since start,
// or Close was called; requests still unanswered then are lost.
func (k *rrWorker) drain(start int64) error {
	deadline := start + int64(k.c.cfg.Drain)
	for k.c.state.closedErr() == nil && k.clock.now() < deadline {
		pending := false
		for _, f := range k.flows {
			if f.woff > 0 {
				if err := k.flush(f); err != nil {
					return err
				}
			}
			pending = pending || f.outstanding() > 0
		}
		if !pending {
			break
		}
		if err := k.receive(true, true); err != nil {
			return err
		}
	}
	for _, f := range k.flows {
		// The sending side has stopped: sent is the next sequence number.
		f.lost.Add(f.pend.giveUp(uint32(f.sent.Load())))
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
	k.sendEnd = k.clock.now()
	// Complete requests written in part, so the stream stays in step.
	for deadline := k.clock.now() + int64(k.c.cfg.Drain); k.clock.now() < deadline && k.c.state.closedErr() == nil; {
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
	return k.drain(k.sendEnd)
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

// account resolves request seq of f, answered after rtt ns: recorded,
// whenever it comes, unless it was resolved already or never sent.
func (k *rrWorker) account(f *rrFlow, seq uint32, rtt int64) {
	p := &f.pend
	d := seq - p.base
	// Requests base.. were sent up to sent-1 (sent is raised before a
	// request goes out, so it may be one ahead).
	if d >= uint32(f.sent.Load())-p.base {
		if d >= 1<<31 {
			// Behind base: answered, or lost when an earlier drain ended.
			f.stale.Add(1)
		} else {
			f.invalid.Add(1) // no request of this number was sent
		}
		return
	}
	if !p.answer(d) {
		f.stale.Add(1) // a duplicate
		return
	}
	f.responses.Add(1)
	if rtt > int64(k.c.cfg.Timeout) {
		f.late.Add(1)
	}
	k.hist[RTTScale.BucketOf(uint64(max(rtt, 0)))].Add(1)
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
