package netns

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrClosed is returned by Do on a namespace that has been closed.
var ErrClosed = errors.New("namespace closed")

// NS is an anonymous network namespace held by a file descriptor.
type NS struct {
	mu sync.RWMutex
	h  vnetns.NsHandle // -1 once closed
}

// New creates a fresh network namespace without moving the caller into it.
func New() (*NS, error) {
	type result struct {
		h   vnetns.NsHandle
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("get current namespace: %w", err)}
			return
		}
		defer orig.Close()
		// netns.New unshares the calling thread into the new namespace.
		h, err := vnetns.New()
		if err != nil {
			// unshare failed before switching, so the thread is still home.
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("create namespace: %w", err)}
			return
		}
		if err := vnetns.Set(orig); err != nil {
			// Leave the thread locked: the runtime discards it on goroutine exit.
			h.Close()
			ch <- result{err: fmt.Errorf("return to original namespace: %w", err)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{h: h}
	}()
	r := <-ch
	if r.err != nil {
		return nil, r.err
	}
	return &NS{h: r.h}, nil
}

// Current returns a handle to the calling thread's namespace. It is meant for
// the initial namespace, where host-wide sysctls live; call it from the main
// goroutine before any namespace work.
func Current() (*NS, error) {
	h, err := vnetns.Get()
	if err != nil {
		return nil, fmt.Errorf("get current namespace: %w", err)
	}
	return &NS{h: h}, nil
}

// Do runs f with the calling OS thread switched into the namespace and waits
// for it. f must not start goroutines (see the package documentation). A nil
// *NS stands for the caller's own namespace: f runs directly.
func (n *NS) Do(f func() error) error {
	if n == nil {
		return f()
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.h == -1 {
		return ErrClosed
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("get current namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := vnetns.Set(n.h); err != nil {
			// A failed setns leaves the thread where it was, but be
			// conservative: the thread dies with this goroutine.
			errc <- fmt.Errorf("enter namespace: %w", err)
			return
		}
		ferr := f()
		if err := vnetns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("return to original namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// NetlinkHandle opens a netlink socket inside the namespace, for use from
// any goroutine; the caller closes it.
func (n *NS) NetlinkHandle() (*netlink.Handle, error) {
	var h *netlink.Handle
	err := n.Do(func() error {
		var err error
		h, err = netlink.NewHandle()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netlink handle: %w", err)
	}
	return h, nil
}

// Fd returns the namespace file descriptor, valid until Close. It is what
// netlink's NsFd and PeerNamespace attributes take.
func (n *NS) Fd() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return int(n.h)
}

// Handle returns the namespace for vishvananda/netlink's NewHandleAt.
func (n *NS) Handle() vnetns.NsHandle {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.h
}

// Inode identifies the namespace (as in /proc/PID/ns/net -> net:[INODE]).
func (n *NS) Inode() (uint64, error) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.h == -1 {
		return 0, ErrClosed
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(n.h), &st); err != nil {
		return 0, fmt.Errorf("stat namespace: %w", err)
	}
	return st.Ino, nil
}

// Close drops this reference to the namespace; the kernel destroys it, and
// the devices in it, when the last reference is gone. Close is idempotent.
func (n *NS) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.h == -1 {
		return nil
	}
	err := n.h.Close()
	n.h = -1
	if err != nil {
		return fmt.Errorf("close namespace: %w", err)
	}
	return nil
}

// ReadFile reads a file as seen from inside the namespace. Paths under
// /proc/thread-self/net and /proc/sys/net resolve to the namespace of the
// reading thread, which is why this exists: /proc/self/net would show the
// main thread's namespace instead.
func (n *NS) ReadFile(path string) ([]byte, error) {
	var b []byte
	err := n.Do(func() error {
		var err error
		b, err = os.ReadFile(path)
		return err
	})
	return b, err
}

// WriteFile writes a file from inside the namespace (per-namespace sysctls).
func (n *NS) WriteFile(path string, data []byte) error {
	return n.Do(func() error {
		return os.WriteFile(path, data, 0o644)
	})
}
