package tuning

import (
	"context"
	"errors"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/safchain/ethtool"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// The TestFake tests run Apply, restore and the read-back against
// fakeKernel: no root, no namespaces. The same rules are tested against
// the kernel itself in apply_test.go.

func fakeJournal(t *testing.T) *Journal {
	t.Helper()
	j, err := OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func applied(as []Applied) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Knob+"@"+a.Target+" "+a.Status)
	}
	return out
}

func diffLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n  %s\nwant\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// Knobs are set in catalog order whatever the order of the settings:
// txqueuelen before qdisc (pfifo takes its limit from it), gro and xdp
// before the NAPI knobs (threaded needs the NAPI they give a veth), then
// host sysctls, then each namespace's. A value already as asked is not
// written.
func TestFakeApplyOrder(t *testing.T) {
	k, tg := fakePair()
	j := fakeJournal(t)
	settings := []Setting{
		{"sysctl.net.ipv4.udp_early_demux", "0"}, {"sysctl.net.ipv4.conf.all.rp_filter", "0"},
		{"napi_defer_hard_irqs", "2"}, {"threaded_napi", "on"}, {"gro_flush_timeout", "20000"},
		{"sysctl.net.core.netdev_max_backlog", "2000"}, {"sysctl.net.core.netdev_budget", "300"}, {"xdp", "native"}, {"gro", "on"},
		{"qdisc", "pfifo"}, {"txqueuelen", "5000"},
	}
	as, restore, err := apply(t.Context(), k, tg, settings, j)
	if err != nil {
		t.Fatal(err)
	}
	defer restore()
	diffLines(t, "changes", k.log, []string{
		"veth0 txqueuelen 5000",
		"veth0 qdisc add pfifo",
		"veth1 feature rx-gro on",
		"veth1 xdp attach native",
		"veth1 sysfs threaded=1",
		"veth1 sysfs gro_flush_timeout=20000",
		"veth1 sysfs napi_defer_hard_irqs=2",
		"host sysctl net.core.netdev_max_backlog=2000",
		"sender sysctl net.ipv4.udp_early_demux=0",
		"receiver sysctl net.ipv4.udp_early_demux=0",
	})
	diffLines(t, "applied", applied(as), []string{
		"txqueuelen@sender ok", "qdisc@sender ok", "gro@receiver ok", "xdp@receiver ok",
		"threaded_napi@receiver ok", "gro_flush_timeout@receiver ok", "napi_defer_hard_irqs@receiver ok",
		"sysctl.net.core.netdev_max_backlog@host ok", "sysctl.net.core.netdev_budget@host ok",
		"sysctl.net.ipv4.udp_early_demux@sender ok", "sysctl.net.ipv4.udp_early_demux@receiver ok",
		"sysctl.net.ipv4.conf.all.rp_filter@sender ok", "sysctl.net.ipv4.conf.all.rp_filter@receiver ok",
	})
	if q := k.devs["veth0"].qdisc; q.kind != "pfifo" || q.limit != 5000 {
		t.Errorf("sender's qdisc %+v, want pfifo with the limit 5000 of the txqueuelen set first", q)
	}
	if a, _ := find(as, "txqueuelen", "sender"); a.Before != "1000" || a.After != "5000" {
		t.Errorf("txqueuelen before %q after %q, want 1000, 5000", a.Before, a.After)
	}
}

// Every setting is checked before anything is touched: one bad setting
// among good ones, and the kernel sees no call at all, the journal no
// entry.
func TestFakeValidatedFirst(t *testing.T) {
	good := []Setting{{"txqueuelen", "5000"}, {"gro", "on"}, {"sysctl.net.core.netdev_max_backlog", "2000"},
		{"sysctl.net.ipv4.udp_early_demux", "0"}}
	for _, c := range []struct {
		name string
		bad  Setting
		want string
	}{
		{"unknown knob", Setting{"txqlen", "5"}, `unknown knob "txqlen"`},
		{"sysctl off the allow-list", Setting{"sysctl.net.ipv4.ip_forward", "1"}, "not on vethbench's allow-list"},
		{"out of range", Setting{"napi_defer_hard_irqs", "-1"}, "out of range"},
		{"malformed", Setting{"qdisc", "htb"}, `unknown value "htb"`},
		{"given twice", Setting{"gro", "off"}, "gro given twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, tg := fakePair()
			j := fakeJournal(t)
			settings := append(slices.Clone(good), c.bad)
			as, restore, err := apply(t.Context(), k, tg, settings, j)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want ErrInvalid saying %q", err, c.want)
			}
			if as != nil {
				t.Errorf("applied %v", as)
			}
			if err := restore(); err != nil {
				t.Errorf("restore: %v", err)
			}
			if len(k.calls) != 0 {
				t.Errorf("the kernel was called before the settings were checked: %v", k.calls)
			}
			if _, err := os.Stat(j.Path()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("journal file: %v", err)
			}
		})
	}
}

// Values are read back once every knob is set: tx_checksum off, set after
// tso, turns tso off, and tso reads back "changed" with the reason.
func TestFakeReadBackAfterAll(t *testing.T) {
	k, tg := fakePair()
	as, restore, err := apply(t.Context(), k, tg, []Setting{{"tso", "on"}, {"udp_segmentation", "on"}, {"tx_checksum", "off"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer restore()
	for _, knob := range []string{"tso", "udp_segmentation"} {
		a, _ := find(as, knob, "sender")
		if a.Status != StatusChanged || a.Before != "on" || a.After != "off" ||
			!strings.HasPrefix(a.Detail, "asked on, the kernel reads back off; ") ||
			!strings.Contains(a.Detail, "stays off while tx-checksum-ip-generic (tx_checksum) is off") {
			t.Errorf("%s: %+v", knob, a)
		}
	}
	if a, _ := find(as, "tx_checksum", "sender"); a.Status != StatusOK || a.After != "off" {
		t.Errorf("tx_checksum: %+v", a)
	}
}

// restore undoes in reverse order (threaded off while gro still gives the
// veth its NAPI; the qdisc deleted before txqueuelen goes back), brings
// every value back, empties the journal, closes every handle, and does
// nothing the second time.
func TestFakeRestoreReverse(t *testing.T) {
	k, tg := fakePair()
	j := fakeJournal(t)
	before := k.state()
	_, restore, err := apply(t.Context(), k, tg, []Setting{
		{"txqueuelen", "5000"}, {"qdisc", "pfifo"}, {"gso", "off"}, {"gro", "on"}, {"xdp", "generic"},
		{"threaded_napi", "on"}, {"gro_flush_timeout", "100"},
		{"sysctl.net.core.netdev_max_backlog", "2000"}, {"sysctl.net.ipv4.udp_early_demux", "0"},
	}, j)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(j.Entries()); n != 1 {
		t.Errorf("journal holds %d entries while applied, want 1", n)
	}
	k.log = nil
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	diffLines(t, "restore", k.log, []string{
		"receiver sysctl net.ipv4.udp_early_demux=1",
		"sender sysctl net.ipv4.udp_early_demux=1",
		"host sysctl net.core.netdev_max_backlog=1000",
		"veth1 sysfs gro_flush_timeout=0",
		"veth1 sysfs threaded=0",
		"veth1 xdp detach",
		"veth0 feature tx-generic-segmentation on",
		"veth1 feature rx-gro off",
		"veth0 qdisc del pfifo",
		"veth0 txqueuelen 1000",
	})
	if after := k.state(); after != before {
		t.Errorf("restore did not bring everything back:\n%s\nnow\n%s", before, after)
	}
	if n := len(j.Entries()); n != 0 {
		t.Errorf("journal holds %d entries after restore", n)
	}
	if _, err := os.Stat(j.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal file after restore: %v", err)
	}
	if k.opened != 0 || !k.closed {
		t.Errorf("after restore: %d device handles open, kernel closed %v", k.opened, k.closed)
	}
	k.log, k.calls = nil, nil
	if err := restore(); err != nil || len(k.calls) != 0 {
		t.Errorf("second restore: %v, calls %v", err, k.calls)
	}
}

// Each status, with its detail and error, and restore bringing back what
// was there in every case.
func TestFakeStatuses(t *testing.T) {
	type tc struct {
		name     string
		setup    func(k *fakeKernel, tg *targets)
		settings []Setting
		knob     string
		target   string
		status   string
		after    string
		detail   string // a substring of Detail
		err      error  // what Err wraps
	}
	for _, c := range []tc{
		{name: "ok", settings: []Setting{{"txqueuelen", "5000"}},
			knob: "txqueuelen", target: "sender", status: StatusOK, after: "5000"},
		{name: "changed: tx_checksum off keeps tso off", settings: []Setting{{"tx_checksum", "off"}, {"tso", "on"}},
			knob: "tso", target: "sender", status: StatusChanged, after: "off",
			detail: "asked on, the kernel reads back off; tx-tcp-segmentation is requested on but stays off while tx-checksum-ip-generic"},
		// In these two, the feature is requested on before Apply, as a
		// macvlan's rx-gro is on this kernel: restore compares the active
		// state only, so it would leave a requested bit it had set.
		{name: "changed: a feature it needs is off",
			setup: func(k *fakeKernel, _ *targets) {
				k.devs["veth1"].needs["rx-gro-list"] = "rx-gro"
				k.devs["veth1"].features["rx-gro-list"] = ethtool.FeatureState{Available: true, Requested: true}
			},
			settings: []Setting{{"gro_list", "on"}},
			knob:     "gro_list", target: "receiver", status: StatusChanged, after: "off",
			detail: "rx-gro-list is requested on but the kernel keeps it off (a feature it depends on is off)"},
		{name: "changed: macvlan follows its lower device",
			setup: func(k *fakeKernel, tg *targets) {
				tg.devices[1].Kind = "macvlan"
				k.devs["veth1"].link.kind = "macvlan"
				k.devs["veth1"].features["lower-rx-gro"] = ethtool.FeatureState{} // fixed off
				k.devs["veth1"].features["rx-gro"] = ethtool.FeatureState{Available: true, Requested: true}
				k.devs["veth1"].needs["rx-gro"] = "lower-rx-gro"
			},
			settings: []Setting{{"gro", "on"}},
			knob:     "gro", target: "receiver", status: StatusChanged, after: "off",
			detail: "rx-gro is requested on but stays off: a macvlan has only the features its lower device has on"},
		{name: "refused: the kernel's error",
			setup:    func(k *fakeKernel, _ *targets) { k.fail["veth0 txqueuelen"] = unix.EPERM },
			settings: []Setting{{"txqueuelen", "5000"}},
			knob:     "txqueuelen", target: "sender", status: StatusRefused, after: "1000",
			detail: "set txqueuelen: operation not permitted", err: ErrRefused},
		{name: "refused: veth XDP queue conflict",
			setup: func(k *fakeKernel, _ *targets) {
				k.devs["veth0"].link.txQueues = 2
				k.fail["veth1 xdp native"] = unix.ENOSPC
			},
			settings: []Setting{{"xdp", "native"}},
			knob:     "xdp", target: "receiver", status: StatusRefused, after: XDPOff,
			detail: "queue conflict: veth native XDP needs this end's RX queues >= its peer's TX queues, and veth1 has 1 RX queue(s) " +
				"and its peer sender (veth0) has 2 TX queues (kernel: ENOSPC)", err: ErrRefused},
		{name: "refused: an XDP program not ours",
			setup:    func(k *fakeKernel, _ *targets) { k.devs["veth1"].link.xdp = XDPGeneric },
			settings: []Setting{{"xdp", "native"}},
			knob:     "xdp", target: "receiver", status: StatusRefused, after: XDPGeneric,
			detail: "an XDP program vethbench did not attach is on the device (generic)", err: ErrRefused},
		{name: "refused: set, but the read-back fails",
			setup: func(k *fakeKernel, _ *targets) {
				k.changing = func(entry string) {
					if entry == "veth0 txqueuelen 5000" {
						k.fail["veth0 link"] = unix.EIO
					}
				}
			},
			settings: []Setting{{"txqueuelen", "5000"}},
			knob:     "txqueuelen", target: "sender", status: StatusRefused, after: "",
			detail: "set, but reading it back failed: ", err: ErrRefused},
		{name: "refused: a namespace sysctl value",
			setup:    func(k *fakeKernel, _ *targets) { k.fail["receiver write net.ipv4.udp_early_demux"] = unix.EINVAL },
			settings: []Setting{{"sysctl.net.ipv4.udp_early_demux", "0"}},
			knob:     "sysctl.net.ipv4.udp_early_demux", target: "receiver", status: StatusRefused, after: "1",
			detail: "write net.ipv4.udp_early_demux: invalid argument", err: ErrRefused},
		{name: "not applicable: no ethtool features",
			setup:    func(k *fakeKernel, _ *targets) { k.fail["veth1 features"] = unix.EOPNOTSUPP },
			settings: []Setting{{"gro", "on"}},
			knob:     "gro", target: "receiver", status: StatusNotApplicable, after: "",
			detail: "the device has no ethtool features (EOPNOTSUPP)"},
		{name: "not applicable: fixed feature",
			setup: func(k *fakeKernel, _ *targets) {
				k.devs["veth0"].features["tx-tcp-segmentation"] = ethtool.FeatureState{Requested: true, Active: true}
			},
			settings: []Setting{{"tso", "off"}},
			knob:     "tso", target: "sender", status: StatusNotApplicable, after: "on",
			detail: "tx-tcp-segmentation is fixed on on this device"},
		{name: "not applicable: EOPNOTSUPP from the device",
			setup:    func(k *fakeKernel, _ *targets) { k.fail["veth0 txqueuelen"] = unix.EOPNOTSUPP },
			settings: []Setting{{"txqueuelen", "5000"}},
			knob:     "txqueuelen", target: "sender", status: StatusNotApplicable, after: "1000",
			detail: "set txqueuelen: the device does not support it (EOPNOTSUPP)"},
		{name: "not applicable: a root qdisc the device refuses",
			setup:    func(k *fakeKernel, _ *targets) { k.fail["veth0 qdisc add"] = unix.EOPNOTSUPP },
			settings: []Setting{{"qdisc", "pfifo"}},
			knob:     "qdisc", target: "sender", status: StatusNotApplicable, after: "noqueue",
			detail: "the device takes no pfifo root qdisc (EOPNOTSUPP)"},
		{name: "not applicable: XDP mode the device lacks",
			setup:    func(k *fakeKernel, _ *targets) { k.fail["veth1 xdp native"] = unix.EOPNOTSUPP },
			settings: []Setting{{"xdp", "native"}},
			knob:     "xdp", target: "receiver", status: StatusNotApplicable, after: XDPOff,
			detail: "veth has no native (driver) XDP (EOPNOTSUPP)"},
		{name: "not applicable: threaded on a veth without NAPI", settings: []Setting{{"threaded_napi", "on"}},
			knob: "threaded_napi", target: "receiver", status: StatusNotApplicable, after: "off",
			detail: "the device has no NAPI instance to thread (EOPNOTSUPP); a veth gets one with gro on or native xdp"},
		{name: "unsupported: a qdisc the kernel lacks", settings: []Setting{{"qdisc", "fq"}},
			knob: "qdisc", target: "sender", status: StatusUnsupported, after: "noqueue",
			detail: "kernel has no sch_fq (ENOENT adding qdisc fq)", err: ErrNotSupported},
		{name: "unsupported: a qdisc the kernel lacks, replacing another",
			setup: func(k *fakeKernel, _ *targets) {
				k.devs["veth0"].qdisc = rootQdisc{kind: "pfifo", handle: 0x10000, limit: 1000}
			},
			settings: []Setting{{"qdisc", "fq_codel"}},
			knob:     "qdisc", target: "sender", status: StatusUnsupported, after: "noqueue",
			detail: "kernel has no sch_fq_codel", err: ErrNotSupported},
		{name: "unsupported: a sysfs file the kernel lacks",
			setup:    func(k *fakeKernel, _ *targets) { delete(k.devs["veth1"].sysfs, "napi_defer_hard_irqs") },
			settings: []Setting{{"napi_defer_hard_irqs", "2"}},
			knob:     "napi_defer_hard_irqs", target: "receiver", status: StatusUnsupported, after: "",
			detail: "kernel has no /sys/class/net/DEV/napi_defer_hard_irqs", err: ErrNotSupported},
		{name: "unsupported: net.bridge sysctls without br_netfilter",
			settings: []Setting{{"sysctl.net.bridge.bridge-nf-call-iptables", "0"}},
			knob:     "sysctl.net.bridge.bridge-nf-call-iptables", target: "sender", status: StatusUnsupported, after: "",
			detail: "the kernel has no br_netfilter", err: ErrNotSupported},
		{name: "unsupported: a host sysctl the kernel lacks",
			settings: []Setting{{"sysctl.net.core.busy_read", "50"}},
			knob:     "sysctl.net.core.busy_read", target: HostTarget, status: StatusUnsupported, after: "",
			detail: "net.core.busy_read: the kernel has no such sysctl here", err: ErrNotSupported},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, tg := fakePair()
			if c.setup != nil {
				c.setup(k, tg)
			}
			before := k.state()
			as, restore, err := apply(t.Context(), k, tg, c.settings, fakeJournal(t))
			if err != nil {
				t.Fatal(err)
			}
			a, ok := find(as, c.knob, c.target)
			if !ok {
				t.Fatalf("no %s on %s in %v", c.knob, c.target, applied(as))
			}
			if a.Status != c.status || a.After != c.after || !strings.Contains(a.Detail, c.detail) {
				t.Errorf("got %s, after %q, detail %q\nwant %s, after %q, detail with %q", a.Status, a.After, a.Detail, c.status, c.after, c.detail)
			}
			switch err := a.Err(); {
			case c.err == nil && err != nil:
				t.Errorf("Err() = %v for %s", err, a.Status)
			case c.err != nil && !errors.Is(err, c.err):
				t.Errorf("Err() = %v, want it to wrap %v", err, c.err)
			}
			delete(k.fail, "veth0 link") // the read-back case's: restore reads again
			if err := restore(); err != nil {
				t.Fatal(err)
			}
			if after := k.state(); after != before {
				t.Errorf("restore did not bring everything back:\n%s\nnow\n%s", before, after)
			}
		})
	}
}

// Detail says what a value does where that is not obvious: inert knobs,
// the limit a fifo took. Exact strings: a missing note and an extra one
// both fail.
func TestFakeNotes(t *testing.T) {
	for _, c := range []struct {
		settings []Setting
		knob     string
		target   string
		setup    func(k *fakeKernel, tg *targets)
		detail   string
	}{
		{settings: []Setting{{"txqueuelen", "5000"}}, knob: "txqueuelen", target: "sender",
			detail: "inert: the root qdisc is noqueue, which queues nothing"},
		{settings: []Setting{{"txqueuelen", "5000"}, {"qdisc", "pfifo"}}, knob: "txqueuelen", target: "sender",
			detail: "the root pfifo's limit is 5000 packets"},
		{settings: []Setting{{"txqueuelen", "77"}, {"qdisc", "bfifo"}}, knob: "txqueuelen", target: "sender",
			detail: "the root bfifo's limit is 116578 bytes"},
		{settings: []Setting{{"txqueuelen", "77"}, {"qdisc", "pfifo_fast"}}, knob: "txqueuelen", target: "sender",
			detail: "pfifo_fast queues up to txqueuelen packets per band"},
		{settings: []Setting{{"txqueuelen", "77"}, {"qdisc", "sfq"}}, knob: "txqueuelen", target: "sender"},
		{settings: []Setting{{"qdisc", "pfifo"}}, knob: "qdisc", target: "sender",
			detail: "limit 1000 packets (the txqueuelen when it was created)"},
		{settings: []Setting{{"qdisc", "bfifo"}}, knob: "qdisc", target: "sender",
			detail: "limit 1514000 bytes (txqueuelen times the MTU when it was created)"},
		{settings: []Setting{{"xdp", "native"}}, knob: "xdp", target: "receiver", detail: "veth now receives through NAPI"},
		{settings: []Setting{{"xdp", "generic"}}, knob: "xdp", target: "receiver"},
		{settings: []Setting{{"gro_flush_timeout", "100"}}, knob: "gro_flush_timeout", target: "receiver",
			detail: "inert: this veth has no NAPI instance (it gets one with gro on or native xdp)"},
		{settings: []Setting{{"napi_defer_hard_irqs", "2"}, {"xdp", "generic"}}, knob: "napi_defer_hard_irqs", target: "receiver",
			detail: "inert: this veth has no NAPI instance (it gets one with gro on or native xdp)"},
		{settings: []Setting{{"gro_flush_timeout", "100"}, {"gro", "on"}}, knob: "gro_flush_timeout", target: "receiver"},
		{settings: []Setting{{"napi_defer_hard_irqs", "2"}, {"xdp", "native"}}, knob: "napi_defer_hard_irqs", target: "receiver"},
		{settings: []Setting{{"gro_flush_timeout", "100"}}, knob: "gro_flush_timeout", target: "receiver",
			setup: func(k *fakeKernel, tg *targets) { tg.devices[1].Kind = "macvlan" }},
		// A refused value gets its error, not a note about the value.
		{settings: []Setting{{"txqueuelen", "5000"}}, knob: "txqueuelen", target: "sender",
			setup:  func(k *fakeKernel, _ *targets) { k.fail["veth0 txqueuelen"] = unix.EPERM },
			detail: "set txqueuelen: operation not permitted"},
	} {
		k, tg := fakePair()
		if c.setup != nil {
			c.setup(k, tg)
		}
		as, restore, err := apply(t.Context(), k, tg, c.settings, nil)
		if err != nil {
			t.Fatal(err)
		}
		if a, _ := find(as, c.knob, c.target); a.Detail != c.detail {
			t.Errorf("%v: %s detail %q, want %q", c.settings, c.knob, a.Detail, c.detail)
		}
		if err := restore(); err != nil {
			t.Fatal(err)
		}
	}
}

// When Apply cannot go on, it returns an error with everything it changed
// put back (and the journal emptied), or with nothing touched when the
// problem is found first; its restore then does nothing.
func TestFakeFailureRestores(t *testing.T) {
	errGone := errors.New("namespace gone")
	settings := []Setting{{"txqueuelen", "5000"}, {"qdisc", "pfifo"}, {"gro", "on"},
		{"sysctl.net.core.netdev_max_backlog", "2000"}, {"sysctl.net.core.netdev_budget", "600"},
		{"sysctl.net.ipv4.udp_early_demux", "0"}}
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, k *fakeKernel, tg **targets, j *Journal, cancel func())
		err   string // in the error
		is    error  // what the error wraps
		// changed before Apply stopped; restored after.
		changed []string
	}{
		{name: "a device cannot be opened",
			setup: func(_ *testing.T, k *fakeKernel, _ **targets, _ *Journal, _ func()) { k.fail["veth1 open"] = errGone },
			err:   "receiver veth1: namespace gone", is: errGone,
			changed: []string{"veth0 txqueuelen 5000", "veth0 qdisc add pfifo"}},
		{name: "cancelled midway",
			setup: func(_ *testing.T, k *fakeKernel, _ **targets, _ *Journal, cancel func()) {
				k.changing = func(entry string) {
					if entry == "veth0 qdisc add pfifo" {
						cancel()
					}
				}
			},
			is: context.Canceled, changed: []string{"veth0 txqueuelen 5000", "veth0 qdisc add pfifo"}},
		{name: "cancelled between host sysctls",
			setup: func(_ *testing.T, k *fakeKernel, _ **targets, _ *Journal, cancel func()) {
				k.changing = func(entry string) {
					if strings.HasPrefix(entry, "host ") {
						cancel()
					}
				}
			},
			is: context.Canceled,
			changed: []string{"veth0 txqueuelen 5000", "veth0 qdisc add pfifo", "veth1 feature rx-gro on",
				"host sysctl net.core.netdev_max_backlog=2000"}},
		{name: "not in the initial namespace",
			setup: func(_ *testing.T, k *fakeKernel, _ **targets, _ *Journal, _ func()) {
				k.hostErr = errors.New("host-wide sysctls are written from the initial network namespace")
			},
			err: "initial network namespace"},
		{name: "a host sysctl left by a dead vethbench",
			setup: func(t *testing.T, _ *fakeKernel, _ **targets, j *Journal, _ func()) {
				dead := j.self
				dead.StartTicks++ // this pid, another process: gone
				plant(t, j.Dir(), dead, JournalEntry{Sysctl: "net.core.netdev_budget", Original: "300", Value: "400"})
			},
			err: "run `vethbench cleanup` first"},
		{name: "no topology for device knobs",
			setup: func(_ *testing.T, _ *fakeKernel, tg **targets, _ *Journal, _ func()) { *tg = nil },
			err:   "there is no topology"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, tg := fakePair()
			j := fakeJournal(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			c.setup(t, k, &tg, j, cancel)
			before := k.state()
			as, restore, err := apply(ctx, k, tg, settings, j)
			if err == nil || !strings.Contains(err.Error(), c.err) || c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("error %v, want one with %q wrapping %v", err, c.err, c.is)
			}
			if as != nil {
				t.Errorf("applied %v", as)
			}
			n := len(c.changed)
			if len(k.log) < n || !slices.Equal(k.log[:n], c.changed) || n == 0 && len(k.log) != 0 {
				t.Errorf("changes before stopping:\n  %s\nwant\n  %s", strings.Join(k.log, "\n  "), strings.Join(c.changed, "\n  "))
			}
			if after := k.state(); after != before {
				t.Errorf("not restored:\n%s\nnow\n%s", before, after)
			}
			if len(j.Entries()) != 0 {
				t.Errorf("journal holds %v", j.Entries())
			}
			if _, err := os.Stat(j.Path()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("journal file: %v", err)
			}
			if k.opened != 0 {
				t.Errorf("%d device handles left open", k.opened)
			}
			k.log = nil
			if err := restore(); err != nil || len(k.log) != 0 {
				t.Errorf("restore after a failed Apply: %v, changes %v", err, k.log)
			}
		})
	}
}

// A host sysctl is in the journal on disk before it is written, and
// leaves it once written back.
func TestFakeHostSysctlJournaledFirst(t *testing.T) {
	k, _ := fakePair()
	j := fakeJournal(t)
	var checked bool
	k.changing = func(entry string) {
		if entry != "host sysctl net.core.netdev_max_backlog=2000" {
			return
		}
		checked = true
		f := readJournal(t, j.Path())
		want := []JournalEntry{{Sysctl: "net.core.netdev_max_backlog", Original: "1000", Value: "2000"},
			{Sysctl: "net.core.netdev_budget", Original: "300", Value: "600"}}
		if len(f.Entries) != len(want) {
			t.Fatalf("journal before the first write: %+v", f.Entries)
		}
		for i, e := range f.Entries {
			e.Time = want[i].Time
			if !reflect.DeepEqual(e, want[i]) {
				t.Errorf("journal entry %d before the first write: %+v, want %+v", i, e, want[i])
			}
		}
	}
	as, restore, err := apply(t.Context(), k, nil, []Setting{{"sysctl.net.core.netdev_budget", "600"},
		{"sysctl.net.core.netdev_max_backlog", "2000"}}, j)
	if err != nil {
		t.Fatal(err)
	}
	if !checked {
		t.Error("netdev_max_backlog was not written")
	}
	diffLines(t, "applied", applied(as), []string{"sysctl.net.core.netdev_max_backlog@host ok", "sysctl.net.core.netdev_budget@host ok"})
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if v := k.sysctls[nil]; v["net.core.netdev_max_backlog"] != "1000" || v["net.core.netdev_budget"] != "300" {
		t.Errorf("host sysctls after restore: %v", v)
	}
	if _, err := os.Stat(j.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal file after restore: %v", err)
	}
}

// Restore writes a host sysctl back only while it holds the value
// vethbench set, as RestoreStale does after a crash: an administrator's
// change during the run is kept and reported, by type, and the journal
// lets go of it all the same; a sysctl someone put back to its original
// is not written at all.
func TestFakeRestoreKeepsOthersChange(t *testing.T) {
	k, _ := fakePair()
	j := fakeJournal(t)
	k.sysctls[nil]["net.core.rmem_max"] = "212992"
	_, restore, err := apply(t.Context(), k, nil, []Setting{{"sysctl.net.core.netdev_budget", "600"},
		{"sysctl.net.core.netdev_max_backlog", "2000"}, {"sysctl.net.core.rmem_max", "4194304"}}, j)
	if err != nil {
		t.Fatal(err)
	}
	// During the run: an administrator raises the backlog further, and
	// someone puts rmem_max back by hand.
	host := k.sysctls[nil]
	host["net.core.netdev_max_backlog"] = "5000"
	host["net.core.rmem_max"] = "212992"
	k.log = nil

	err = restore()
	var ce *ChangedSinceError
	if !errors.Is(err, ErrChangedSince) || !errors.As(err, &ce) {
		t.Fatalf("restore: %v, want a *ChangedSinceError", err)
	}
	if want := (ChangedSinceError{Sysctl: "net.core.netdev_max_backlog", Original: "1000", Set: "2000", Found: "5000"}); *ce != want {
		t.Errorf("kept %+v, want %+v", *ce, want)
	}
	if !strings.Contains(err.Error(), "restore sysctl.net.core.netdev_max_backlog on host: sysctl.net.core.netdev_max_backlog: changed by someone else during the run: kept at 5000 (vethbench set 2000, the original was 1000)") {
		t.Errorf("restore's error says %q", err)
	}
	if strings.Count(err.Error(), "\n") > 0 {
		t.Errorf("restore reported more than the kept sysctl: %v", err)
	}
	if got := [3]string{host["net.core.netdev_max_backlog"], host["net.core.netdev_budget"], host["net.core.rmem_max"]}; got != [3]string{"5000", "300", "212992"} {
		t.Errorf("after restore: backlog, budget, rmem_max = %v, want the administrator's 5000, the original 300, the original 212992", got)
	}
	diffLines(t, "restore's writes", k.log, []string{"host sysctl net.core.netdev_budget=300"})
	if _, err := os.Stat(j.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal file after restore: %v (nothing is left for cleanup to put back)", err)
	}
	if again := restore(); !errors.Is(again, ErrChangedSince) {
		t.Errorf("a second restore returned %v, want the first one's result", again)
	}
}

// What ReadDevice and ReadNamespace make of what the kernel reports: an
// unreadable knob is listed in Errors and the others are still read.
func TestFakeReadDevice(t *testing.T) {
	k, tg := fakePair()
	d := k.devs["veth1"]
	d.link.xdp, d.ourXDP = XDPNative, true
	d.qdisc = rootQdisc{kind: "pfifo", handle: 0x10000, limit: 5000}
	d.sysfs["threaded"], d.sysfs["gro_flush_timeout"] = "1", "20000"
	delete(d.sysfs, "napi_defer_hard_irqs")
	k.fail["veth1 features"] = unix.EOPNOTSUPP

	kn, err := readDevice(k, tg.devices[1].NS, "veth1")
	if err != nil {
		t.Fatal(err)
	}
	if kn.Kind != "veth" || kn.XDP != XDPNative || kn.TxQueueLen != 1000 || kn.Qdisc != "pfifo" || kn.QdiscLimit != 5000 ||
		kn.ThreadedNAPI != "on" || kn.GROFlushTimeout != 20000 || kn.Features != nil {
		t.Errorf("read %+v", kn)
	}
	if len(kn.Errors) != 2 || !strings.HasPrefix(kn.Errors[0], "napi_defer_hard_irqs: ") ||
		kn.Errors[1] != "features: not applicable to this device" {
		t.Errorf("errors %q", kn.Errors)
	}
	if kn, err = readDevice(k, nil, "veth0"); err != nil || kn.XDP != "none" || !kn.Features["tx-generic-segmentation"] ||
		len(kn.Features) != len(Features) || len(kn.Errors) != 0 {
		t.Errorf("veth0: %+v, %v", kn, err)
	}
	k.fail["veth0 link"] = unix.ENODEV
	if _, err := readDevice(k, nil, "veth0"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("a device that cannot be found: %v", err)
	}
	if k.opened != 0 {
		t.Errorf("%d handles left open", k.opened)
	}

	// Sysctls the kernel lacks (here net.bridge.*, and all but two) are
	// left out without an error; one that exists and cannot be read is an
	// error naming it, and the others are still read.
	ns := tg.namespaces[0].NS
	want := map[string]string{"sysctl.net.ipv4.udp_early_demux": "1", "sysctl.net.ipv4.conf.all.rp_filter": "0"}
	if got, err := readNamespace(k, ns); err != nil || !maps.Equal(got, want) {
		t.Errorf("readNamespace: %v, %v; want %v", got, err, want)
	}
	k.fail["sender read net.ipv4.conf.all.rp_filter"] = unix.EACCES
	delete(want, "sysctl.net.ipv4.conf.all.rp_filter")
	got, err := readNamespace(k, ns)
	if !maps.Equal(got, want) {
		t.Errorf("readNamespace with rp_filter unreadable: %v, want %v", got, want)
	}
	if !errors.Is(err, unix.EACCES) || !strings.Contains(err.Error(), "read net.ipv4.conf.all.rp_filter") {
		t.Errorf("readNamespace with rp_filter unreadable: error %v, want EACCES naming the sysctl", err)
	}
	k.fail["receiver read net.ipv4.udp_early_demux"] = netns.ErrClosed
	if _, err := readNamespace(k, tg.namespaces[1].NS); !errors.Is(err, netns.ErrClosed) {
		t.Errorf("readNamespace of a closed namespace: error %v, want netns.ErrClosed", err)
	}
	if got := readHost(k); len(got) != 2 || got["sysctl.net.core.netdev_budget"] != "300" {
		t.Errorf("readHost: %v", got)
	}
}
