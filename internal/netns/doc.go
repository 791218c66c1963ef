// Package netns owns every entry into a network namespace. Nothing else in
// vethbench calls setns, unshare, netns.Set or runtime.LockOSThread.
//
// Namespaces are anonymous: a NS is held by a file descriptor and never bind
// mounted under /run/netns, so when the process dies (even by SIGKILL) the
// kernel drops the last reference and destroys the namespace together with
// every device inside it. Nothing is left for a cleanup step to find.
//
// Do runs a function on a fresh goroutine whose OS thread has been switched
// into the namespace. The thread is unlocked, and so returned to the Go
// scheduler, only if switching back to the original namespace worked;
// otherwise the goroutine exits with its thread still locked and the runtime
// terminates that thread, so no other goroutine ever runs in the wrong
// namespace. Functions passed to Do must not start goroutines: a new
// goroutine may run on any thread, in any namespace.
//
// The intended pattern (STYLE.md, lesson 2) is to create sockets, netlink
// and ethtool handles, and BPF links inside Do and to use them from outside:
// a socket stays bound to the namespace it was created in.
//
// Privileges: CAP_SYS_ADMIN (creating and entering namespaces). Errors wrap
// the underlying errno, so errors.Is(err, unix.EPERM) tells a caller that it
// lacks the privilege.
package netns
