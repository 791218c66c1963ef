package testenv

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// BPFProgPrefix starts the name of every BPF program vethbench loads, so
// leak checks can tell its programs from the host's.
const BPFProgPrefix = "vb_"

// RequirePrivilegedEnv is the environment variable that turns
// RequireRoot's skip into a failure: CI (.ci/run) sets it, so that a run
// where every privileged test would skip cannot pass.
const RequirePrivilegedEnv = "VETHBENCH_REQUIRE_PRIVILEGED"

// RequireRoot skips t unless the test can create namespaces and devices;
// with RequirePrivilegedEnv=1 it fails t instead.
func RequireRoot(t testing.TB) {
	t.Helper()
	if reason := privileged(); reason != "" {
		if os.Getenv(RequirePrivilegedEnv) == "1" {
			t.Fatalf("privileged test cannot run (%s), and %s=1 forbids skipping it", reason, RequirePrivilegedEnv)
		}
		t.Skipf("privileged test skipped: %s", reason)
	}
}

func privileged() string {
	if os.Geteuid() != 0 {
		return "not running as root (run `sudo make test` for the integration tests)"
	}
	return ""
}

// Snapshot is the kernel state a test run must leave as it found it.
type Snapshot struct {
	NamedNS []string // /run/netns
	Links   []string // links in the initial namespace
	BPFPins []string // objects pinned under /sys/fs/bpf
	FDs     []string // this process's open descriptors and their targets
}

// Take records the current state.
func Take() Snapshot {
	var s Snapshot
	if ents, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range ents {
			s.NamedNS = append(s.NamedNS, e.Name())
		}
	}
	if links, err := netlink.LinkList(); err == nil {
		for _, l := range links {
			s.Links = append(s.Links, l.Attrs().Name)
		}
	}
	if ents, err := os.ReadDir("/sys/fs/bpf"); err == nil {
		for _, e := range ents {
			s.BPFPins = append(s.BPFPins, e.Name())
		}
	}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		for _, e := range ents {
			target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
			if err != nil {
				continue // the descriptor ReadDir itself used
			}
			s.FDs = append(s.FDs, e.Name()+" -> "+target)
		}
	}
	slices.Sort(s.NamedNS)
	slices.Sort(s.Links)
	slices.Sort(s.BPFPins)
	slices.Sort(s.FDs)
	return s
}

// VBPrograms lists loaded BPF programs whose names start with
// BPFProgPrefix, from any process: use it only where no other test process
// can be loading programs at the same time.
func VBPrograms() []string {
	var names []string
	id := ebpf.ProgramID(0)
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if err != nil {
			return names
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		if info, err := p.Info(); err == nil && strings.HasPrefix(info.Name, BPFProgPrefix) {
			names = append(names, fmt.Sprintf("%s(id %d)", info.Name, id))
		}
		p.Close()
	}
}

// Leaks lists what is in after but not in before.
func Leaks(before, after Snapshot) []string {
	var out []string
	diff := func(what string, b, a []string) {
		for _, x := range a {
			if !slices.Contains(b, x) {
				out = append(out, what+": "+x)
			}
		}
	}
	diff("named namespace", before.NamedNS, after.NamedNS)
	diff("link in the initial namespace", before.Links, after.Links)
	diff("pinned BPF object", before.BPFPins, after.BPFPins)
	diff("file descriptor", filterFDs(before.FDs), filterFDs(after.FDs))
	return out
}

// filterFDs drops descriptors the Go runtime and test framework open on
// their own (the epoll instance, its eventfd, pidfds of waited children).
func filterFDs(fds []string) []string {
	var out []string
	for _, f := range fds {
		if strings.Contains(f, "anon_inode:[eventpoll]") || strings.Contains(f, "anon_inode:[eventfd]") ||
			strings.Contains(f, "anon_inode:[pidfd]") {
			continue
		}
		out = append(out, f)
	}
	return out
}

// Main runs the tests and fails the run if they leaked. Use it as
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
func Main(m *testing.M) int {
	before := Take()
	code := m.Run()
	// Namespace and BPF teardown is asynchronous in the kernel: give it a moment.
	var leaks []string
	for deadline := time.Now().Add(3 * time.Second); ; {
		leaks = Leaks(before, Take())
		if len(leaks) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(leaks) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: tests leaked kernel state or descriptors:")
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "  "+l)
		}
		if code == 0 {
			code = 1
		}
	}
	return code
}

// IsRoot reports whether privileged tests can run.
func IsRoot() bool { return privileged() == "" }

// KernelConfig reports whether the running kernel was built with
// CONFIG_<option> (=y or =m), from /proc/config.gz. ok is false when the
// config cannot be read; tests then cannot tell "missing" from "broken".
func KernelConfig(option string) (has, ok bool) {
	f, err := os.Open("/proc/config.gz")
	if err != nil {
		return false, false
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return false, false
	}
	cfg, err := io.ReadAll(zr)
	if err != nil {
		return false, false
	}
	opt := "\nCONFIG_" + strings.ToUpper(option)
	return strings.Contains(string(cfg), opt+"=y") || strings.Contains(string(cfg), opt+"=m"), true
}

// Emulated reports whether the tests run in an emulated VM (make vmtest sets
// VETHBENCH_EMULATED=1), where rates and times mean nothing: tests then skip
// their performance sanity bounds, and say so.
func Emulated() bool { return os.Getenv("VETHBENCH_EMULATED") == "1" }

// KernelAtLeast reports whether the running kernel's release is at least
// major.minor, for expectations that follow the kernel's version: a test
// then fails when a feature its kernel has is missing, instead of skipping.
func KernelAtLeast(t testing.TB, major, minor int) bool {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(u.Release[:])
	ok, err := releaseAtLeast(release, major, minor)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func releaseAtLeast(release string, major, minor int) (bool, error) {
	var ma, mi int
	if _, err := fmt.Sscanf(release, "%d.%d", &ma, &mi); err != nil {
		return false, fmt.Errorf("parse kernel release %q: %w", release, err)
	}
	return ma > major || ma == major && mi >= minor, nil
}

// Counter hooks (vbpf.HookTCX and vbpf.HookClsBPF, which testenv cannot
// import).
const (
	HookTCX    = "tcx"
	HookClsBPF = "cls_bpf"
)

// CounterHook is the hook vethbench's ingress counters must take on this
// kernel: TCX from 6.6, where it appeared, cls_bpf before. Comparing with it
// fails a test on a 6.6+ kernel whose counters fell back to cls_bpf, and on
// an older one that claims TCX.
func CounterHook(t testing.TB) string {
	t.Helper()
	if KernelAtLeast(t, 6, 6) {
		return HookTCX
	}
	return HookClsBPF
}
