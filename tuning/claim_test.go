package tuning

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A claimed sysctl is this process's for the whole run: another vethbench
// is refused even between two of its cases, while the process's own Apply
// and HostSwitch take it over in turn; their restores leave the entry at
// the original; Unclaim lets go of it.
func TestClaimForTheRun(t *testing.T) {
	const backlog = "sysctl.net.core.netdev_max_backlog"
	k, tg := fakePair()
	j := fakeJournal(t)
	if err := j.claim(k, []string{backlog, backlog, "gro", "sysctl.net.ipv4.ip_forward"}); err != nil {
		t.Fatal(err)
	}
	if len(k.log) != 0 {
		t.Errorf("Claim wrote %v", k.log)
	}
	e := readJournal(t, j.Path()).Entries
	if len(e) != 1 || e[0].Sysctl != "net.core.netdev_max_backlog" || e[0].Original != "1000" || e[0].Value != "1000" {
		t.Fatalf("journal after Claim: %+v", e)
	}
	// Another process (a second Journal with another owner in the same
	// directory) is refused, naming this one, before and between cases.
	other := &Journal{dir: j.Dir(), self: j.self}
	other.self.PID, other.self.StartTicks = 1, 1
	refused := func(when string) {
		t.Helper()
		err := other.hold([]JournalEntry{{Sysctl: "net.core.netdev_max_backlog", Original: "1000", Value: "3000"}})
		if err == nil || !strings.Contains(err.Error(), "another running vethbench (pid ") || !strings.Contains(err.Error(), "claimed it for its whole run") {
			t.Errorf("%s: another process's hold: %v", when, err)
		}
	}
	refused("after Claim")
	for i := range 2 {
		_, restore, err := apply(t.Context(), k, tg, []Setting{{backlog, "2000"}}, j)
		if err != nil {
			t.Fatalf("Apply %d of a claimed sysctl: %v", i, err)
		}
		if e := j.Entries(); len(e) != 1 || e[0].Value != "2000" {
			t.Errorf("Apply %d: entries %+v", i, e)
		}
		if err := restore(); err != nil {
			t.Fatal(err)
		}
		if e := readJournal(t, j.Path()).Entries; len(e) != 1 || e[0].Value != "1000" || len(e[0].Values) != 0 {
			t.Errorf("after Apply %d's restore the entry is %+v, want it kept at the original", i, e)
		}
		refused("between cases")
		sw, err := newHostSwitch(k, j, []string{backlog})
		if err != nil {
			t.Fatalf("HostSwitch %d of a claimed sysctl: %v", i, err)
		}
		if err := sw.Set(map[string]string{backlog: "4000"}); err != nil {
			t.Fatal(err)
		}
		if err := sw.Restore(); err != nil {
			t.Fatal(err)
		}
		refused("after a HostSwitch")
	}
	if got := k.sysctls[nil]["net.core.netdev_max_backlog"]; got != "1000" {
		t.Errorf("backlog %s after the run, want 1000", got)
	}
	if err := j.Unclaim(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(j.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the journal is still there after Unclaim: %v", err)
	}
	if err := other.hold([]JournalEntry{{Sysctl: "net.core.netdev_max_backlog", Original: "1000", Value: "3000"}}); err != nil {
		t.Errorf("after Unclaim another process is still refused: %v", err)
	}
	os.Remove(other.Path())
}

// A claimed sysctl a restore could not put back stays for cleanup.
func TestUnclaimKeepsUnrestored(t *testing.T) {
	const backlog = "sysctl.net.core.netdev_max_backlog"
	k, tg := fakePair()
	j := fakeJournal(t)
	if err := j.claim(k, []string{backlog}); err != nil {
		t.Fatal(err)
	}
	_, restore, err := apply(t.Context(), k, tg, []Setting{{backlog, "2000"}}, j)
	if err != nil {
		t.Fatal(err)
	}
	k.fail["host write net.core.netdev_max_backlog"] = syscall.EIO
	if err := restore(); err == nil {
		t.Fatal("the restore's write failed, but restore returned nil")
	}
	if err := j.Unclaim(); err == nil || !strings.Contains(err.Error(), "vethbench cleanup") {
		t.Errorf("Unclaim with an unrestored sysctl: %v", err)
	}
	if e := readJournal(t, j.Path()).Entries; len(e) != 1 || e[0].Value != "2000" {
		t.Errorf("the unrestored entry is not kept: %+v", e)
	}
}

// The state directory is trusted only when root owns it and nobody else
// can write it; a journal file only when root owns it and nobody else can
// write it. Nothing is read or written otherwise.
func TestStateDirTrust(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	open := t.TempDir()
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenJournal(open); !errors.Is(err, ErrStateDir) || !strings.Contains(err.Error(), "chmod 0700") {
		t.Errorf("a world-writable state directory: %v", err)
	}
	theirs := t.TempDir()
	if err := os.Chown(theirs, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenJournal(theirs); !errors.Is(err, ErrStateDir) || !strings.Contains(err.Error(), "chown root") {
		t.Errorf("a state directory of nobody's: %v", err)
	}
	for _, d := range []string{open, theirs} {
		if ents, _ := os.ReadDir(d); len(ents) != 0 {
			t.Errorf("%s: wrote %v", d, ents)
		}
	}
	missing := filepath.Join(t.TempDir(), "a", "b")
	if _, err := OpenJournal(missing); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(missing); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("a missing state directory is created %v, %v; want mode 0700", fi.Mode(), err)
	}

	dir := t.TempDir()
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := ownerOf(os.Getpid())
	dead := self
	dead.StartTicks++
	// Its entry would write busy_read if it were read: the sysctl must not
	// be off the allow-list for the refusal to mean anything.
	path := plant(t, dir, dead, JournalEntry{Sysctl: "net.core.busy_read", Original: "12345", Value: "54321"})
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	r, err := j.RestoreStale()
	if !errors.Is(err, ErrStateDir) || !strings.Contains(err.Error(), "not root") || len(r) != 0 {
		t.Errorf("RestoreStale with a journal of nobody's: %v, %v", r, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the planted journal was removed: %v", err)
	}
	if err := j.hold([]JournalEntry{{Sysctl: "net.core.busy_poll", Original: "0", Value: "1"}}); !errors.Is(err, ErrStateDir) {
		t.Errorf("hold with an untrusted journal in the directory: %v", err)
	}
	if err := os.Chown(path, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := j.RestoreStale(); !errors.Is(err, ErrStateDir) || !strings.Contains(err.Error(), "writable by others") {
		t.Errorf("RestoreStale with a world-writable journal: %v", err)
	}
	os.Remove(path)
}

// A corrupt journal is ErrBadJournal, which the CLI lets through for runs
// that change no host sysctl.
func TestBadJournalTyped(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "journal-1-1.json"), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := j.RestoreStale(); !errors.Is(err, ErrBadJournal) || errors.Is(err, ErrStateDir) {
		t.Errorf("RestoreStale with a corrupt journal: %v", err)
	}
}
