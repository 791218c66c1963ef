package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// expectation is what one item must say on a given kernel. detail, when
// set, must appear in the item's Detail.
type expectation struct {
	group, name string
	status      Status
	detail      string
}

// baseline holds on every kernel vethbench supports (6.1 and later).
var baseline = []expectation{
	{GroupDevice, "veth", Yes, ""},
	{GroupDevice, "macvlan", Yes, ""},
	{GroupDevice, "bridge", Yes, ""},
	{GroupXDP, "veth native", Yes, ""},
	{GroupXDP, "veth generic", Yes, ""},
	{GroupXDP, "macvlan generic", Yes, ""},
	{GroupXDP, "bridge generic", Yes, ""},
	{GroupXDP, "bridge native", No, "bridge has no native XDP"},
	{GroupTC, "cls_bpf", Yes, ""},
	{GroupQdisc, "noqueue", Yes, ""},
	{GroupQdisc, "pfifo_fast", Yes, ""},
	{GroupQdisc, "mq", Yes, ""},
	{GroupBPF, "btf", Yes, "/sys/kernel/btf/vmlinux"},
	{GroupTracepoint, "skb:kfree_skb", Yes, ""},
	// The per-stage latency's boundaries: old tracepoints (4.x), in
	// every kernel vethbench runs on.
	{GroupTracepoint, "net:net_dev_queue", Yes, ""},
	{GroupTracepoint, "net:net_dev_start_xmit", Yes, ""},
	{GroupTracepoint, "skb:consume_skb", Yes, ""},
	{GroupSysctl, "net.core.rmem_max", Yes, "value "},
	{GroupSysctlChild, "net.core.rmem_max", No, "initial namespace"},
}

// byKernel holds what is true of a particular kernel build, selected by
// the release's prefix (the longest prefix that matches wins). To add a
// kernel, copy an entry and adjust it to what that kernel was built with.
var byKernel = map[string][]expectation{
	// The Firecracker VM: 6.18, built without ipvlan, dummy, netkit or
	// kprobes, with few qdiscs.
	"6.18.": {
		{GroupDevice, "vxlan", Yes, ""},
		{GroupDevice, "ipvlan", No, "kernel has no ipvlan support"},
		{GroupDevice, "netkit", No, "kernel has no netkit support"},
		{GroupDevice, "dummy", No, "kernel has no dummy support"},
		{GroupXDP, "ipvlan native", No, "ipvlan"},
		{GroupXDP, "macvlan native", No, "macvlan has no native XDP"},
		{GroupTC, "tcx", Yes, ""},
		{GroupBPF, "jit", Yes, ""},
		// Locked down (integrity): loading fentry fails with EPERM even
		// as root, although the kernel is built with it (docs/design.md).
		{GroupBPF, "fentry", No, "EPERM"},
		{GroupBPF, "kprobe", No, "kernel has no kprobe support"},
		{GroupTracepoint, "net:netif_receive_skb", Yes, ""},
		{GroupTracepoint, "napi:napi_poll", Yes, ""},
		{GroupQdisc, "pfifo", Yes, ""},
		{GroupQdisc, "bfifo", Yes, ""},
		{GroupQdisc, "htb", Yes, ""},
		{GroupQdisc, "tbf", Yes, ""},
		{GroupQdisc, "clsact", Yes, ""},
		{GroupQdisc, "fq", No, "kernel has no sch_fq"},
		{GroupQdisc, "fq_codel", No, "kernel has no sch_fq_codel"},
		{GroupQdisc, "netem", No, "kernel has no sch_netem"},
		{GroupQdisc, "cake", No, "kernel has no sch_cake"},
		{GroupCPU, "irq time accounting", No, "CONFIG_IRQ_TIME_ACCOUNTING is not set"},
	},
	// Debian's 6.1 cloud kernel under qemu: ipvlan and dummy are modules,
	// TCX (6.6) and netkit (6.7) do not exist yet.
	"6.1.": {
		{GroupDevice, "ipvlan", Yes, ""},
		{GroupDevice, "dummy", Yes, ""},
		{GroupDevice, "netkit", No, "kernel has no netkit support"},
		{GroupTC, "tcx", No, "kernel has no TCX"},
		{GroupQdisc, "clsact", Yes, ""},
	},
}

func kernelExpectations(release string) (string, []expectation) {
	best := ""
	for prefix := range byKernel {
		if strings.HasPrefix(release, prefix) && len(prefix) > len(best) {
			best = prefix
		}
	}
	return best, byKernel[best]
}

func check(t *testing.T, r Report, want []expectation) {
	t.Helper()
	for _, e := range want {
		it, ok := r.Lookup(e.group, e.name)
		if !ok {
			t.Errorf("%s %s: missing from the report", e.group, e.name)
			continue
		}
		if it.Status != e.status {
			t.Errorf("%s %s: %s (%s), want %s", e.group, e.name, it.Status, it.Detail, e.status)
			continue
		}
		if !strings.Contains(it.Detail, e.detail) {
			t.Errorf("%s %s: detail %q does not mention %q", e.group, e.name, it.Detail, e.detail)
		}
	}
}

// TestRunOnThisKernel asserts what is true on this machine: a feature the
// kernel has that the report calls unsupported is a failure, not a skip.
func TestRunOnThisKernel(t *testing.T) {
	testenv.RequireRoot(t)
	start := time.Now()
	r, err := Run(context.Background())
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	t.Logf("Run took %v:\n%s", took, table.String())
	if took > 4*time.Second && !testenv.Emulated() {
		t.Errorf("Run took %v, want < 4s", took)
	}

	for _, it := range r.With(Error) {
		t.Errorf("probe error: %s %s: %s", it.Group, it.Name, it.Detail)
	}
	check(t, r, baseline)
	release, _ := r.Lookup(GroupKernel, "release")
	prefix, want := kernelExpectations(release.Detail)
	if prefix == "" {
		t.Logf("no expectations for kernel %q: checked the baseline only", release.Detail)
	}
	check(t, r, want)

	// Every item is there, every global sysctl is checked both ways.
	for _, g := range []string{GroupKernel, GroupDevice, GroupXDP, GroupTC, GroupQdisc, GroupBPF, GroupTracepoint, GroupSysctl, GroupSysctlChild, GroupCPU} {
		found := false
		for _, it := range r.Items {
			found = found || it.Group == g
		}
		if !found {
			t.Errorf("group %s missing", g)
		}
	}
	for _, name := range globalSysctls {
		if it, _ := r.Lookup(GroupSysctl, name); it.Status != Yes {
			t.Errorf("%s from the initial namespace: %s (%s), want writable", name, it.Status, it.Detail)
		}
		if it, _ := r.Lookup(GroupSysctlChild, name); it.Status != No {
			t.Errorf("%s from a child namespace: %s (%s), want not writable", name, it.Status, it.Detail)
		}
	}
	for _, q := range qdiscKinds {
		if _, ok := r.Lookup(GroupQdisc, q); !ok {
			t.Errorf("qdisc %s not probed", q)
		}
	}
	if it, _ := r.Lookup(GroupCPU, "vcpus"); it.Detail != strconv.Itoa(runtime.NumCPU()) {
		t.Errorf("vcpus = %q, want %d", it.Detail, runtime.NumCPU())
	}
	if it, _ := r.Lookup(GroupCPU, "steal"); it.Status != Yes || !strings.Contains(it.Detail, "%") {
		t.Errorf("steal: %+v", it)
	}
	// Programs and links left behind would be descriptors of this
	// process, which TestMain's leak check fails on; the devices and
	// qdiscs went with their namespaces. (testenv.VBPrograms is no help:
	// the cmd tests load the same programs from another process.)
}

func TestRunCanceled(t *testing.T) {
	testenv.RequireRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx); err == nil {
		t.Fatal("Run with a canceled context returned no error")
	}
}

func TestRunWithoutRoot(t *testing.T) {
	if testenv.IsRoot() {
		t.Skip("running as root: the refusal is only seen without it")
	}
	_, err := Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "probing needs root") {
		t.Fatalf("Run without root: %v, want an error saying it needs root", err)
	}
}

func sample() Report {
	return Report{Items: []Item{
		{GroupDevice, "veth", Yes, "created (a pair)"},
		{GroupDevice, "ipvlan", No, "kernel has no ipvlan support (EOPNOTSUPP creating link kind ipvlan)"},
		{GroupQdisc, "pfifo_fast", Yes, "added as root qdisc and deleted"},
		{GroupQdisc, "fq", No, "kernel has no sch_fq (ENOENT adding it)"},
		{GroupTC, "tcx", Error, "attach tcx ingress: boom"},
		{GroupDevice, "netkit", No, "kernel has no netkit support"},
	}}
}

func TestLookup(t *testing.T) {
	r := sample()
	it, ok := r.Lookup(GroupDevice, "ipvlan")
	if !ok || it.Status != No || !strings.Contains(it.Detail, "ipvlan") {
		t.Fatalf("Lookup(device, ipvlan) = %+v, %v", it, ok)
	}
	if _, ok := r.Lookup(GroupQdisc, "ipvlan"); ok {
		t.Error("Lookup matched a name in another group")
	}
	if _, ok := r.Lookup(GroupDevice, "wireguard"); ok {
		t.Error("Lookup found an item that is not there")
	}
	if got := r.Groups(); strings.Join(got, ",") != "device,qdisc,tc" {
		t.Errorf("Groups = %v", got)
	}
	if n := len(r.With(No)); n != 3 {
		t.Errorf("With(No) has %d items, want 3", n)
	}
}

func TestJSON(t *testing.T) {
	b, err := json.Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `{"group":"device","name":"ipvlan","status":"no","detail":"kernel has no ipvlan support`) {
		t.Fatalf("JSON: %s", b)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if it, _ := back.Lookup(GroupTC, "tcx"); it.Status != Error {
		t.Fatalf("round trip lost the status: %+v", it)
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, sample()); err != nil {
		t.Fatal(err)
	}
	want := `device kinds (created in a scratch namespace)
  veth        yes    created (a pair)
  ipvlan      no     kernel has no ipvlan support (EOPNOTSUPP creating link kind ipvlan)
  netkit      no     kernel has no netkit support

qdiscs (added as root on a veth, then deleted)
  pfifo_fast  yes    added as root qdisc and deleted
  fq          no     kernel has no sch_fq (ENOENT adding it)

TC ingress attachment
  tcx         error  attach tcx ingress: boom

6 items: 2 yes, 3 unsupported, 1 error. Unsupported: device ipvlan, netkit; qdisc fq. Errors: tc tcx
`
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteTableUnknownGroupAndEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, Report{Items: []Item{{Group: "extra", Name: "x", Status: Yes}}}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "extra\n  x  yes\n\n1 items: 1 yes, 0 unsupported, 0 errors\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	b.Reset()
	if err := WriteTable(&b, Report{}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "0 items: 0 yes, 0 unsupported, 0 errors\n"; got != want {
		t.Errorf("empty report: got %q, want %q", got, want)
	}
}

func TestSummaryWholeGroup(t *testing.T) {
	r := Report{Items: []Item{
		{GroupSysctlChild, "a", No, ""}, {GroupSysctlChild, "b", No, ""}, {GroupSysctlChild, "c", No, ""},
		{GroupQdisc, "fq", No, ""}, {GroupQdisc, "sfq", No, ""},
	}}
	want := "5 items: 0 yes, 5 unsupported, 0 errors. Unsupported: sysctl-child all 3; qdisc fq, sfq"
	if got := Summary(r); got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

func TestReasons(t *testing.T) {
	wrapped := fmt.Errorf("create link kind ipvlan: %w", unix.EOPNOTSUPP)
	if got := because(wrapped); got != "EOPNOTSUPP" {
		t.Errorf("because(EOPNOTSUPP) = %q", got)
	}
	if got := because(errors.New("plain")); got != "plain" {
		t.Errorf("because(plain) = %q", got)
	}
	if !unsupported(wrapped) || !unsupported(fmt.Errorf("x: %w", ebpf.ErrNotSupported)) || unsupported(unix.EINVAL) {
		t.Error("unsupported misclassifies")
	}
	if !notSupportedTC(unix.ENOENT) || notSupportedTC(unix.EINVAL) {
		t.Error("notSupportedTC misclassifies")
	}
	if got := innermost(errors.New("a: b: neither debugfs nor tracefs are mounted")); got != "neither debugfs nor tracefs are mounted" {
		t.Errorf("innermost = %q", got)
	}
	p := &prober{id: "abcdef"}
	for _, role := range []string{"va", "mla", "a-very-long-role"} {
		if n := p.devName(role); len(n) > unix.IFNAMSIZ-1 || !strings.HasPrefix(n, "vbabcdef-") {
			t.Errorf("devName(%q) = %q", role, n)
		}
	}
	if got := qdiscModule("clsact"); !strings.Contains(got, "sch_ingress") {
		t.Errorf("qdiscModule(clsact) = %q", got)
	}
}

func TestKernelExpectationsPrefix(t *testing.T) {
	for release, want := range map[string]string{
		"6.18.44-fc-v669":      "6.18.",
		"6.1.0-27-cloud-amd64": "6.1.",
		"6.12.0":               "",
		"5.15.0":               "",
	} {
		if got, _ := kernelExpectations(release); got != want {
			t.Errorf("%s: expectations %q, want %q", release, got, want)
		}
	}
}

// An item the probe could not tell widens the status column and is
// counted and named in the summary.
func TestWriteTableUnknown(t *testing.T) {
	r := Report{Items: []Item{
		{GroupCPU, "vcpus", Yes, "2"},
		{GroupCPU, "irq time accounting", Unknown, "other work on the CPU hides the answer"},
	}}
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	want := `CPU
  vcpus                yes      2
  irq time accounting  unknown  other work on the CPU hides the answer

2 items: 1 yes, 0 unsupported, 1 unknown, 0 errors. Unknown: cpu irq time accounting
`
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}
