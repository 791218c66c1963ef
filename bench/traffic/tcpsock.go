package traffic

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// connectTimeout bounds a TCP handshake; the socket's SO_SNDTIMEO, which
// connect(2) obeys, is ioTimeout only once connected.
const connectTimeout = 5 * time.Second

// listenBacklog lets every flow of a generator wait in the accept queue
// before the server's Run accepts it (the kernel caps it at somaxconn).
const listenBacklog = MaxFlows

// errPeerClosed ends the serving of one connection that the peer closed
// or reset: the connection is dropped, the server goes on.
var errPeerClosed = errors.New("peer closed the connection")

func family(a netip.Addr) int {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// setTimeouts sets SO_SNDTIMEO and SO_RCVTIMEO (which accept(2) obeys too).
func setTimeouts(fd int, d time.Duration) error {
	tv := unix.NsecToTimeval(int64(d))
	for _, opt := range []int{unix.SO_SNDTIMEO, unix.SO_RCVTIMEO} {
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
			return fmt.Errorf("set socket timeout: %w", err)
		}
	}
	return nil
}

// tcpListen opens a blocking listening socket on addr whose accept(2)
// returns EAGAIN after ioTimeout.
func tcpListen(addr netip.AddrPort) (fd int, err error) {
	fd, err = unix.Socket(family(addr.Addr()), unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
		}
	}()
	// A previous run's connections in TIME_WAIT must not block the port.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return -1, fmt.Errorf("set SO_REUSEADDR: %w", err)
	}
	if err := setTimeouts(fd, ioTimeout); err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, sockaddr(addr)); err != nil {
		return -1, fmt.Errorf("bind %s: %w", addr, err)
	}
	if err := unix.Listen(fd, listenBacklog); err != nil {
		return -1, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return fd, nil
}

// tcpConnect opens a blocking TCP socket bound to local (an unspecified
// address and port 0 leave the choice to the kernel), runs setup on it
// (socket options that must precede the handshake) and connects it to
// remote, waiting at most connectTimeout. The connected socket has
// ioTimeout on both directions.
func tcpConnect(local, remote netip.AddrPort, setup func(fd int) error) (fd int, err error) {
	fd, err = unix.Socket(family(remote.Addr()), unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
		}
	}()
	if local.Port() != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return -1, fmt.Errorf("set SO_REUSEADDR: %w", err)
		}
	}
	if !local.Addr().IsUnspecified() || local.Port() != 0 {
		if err := unix.Bind(fd, sockaddr(local)); err != nil {
			return -1, fmt.Errorf("bind %s: %w", local, err)
		}
	}
	if setup != nil {
		if err := setup(fd); err != nil {
			return -1, err
		}
	}
	if err := setTimeouts(fd, connectTimeout); err != nil {
		return -1, err
	}
	for {
		err = unix.Connect(fd, sockaddr(remote))
		if err != unix.EINTR {
			break
		}
	}
	switch {
	case err == unix.EINPROGRESS: // SO_SNDTIMEO expired
		return -1, fmt.Errorf("connect %s: no answer within %v: %w", remote, connectTimeout, unix.ETIMEDOUT)
	case err != nil:
		return -1, fmt.Errorf("connect %s: %w", remote, err)
	}
	if err := setTimeouts(fd, ioTimeout); err != nil {
		return -1, err
	}
	return fd, nil
}

// tcpServer is the accepting half of TCPSink and RRServer: a listening
// socket, the connections accepted so far, and a Run that serves each
// connection on its own goroutine locked to its own thread. A thread per
// connection with blocking calls is what iperf3 and netperf do too; it
// keeps the sockets out of Go's netpoller (see sock.go).
// tcpConn is an accepted connection and what its handler keeps across
// Runs: a request half read or a response half written must survive the
// end of a window, or the stream would be out of step in the next one.
type tcpConn struct {
	fd    int
	buf   []byte // allocated by the handler on first use
	have  int    // bytes in buf
	out   int    // bytes at the start of buf being written back
	wrote int    // bytes of buf[:out] written so far
}

type tcpServer struct {
	lfd     int
	addr    netip.AddrPort
	cpu     int  // connection threads are pinned to it; -1: not pinned
	nodelay bool // set TCP_NODELAY on accepted connections
	errs    errnoCounts
	cpuT    cpuMeter // CPU time of the connection threads

	mu    sync.Mutex
	conns []*tcpConn // accepted and still open

	state runState
}

// newTCPServer listens on addr; it must run inside the namespace.
func newTCPServer(addr netip.AddrPort) (*tcpServer, error) {
	lfd, err := tcpListen(addr)
	if err != nil {
		return nil, err
	}
	s := &tcpServer{lfd: lfd, cpu: -1}
	if s.addr, err = localAddr(lfd); err != nil {
		unix.Close(lfd)
		return nil, err
	}
	return s, nil
}

// numConns returns the number of open connections.
func (s *tcpServer) numConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// serve accepts connections and runs handle on each, old and new, until
// stop; it returns once every handle has. handle returns when stop is set
// (within ioTimeout), with errPeerClosed when the peer closed or reset the
// connection (which is then closed and forgotten), or with an error that
// stops the whole Run.
func (s *tcpServer) serve(stop *atomic.Bool, handle func(c *tcpConn, stop *atomic.Bool) error) error {
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var errs []error
	fail := func(err error) {
		errMu.Lock()
		errs = append(errs, err)
		errMu.Unlock()
		stop.Store(true)
	}
	start := func(c *tcpConn) {
		wg.Go(func() {
			unpin, err := pin(s.cpu)
			if err != nil {
				fail(err)
				return
			}
			defer unpin()
			s.cpuT.begin()
			err = handle(c, stop)
			s.cpuT.end()
			switch {
			case errors.Is(err, errPeerClosed):
				s.drop(c)
			case err != nil:
				fail(err)
			}
		})
	}
	s.mu.Lock()
	// A P for every connection's thread and for this one, in accept(2).
	releases := []func(){reserveProcs(len(s.conns) + 1)}
	for _, c := range s.conns {
		start(c)
	}
	s.mu.Unlock()
	defer func() {
		for _, release := range releases {
			release()
		}
	}()
	for !stop.Load() {
		fd, err := s.accept()
		if err != nil {
			fail(err)
			break
		}
		if fd < 0 {
			continue
		}
		c := &tcpConn{fd: fd}
		releases = append(releases, reserveProcs(1))
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		start(c)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// accept waits up to ioTimeout for a connection; -1 and no error: none came.
func (s *tcpServer) accept() (int, error) {
	fd, _, err := unix.Accept4(s.lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		e, _ := err.(unix.Errno)
		switch e {
		case unix.EAGAIN, unix.EINTR:
			return -1, nil
		case unix.EBADF, unix.EFAULT, unix.EINVAL, unix.ENOTSOCK, unix.EOPNOTSUPP:
			s.errs.add(e)
			return -1, fmt.Errorf("accept: %w", err)
		default:
			// ECONNABORTED, EMFILE, ENOBUFS...: this connection is lost,
			// the listener is fine.
			s.errs.add(e)
			return -1, nil
		}
	}
	if err := setTimeouts(fd, ioTimeout); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if s.nodelay {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("set TCP_NODELAY: %w", err)
		}
	}
	return fd, nil
}

// drop closes a connection the peer has closed.
func (s *tcpServer) drop(c *tcpConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.conns, c); i >= 0 {
		s.conns = slices.Delete(s.conns, i, i+1)
		unix.Close(c.fd)
	}
}

// close stops a running serve, waits for it and closes every socket. It
// reports whether this call closed the server.
func (s *tcpServer) close() (bool, error) {
	if !s.state.close() {
		return false, nil
	}
	var errs []error
	s.mu.Lock()
	fds := []int{s.lfd}
	for _, c := range s.conns {
		fds = append(fds, c.fd)
	}
	for _, fd := range fds {
		if err := unix.Close(fd); err != nil {
			errs = append(errs, fmt.Errorf("close socket: %w", err))
		}
	}
	s.conns, s.lfd = nil, -1
	s.mu.Unlock()
	return true, errors.Join(errs...)
}

// connError classifies an errno from a connection's read or write: nil to
// retry (timeout, signal), errPeerClosed for a connection the peer ended,
// anything else is a bug or a broken descriptor.
func connError(errs *errnoCounts, op string, e unix.Errno) error {
	switch e {
	case unix.EAGAIN, unix.EINTR:
		return nil
	case unix.ECONNRESET, unix.EPIPE, unix.ETIMEDOUT, unix.ENOTCONN, unix.EHOSTUNREACH, unix.ENETUNREACH:
		errs.add(e)
		return fmt.Errorf("%s: %w: %w", op, errPeerClosed, e)
	default:
		errs.add(e)
		return fmt.Errorf("%s: %w", op, e)
	}
}

// recvRaw is recv(2) on a blocking socket without the netpoller; n == 0
// with e == 0 is the peer's orderly shutdown.
func recvRaw(fd int, b []byte, flags int) (int, unix.Errno) {
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), uintptr(flags), 0, 0)
	return int(n), e
}

// sendRaw is send(2); MSG_NOSIGNAL turns a write to a reset connection into
// EPIPE instead of a SIGPIPE.
func sendRaw(fd int, b []byte, flags int) (int, unix.Errno) {
	n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), uintptr(flags|unix.MSG_NOSIGNAL), 0, 0)
	return int(n), e
}
