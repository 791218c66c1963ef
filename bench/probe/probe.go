package probe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/vishvananda/netlink"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/host"
	"github.com/vethbench/vethbench/internal/netns"
)

// Status is the outcome of one probe.
type Status string

const (
	// Yes: the kernel has it (or, for a value, it was read).
	Yes Status = "yes"
	// No: the kernel lacks it. Detail says what is missing and how the
	// kernel said so. Such an item is unsupported, not a failure.
	No Status = "no"
	// Error: the probe itself failed unexpectedly; Detail is the error.
	Error Status = "error"
	// Unknown: the probe ran but could not tell (a measurement disturbed
	// by other work on the machine); Detail says why.
	Unknown Status = "unknown"
	// NeedsRoot: probing it needs privileges this process lacks (it
	// creates namespaces or devices, or loads BPF); Detail says what.
	NeedsRoot Status = "needs root"
)

// Groups, in the order Run reports them.
const (
	GroupKernel      = "kernel"
	GroupDevice      = "device"
	GroupXDP         = "xdp"
	GroupTC          = "tc"
	GroupQdisc       = "qdisc"
	GroupBPF         = "bpf"
	GroupTracepoint  = "tracepoint"
	GroupSysctl      = "sysctl"       // global sysctls, from the initial namespace
	GroupSysctlChild = "sysctl-child" // the same sysctls, from a child namespace
	GroupCPU         = "cpu"
)

// Item is one probed feature or value.
type Item struct {
	Group  string `json:"group"`
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Detail is the reason for "no" and "error", or the value or
	// circumstances of a "yes".
	Detail string `json:"detail,omitempty"`
}

// Report is every item, grouped, in a stable order.
type Report struct {
	Items []Item `json:"items"`
}

// Lookup returns the item named name in group.
func (r Report) Lookup(group, name string) (Item, bool) {
	for _, it := range r.Items {
		if it.Group == group && it.Name == name {
			return it, true
		}
	}
	return Item{}, false
}

// With returns the items with status s, in report order.
func (r Report) With(s Status) []Item {
	var out []Item
	for _, it := range r.Items {
		if it.Status == s {
			out = append(out, it)
		}
	}
	return out
}

// Groups returns the groups in the order they first appear.
func (r Report) Groups() []string {
	var out []string
	seen := map[string]bool{}
	for _, it := range r.Items {
		if !seen[it.Group] {
			seen[it.Group] = true
			out = append(out, it.Group)
		}
	}
	return out
}

// stealWindow is the shortest window over which steal time is measured.
const stealWindow = 300 * time.Millisecond

// Run probes the running kernel. It returns an error, with whatever was
// probed so far, only when probing is impossible (no namespace can be
// created: see the package documentation) or ctx ends.
func Run(ctx context.Context) (Report, error) {
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	start := time.Now()
	cpu0, cpuErr := host.ReadCPU()

	// Preflight: every device probe needs a namespace. Without the
	// privilege to make one, the probes that need none still run and the
	// others are items "needs root", one per group.
	p := &prober{id: runID()}
	ns, err := netns.New()
	switch {
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		p.unprivileged = true
	case err != nil:
		return Report{}, fmt.Errorf("create a scratch network namespace: %w", err)
	default:
		if err := ns.Close(); err != nil {
			return Report{}, err
		}
	}

	groups := []func(){
		p.kernel,
		p.devices, // device and xdp
		p.tc,      // tc and qdisc
		p.bpf,     // bpf and tracepoint
		p.sysctls,
	}
	if p.unprivileged {
		groups = []func(){
			p.kernel,
			func() {
				p.needsRoot(GroupDevice, "creates devices in a scratch network namespace")
				p.needsRoot(GroupXDP, "attaches XDP programs to devices in a scratch namespace")
				p.needsRoot(GroupTC, "attaches BPF programs at TC ingress in a scratch namespace")
				p.needsRoot(GroupQdisc, "adds qdiscs to a veth in a scratch namespace")
				p.needsRoot(GroupBPF, "loads BPF programs")
				p.needsRoot(GroupTracepoint, "attaches BPF programs to tracepoints")
			},
			p.sysctls,
		}
	}
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return Report{Items: p.items}, err
		}
		p.guard(g)
	}
	if err := ctx.Err(); err != nil {
		return Report{Items: p.items}, err
	}
	if err := sleepCtx(ctx, stealWindow-time.Since(start)); err != nil {
		return Report{Items: p.items}, err
	}
	p.cpu(cpu0, cpuErr)
	p.guard(func() { p.irqTime(ctx) })
	if err := ctx.Err(); err != nil {
		return Report{Items: p.items}, err
	}
	return Report{Items: p.items}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// prober accumulates items. Probes run one after another: they are quick,
// and on a 2-vCPU machine running them in parallel would gain little.
type prober struct {
	id    string // run id in device names
	items []Item
	// unprivileged: no namespace could be made for lack of privilege;
	// only the probes that need none run.
	unprivileged bool
}

// needsRoot is the one item of a group that cannot be probed without
// privileges: what the group does that needs them.
func (p *prober) needsRoot(group, what string) {
	p.add(Item{Group: group, Name: "all", Status: NeedsRoot, Detail: "not probed: it " + what + ", which needs root"})
}

func (p *prober) add(it Item) { p.items = append(p.items, it) }

func (p *prober) yes(group, name, detail string) {
	p.add(Item{Group: group, Name: name, Status: Yes, Detail: detail})
}

func (p *prober) no(group, name, detail string) {
	p.add(Item{Group: group, Name: name, Status: No, Detail: detail})
}

func (p *prober) fail(group, name string, err error) {
	p.add(Item{Group: group, Name: name, Status: Error, Detail: err.Error()})
}

// guard runs one group of probes, turning a panic into an error item so
// that the other groups still run.
func (p *prober) guard(f func()) {
	defer func() {
		if v := recover(); v != nil {
			p.add(Item{Group: "probe", Name: "panic", Status: Error,
				Detail: fmt.Sprintf("%v: %s", v, firstLines(string(debug.Stack()), 12))})
		}
	}()
	f()
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}

// devName names a device "vb<run id>-<role>", within IFNAMSIZ.
func (p *prober) devName(role string) string {
	name := "vb" + p.id + "-" + role
	if len(name) > unix.IFNAMSIZ-1 {
		name = name[:unix.IFNAMSIZ-1]
	}
	return name
}

func runID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// unsupported tells "the kernel lacks this" from other failures.
func unsupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, ebpf.ErrNotSupported)
}

// errnoName names the errno inside err ("EOPNOTSUPP"), or "" if none.
func errnoName(err error) string {
	var e unix.Errno
	if errors.As(err, &e) {
		if e == unix.EOPNOTSUPP { // ErrnoName says ENOTSUP, its alias
			return "EOPNOTSUPP"
		}
		if n := unix.ErrnoName(e); n != "" {
			return n
		}
		return fmt.Sprintf("errno %d", int(e))
	}
	return ""
}

// because renders err as a short reason: its errno name when it has one,
// the whole error otherwise.
func because(err error) string {
	if n := errnoName(err); n != "" {
		return n
	}
	return err.Error()
}

// scratch makes a fresh namespace for one group's probes and a netlink
// handle inside it; release closes both.
func scratch() (*netns.NS, *netlink.Handle, func(), error) {
	ns, err := netns.New()
	if err != nil {
		return nil, nil, nil, err
	}
	h, err := ns.NetlinkHandle()
	if err != nil {
		ns.Close()
		return nil, nil, nil, err
	}
	return ns, h, func() { h.Close(); ns.Close() }, nil
}
