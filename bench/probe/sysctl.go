package probe

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// globalSysctls are the host-wide knobs vethbench may tune. They live in
// the initial namespace only.
var globalSysctls = []string{
	"net.core.rmem_max", "net.core.wmem_max", "net.core.rmem_default", "net.core.wmem_default",
	"net.core.netdev_max_backlog", "net.core.netdev_budget", "net.core.busy_poll", "net.core.busy_read",
}

func sysctlPath(name string) string {
	return "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
}

// writable opens path for writing and closes it without writing: the
// permission check happens at open, and no value changes.
func writable(path string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open for writing", Path: path, Err: err}
	}
	return unix.Close(fd)
}

// sysctls checks each global sysctl from this (the initial) namespace and
// from a child namespace.
func (p *prober) sysctls() {
	for _, name := range globalSysctls {
		path := sysctlPath(name)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			p.no(GroupSysctl, name, "absent: vethbench is not in the initial namespace, or the kernel lacks it")
			continue
		}
		if err != nil {
			p.fail(GroupSysctl, name, err)
			continue
		}
		value := strings.Join(strings.Fields(string(b)), " ")
		if p.unprivileged {
			// Whether root may write it is the question; this process's
			// refusal would not answer it.
			p.add(Item{Group: GroupSysctl, Name: name, Status: NeedsRoot, Detail: "value " + value + "; whether it is writable needs root to tell"})
			continue
		}
		switch err := writable(path); {
		case err == nil:
			p.yes(GroupSysctl, name, "writable; value "+value)
		case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EROFS) || errors.Is(err, unix.EPERM):
			p.no(GroupSysctl, name, fmt.Sprintf("not writable (%s); value %s", because(err), value))
		default:
			p.fail(GroupSysctl, name, err)
		}
	}

	if p.unprivileged {
		p.needsRoot(GroupSysctlChild, "opens the sysctls from a scratch network namespace")
		return
	}
	ns, err := netns.New()
	if err != nil {
		for _, name := range globalSysctls {
			p.fail(GroupSysctlChild, name, err)
		}
		return
	}
	defer ns.Close()
	errs := make([]error, len(globalSysctls))
	// Opening under /proc/sys/net resolves to the opening thread's
	// namespace, so the checks run inside it.
	err = ns.Do(func() error {
		for i, name := range globalSysctls {
			errs[i] = writable(sysctlPath(name))
		}
		return nil
	})
	for i, name := range globalSysctls {
		switch e := errs[i]; {
		case err != nil:
			p.fail(GroupSysctlChild, name, err)
		case e == nil:
			p.yes(GroupSysctlChild, name, "writable from a child namespace: per-namespace on this kernel")
		case errors.Is(e, unix.ENOENT):
			p.no(GroupSysctlChild, name, "absent in a child namespace (ENOENT): global, set it from the initial namespace")
		case errors.Is(e, unix.EACCES), errors.Is(e, unix.EPERM), errors.Is(e, unix.EROFS):
			p.no(GroupSysctlChild, name, fmt.Sprintf("read-only in a child namespace (%s): global, set it from the initial namespace", because(e)))
		default:
			p.fail(GroupSysctlChild, name, e)
		}
	}
}
