package tuning

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/bench/probe"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
	"github.com/vethbench/vethbench/reports/result"
)

func realize(t *testing.T, s topology.Spec) *topology.Topology {
	t.Helper()
	topo, err := topology.Realize(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { topo.Close() })
	return topo
}

// state is everything the knobs can change, read back.
type state struct {
	devices    map[string]result.DeviceKnobs
	namespaces map[string]map[string]string
	host       map[string]string
}

func readState(t *testing.T, topo *topology.Topology) state {
	t.Helper()
	s := state{devices: map[string]result.DeviceKnobs{}, namespaces: map[string]map[string]string{}, host: ReadHost()}
	for _, d := range topo.Devices {
		k, err := ReadDevice(d.NS, d.Ifname)
		if err != nil {
			t.Fatal(err)
		}
		if len(k.Errors) > 0 {
			t.Errorf("%s: errors reading knobs: %v", d.Role, k.Errors)
		}
		s.devices[d.Role] = k
	}
	for _, n := range topo.Namespaces() {
		m, err := ReadNamespace(n.NS)
		if err != nil {
			t.Errorf("namespace %s: %v", n.Name, err)
		}
		s.namespaces[n.Name] = m
	}
	return s
}

func (s state) diff(o state) string {
	var out []string
	for role, k := range s.devices {
		if !reflect.DeepEqual(k, o.devices[role]) {
			out = append(out, fmt.Sprintf("device %s: %+v\n   now %+v", role, k, o.devices[role]))
		}
	}
	for n, m := range s.namespaces {
		if !maps.Equal(m, o.namespaces[n]) {
			out = append(out, fmt.Sprintf("namespace %s: %v\n   now %v", n, m, o.namespaces[n]))
		}
	}
	if !maps.Equal(s.host, o.host) {
		out = append(out, fmt.Sprintf("host: %v\n   now %v", s.host, o.host))
	}
	return strings.Join(out, "\n")
}

func find(applied []Applied, knob, target string) (Applied, bool) {
	for _, a := range applied {
		if a.Knob == knob && a.Target == target {
			return a, true
		}
	}
	return Applied{}, false
}

// Every knob applied at once on a veth pair: each reads back as asked, and
// restore brings every device, namespace and host value back.
func TestApplyRestoreEveryKnobVeth(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	j, err := OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	before := readState(t, topo)
	host := before.host
	if len(host) != len(hostSysctls) {
		t.Fatalf("ReadHost read %d of %d host sysctls: %v", len(host), len(hostSysctls), host)
	}
	for _, n := range topo.Namespaces() {
		if len(before.namespaces[n.Name]) != len(namespaceSysctls) {
			t.Fatalf("ReadNamespace(%s) read %v, want every namespace sysctl of the allow-list", n.Name, before.namespaces[n.Name])
		}
	}
	plus := func(name string, d int) string {
		v, err := strconv.Atoi(host[SysctlPrefix+name])
		if err != nil {
			t.Fatal(err)
		}
		return strconv.Itoa(v + d)
	}
	settings := []Setting{
		{"txqueuelen", "5000"}, {"qdisc", "pfifo"},
		{"gro", "on"}, {"gro_list", "on"}, {"udp_gro_forwarding", "on"},
		{"gso", "off"}, {"tso", "off"}, {"udp_segmentation", "off"}, {"tx_checksum", "off"},
		{"xdp", "native"}, {"threaded_napi", "on"}, {"gro_flush_timeout", "20000"}, {"napi_defer_hard_irqs", "2"},
		{"sysctl.net.ipv4.ip_early_demux", "0"}, {"sysctl.net.ipv4.udp_early_demux", "0"},
		{"sysctl.net.ipv4.tcp_early_demux", "0"}, {"sysctl.net.ipv4.conf.all.rp_filter", "2"},
		{"sysctl.net.ipv4.udp_rmem_min", "8192"}, {"sysctl.net.ipv4.udp_wmem_min", "8192"},
		{"sysctl.net.bridge.bridge-nf-call-iptables", "0"}, {"sysctl.net.bridge.bridge-nf-call-ip6tables", "0"},
	}
	for _, s := range hostSysctls {
		d := 1
		if strings.Contains(s.name, "mem_") {
			d = 4096
		}
		settings = append(settings, Setting{SysctlPrefix + s.name, plus(s.name, d)})
	}
	// shape_mbit also sets the root qdisc, so it cannot join qdisc here:
	// TestApplyShapeVeth tests it on the kernel.
	elsewhere := []string{"shape_mbit"}
	if len(settings)+len(elsewhere) != len(Knobs()) {
		t.Fatalf("%d settings for %d knobs: every knob must be tested", len(settings), len(Knobs()))
	}
	applied, restore, err := Apply(t.Context(), topo, settings, j)
	if err != nil {
		t.Fatal(err)
	}
	defer restore()

	// One Applied per knob and target, in catalog order.
	var want []string
	for _, k := range Knobs() {
		if slices.Contains(elsewhere, k.Name) {
			continue
		}
		switch k.Scope {
		case ScopeDevice:
			for _, d := range topo.Devices {
				if k.AppliesTo(d) {
					want = append(want, k.Name+"@"+d.Role)
				}
			}
		case ScopeNamespace:
			for _, n := range topo.Namespaces() {
				want = append(want, k.Name+"@"+n.Name)
			}
		case ScopeHost:
			want = append(want, k.Name+"@host")
		}
	}
	var got []string
	for _, a := range applied {
		got = append(got, a.Knob+"@"+a.Target)
		if a.Status != StatusOK || a.After != a.Asked {
			t.Errorf("%s on %s: %s, asked %s, before %s, after %s: %s", a.Knob, a.Target, a.Status, a.Asked, a.Before, a.After, a.Detail)
		}
		if a.Err() != nil {
			t.Errorf("%s on %s: Err() = %v for status %s", a.Knob, a.Target, a.Err(), a.Status)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("applied to\n%v\nwant\n%v", got, want)
	}

	// The effective values, as the result file records them.
	during := readState(t, topo)
	snd, rcv := during.devices["sender"], during.devices["receiver"]
	if snd.TxQueueLen != 5000 || snd.Qdisc != "pfifo" || snd.QdiscLimit != 5000 {
		t.Errorf("sender: txqueuelen %d, qdisc %s limit %d; want 5000, pfifo limit 5000", snd.TxQueueLen, snd.Qdisc, snd.QdiscLimit)
	}
	for f, v := range map[string]bool{"tx-generic-segmentation": false, "tx-tcp-segmentation": false,
		"tx-udp-segmentation": false, "tx-checksum-ip-generic": false} {
		if snd.Features[f] != v {
			t.Errorf("sender %s = %v", f, snd.Features[f])
		}
	}
	if !rcv.Features["rx-gro"] || !rcv.Features["rx-gro-list"] || !rcv.Features["rx-udp-gro-forwarding"] {
		t.Errorf("receiver features %v", rcv.Features)
	}
	if rcv.XDP != "native" || rcv.ThreadedNAPI != "on" || rcv.GROFlushTimeout != 20000 || rcv.NAPIDeferHardIRQs != 2 {
		t.Errorf("receiver: xdp %s, threaded %s, gro_flush_timeout %d, napi_defer_hard_irqs %d",
			rcv.XDP, rcv.ThreadedNAPI, rcv.GROFlushTimeout, rcv.NAPIDeferHardIRQs)
	}
	if got := during.namespaces["receiver"][SysctlPrefix+"net.ipv4.conf.all.rp_filter"]; got != "2" {
		t.Errorf("receiver rp_filter %s", got)
	}
	if got := during.host[SysctlPrefix+"net.core.netdev_max_backlog"]; got != plus("net.core.netdev_max_backlog", 1) {
		t.Errorf("host netdev_max_backlog %s", got)
	}
	if n := len(j.Entries()); n != len(hostSysctls) {
		t.Errorf("journal holds %d entries, want %d", n, len(hostSysctls))
	}

	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if d := before.diff(readState(t, topo)); d != "" {
		t.Errorf("restore did not bring everything back:\n%s", d)
	}
	if n := len(j.Entries()); n != 0 {
		t.Errorf("journal holds %d entries after restore", n)
	}
	if err := restore(); err != nil {
		t.Errorf("second restore: %v", err)
	}
	// Only this package's XDP program: other processes may hold vb_
	// programs of their own.
	for _, p := range testenv.VBPrograms() {
		if strings.HasPrefix(p, "vb_knob") {
			t.Errorf("XDP program left after restore: %s", p)
		}
	}
}

// txqueuelen does nothing under noqueue (veth's default); a pfifo or
// bfifo made after it takes its limit from it.
func TestTxqueuelenUnderNoqueueAndPfifo(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	snd := topo.Sender
	for _, c := range []struct {
		settings []Setting
		qdisc    string
		limit    int
		note     string
	}{
		{[]Setting{{"txqueuelen", "5000"}}, "noqueue", 0, "inert: the root qdisc is noqueue"},
		{[]Setting{{"txqueuelen", "5000"}, {"qdisc", "pfifo"}}, "pfifo", 5000, "pfifo's limit is 5000 packets"},
		{[]Setting{{"qdisc", "pfifo"}, {"txqueuelen", "77"}}, "pfifo", 77, "pfifo's limit is 77 packets"},
		{[]Setting{{"txqueuelen", "77"}, {"qdisc", "bfifo"}}, "bfifo", 77 * 1514, "bfifo's limit is 116578 bytes"},
		{[]Setting{{"qdisc", "pfifo"}}, "pfifo", 1000, "pfifo's limit is 1000 packets"},
	} {
		applied, restore, err := Apply(t.Context(), topo, c.settings, nil)
		if err != nil {
			t.Fatal(err)
		}
		k, err := ReadDevice(snd.NS, snd.Ifname)
		if err != nil {
			t.Fatal(err)
		}
		if k.Qdisc != c.qdisc || k.QdiscLimit != c.limit {
			t.Errorf("%v: qdisc %s limit %d, want %s limit %d", c.settings, k.Qdisc, k.QdiscLimit, c.qdisc, c.limit)
		}
		if a, ok := find(applied, "txqueuelen", "sender"); ok && !strings.Contains(a.Detail, c.note) {
			t.Errorf("%v: txqueuelen detail %q, want %q", c.settings, a.Detail, c.note)
		}
		if err := restore(); err != nil {
			t.Fatal(err)
		}
		if k, _ := ReadDevice(snd.NS, snd.Ifname); k.Qdisc != "noqueue" || k.TxQueueLen != 1000 || k.QdiscLimit != 0 {
			t.Errorf("%v: after restore qdisc %s txqueuelen %d limit %d", c.settings, k.Qdisc, k.TxQueueLen, k.QdiscLimit)
		}
	}
}

// What the doctor finds the kernel supports, the knobs must agree with:
// a qdisc it has is "ok", one it lacks "unsupported"; XDP modes likewise
// ("not applicable" where a device kind lacks a mode).
func TestKnobsAgreeWithDoctor(t *testing.T) {
	testenv.RequireRoot(t)
	rep, err := probe.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	for _, q := range Qdiscs {
		it, ok := rep.Lookup(probe.GroupQdisc, q)
		if !ok {
			t.Errorf("the doctor does not probe qdisc %s", q)
			continue
		}
		applied, restore, err := Apply(t.Context(), topo, []Setting{{"qdisc", q}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := find(applied, "qdisc", "sender")
		switch it.Status {
		case probe.Yes:
			if a.Status != StatusOK || a.After != q {
				t.Errorf("qdisc %s: the doctor says %s, the knob %s (%s)", q, it.Detail, a.Status, a.Detail)
			}
		case probe.No:
			if a.Status != StatusUnsupported || !errors.Is(a.Err(), ErrNotSupported) || !strings.Contains(a.Detail, "kernel has no") {
				t.Errorf("qdisc %s: the doctor says %s, the knob %s (%s)", q, it.Detail, a.Status, a.Detail)
			}
			if a.After != "noqueue" {
				t.Errorf("qdisc %s: unsupported, yet the qdisc reads %s", q, a.After)
			}
		}
		t.Logf("qdisc %-10s doctor %-3s knob %s %s", q, it.Status, a.Status, a.Detail)
		if err := restore(); err != nil {
			t.Fatal(err)
		}
	}

	mv := realize(t, topology.Spec{Kind: topology.KindMacvlan})
	for _, c := range []struct {
		topo *topology.Topology
		kind string
	}{{topo, "veth"}, {mv, "macvlan"}} {
		for _, mode := range []string{XDPNative, XDPGeneric} {
			it, _ := rep.Lookup(probe.GroupXDP, c.kind+" "+mode)
			applied, restore, err := Apply(t.Context(), c.topo, []Setting{{"xdp", mode}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := find(applied, "xdp", "receiver")
			want := map[probe.Status]string{probe.Yes: StatusOK, probe.No: StatusNotApplicable}[it.Status]
			if a.Status != want {
				t.Errorf("xdp %s on %s: the doctor says %s %q, the knob %s (%s)", mode, c.kind, it.Status, it.Detail, a.Status, a.Detail)
			}
			if err := restore(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// veth native XDP needs the receiving end's RX queues >= the sending
// end's TX queues; the conflict is reported, the direction is right.
func TestXDPQueueConflict(t *testing.T) {
	testenv.RequireRoot(t)
	// Both ends: 2 TX queues, 1 RX queue. The receiver's 1 RX < the
	// sender's 2 TX.
	topo := realize(t, topology.Spec{Kind: topology.KindVeth, TxQueues: 2, RxQueues: 1})
	applied, restore, err := Apply(t.Context(), topo, []Setting{{"xdp", "native"}, {"threaded_napi", "on"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := find(applied, "xdp", "receiver")
	t.Logf("xdp native: %s: %s", a.Status, a.Detail)
	if a.Status != StatusRefused || a.After != XDPOff || !errors.Is(a.Err(), ErrRefused) {
		t.Errorf("xdp native with a queue conflict: %+v", a)
	}
	for _, w := range []string{"queue conflict", topo.Receiver.Ifname + " has 1 RX queue", "peer sender (" + topo.Sender.Ifname + ") has 2 TX queues", "ENOSPC", "--peer-rx-queues"} {
		if !strings.Contains(a.Detail, w) {
			t.Errorf("conflict detail lacks %q: %s", w, a.Detail)
		}
	}
	// Without XDP the receiving veth has no NAPI: threaded does not apply.
	if th, _ := find(applied, "threaded_napi", "receiver"); th.Status != StatusNotApplicable {
		t.Errorf("threaded_napi on a veth without NAPI: %+v", th)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}

	// The rule's direction: many TX queues on the receiving end do not
	// matter for XDP on it; its RX queues against the sender's TX do.
	topo = realize(t, topology.Spec{Kind: topology.KindVeth, TxQueues: 1, RxQueues: 1, PeerTxQueues: 4, PeerRxQueues: 1})
	applied, restore, err = Apply(t.Context(), topo, []Setting{{"xdp", "native"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := find(applied, "xdp", "receiver"); a.Status != StatusOK || a.After != XDPNative {
		t.Errorf("xdp native, receiver 1 RX >= sender 1 TX: %+v", a)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	// Jumbo frames: the program is multi-buffer aware, so native XDP takes a
	// veth whose MTU is above a page.
	topo = realize(t, topology.Spec{Kind: topology.KindVeth, MTU: 9000})
	applied, restore, err = Apply(t.Context(), topo, []Setting{{"xdp", "native"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := find(applied, "xdp", "receiver"); a.Status != StatusOK {
		t.Errorf("xdp native on MTU 9000: %+v", a)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
}

// Knobs on the other kinds: where they do not apply, they say so.
func TestApplyOtherKinds(t *testing.T) {
	testenv.RequireRoot(t)
	settings := []Setting{{"txqueuelen", "2000"}, {"gro", "on"}, {"tso", "off"}, {"xdp", "native"},
		{"threaded_napi", "on"}, {"sysctl.net.ipv4.udp_early_demux", "0"}}
	for _, kind := range []topology.Kind{topology.KindBridge, topology.KindRouter, topology.KindHostNAT, topology.KindMacvlan, topology.KindLoopback} {
		topo := realize(t, topology.Spec{Kind: kind})
		before := readState(t, topo)
		applied, restore, err := Apply(t.Context(), topo, settings, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range applied {
			t.Logf("%-8s %-32s %-14s %-14s %s", kind, a.Knob, a.Target, a.Status, a.Detail)
			if a.Status == StatusRefused || a.Status == StatusUnsupported {
				t.Errorf("%s: %s on %s: %s: %s", kind, a.Knob, a.Target, a.Status, a.Detail)
			}
			if a.Target == "bridge" || a.Target == "hairpin-bridge" {
				t.Errorf("%s: %s set on the bridge, where traffic only passes between ports", kind, a.Knob)
			}
		}
		switch kind {
		case topology.KindMacvlan:
			// macvlan has no native XDP; the sending macvlan's TSO is fixed.
			if a, _ := find(applied, "xdp", "receiver"); a.Status != StatusNotApplicable || !strings.Contains(a.Detail, "macvlan has no native") {
				t.Errorf("macvlan native xdp: %+v", a)
			}
			if a, _ := find(applied, "tso", "sender"); a.Status != StatusNotApplicable || !strings.Contains(a.Detail, "fixed") {
				t.Errorf("macvlan tso: %+v", a)
			}
		case topology.KindLoopback:
			if a, _ := find(applied, "xdp", "loopback"); a.Status != StatusNotApplicable {
				t.Errorf("lo native xdp: %+v", a)
			}
		}
		if err := restore(); err != nil {
			t.Fatal(err)
		}
		if d := before.diff(readState(t, topo)); d != "" {
			t.Errorf("%s: restore did not bring everything back:\n%s", kind, d)
		}
	}
}

// The host sysctl is journaled, fsync'd, before it is written; restore
// writes it back and clears the journal.
func TestHostSysctlJournaledFirst(t *testing.T) {
	testenv.RequireRoot(t)
	const name = "net.core.netdev_max_backlog"
	orig := mustRead(t, name)
	t.Cleanup(func() { lastResort(t, name, orig) })
	dir := t.TempDir()
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	asked := plusN(t, orig, 1234)
	var hooked bool
	testHookBeforeHostWrite = func(sysctl string) {
		hooked = true
		if sysctl != name {
			t.Errorf("hook for %s", sysctl)
		}
		// The journal is on disk, the value not yet changed.
		f := readJournal(t, j.Path())
		if len(f.Entries) != 1 || f.Entries[0].Sysctl != name || f.Entries[0].Original != orig || f.Entries[0].Value != asked {
			t.Errorf("journal before the write: %+v", f)
		}
		if v := mustRead(t, name); v != orig {
			t.Errorf("value %s before the write, want the original %s", v, orig)
		}
	}
	defer func() { testHookBeforeHostWrite = nil }()
	applied, restore, err := Apply(t.Context(), nil, []Setting{{SysctlPrefix + name, asked}}, j)
	if err != nil {
		t.Fatal(err)
	}
	if !hooked {
		t.Error("the value was written without passing the journal hook")
	}
	want := Applied{Knob: SysctlPrefix + name, Target: HostTarget, Asked: asked, Before: orig, After: asked, Status: StatusOK}
	if len(applied) != 1 || applied[0] != want {
		t.Errorf("applied %+v, want %+v", applied, want)
	}
	if v := mustRead(t, name); v != asked {
		t.Errorf("value %s after Apply, want %s", v, asked)
	}
	if f := readJournal(t, j.Path()); len(f.Entries) != 1 || f.Entries[0].Original != orig {
		t.Errorf("journal after Apply: %+v", f)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if v := mustRead(t, name); v != orig {
		t.Errorf("value %s after restore, want %s", v, orig)
	}
	if _, err := readJournalFile(j.Path()); err == nil {
		t.Error("journal file left after restore")
	}
}

// A cancelled context stops Apply, which restores what it changed.
func TestApplyCancelled(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	before := readState(t, topo)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, restore, err := Apply(ctx, topo, []Setting{{"txqueuelen", "5"}, {"gro", "on"}}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply with a cancelled context: %v", err)
	}
	if err := restore(); err != nil {
		t.Error(err)
	}
	if d := before.diff(readState(t, topo)); d != "" {
		t.Errorf("changed:\n%s", d)
	}
}

// Cancelled between two host sysctls: the one written is written back,
// the one only journaled is dropped from the journal.
func TestApplyCancelledBetweenHostWrites(t *testing.T) {
	testenv.RequireRoot(t)
	const first, second = "net.core.netdev_max_backlog", "net.core.netdev_budget"
	o1, o2 := mustRead(t, first), mustRead(t, second)
	t.Cleanup(func() { lastResort(t, first, o1); lastResort(t, second, o2) })
	j, err := OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wrote []string
	testHookBeforeHostWrite = func(sysctl string) {
		wrote = append(wrote, sysctl)
		cancel()
	}
	defer func() { testHookBeforeHostWrite = nil }()
	_, restore, err := Apply(ctx, nil, []Setting{{SysctlPrefix + first, plusN(t, o1, 1)}, {SysctlPrefix + second, plusN(t, o2, 1)}}, j)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply cancelled after the first write: %v", err)
	}
	restore()
	if !slices.Equal(wrote, []string{first}) {
		t.Errorf("wrote %v before stopping", wrote)
	}
	if v1, v2 := mustRead(t, first), mustRead(t, second); v1 != o1 || v2 != o2 {
		t.Errorf("values %s, %s; want the originals %s, %s", v1, v2, o1, o2)
	}
	if n := len(j.Entries()); n != 0 {
		t.Errorf("journal holds %d entries", n)
	}
	if _, err := readJournalFile(j.Path()); err == nil {
		t.Error("journal file left")
	}
}

// Restore after the topology is closed: nothing left to restore, no error.
func TestRestoreAfterClose(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	_, restore, err := Apply(t.Context(), topo, []Setting{{"txqueuelen", "5"}, {"xdp", "generic"}, {"gro_flush_timeout", "100"},
		{"sysctl.net.ipv4.udp_early_demux", "0"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	topo.Close()
	if err := restore(); err != nil {
		t.Errorf("restore after Close: %v", err)
	}
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	v, err := readSysctl(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func plusN(t *testing.T, v string, n int) string {
	t.Helper()
	x, err := strconv.Atoi(v)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(x + n)
}

// lastResort puts a host sysctl back whatever happened.
func lastResort(t *testing.T, name, orig string) {
	if v, err := readSysctl(name); err == nil && v != orig {
		t.Errorf("%s left at %s: writing the original %s back", name, v, orig)
		if err := writeSysctl(name, orig); err != nil {
			t.Errorf("could not restore %s: %v", name, err)
		}
	}
}
