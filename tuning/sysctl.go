package tuning

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/vethbench/vethbench/internal/netns"
)

// sysctlDef is a sysctl on the allow-list, with the range Parse accepts.
// The kernel has the last word: a value it rejects inside the range is
// "refused".
type sysctlDef struct {
	name     string
	min, max int64
	unit     string
	help     string
}

const maxInt32 = 1<<31 - 1

// hostSysctls exist only in the initial network namespace (or are
// read-only elsewhere): they are written there, journaled first.
var hostSysctls = []sysctlDef{
	// SOCK_MIN_RCVBUF and SOCK_MIN_SNDBUF (2048 + an aligned struct
	// sk_buff, once and twice) are the kernel's floors on x86_64.
	{"net.core.rmem_max", 2304, maxInt32, "bytes", "Largest SO_RCVBUF a socket may ask for."},
	{"net.core.wmem_max", 4608, maxInt32, "bytes", "Largest SO_SNDBUF a socket may ask for."},
	{"net.core.rmem_default", 2304, maxInt32, "bytes", "A socket's receive buffer unless it sets SO_RCVBUF."},
	{"net.core.wmem_default", 4608, maxInt32, "bytes", "A socket's send buffer unless it sets SO_SNDBUF."},
	{"net.core.netdev_max_backlog", 1, maxInt32, "packets", "Per-CPU backlog queue of received packets " +
		"(veth without NAPI queues here; overflow is CPU_BACKLOG drops)."},
	{"net.core.netdev_budget", 1, maxInt32, "packets", "Packets one softirq run may process over all devices."},
	{"net.core.netdev_budget_usecs", 0, maxInt32, "us", "Time one softirq run may take."},
	{"net.core.busy_poll", 0, maxInt32, "us", "Busy-poll time for poll and select."},
	{"net.core.busy_read", 0, maxInt32, "us", "Busy-poll time for socket reads."},
	{"net.core.dev_weight", 1, maxInt32, "packets", "Packets one backlog (non-NAPI) poll may process."},
}

// namespaceSysctls exist in every network namespace (checked on 6.1 and
// 6.18) and are written in each namespace of the topology.
var namespaceSysctls = []sysctlDef{
	{"net.ipv4.ip_early_demux", 0, 1, "", "Look up the socket or route of a received packet early."},
	{"net.ipv4.udp_early_demux", 0, 1, "", "Early socket lookup for received UDP."},
	{"net.ipv4.tcp_early_demux", 0, 1, "", "Early socket lookup for received TCP."},
	{"net.ipv4.conf.all.rp_filter", 0, 2, "", "Reverse-path filter for every interface (0 off, 1 strict, 2 loose; " +
		"an interface uses the larger of its own and this)."},
	{"net.ipv4.udp_rmem_min", 1, maxInt32, "bytes", "Receive memory a UDP socket is always allowed."},
	{"net.ipv4.udp_wmem_min", 1, maxInt32, "bytes", "Send memory a UDP socket is always allowed."},
	{"net.bridge.bridge-nf-call-iptables", 0, 1, "", "Pass bridged IPv4 through iptables/nftables hooks " +
		"(br_netfilter)."},
	{"net.bridge.bridge-nf-call-ip6tables", 0, 1, "", "Pass bridged IPv6 through ip6tables hooks (br_netfilter)."},
}

// getSysctl and setSysctl access a sysctl through k inside n (nil: the
// caller's namespace); their errors name the sysctl.
func getSysctl(k kernel, n *netns.NS, name string) (string, error) {
	v, err := k.readSysctl(n, name)
	if err != nil {
		return "", sysctlError("read", name, err)
	}
	return v, nil
}

func setSysctl(k kernel, n *netns.NS, name, value string) error {
	if err := k.writeSysctl(n, name, value); err != nil {
		return sysctlError("write", name, err)
	}
	return nil
}

// readSysctl and writeSysctl access a host-wide sysctl of the running
// kernel, where no Apply is at hand: the journal's restore after a crash.
func readSysctl(name string) (string, error) { return getSysctl(&sysKernel{}, nil, name) }

func writeSysctl(name, value string) error { return setSysctl(&sysKernel{}, nil, name, value) }

// sysctlError explains a failed sysctl access; a sysctl that does not
// exist is ErrNotSupported.
func sysctlError(op, name string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		why := "the kernel has no such sysctl here"
		if strings.HasPrefix(name, "net.bridge.") {
			why = "the kernel has no br_netfilter (net.bridge sysctls are absent)"
		}
		return &unsupportedError{reason: fmt.Sprintf("%s: %s", name, why)}
	}
	return fmt.Errorf("%s %s: %w", op, name, err)
}

type unsupportedError struct{ reason string }

func (e *unsupportedError) Error() string        { return "unsupported: " + e.reason }
func (e *unsupportedError) Is(target error) bool { return target == ErrNotSupported }

// ReadHost reads every host-wide sysctl of the allow-list from the calling
// process's namespace (the initial one), keyed by knob name
// ("sysctl.net.core.rmem_max"). A sysctl that cannot be read is left out.
func ReadHost() map[string]string { return readHost(&sysKernel{}) }

func readHost(k kernel) map[string]string {
	m := make(map[string]string, len(hostSysctls))
	for _, s := range hostSysctls {
		if v, err := k.readSysctl(nil, s.name); err == nil {
			m[SysctlPrefix+s.name] = v
		}
	}
	return m
}

// ReadNamespace reads every per-namespace sysctl of the allow-list inside
// n, keyed by knob name ("sysctl.net.ipv4.udp_early_demux"). A sysctl the
// kernel does not have (net.bridge.* without br_netfilter) is left out.
// Any other failure (a sysctl that exists but cannot be read, a namespace
// that cannot be entered) is returned, with every value that was read.
func ReadNamespace(n *netns.NS) (map[string]string, error) { return readNamespace(&sysKernel{}, n) }

func readNamespace(k kernel, n *netns.NS) (map[string]string, error) {
	m := make(map[string]string, len(namespaceSysctls))
	var errs []error
	for _, s := range namespaceSysctls {
		v, err := getSysctl(k, n, s.name)
		switch {
		case errors.Is(err, ErrNotSupported):
		case err != nil:
			errs = append(errs, err)
		default:
			m[SysctlPrefix+s.name] = v
		}
	}
	return m, errors.Join(errs...)
}
