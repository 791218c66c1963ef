package tuning

import (
	"errors"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
)

// The tbf shape_mbit asks for: a rate in bytes/s, a burst of 1 ms of it
// but never under a 64 KiB GSO packet, and a queue of 25 ms at the rate
// plus the burst (the CNI bandwidth plugin's).
func TestShapeParams(t *testing.T) {
	for _, c := range []struct {
		mbit         int64
		rate         uint64
		burst, limit uint32
		mbitBack     int64
		note         string
	}{
		{mbit: 100, rate: 12_500_000, burst: 65536, limit: 312_500 + 65536, mbitBack: 100,
			note: "tbf at 100 Mbit/s: queue 369 KiB (25 ms at the rate, and the burst)"},
		{mbit: 10_000, rate: 1_250_000_000, burst: 1_250_000, limit: 31_250_000 + 1_250_000, mbitBack: 10_000},
		{mbit: 1, rate: 125_000, burst: 65536, limit: 3125 + 65536, mbitBack: 1},
	} {
		p := shapeParams(c.mbit)
		if p.rate != c.rate || p.burst != c.burst || p.limit != c.limit {
			t.Errorf("shapeParams(%d) = %+v, want rate %d burst %d limit %d", c.mbit, p, c.rate, c.burst, c.limit)
		}
		if got := mbitOf(p.rate); got != c.mbitBack {
			t.Errorf("mbitOf(%d) = %d, want %d", p.rate, got, c.mbitBack)
		}
		if c.note != "" {
			if got := shapeNote(rootQdisc{kind: "tbf", rate: p.rate, limit: int(p.limit)}); got != c.note {
				t.Errorf("note %q, want %q", got, c.note)
			}
		}
	}
}

// shape_mbit on the fake kernel: a tbf on the sending end only, its note,
// txqueuelen inert under it, 0 leaving the device as it is, and restore
// putting back the qdisc the device had, not the kernel's default.
func TestFakeShape(t *testing.T) {
	k, tg := fakePair()
	before := k.state()
	as, restore, err := apply(t.Context(), k, tg, []Setting{{"shape_mbit", "100"}, {"txqueuelen", "500"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	diffLines(t, "applied", applied(as), []string{"txqueuelen@sender ok", "shape_mbit@sender ok"})
	if q := k.devs["veth0"].qdisc; q.kind != "tbf" || q.rate != 12_500_000 {
		t.Errorf("sender's root qdisc %+v, want tbf at 12500000 B/s", q)
	}
	if q := k.devs["veth1"].qdisc; q.kind != "noqueue" {
		t.Errorf("receiver's root qdisc %+v: shape_mbit is a sending-end knob", q)
	}
	a, _ := find(as, "shape_mbit", "sender")
	if a.Before != "0" || a.After != "100" || !strings.HasPrefix(a.Detail, "tbf at 100 Mbit/s") {
		t.Errorf("shape_mbit: before %q after %q detail %q", a.Before, a.After, a.Detail)
	}
	if a, _ := find(as, "txqueuelen", "sender"); !strings.HasPrefix(a.Detail, "inert: shape_mbit's tbf") {
		t.Errorf("txqueuelen under tbf: detail %q", a.Detail)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if after := k.state(); after != before {
		t.Errorf("restore:\n%s\nnow\n%s", before, after)
	}

	// A device that had pfifo_fast gets pfifo_fast back, where deleting
	// the tbf alone would leave noqueue.
	k, tg = fakePair()
	k.devs["veth0"].qdisc = rootQdisc{kind: "pfifo_fast", handle: 0x20000}
	_, restore, err = apply(t.Context(), k, tg, []Setting{{"shape_mbit", "50"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	k.log = nil
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	diffLines(t, "restore from pfifo_fast", k.log, []string{"veth0 qdisc del tbf", "veth0 qdisc add pfifo_fast"})

	// 0 on an unshaped device changes nothing.
	k, tg = fakePair()
	as, restore, err = apply(t.Context(), k, tg, []Setting{{"shape_mbit", "0"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	diffLines(t, "shape_mbit 0", applied(as), []string{"shape_mbit@sender ok"})
	if len(k.log) != 0 {
		t.Errorf("shape_mbit 0 changed %v", k.log)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}

	// A kernel without sch_tbf: unsupported, nothing left changed.
	k, tg = fakePair()
	k.devs["veth0"].modules = []string{"noqueue", "pfifo_fast"}
	as, restore, err = apply(t.Context(), k, tg, []Setting{{"shape_mbit", "100"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := find(as, "shape_mbit", "sender"); a.Status != StatusUnsupported || !strings.Contains(a.Detail, "sch_tbf") {
		t.Errorf("without sch_tbf: %s %q", a.Status, a.Detail)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if q := k.devs["veth0"].qdisc; q.kind != "noqueue" {
		t.Errorf("after an unsupported shape_mbit: %+v", q)
	}
}

// qdisc and a non-zero shape_mbit both set the root qdisc: refused before
// anything is touched, by Apply and by CheckCombination (which the sweep
// spec's case check runs).
func TestShapeConflictsWithQdisc(t *testing.T) {
	bad := []Setting{{"qdisc", "pfifo"}, {"shape_mbit", "100"}}
	k, tg := fakePair()
	_, _, err := apply(t.Context(), k, tg, bad, nil)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "cannot be combined with qdisc pfifo") {
		t.Errorf("apply: %v", err)
	}
	if len(k.calls) != 0 {
		t.Errorf("calls before the refusal: %v", k.calls)
	}
	if err := CheckCombination(bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("CheckCombination: %v", err)
	}
	for _, ok := range [][]Setting{
		{{"qdisc", "pfifo"}, {"shape_mbit", "0"}},
		{{"shape_mbit", "100"}, {"txqueuelen", "10"}},
		{{"qdisc", "pfifo"}, {"shape_mbit", "bad"}}, // Parse's to report
	} {
		if err := CheckCombination(ok); err != nil {
			t.Errorf("CheckCombination(%v): %v", ok, err)
		}
	}
}

// shape_mbit on the kernel: the tbf is made with the rate and limit asked
// for and read back as the result records it; a second Apply replaces one
// rate by another; restore gives the sender the pfifo_fast it had.
func TestApplyShapeVeth(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	pre, restorePre, err := Apply(t.Context(), topo, []Setting{{"qdisc", "pfifo_fast"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer restorePre()
	if a, _ := find(pre, "qdisc", "sender"); a.Status != StatusOK {
		t.Fatalf("qdisc pfifo_fast: %s %s", a.Status, a.Detail)
	}
	before := readState(t, topo)
	as, restore, err := Apply(t.Context(), topo, []Setting{{"shape_mbit", "100"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer restore()
	a, _ := find(as, "shape_mbit", "sender")
	if a.Status == StatusUnsupported {
		t.Skipf("kernel without tbf: %s", a.Detail)
	}
	if a.Status != StatusOK || a.Before != "0" || a.After != "100" {
		t.Fatalf("shape_mbit: %s, before %s after %s: %s", a.Status, a.Before, a.After, a.Detail)
	}
	p := shapeParams(100)
	snd := readState(t, topo).devices["sender"]
	if snd.Qdisc != "tbf" || snd.QdiscRateBps != 100_000_000 || snd.QdiscLimit != int(p.limit) {
		t.Errorf("sender reads back qdisc %s rate %d bit/s limit %d; want tbf 100000000 limit %d",
			snd.Qdisc, snd.QdiscRateBps, snd.QdiscLimit, p.limit)
	}
	if d := readState(t, topo).devices["receiver"]; d.Qdisc != before.devices["receiver"].Qdisc {
		t.Errorf("receiver's qdisc %s: shape_mbit is a sending-end knob", d.Qdisc)
	}

	as2, restore2, err := Apply(t.Context(), topo, []Setting{{"shape_mbit", "7"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := find(as2, "shape_mbit", "sender"); a.Status != StatusOK || a.Before != "100" || a.After != "7" {
		t.Errorf("reshaping: %s, before %s after %s: %s", a.Status, a.Before, a.After, a.Detail)
	}
	if err := restore2(); err != nil {
		t.Fatal(err)
	}
	if got := readState(t, topo).devices["sender"]; got.Qdisc != "tbf" || got.QdiscRateBps != 100_000_000 {
		t.Errorf("after restoring the second shape: %s at %d bit/s, want tbf at 100 Mbit/s", got.Qdisc, got.QdiscRateBps)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if d := before.diff(readState(t, topo)); d != "" {
		t.Errorf("restore did not bring everything back:\n%s", d)
	}
}
