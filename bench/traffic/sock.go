package traffic

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// ioTimeout bounds every blocking send and receive (SO_SNDTIMEO,
// SO_RCVTIMEO), so that Run notices a cancellation within it.
const ioTimeout = 10 * time.Millisecond

// The sockets are plain blocking descriptors, deliberately not registered
// with Go's netpoller: a socket in an epoll set has a sleeper on its wait
// queue, so the kernel runs the epoll callback (a spinlock with interrupts
// off, often a wakeup of the netpoller thread) for every datagram sent
// (sock_wfree -> sk_write_space) and received (sk_data_ready). On veth that
// cost lands on the sending CPU and measured 3-4 us per packet, more than
// the whole datapath. Without it a socket has a sleeper only while a call
// actually blocks.

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

// udpSocket opens a blocking UDP socket bound to local with ioTimeout on
// both directions; with remote valid it is connected too.
func udpSocket(local, remote netip.AddrPort) (fd int, err error) {
	family := unix.AF_INET
	if local.Addr().Is6() {
		family = unix.AF_INET6
	}
	s, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Close(s)
		}
	}()
	fd = s
	tv := unix.NsecToTimeval(int64(ioTimeout))
	for _, opt := range []int{unix.SO_SNDTIMEO, unix.SO_RCVTIMEO} {
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
			return -1, fmt.Errorf("set socket timeout: %w", err)
		}
	}
	if err := unix.Bind(fd, sockaddr(local)); err != nil {
		return -1, fmt.Errorf("bind %s: %w", local, err)
	}
	if remote.IsValid() {
		if err := unix.Connect(fd, sockaddr(remote)); err != nil {
			return -1, fmt.Errorf("connect %s: %w", remote, err)
		}
	}
	return fd, nil
}

// localAddr is the address a socket is bound to.
func localAddr(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("getsockname: %w", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), nil
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)), nil
	}
	return netip.AddrPort{}, fmt.Errorf("getsockname: unexpected %T", sa)
}

// runState lets one Run at a time use the descriptors and makes Close wait
// for it, so a descriptor is never closed (and its number reused) under a
// running system call.
type runState struct {
	mu      sync.Mutex
	running bool
	closed  bool
	stop    *atomic.Bool  // the running Run's stop flag
	done    chan struct{} // closed when the running Run returns
}

// begin starts a Run and returns its stop flag, which the Run polls and
// which ctx's cancellation or Close sets; the caller defers end. Each Run
// has its own flag, so a late cancellation of one Run cannot stop the next.
func (g *runState) begin(ctx context.Context) (stop *atomic.Bool, end func(), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, nil, ErrClosed
	}
	if g.running {
		return nil, nil, ErrRunning
	}
	stop = new(atomic.Bool)
	g.running, g.stop, g.done = true, stop, make(chan struct{})
	unregister := context.AfterFunc(ctx, func() { stop.Store(true) })
	return stop, func() {
		unregister()
		g.mu.Lock()
		g.running, g.stop = false, nil
		close(g.done)
		g.mu.Unlock()
	}, nil
}

// close marks the state closed, stops a running Run and waits for it. It
// reports whether this call closed it (false: it was closed already).
func (g *runState) close() bool {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return false
	}
	g.closed = true
	running, done := g.running, g.done
	if running {
		g.stop.Store(true)
	}
	g.mu.Unlock()
	if running {
		<-done
	}
	return true
}

// closedErr is what a Run that stopped returns: nil for a cancellation,
// ErrClosed when Close stopped it.
func (g *runState) closedErr() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	return nil
}
