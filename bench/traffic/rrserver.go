package traffic

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// RRServer answers an RRClient: it sends every request back unchanged. A
// UDP server is one socket served by one thread, which takes requests with
// recvmmsg and returns them to their sources with one sendmmsg, or, for a
// closed loop of one flow, which has one request at a time, with recvfrom
// and sendto; a TCP server serves each connection on a thread of its own,
// writing back every complete request it has read.
type RRServer struct {
	cfg    RRConfig
	tcp    *tcpServer // TCP
	served atomic.Uint64
	stall  atomic.Int64 // ns; a test pauses the server with it

	// UDP.
	fd    int
	addr  netip.AddrPort
	cpu   int
	cpuT  cpuMeter
	errs  errnoCounts
	state runState
	buf   []byte
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6
	msgs  []unix.Mmsghdr
	// one: the client has at most one request out at a time (a closed
	// loop of one flow): recvfrom and sendto, the source's address
	// length in namelen.
	one     bool
	namelen uint32
}

// NewRRServer validates cfg and opens, inside ns (nil: the current
// namespace), the server of its Proto on Dst:Port (port 0: the kernel picks
// one, see Addr), for requests of cfg.Size bytes. The caller closes it.
func NewRRServer(ns *netns.NS, cfg RRConfig) (*RRServer, error) {
	v := cfg
	if v.Port == 0 {
		v.Port = 1 // a server may leave the port to the kernel
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &RRServer{cfg: cfg, fd: -1, cpu: -1}
	local := netip.AddrPortFrom(cfg.Dst, cfg.Port)
	open := func() error {
		var err error
		if cfg.Proto == ProtoTCP {
			s.tcp, err = newTCPServer(local)
		} else {
			s.fd, err = udpSocket(local, netip.AddrPort{})
		}
		if err != nil {
			return fmt.Errorf("rr server: %w", err)
		}
		return nil
	}
	if err := ns.Do(open); err != nil {
		return nil, err
	}
	if s.tcp != nil {
		s.tcp.nodelay = true
		s.addr = s.tcp.addr
		return s, nil
	}
	var err error
	if s.addr, err = localAddr(s.fd); err != nil {
		s.Close()
		return nil, err
	}
	s.setupUDP()
	return s, nil
}

// setupUDP lays out the recvmmsg/sendmmsg vectors: the same buffers and
// source addresses serve to receive the requests and to send them back. A
// closed loop has at most Flows requests out (a UDP one may have one more
// per flow when a request timed out): no more are asked for at once.
func (s *RRServer) setupUDP() {
	size := s.cfg.Size
	n := max(1, min(recvBatch, (1<<20)/size))
	if s.cfg.Rate == 0 {
		n = min(n, s.cfg.Flows)
		s.one = s.cfg.Flows == 1
	}
	s.buf = make([]byte, n*size)
	s.iovs = make([]unix.Iovec, n)
	s.names = make([]unix.RawSockaddrInet6, n)
	s.msgs = make([]unix.Mmsghdr, n)
	for i := range n {
		s.iovs[i].Base = &s.buf[i*size]
		h := &s.msgs[i].Hdr
		h.Iov = &s.iovs[i]
		h.SetIovlen(1)
		h.Name = (*byte)(unsafe.Pointer(&s.names[i]))
	}
}

// Addr is the address and port the server listens on.
func (s *RRServer) Addr() netip.AddrPort { return s.addr }

// Served is the number of responses sent (TCP: written in full).
func (s *RRServer) Served() uint64 { return s.served.Load() }

// CPUTime is the CPU time of the serving threads over all Runs; it may be
// read while Run runs.
func (s *RRServer) CPUTime() time.Duration {
	if s.tcp != nil {
		return s.tcp.cpuT.total()
	}
	return s.cpuT.total()
}

// Errors returns receive, send and accept errors by errno name.
func (s *RRServer) Errors() map[string]uint64 {
	if s.tcp != nil {
		return s.tcp.errs.snapshot()
	}
	return s.errs.snapshot()
}

// PinTo makes Run pin its serving threads to cpu (-1: not pinned). Call it
// before Run.
func (s *RRServer) PinTo(cpu int) error {
	if err := checkPinTo(cpu); err != nil {
		return err
	}
	if s.tcp != nil {
		s.tcp.cpu = cpu
	}
	s.cpu = cpu
	return nil
}

// Run serves until ctx is done, then returns nil within about 10 ms. It
// returns ErrClosed if Close stopped it, ErrRunning if another Run is
// running, another error for a broken socket. A TCP connection its client
// closed or reset is dropped; the server goes on. Run may be called again;
// counters continue.
func (s *RRServer) Run(ctx context.Context) error {
	if s.tcp != nil {
		stop, end, err := s.tcp.state.begin(ctx)
		if err != nil {
			return err
		}
		defer end()
		if err := s.tcp.serve(stop, s.echoTCP); err != nil {
			return err
		}
		return s.tcp.state.closedErr()
	}
	stop, end, err := s.state.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	defer reserveProcs(1)()
	unpin, err := pin(s.cpu)
	if err != nil {
		return err
	}
	defer unpin()
	s.cpuT.begin()
	err = s.echoUDP(stop)
	s.cpuT.end()
	if err != nil {
		return err
	}
	return s.state.closedErr()
}

func (s *RRServer) echoUDP(stop *atomic.Bool) error {
	if s.one {
		return s.echoUDPOne(stop)
	}
	size := s.cfg.Size
	for !stop.Load() {
		for i := range s.msgs {
			s.iovs[i].SetLen(size)
			s.msgs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		}
		// MSG_WAITFORONE blocks (at most ioTimeout) for the first request
		// only, then takes what else is queued.
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(s.fd),
			uintptr(unsafe.Pointer(&s.msgs[0])), uintptr(len(s.msgs)), unix.MSG_WAITFORONE, 0, 0)
		if e != 0 {
			switch e {
			case unix.EAGAIN, unix.EINTR:
				continue
			case unix.EBADF, unix.EFAULT, unix.EINVAL, unix.ENOTSOCK:
				s.errs.add(e)
				return fmt.Errorf("recvmmsg: %w", e)
			}
			s.errs.add(e)
			continue
		}
		n := int(r)
		s.maybeStall(stop)
		for i := range n {
			s.iovs[i].SetLen(int(s.msgs[i].Len)) // echo exactly what came
		}
		for off := 0; off < n; {
			r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd),
				uintptr(unsafe.Pointer(&s.msgs[off])), uintptr(n-off), 0, 0, 0)
			if e == 0 {
				off += int(r)
				s.served.Add(uint64(r))
				continue
			}
			s.errs.add(e)
			switch e {
			case unix.EAGAIN, unix.EINTR:
				if stop.Load() {
					return nil
				}
			case unix.EBADF, unix.EFAULT, unix.EINVAL, unix.ENOTSOCK:
				return fmt.Errorf("sendmmsg: %w", e)
			default:
				off++ // this response is refused (ENOBUFS, EPERM...): the client times it out
			}
		}
	}
	return nil
}

// echoUDPOne serves a closed loop of one flow, one request at a time, with
// one system call each way, as sockperf's server does. recvmmsg costs more
// here: with MSG_WAITFORONE it tries for a second request after the first
// and fails, and it and sendmmsg copy their vectors; on one CPU that was
// 0.5-1 us of a 12-13 us round trip, and sockperf's was 5% faster.
func (s *RRServer) echoUDPOne(stop *atomic.Bool) error {
	buf, name := s.buf[:s.cfg.Size], unsafe.Pointer(&s.names[0])
	for !stop.Load() {
		s.namelen = unix.SizeofSockaddrInet6
		r, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)),
			0, uintptr(name), uintptr(unsafe.Pointer(&s.namelen)))
		if e != 0 {
			switch e {
			case unix.EAGAIN, unix.EINTR: // the receive timeout: look at stop
				continue
			case unix.EBADF, unix.EFAULT, unix.EINVAL, unix.ENOTSOCK:
				s.errs.add(e)
				return fmt.Errorf("recvfrom: %w", e)
			}
			s.errs.add(e)
			continue
		}
		s.maybeStall(stop)
		for {
			_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&buf[0])), r,
				0, uintptr(name), uintptr(s.namelen))
			if e == 0 {
				s.served.Add(1)
				break
			}
			s.errs.add(e)
			if e == unix.EBADF || e == unix.EFAULT || e == unix.EINVAL || e == unix.ENOTSOCK {
				return fmt.Errorf("sendto: %w", e)
			}
			if (e != unix.EAGAIN && e != unix.EINTR) || stop.Load() {
				break // refused (ENOBUFS, EPERM...): the request stays unanswered
			}
		}
	}
	return nil
}

// echoTCP serves one connection: it reads requests and writes back every
// complete one it has, keeping a partial request (or a response written in
// part) in c for the next round or the next Run.
func (s *RRServer) echoTCP(c *tcpConn, stop *atomic.Bool) error {
	size := s.cfg.Size
	if c.buf == nil {
		c.buf = make([]byte, max(size, (64<<10)/size*size))
	}
	for !stop.Load() {
		if c.out > 0 {
			n, e := sendRaw(c.fd, c.buf[c.wrote:c.out], 0)
			if e != 0 {
				if err := connError(&s.tcp.errs, "write", e); err != nil {
					return err
				}
				continue
			}
			if c.wrote += n; c.wrote < c.out {
				continue
			}
			s.served.Add(uint64(c.out / size))
			c.have = copy(c.buf, c.buf[c.out:c.have])
			c.out, c.wrote = 0, 0
			if c.have >= size {
				c.out = c.have / size * size
				continue
			}
		}
		n, e := recvRaw(c.fd, c.buf[c.have:], 0)
		switch {
		case e != 0:
			if err := connError(&s.tcp.errs, "read", e); err != nil {
				return err
			}
		case n == 0:
			return errPeerClosed
		default:
			if c.have += n; c.have >= size {
				s.maybeStall(stop)
				c.out = c.have / size * size
			}
		}
	}
	return nil
}

// pauseFor makes the server sleep d before it answers its next requests:
// a stall for tests.
func (s *RRServer) pauseFor(d time.Duration) { s.stall.Store(int64(d)) }

func (s *RRServer) maybeStall(stop *atomic.Bool) {
	if s.stall.Load() == 0 {
		return
	}
	d := time.Duration(s.stall.Swap(0))
	for end := time.Now().Add(d); !stop.Load(); {
		left := time.Until(end)
		if left <= 0 {
			return
		}
		ts := unix.NsecToTimespec(int64(min(left, maxSleepChunk)))
		_ = unix.Nanosleep(&ts, nil)
	}
}

// Close stops a running Run (which then returns ErrClosed), waits for it
// and closes the sockets. Close is idempotent.
func (s *RRServer) Close() error {
	if s.tcp != nil {
		_, err := s.tcp.close()
		return err
	}
	if !s.state.close() || s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	if err != nil {
		return fmt.Errorf("close socket: %w", err)
	}
	return nil
}

var _ Generator = (*RRClient)(nil)
var _ Generator = (*TCPSender)(nil)
