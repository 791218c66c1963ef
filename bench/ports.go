package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Ports of the measured flows, inside the private namespaces. The drop
// counter watches every namespace of the host by destination port, so two
// vethbench processes measuring at the same time must never share one:
// each case reserves its destination port for as long as its counters are
// attached (reservePort).
const (
	dstPortBase  = 47000
	dstPortRange = 2000
	SrcPortBase  = 40000
)

// portDir holds one lock file per destination port in use on the host. It
// is under /run, a tmpfs: whatever is left there is gone at the next boot.
const portDir = "/run/vethbench/ports"

// portLock is a destination port reserved for this process: an exclusive
// flock on portDir/<port>, which the kernel releases when the process dies
// however it dies. Nothing else (no socket, no namespace) holds the port.
type portLock struct {
	port uint16
	path string
	f    *os.File
	once sync.Once
}

// reservePort reserves a destination port in [dstPortBase, dstPortBase +
// dstPortRange) with a lock file in dir. The search starts at a port
// derived from runID, so that consecutive cases of one process, and
// processes started together, seldom try the same ports (and a case's
// packets freed late, while its namespaces are torn down, seldom land on
// the next case's port), and takes the first port no other process or
// case holds. The lock file's descriptor is close-on-exec (as every file
// Go opens), so programs vethbench starts do not inherit the lock. Once it
// holds its port it removes the files runs that were killed left behind.
func reservePort(dir, runID string) (*portLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("reserve a port: %w", err)
	}
	start := portOffset(runID)
	for i := range uint32(dstPortRange) {
		port := uint16(dstPortBase + (start+i)%dstPortRange)
		l, err := tryPort(dir, port)
		if err != nil {
			return nil, fmt.Errorf("reserve a port: %w", err)
		}
		if l != nil {
			removeStale(dir, l.path)
			return l, nil
		}
	}
	return nil, fmt.Errorf("reserve a port: all %d ports from %d are held by other vethbench runs (lock files in %s)",
		dstPortRange, dstPortBase, dir)
}

// portOffset spreads run ids over the port range (runID is random hex).
func portOffset(runID string) uint32 {
	var h uint32
	for _, c := range runID {
		h = h*31 + uint32(c)
	}
	return h % dstPortRange
}

// tryPort takes port's lock without waiting; nil, nil when another holds it.
func tryPort(dir string, port uint16) (*portLock, error) {
	path := filepath.Join(dir, strconv.Itoa(int(port)))
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case errors.Is(err, unix.EWOULDBLOCK):
			f.Close()
			return nil, nil
		case errors.Is(err, unix.EINTR):
			f.Close()
			continue
		case err != nil:
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// The holder before us removes the file before unlocking it: if
		// that happened between our open and our lock, we hold a file
		// nobody else will open, and must take the port's current file.
		same, err := samePath(f, path)
		if err != nil {
			f.Close()
			return nil, err
		}
		if !same {
			f.Close()
			continue
		}
		return &portLock{port: port, path: path, f: f}, nil
	}
}

// samePath reports whether path still names f's file.
func samePath(f *os.File, path string) (bool, error) {
	var a, b unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &a); err != nil {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	err := unix.Stat(path, &b)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	return a.Dev == b.Dev && a.Ino == b.Ino, nil
}

// removeStale removes the lock files in dir that no one holds but ours:
// those of runs killed before they could release their port. A file
// another run has opened and not yet locked may go too; that run then
// finds its lock on a removed file and takes the port's new one (tryPort).
// Only files named as ports are touched.
func removeStale(dir, ours string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		path := filepath.Join(dir, e.Name())
		if p, err := strconv.Atoi(e.Name()); err != nil || p < dstPortBase || p >= dstPortBase+dstPortRange || path == ours {
			continue
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			if same, err := samePath(f, path); err == nil && same {
				os.Remove(path)
			}
		}
		f.Close()
	}
}

// release frees the port: the lock file is removed, then unlocked. Safe
// to call more than once, and on nil. A process that dies without calling
// it frees the port all the same (the kernel drops the lock); its empty
// lock file then stays until the next run reserves a port.
func (l *portLock) release() {
	if l == nil {
		return
	}
	l.once.Do(func() {
		os.Remove(l.path)
		l.f.Close()
	})
}
