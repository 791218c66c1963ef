package tuning

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The TestFakeHostSwitch tests run HostSwitch against fakeKernel, whose
// host holds net.core.netdev_max_backlog 1000 and net.core.netdev_budget
// 300 (fakePair). The switch against the kernel: hostswitch_test.go and
// TestKillDuringHostSwitch.

const (
	backlog = "sysctl.net.core.netdev_max_backlog"
	budget  = "sysctl.net.core.netdev_budget"
)

// hostOf is the fake host's value of each knob, by knob name.
func hostOf(k *fakeKernel, names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = k.sysctls[nil][strings.TrimPrefix(n, SysctlPrefix)]
	}
	return m
}

func TestSplitHost(t *testing.T) {
	local, host := SplitHost([]Setting{{"txqueuelen", "5"}, {backlog, "2000"}, {"sysctl.net.ipv4.udp_early_demux", "0"},
		{"bogus", "1"}, {"sysctl.net.core.rmem_max", "4194304"}})
	if want := []Setting{{"txqueuelen", "5"}, {"sysctl.net.ipv4.udp_early_demux", "0"}, {"bogus", "1"}}; !slices.Equal(local, want) {
		t.Errorf("local %v, want %v", local, want)
	}
	if want := []Setting{{backlog, "2000"}, {"sysctl.net.core.rmem_max", "4194304"}}; !slices.Equal(host, want) {
		t.Errorf("host %v, want %v", host, want)
	}
	if l, h := SplitHost(nil); l != nil || h != nil {
		t.Errorf("SplitHost(nil) = %v, %v", l, h)
	}
}

// The switch writes a sysctl only when its value is to differ from what
// it last wrote: moving between cases that share their host values, or
// have none, neither writes nor reads. NewHostSwitch writes nothing and
// journals both originals.
func TestFakeHostSwitchWritesOnlyOnChange(t *testing.T) {
	k, _ := fakePair()
	j := fakeJournal(t)
	s, err := newHostSwitch(k, j, []string{budget, backlog, budget})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Restore()
	if len(k.log) != 0 {
		t.Errorf("NewHostSwitch wrote %v", k.log)
	}
	f := readJournal(t, j.Path())
	got := []string{}
	for _, e := range f.Entries {
		got = append(got, e.Sysctl+" "+e.Original+" "+e.Value+" "+strings.Join(e.Values, ","))
	}
	diffLines(t, "journal after NewHostSwitch", got, []string{"net.core.netdev_max_backlog 1000 1000 ", "net.core.netdev_budget 300 300 "})

	for i, step := range []struct {
		values map[string]string
		writes []string
	}{
		{nil, nil},
		{map[string]string{backlog: "2000"}, []string{"host sysctl net.core.netdev_max_backlog=2000"}},
		{map[string]string{backlog: "+2000"}, nil}, // the same value, spelled otherwise
		{map[string]string{budget: "600"}, []string{"host sysctl net.core.netdev_max_backlog=1000", "host sysctl net.core.netdev_budget=600"}},
		{map[string]string{budget: "600", backlog: "1000"}, nil}, // the original, asked for
		{map[string]string{}, []string{"host sysctl net.core.netdev_budget=300"}},
		{nil, nil},
		{map[string]string{backlog: "4000", budget: "600"}, []string{"host sysctl net.core.netdev_max_backlog=4000", "host sysctl net.core.netdev_budget=600"}},
		{map[string]string{backlog: "4000", budget: "600"}, nil},
	} {
		k.log, k.calls = nil, nil
		if err := s.Set(step.values); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		diffLines(t, fmt.Sprintf("writes of step %d", i), k.log, step.writes)
		if len(step.writes) == 0 && len(k.calls) != 0 {
			t.Errorf("step %d: nothing to change, and the kernel was called: %v", i, k.calls)
		}
	}
}

// Slices in blocks, each block visiting every case in a random order: at
// each slice the host holds that case's values and the original of every
// other sysctl the switch holds, the writes are exactly the differences
// from the slice before, and restore brings back the originals and empties
// the journal.
func TestFakeHostSwitchSlices(t *testing.T) {
	k, _ := fakePair()
	j := fakeJournal(t)
	orig := hostOf(k, backlog, budget)
	cases := []map[string]string{
		{}, // a case without host knobs
		{backlog: "2000"},
		{backlog: "4000"},
		{budget: "600"},
		{backlog: "2000", budget: "600"},
		{}, // another case without
	}
	s, err := newHostSwitch(k, j, []string{backlog, budget})
	if err != nil {
		t.Fatal(err)
	}
	effective := func(c map[string]string) map[string]string {
		m := maps.Clone(orig)
		maps.Copy(m, c)
		return m
	}
	rng := rand.New(rand.NewPCG(14, 1))
	prev := orig
	wantWrites := 0
	nslices := 0
	for block := range 30 {
		for _, i := range rng.Perm(len(cases)) {
			c := cases[i]
			if err := s.Set(c); err != nil {
				t.Fatalf("block %d, case %d: %v", block, i, err)
			}
			want := effective(c)
			if got := hostOf(k, backlog, budget); !maps.Equal(got, want) {
				t.Fatalf("block %d, case %d %v: the host holds %v during its slice, want %v", block, i, c, got, want)
			}
			for n := range want {
				if want[n] != prev[n] {
					wantWrites++
				}
			}
			prev = want
			nslices++
		}
	}
	if len(k.log) != wantWrites {
		t.Errorf("%d writes over %d slices, want %d (one per sysctl whose value changed between slices)", len(k.log), nslices, wantWrites)
	}

	// Applied describes the case just set.
	if err := s.Set(cases[4]); err != nil {
		t.Fatal(err)
	}
	as, err := s.Applied(map[string]string{budget: "600", backlog: "02000"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Applied{
		{Knob: backlog, Target: HostTarget, Asked: "2000", Before: "1000", After: "2000", Status: StatusOK},
		{Knob: budget, Target: HostTarget, Asked: "600", Before: "300", After: "600", Status: StatusOK},
	}
	if !slices.Equal(as, want) {
		t.Errorf("Applied: %+v\nwant %+v", as, want)
	}
	if _, err := s.Applied(cases[1]); err == nil || !strings.Contains(err.Error(), "not the last Set's values") {
		t.Errorf("Applied for values not set: %v", err)
	}
	if err := s.Set(cases[0]); err != nil {
		t.Fatal(err)
	}
	if as, err := s.Applied(cases[0]); err != nil || len(as) != 0 {
		t.Errorf("Applied of a case without host knobs: %v, %v", as, err)
	}

	if err := s.Set(cases[2]); err != nil {
		t.Fatal(err)
	}
	k.log = nil
	if err := s.Restore(); err != nil {
		t.Fatal(err)
	}
	diffLines(t, "restore", k.log, []string{"host sysctl net.core.netdev_max_backlog=1000"})
	if got := hostOf(k, backlog, budget); !maps.Equal(got, orig) {
		t.Errorf("after restore the host holds %v, want %v", got, orig)
	}
	if n := len(j.Entries()); n != 0 {
		t.Errorf("journal holds %d entries after restore", n)
	}
	if _, err := os.Stat(j.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal file after restore: %v", err)
	}
	if !k.closed {
		t.Error("restore did not close the kernel")
	}
	k.log, k.calls = nil, nil
	if err := s.Restore(); err != nil || len(k.calls) != 0 {
		t.Errorf("second restore: %v, calls %v", err, k.calls)
	}
	if err := s.Set(cases[1]); err == nil || len(k.calls) != 0 {
		t.Errorf("Set after Restore: %v, calls %v", err, k.calls)
	}
	if _, err := s.Applied(cases[0]); err == nil {
		t.Error("Applied after Restore: no error")
	}
}

// A value is in the journal, on disk, before it is first written, and the
// journal is written once per value: moving back to a value already
// journaled does not touch it. A journal that cannot be written stops Set
// before any sysctl is.
func TestFakeHostSwitchJournaledFirst(t *testing.T) {
	k, _ := fakePair()
	j := fakeJournal(t)
	s, err := newHostSwitch(k, j, []string{backlog, budget})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Restore()
	var checked int
	k.changing = func(entry string) {
		name, v, _ := strings.Cut(strings.TrimPrefix(entry, "host sysctl "), "=")
		for _, e := range readJournal(t, j.Path()).Entries {
			if e.Sysctl != name {
				continue
			}
			checked++
			if v != e.Original && !slices.Contains(e.Values, v) {
				t.Errorf("%s is written before the journal holds it: %+v", entry, e)
			}
		}
	}
	stat := func() os.FileInfo {
		fi, err := os.Stat(j.Path())
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	set := func(values map[string]string) {
		t.Helper()
		if err := s.Set(values); err != nil {
			t.Fatal(err)
		}
	}
	set(map[string]string{backlog: "2000"})
	set(map[string]string{backlog: "4000", budget: "600"})
	first := stat()
	set(nil)
	set(map[string]string{backlog: "2000", budget: "600"})
	set(map[string]string{backlog: "4000"})
	if !os.SameFile(first, stat()) {
		t.Error("the journal was rewritten for values it already held")
	}
	if checked != 9 {
		t.Errorf("%d writes checked, want 9", checked)
	}
	if e := j.Entries()[0]; e.Value != "4000" || !slices.Equal(e.Values, []string{"2000", "4000"}) {
		t.Errorf("backlog's entry %+v, want the values 2000 and 4000, 4000 last", e)
	}

	// The journal's directory gone: nothing is written.
	k.changing = nil
	if err := os.RemoveAll(j.Dir()); err != nil {
		t.Fatal(err)
	}
	k.log = nil
	if err := s.Set(map[string]string{backlog: "8000"}); err == nil || !strings.Contains(err.Error(), "journal") {
		t.Errorf("Set with a journal it cannot write: %v", err)
	}
	if len(k.log) != 0 {
		t.Errorf("wrote %v without journaling", k.log)
	}
}

// Restore writes a sysctl back only while it holds the switch's last
// value. One someone else changed is found by the next Set that would
// write it, which leaves it alone then and after, and by Restore, which
// keeps their value, reports it by type and lets the journal go of it; one
// put back to its original by hand is not written.
func TestFakeHostSwitchKeepsOthersChange(t *testing.T) {
	const rmem = "sysctl.net.core.rmem_max"
	k, _ := fakePair()
	host := k.sysctls[nil]
	host["net.core.rmem_max"] = "212992"
	j := fakeJournal(t)
	s, err := newHostSwitch(k, j, []string{backlog, budget, rmem})
	if err != nil {
		t.Fatal(err)
	}
	e := map[string]string{backlog: "2000", budget: "600", rmem: "4194304"}
	if err := s.Set(e); err != nil {
		t.Fatal(err)
	}
	host["net.core.netdev_max_backlog"] = "5000" // an administrator, during the run
	k.log = nil
	err = s.Set(nil)
	var ce *ChangedSinceError
	if !errors.As(err, &ce) || *ce != (ChangedSinceError{Sysctl: "net.core.netdev_max_backlog", Original: "1000", Set: "2000", Found: "5000"}) {
		t.Fatalf("Set after someone changed backlog: %v", err)
	}
	diffLines(t, "writes", k.log, []string{"host sysctl net.core.rmem_max=212992", "host sysctl net.core.netdev_budget=300"})
	k.log = nil
	if err := s.Set(e); err != nil {
		t.Fatalf("Set again: %v (the change was reported once)", err)
	}
	diffLines(t, "writes", k.log, []string{"host sysctl net.core.rmem_max=4194304", "host sysctl net.core.netdev_budget=600"})
	as, err := s.Applied(e)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := find(as, backlog, HostTarget); a.Status != StatusChanged || a.After != "5000" ||
		!strings.Contains(a.Detail, "asked 2000, the kernel reads back 5000; ") || !strings.Contains(a.Detail, "changed by someone else") {
		t.Errorf("backlog: %+v", a)
	}
	if a, _ := find(as, budget, HostTarget); a.Status != StatusOK || a.Detail != "" {
		t.Errorf("budget: %+v", a)
	}

	host["net.core.netdev_budget"] = "700" // someone else, after the last Set
	host["net.core.rmem_max"] = "212992"   // put back by hand
	k.log = nil
	err = s.Restore()
	if !errors.Is(err, ErrChangedSince) {
		t.Fatalf("restore: %v, want ErrChangedSince", err)
	}
	for _, want := range []string{
		"restore sysctl.net.core.netdev_budget on host: sysctl.net.core.netdev_budget: changed by someone else during the run: kept at 700 (vethbench set 600, the original was 300)",
		"restore sysctl.net.core.netdev_max_backlog on host: sysctl.net.core.netdev_max_backlog: changed by someone else during the run: kept at 5000 (vethbench set 2000, the original was 1000)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("restore's error %q\ndoes not say %q", err, want)
		}
	}
	if n := strings.Count(err.Error(), "\n"); n != 1 {
		t.Errorf("restore reported more than the two changed sysctls: %v", err)
	}
	if len(k.log) != 0 {
		t.Errorf("restore wrote %v", k.log)
	}
	if got := hostOf(k, backlog, budget, rmem); !maps.Equal(got, map[string]string{backlog: "5000", budget: "700", rmem: "212992"}) {
		t.Errorf("after restore: %v", got)
	}
	if _, err := os.Stat(j.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal file after restore: %v (nothing is left for cleanup to put back)", err)
	}
	if again := s.Restore(); again != err {
		t.Errorf("a second restore returned %v, want the first one's result", again)
	}
}

// A write the kernel refuses: Set says so and still sets the others,
// Applied reports it refused, the next Set tries again.
func TestFakeHostSwitchRefusedWrite(t *testing.T) {
	k, _ := fakePair()
	s, err := newHostSwitch(k, fakeJournal(t), []string{backlog, budget})
	if err != nil {
		t.Fatal(err)
	}
	k.fail["host write net.core.netdev_budget"] = unix.EINVAL
	e := map[string]string{backlog: "2000", budget: "600"}
	if err := s.Set(e); !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), budget+"=600") {
		t.Errorf("Set: %v", err)
	}
	as, err := s.Applied(e)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sysctl.net.core.netdev_max_backlog@host ok", "sysctl.net.core.netdev_budget@host refused"}
	diffLines(t, "applied", applied(as), want)
	if a, _ := find(as, budget, HostTarget); !errors.Is(a.Err(), ErrRefused) || a.After != "300" ||
		a.Detail != "write net.core.netdev_budget: invalid argument" {
		t.Errorf("budget: %+v", a)
	}
	delete(k.fail, "host write net.core.netdev_budget")
	if err := s.Set(e); err != nil {
		t.Fatal(err)
	}
	if as, _ := s.Applied(e); !slices.Equal(applied(as), []string{want[0], "sysctl.net.core.netdev_budget@host ok"}) {
		t.Errorf("after the retry: %v", applied(as))
	}
	if err := s.Restore(); err != nil {
		t.Fatal(err)
	}
	if got := hostOf(k, backlog, budget); got[backlog] != "1000" || got[budget] != "300" {
		t.Errorf("after restore: %v", got)
	}
}

// NewHostSwitch refuses what Apply refuses, before writing any sysctl and
// with nothing left in the journal; Set checks every value before it
// touches anything.
func TestFakeHostSwitchRefuses(t *testing.T) {
	for _, c := range []struct {
		name  string
		names []string
		nilJ  bool
		setup func(t *testing.T, k *fakeKernel, j *Journal)
		err   string
		is    error
	}{
		{name: "no journal", names: []string{backlog}, nilJ: true, err: "is host-wide and needs a journal"},
		{name: "unknown knob", names: []string{backlog, "sysctl.net.core.somaxconn"}, err: "not on vethbench's allow-list", is: ErrInvalid},
		{name: "a device knob", names: []string{"txqueuelen"}, err: "txqueuelen is set per device, not host-wide", is: ErrInvalid},
		{name: "a namespace sysctl", names: []string{"sysctl.net.ipv4.udp_early_demux"},
			err: "set per namespace, not host-wide", is: ErrInvalid},
		{name: "a sysctl the kernel lacks", names: []string{backlog, "sysctl.net.core.busy_read"},
			err: "net.core.busy_read: the kernel has no such sysctl here", is: ErrNotSupported},
		{name: "not in the initial namespace", names: []string{backlog},
			setup: func(_ *testing.T, k *fakeKernel, _ *Journal) {
				k.hostErr = errors.New("not the initial network namespace")
			},
			err: "not the initial network namespace"},
		{name: "held by a running vethbench", names: []string{budget, backlog},
			setup: func(t *testing.T, _ *fakeKernel, j *Journal) {
				init, err := ownerOf(1)
				if err != nil {
					t.Fatal(err)
				}
				plant(t, j.Dir(), init, JournalEntry{Sysctl: "net.core.netdev_max_backlog", Original: "1000", Value: "9"})
			},
			err: "another running vethbench (pid 1,"},
		{name: "left by a dead vethbench", names: []string{backlog},
			setup: func(t *testing.T, _ *fakeKernel, j *Journal) {
				dead := j.self
				dead.StartTicks++
				plant(t, j.Dir(), dead, JournalEntry{Sysctl: "net.core.netdev_max_backlog", Original: "1000", Value: "9"})
			},
			err: "run `vethbench cleanup` first"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, _ := fakePair()
			j := fakeJournal(t)
			if c.setup != nil {
				c.setup(t, k, j)
			}
			jj := j
			if c.nilJ {
				jj = nil
			}
			s, err := newHostSwitch(k, jj, c.names)
			if s != nil || err == nil || !strings.Contains(err.Error(), c.err) || c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("NewHostSwitch: %v, %v; want an error with %q wrapping %v", s, err, c.err, c.is)
			}
			if len(k.log) != 0 {
				t.Errorf("wrote %v", k.log)
			}
			if _, err := os.Stat(j.Path()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("journal file: %v", err)
			}
		})
	}

	// No names: nothing held, no journal needed, nothing to set.
	k, _ := fakePair()
	s, err := newHostSwitch(k, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(nil); err != nil || len(k.calls) != 0 {
		t.Errorf("Set(nil) holding nothing: %v, calls %v", err, k.calls)
	}
	if err := s.Set(map[string]string{backlog: "2000"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not a host sysctl this switch holds") {
		t.Errorf("Set of a sysctl not held: %v", err)
	}
	if err := s.Restore(); err != nil {
		t.Error(err)
	}

	// Set checks every value first.
	k, _ = fakePair()
	j := fakeJournal(t)
	s, err = newHostSwitch(k, j, []string{backlog})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Restore()
	for _, bad := range []map[string]string{
		{backlog: "2000", budget: "600"},
		{backlog: "2000", "txqueuelen": "5"},
		{backlog: "x"},
		{backlog: "0"},
	} {
		k.calls = nil
		if err := s.Set(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Set(%v): %v, want ErrInvalid", bad, err)
		}
		if len(k.calls) != 0 {
			t.Errorf("Set(%v) called the kernel: %v", bad, k.calls)
		}
	}
	if e := j.Entries(); len(e) != 1 || len(e[0].Values) != 0 {
		t.Errorf("journal after refused Sets: %+v", e)
	}
	if _, err := s.Applied(map[string]string{backlog: "x"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Applied of a bad value: %v", err)
	}
}

// The journal entries a switch writes are what RestoreStale reads: Values
// survive the file, and a value in them counts as vethbench's.
func TestHostSwitchJournalFile(t *testing.T) {
	k, _ := fakePair()
	j := fakeJournal(t)
	s, err := newHostSwitch(k, j, []string{backlog})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Restore()
	for _, v := range []string{"2000", "4000", "1000", "2000"} {
		if err := s.Set(map[string]string{backlog: v}); err != nil {
			t.Fatal(err)
		}
	}
	f := readJournal(t, j.Path())
	want := JournalEntry{Sysctl: "net.core.netdev_max_backlog", Original: "1000", Value: "4000", Values: []string{"2000", "4000"}}
	if len(f.Entries) != 1 {
		t.Fatalf("journal %+v", f)
	}
	got := f.Entries[0]
	got.Time = want.Time
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entry %+v, want %+v", got, want)
	}
	for v, ours := range map[string]bool{"2000": true, "4000": true, "1000": false, "3000": false} {
		if got.ours(v) != ours {
			t.Errorf("ours(%s) = %v", v, !ours)
		}
	}
}
