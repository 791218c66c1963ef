package traffic

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// Limits of a TCPConfig.
const (
	// DefaultWriteSize is TCPConfig.WriteSize's default: large writes let
	// the stack build 64 KiB TSO/GSO segments and cost few system calls.
	DefaultWriteSize = 256 << 10
	// MaxWriteSize bounds one write.
	MaxWriteSize = 64 << 20
	// TCP_MAXSEG accepts [TCP_MIN_MSS, MAX_TCP_WINDOW].
	minMSS = 88
	maxMSS = 32767
)

// TCPConfig describes bulk TCP traffic: Flows connections each writing as
// fast as the kernel accepts. It is plain data: Validate needs no
// privileges and touches nothing.
type TCPConfig struct {
	// Src is the source address; the unspecified address lets the kernel
	// choose. Source ports are ephemeral.
	Src, Dst netip.Addr
	DstPort  uint16
	Flows    int // connections, >= 1
	// Workers is the number of goroutines (threads) writing, each with its
	// own connections (worker w writes flows w, w+Workers...); 0 means 1,
	// at most Flows.
	Workers int
	// CPUs pins worker w to CPUs[w % len(CPUs)]; empty pins nothing.
	CPUs []int
	// WriteSize is the bytes per write(2); 0 means DefaultWriteSize.
	WriteSize int
	// MSS sets TCP_MAXSEG before connecting; 0 keeps the kernel's choice
	// (the path MTU minus headers).
	MSS int
	// NoDelay sets TCP_NODELAY (Nagle off).
	NoDelay bool
}

func (c TCPConfig) withDefaults() TCPConfig {
	c.Src, c.Dst = c.Src.Unmap(), c.Dst.Unmap()
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.WriteSize == 0 {
		c.WriteSize = DefaultWriteSize
	}
	return c
}

// Validate checks the configuration and returns an error wrapping
// ErrInvalid that names the first bad field.
func (c TCPConfig) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	c = c.withDefaults()
	if err := checkAddrs(c.Src, c.Dst); err != nil {
		return bad("%v", err)
	}
	if c.DstPort == 0 {
		return bad("DstPort 0: need a destination port")
	}
	if c.Flows < 1 || c.Flows > MaxFlows {
		return bad("Flows %d out of range [1, %d]", c.Flows, MaxFlows)
	}
	if c.Workers < 0 || c.Workers > c.Flows {
		return bad("Workers %d out of range [1, Flows=%d] (0: 1)", c.Workers, c.Flows)
	}
	if err := checkCPUs(c.CPUs); err != nil {
		return bad("%v", err)
	}
	if c.WriteSize < 0 || c.WriteSize > MaxWriteSize {
		return bad("WriteSize %d out of range [1, %d] (0: %d)", c.WriteSize, MaxWriteSize, DefaultWriteSize)
	}
	if c.MSS != 0 && (c.MSS < minMSS || c.MSS > maxMSS) {
		return bad("MSS %d out of range [%d, %d] (0: kernel default)", c.MSS, minMSS, maxMSS)
	}
	return nil
}

// checkAddrs checks a source and destination pair; the message names the
// field.
func checkAddrs(src, dst netip.Addr) error {
	switch {
	case !dst.IsValid() || dst.IsUnspecified():
		return fmt.Errorf("Dst %v: need a destination address", dst)
	case !src.IsValid():
		return errors.New("Src: need a source address (the unspecified address lets the kernel choose)")
	case src.Is4() != dst.Is4():
		return fmt.Errorf("Src %v and Dst %v are of different IP families", src, dst)
	case src.Zone() != "" || dst.Zone() != "":
		return fmt.Errorf("Src %v, Dst %v: zoned (link-local) addresses are not supported", src, dst)
	}
	return nil
}

func checkCPUs(cpus []int) error {
	for _, cpu := range cpus {
		if err := checkCPU(cpu); err != nil {
			return fmt.Errorf("CPUs: %w", err)
		}
	}
	return nil
}

// TCPSender writes bulk data on TCPConfig.Flows connections from
// TCPConfig.Workers goroutines, each locked to its own thread.
type TCPSender struct {
	cfg     TCPConfig
	fds     []int // one connected socket per flow
	workers []*tcpWorker
	errs    errnoCounts
	state   runState
}

type tcpWorker struct {
	s     *TCPSender
	fds   []int
	cpu   int
	buf   []byte
	sent  atomic.Uint64
	cpuNS atomic.Int64
	_     [40]byte // keep two workers' counters off one cache line
}

// NewTCPSender validates cfg and connects its Flows connections from
// inside ns (nil: the current namespace) to Dst:DstPort, where a TCPSink
// must be listening (it need not be running: the connections wait in its
// accept queue). The caller closes the sender.
func NewTCPSender(ns *netns.NS, cfg TCPConfig) (*TCPSender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &TCPSender{cfg: cfg}
	setup := func(fd int) error {
		if cfg.MSS != 0 {
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_MAXSEG, cfg.MSS); err != nil {
				return fmt.Errorf("set TCP_MAXSEG %d: %w", cfg.MSS, err)
			}
		}
		if cfg.NoDelay {
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
				return fmt.Errorf("set TCP_NODELAY: %w", err)
			}
		}
		return nil
	}
	local := netip.AddrPortFrom(cfg.Src, 0)
	remote := netip.AddrPortFrom(cfg.Dst, cfg.DstPort)
	open := func() error {
		for i := range cfg.Flows {
			fd, err := tcpConnect(local, remote, setup)
			if err != nil {
				return fmt.Errorf("open flow %d: %w", i, err)
			}
			s.fds = append(s.fds, fd)
		}
		return nil
	}
	if err := ns.Do(open); err != nil {
		s.Close()
		return nil, err
	}
	for w := range cfg.Workers {
		k := &tcpWorker{s: s, cpu: -1, buf: make([]byte, cfg.WriteSize)}
		if len(cfg.CPUs) > 0 {
			k.cpu = cfg.CPUs[w%len(cfg.CPUs)]
		}
		for f := w; f < len(s.fds); f += cfg.Workers {
			k.fds = append(k.fds, s.fds[f])
		}
		s.workers = append(s.workers, k)
	}
	return s, nil
}

// Config returns the configuration with defaults filled in.
func (s *TCPSender) Config() TCPConfig { return s.cfg }

// Sent is the number of bytes the kernel accepted (what write(2)
// returned, partial writes included) over all Runs.
func (s *TCPSender) Sent() uint64 {
	var n uint64
	for _, k := range s.workers {
		n += k.sent.Load()
	}
	return n
}

// SentBytes is Sent: for a stream, the bytes written.
func (s *TCPSender) SentBytes() uint64 { return s.Sent() }

// Errors returns the write errors seen so far by errno name; EAGAIN counts
// writes that found the send buffer full for 10 ms.
func (s *TCPSender) Errors() map[string]uint64 { return s.errs.snapshot() }

// MaxLag is 0: bulk TCP has no schedule.
func (s *TCPSender) MaxLag() time.Duration { return 0 }

// CPUTime is the CPU time of the writing threads over all Runs, updated
// when a Run returns.
func (s *TCPSender) CPUTime() time.Duration {
	var n int64
	for _, k := range s.workers {
		n += k.cpuNS.Load()
	}
	return time.Duration(n)
}

// Threads is the number of writing threads, Workers.
func (s *TCPSender) Threads() int { return len(s.workers) }

// Run writes until ctx is done, then returns nil within about 10 ms. It
// returns an error if a connection breaks (the sink closed or reset it),
// ErrClosed if Close stopped it, ErrRunning if another Run is running.
func (s *TCPSender) Run(ctx context.Context) error {
	stop, end, err := s.state.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	defer reserveProcs(len(s.workers))()
	errs := make([]error, len(s.workers))
	var wg sync.WaitGroup
	for i, k := range s.workers[1:] {
		wg.Go(func() { errs[i+1] = k.run(stop) })
	}
	errs[0] = s.workers[0].run(stop)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return s.state.closedErr()
}

func (k *tcpWorker) run(stop *atomic.Bool) error {
	unpin, err := pin(k.cpu)
	if err != nil {
		stop.Store(true)
		return err
	}
	defer unpin()
	c0 := threadCPU()
	defer func() { k.cpuNS.Add(int64(threadCPU() - c0)) }()
	for !stop.Load() {
		for _, fd := range k.fds {
			// A blocking write returns when all of buf is queued, or
			// with what was queued when SO_SNDTIMEO expired.
			n, e := sendRaw(fd, k.buf, 0)
			if n > 0 {
				k.sent.Add(uint64(n))
			}
			if e != 0 {
				if err := connError(&k.s.errs, "write", e); err != nil {
					stop.Store(true)
					return err
				}
			}
		}
	}
	return nil
}

// TCPStats sums the kernel's TCP_INFO over a sender's connections. The
// kernel counts segments of at most SndMSS bytes, as they would be on a
// wire: a TSO/GSO packet of 64 KiB counts as some 45 segments, whereas a
// device's packet counters count it once (the ratio is the aggregation).
type TCPStats struct {
	Conns        int
	SegsOut      uint64 // segments sent, retransmissions and pure ACKs included (tcpi_segs_out)
	DataSegsOut  uint64 // segments with data (tcpi_data_segs_out)
	TotalRetrans uint64 // segments retransmitted (tcpi_total_retrans)
	// BytesAcked is the data the peer acknowledged (tcpi_bytes_acked less
	// the SYN, which the kernel counts as a byte): once all is acked, Sent.
	BytesAcked uint64
	BytesSent  uint64 // bytes sent, retransmissions included (tcpi_bytes_sent)
	Unacked    uint64 // segments in flight now (tcpi_unacked)
	NotSent    uint64 // bytes written but not sent yet (tcpi_notsent_bytes)
	// SndMSS is the smallest send MSS of the connections (tcpi_snd_mss):
	// the size TSO/GSO cuts the data into.
	SndMSS int
}

// TCPInfo reads TCP_INFO from every connection and sums it. It may be
// called while Run runs. Counters wrap at 2^32 per connection for the
// fields the kernel keeps in 32 bits (segments).
func (s *TCPSender) TCPInfo() (TCPStats, error) {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	if s.state.closed {
		return TCPStats{}, ErrClosed
	}
	var st TCPStats
	for _, fd := range s.fds {
		ti, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return TCPStats{}, fmt.Errorf("get TCP_INFO: %w", err)
		}
		st.Conns++
		st.SegsOut += uint64(ti.Segs_out)
		st.DataSegsOut += uint64(ti.Data_segs_out)
		st.TotalRetrans += uint64(ti.Total_retrans)
		if ti.Bytes_acked > 0 {
			// The kernel counts the SYN's sequence number as a byte acked.
			st.BytesAcked += ti.Bytes_acked - 1
		}
		st.BytesSent += ti.Bytes_sent
		st.Unacked += uint64(ti.Unacked)
		st.NotSent += uint64(ti.Notsent_bytes)
		if mss := int(ti.Snd_mss); st.SndMSS == 0 || mss < st.SndMSS {
			st.SndMSS = mss
		}
	}
	return st, nil
}

// WaitAcked waits until the peer has acknowledged every byte written
// (TCP_INFO bytes_acked == Sent on every connection), polling every
// millisecond, or until ctx is done. Call it after Run returned.
func (s *TCPSender) WaitAcked(ctx context.Context) error {
	for {
		st, err := s.TCPInfo()
		if err != nil {
			return err
		}
		if st.BytesAcked >= s.Sent() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for acks: %d of %d bytes acked: %w", st.BytesAcked, s.Sent(), ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// Close stops a running Run (which then returns ErrClosed), waits for it
// and closes the connections. Close is idempotent.
func (s *TCPSender) Close() error {
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

// sinkReadSize is the buffer each connection of a TCPSink reads into, as
// large as the biggest GRO aggregate, so one read takes all that is queued.
const sinkReadSize = 256 << 10

// TCPSink accepts TCP connections and drains them with read(2): the
// receiving end of a TCPSender.
type TCPSink struct {
	srv      *tcpServer
	received atomic.Uint64
}

// NewTCPSink listens on addr:port inside ns (nil: the current namespace);
// port 0 lets the kernel pick one (see Addr). Connections are accepted and
// drained by Run. The caller closes the sink.
func NewTCPSink(ns *netns.NS, addr netip.Addr, port uint16) (*TCPSink, error) {
	if !addr.IsValid() {
		return nil, fmt.Errorf("%w: sink address: need an address (the unspecified address listens on all)", ErrInvalid)
	}
	k := &TCPSink{}
	open := func() error {
		srv, err := newTCPServer(netip.AddrPortFrom(addr.Unmap(), port))
		if err != nil {
			return fmt.Errorf("sink: %w", err)
		}
		k.srv = srv
		return nil
	}
	if err := ns.Do(open); err != nil {
		return nil, err
	}
	return k, nil
}

// Addr is the address and port the sink listens on.
func (k *TCPSink) Addr() netip.AddrPort { return k.srv.addr }

// Received counts the bytes read over all connections and Runs.
func (k *TCPSink) Received() uint64 { return k.received.Load() }

// Conns is the number of connections accepted and not closed by their peer.
func (k *TCPSink) Conns() int { return k.srv.numConns() }

// CPUTime is the CPU time of the reading threads; it may be read while
// Run runs.
func (k *TCPSink) CPUTime() time.Duration { return k.srv.cpuT.total() }

// Errors returns read and accept errors by errno name.
func (k *TCPSink) Errors() map[string]uint64 { return k.srv.errs.snapshot() }

// PinTo makes Run pin its reading threads to cpu (-1: not pinned). Call it
// before Run.
func (k *TCPSink) PinTo(cpu int) error {
	if err := checkPinTo(cpu); err != nil {
		return err
	}
	k.srv.cpu = cpu
	return nil
}

// Run accepts connections and drains every one, each on its own thread,
// until ctx is done; then it returns nil within about 10 ms. A connection
// its peer closed is closed and forgotten. Run returns ErrClosed if Close
// stopped it; it may be called again, counters continue.
func (k *TCPSink) Run(ctx context.Context) error {
	stop, end, err := k.srv.state.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if err := k.srv.serve(stop, k.drain); err != nil {
		return err
	}
	return k.srv.state.closedErr()
}

func (k *TCPSink) drain(c *tcpConn, stop *atomic.Bool) error {
	if c.buf == nil {
		c.buf = make([]byte, sinkReadSize)
	}
	for !stop.Load() {
		n, e := recvRaw(c.fd, c.buf, 0)
		switch {
		case e != 0:
			if err := connError(&k.srv.errs, "read", e); err != nil {
				return err
			}
		case n == 0:
			return errPeerClosed
		default:
			k.received.Add(uint64(n))
		}
	}
	return nil
}

// Drain waits until the sink has read want bytes in all (typically a
// sender's Sent after its Run returned: TCP delivers everything written)
// or until ctx is done. Run must be running to read them.
func (k *TCPSink) Drain(ctx context.Context, want uint64) error {
	for k.Received() < want {
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: read %d of %d bytes: %w", k.Received(), want, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// Close stops a running Run (which then returns ErrClosed), waits for it
// and closes the listening socket and every connection. Close is
// idempotent.
func (k *TCPSink) Close() error {
	if k.srv == nil {
		return nil
	}
	_, err := k.srv.close()
	return err
}
