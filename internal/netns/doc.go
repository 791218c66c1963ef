// Package netns owns every entry into a network namespace: nothing else in
// vethbench calls setns, unshare or netns.Set. (bench/traffic locks threads
// too, but only to pin them to a CPU.)
//
// Namespaces are anonymous: an NS is held by a file descriptor and never
// bind mounted under /run/netns, so when the process dies (even by SIGKILL)
// the kernel drops the last reference and destroys the namespace together
// with every device inside it. Nothing is left for a cleanup step to find.
//
// Do runs a function on a fresh goroutine whose OS thread has been switched
// into the namespace. The thread is unlocked, and so returned to the Go
// scheduler, only if switching back to the original namespace worked;
// otherwise the goroutine exits with its thread still locked and the runtime
// terminates that thread, so no other goroutine ever runs in the wrong
// namespace. Functions passed to Do must not start goroutines: a new
// goroutine may run on any thread, in any namespace. DoSysfs does the same
// with a private mount namespace and a sysfs that shows the namespace's
// devices; its thread is never returned to the scheduler.
//
// The intended pattern is to create sockets, netlink and ethtool handles,
// and BPF links inside Do (NetlinkHandle does it for netlink) and to use
// them from outside: a socket stays bound to the namespace it was created
// in. ReadFile and WriteFile read /proc/sys/net and /proc/thread-self/net
// as the namespace sees them.
//
// Privileges: CAP_SYS_ADMIN (creating and entering namespaces, mounting
// sysfs). Errors wrap the underlying errno, so errors.Is(err, unix.EPERM)
// tells a caller that it lacks the privilege; Do returns ErrClosed on a
// closed NS. For Do and DoSysfs a nil *NS stands for the caller's own
// namespace.
package netns
