package netns

import (
	"fmt"
	"runtime"

	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// SysfsRoot is where DoSysfs mounts the namespace's sysfs, inside the
// private mount namespace of its thread; f receives it as root.
const SysfsRoot = "/sys"

// DoSysfs runs f with a sysfs that shows the namespace's devices, mounted
// at root, and waits for it. It is for the per-device knobs that exist only
// in sysfs (/sys/class/net/DEV/threaded, gro_flush_timeout,
// napi_defer_hard_irqs). A nil *NS stands for the caller's own namespace.
//
// Why: /sys/class/net lists the devices of the network namespace of
// whoever mounted that sysfs, not of the thread reading it, so the host's
// /sys never shows a device inside a vethbench namespace. DoSysfs runs f on
// a fresh goroutine whose OS thread unshares its mount namespace, makes
// every mount in it private (so nothing it mounts propagates anywhere),
// enters the network namespace and mounts a new sysfs over /sys (on an
// empty tmpfs), visible to that thread alone. Nothing is created on disk,
// and if the process dies the kernel drops the mount namespace with the
// thread.
//
// The thread is never unlocked: its mount namespace can no longer be
// switched back, so when f returns the goroutine exits still locked and the
// runtime terminates the thread; no other goroutine ever runs in that
// mount namespace. Each call costs a new OS thread and two mounts, about
// a quarter of a millisecond: batch the work of one device into one call.
// As with Do, f must not start goroutines.
//
// Privileges: CAP_SYS_ADMIN (unshare, mount, setns). Errors wrap the
// errno of the step that failed.
func (n *NS) DoSysfs(f func(root string) error) error {
	var target vnetns.NsHandle = -1
	if n != nil {
		n.mu.RLock()
		defer n.mu.RUnlock()
		if n.h == -1 {
			return ErrClosed
		}
		target = n.h
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: see above.
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			errc <- sysfsThread(target, f)
			return
		}
		// This is the process's main thread, which the runtime cannot
		// terminate: it would park it forever in the namespaces, keeping
		// the network namespace alive, and /proc/self (the main thread's
		// view) would show them. Hold it and work on another thread: while
		// this goroutine keeps the main thread locked, no other goroutine
		// can run on it.
		inner := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			inner <- sysfsThread(target, f)
		}()
		err := <-inner
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// sysfsThread prepares the locked thread and runs f. Every path out of it
// leaves the thread to die with its goroutine.
func sysfsThread(target vnetns.NsHandle, f func(root string) error) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare mount namespace: %w", err)
	}
	// The new mount namespace starts as a copy whose mounts still
	// propagate to and from the host's (systemd makes / shared): make
	// them all private before mounting anything.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if target != -1 {
		if err := vnetns.Set(target); err != nil {
			return fmt.Errorf("enter namespace: %w", err)
		}
	}
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	// The kernel refuses to mount a sysfs on top of itself (EBUSY), which
	// is what mounting the caller's own namespace over /sys would be: put
	// an empty tmpfs in between.
	if err := unix.Mount("tmpfs", SysfsRoot, "tmpfs", flags, "size=4k,mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs over %s: %w", SysfsRoot, err)
	}
	// sysfs takes the network namespace of the mounting thread.
	if err := unix.Mount("sysfs", SysfsRoot, "sysfs", flags, ""); err != nil {
		return fmt.Errorf("mount sysfs of the namespace: %w", err)
	}
	return f(SysfsRoot)
}
