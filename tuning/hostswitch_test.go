package tuning

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/vethbench/vethbench/internal/testenv"
)

// The switch on the host itself, with the two host sysctls the Apply tests
// change (netdev_max_backlog and netdev_budget, moved by a few packets):
// after each Set the host holds the case's values and the originals of
// the others; Restore puts both originals back and removes the journal.
func TestHostSwitchHost(t *testing.T) {
	testenv.RequireRoot(t)
	const b, g = "net.core.netdev_max_backlog", "net.core.netdev_budget"
	ob, og := mustRead(t, b), mustRead(t, g)
	t.Cleanup(func() { lastResort(t, b, ob); lastResort(t, g, og) })
	j, err := OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewHostSwitch(j, []string{SysctlPrefix + b, SysctlPrefix + g})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Restore() }) // runs before lastResort
	if vb, vg := mustRead(t, b), mustRead(t, g); vb != ob || vg != og {
		t.Errorf("NewHostSwitch changed the host: %s, %s; want %s, %s", vb, vg, ob, og)
	}
	vb, vg := plusN(t, ob, 1234), plusN(t, og, 17)
	both := map[string]string{SysctlPrefix + b: vb, SysctlPrefix + g: vg}
	for i, step := range []struct {
		values map[string]string
		b, g   string
	}{
		{map[string]string{SysctlPrefix + b: vb}, vb, og},
		{map[string]string{SysctlPrefix + g: vg}, ob, vg},
		{nil, ob, og},
		{both, vb, vg},
	} {
		if err := s.Set(step.values); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if hb, hg := mustRead(t, b), mustRead(t, g); hb != step.b || hg != step.g {
			t.Errorf("step %d (%v): the host holds %s, %s; want %s, %s", i, step.values, hb, hg, step.b, step.g)
		}
	}
	as, err := s.Applied(both)
	if err != nil {
		t.Fatal(err)
	}
	want := []Applied{
		{Knob: SysctlPrefix + b, Target: HostTarget, Asked: vb, Before: ob, After: vb, Status: StatusOK},
		{Knob: SysctlPrefix + g, Target: HostTarget, Asked: vg, Before: og, After: vg, Status: StatusOK},
	}
	if !slices.Equal(as, want) {
		t.Errorf("Applied: %+v\nwant %+v", as, want)
	}
	f := readJournal(t, j.Path())
	if len(f.Entries) != 2 || f.Entries[0].Original != ob || !slices.Equal(f.Entries[0].Values, []string{vb}) ||
		f.Entries[1].Original != og || !slices.Equal(f.Entries[1].Values, []string{vg}) {
		t.Errorf("journal while switching: %+v", f.Entries)
	}
	if err := s.Restore(); err != nil {
		t.Fatal(err)
	}
	if hb, hg := mustRead(t, b), mustRead(t, g); hb != ob || hg != og {
		t.Errorf("after Restore the host holds %s, %s; want %s, %s", hb, hg, ob, og)
	}
	if _, err := os.Stat(j.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal file after Restore: %v", err)
	}
}
