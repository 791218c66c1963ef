package tuning

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	// The command may hold spaces and parentheses.
	line := "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615\n"
	st, err := parseProcStat(4242, line)
	if err != nil {
		t.Fatal(err)
	}
	if st.state != 'S' || st.start != 987654 {
		t.Errorf("parsed %+v, want state S, start 987654", st)
	}
	for _, bad := range []string{"4242 (x S 1", "4242 (x) S 1 2", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 x"} {
		if _, err := parseProcStat(4242, bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
	self, err := ownerOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if self.liveness() != alive {
		t.Error("this process is not alive")
	}
	reused := self
	reused.StartTicks++
	if reused.liveness() != gone {
		t.Error("a pid with another start time is not the process that wrote the journal")
	}
	rebooted := self
	rebooted.BootID = "00000000-0000-0000-0000-000000000000"
	if rebooted.liveness() != previousBoot {
		t.Error("a journal of another boot is not from a previous boot")
	}
}

func readJournal(t *testing.T, path string) journalFile {
	t.Helper()
	f, err := readJournalFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// plant writes a journal file as process o would have.
func plant(t *testing.T, dir string, o owner, entries ...JournalEntry) string {
	t.Helper()
	path := filepath.Join(dir, "journal-"+strconv.Itoa(o.PID)+"-"+strconv.FormatUint(o.StartTicks, 10)+".json")
	if err := writeAtomic(path, journalFile{Schema: journalSchema, Version: 1, Owner: o, Entries: entries}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestJournalHoldRelease(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(j.Path()); !os.IsNotExist(err) {
		t.Fatalf("OpenJournal wrote %s", j.Path())
	}
	e1 := JournalEntry{Sysctl: "net.core.busy_poll", Original: "0", Value: "5"}
	e2 := JournalEntry{Sysctl: "net.core.busy_read", Original: "0", Value: "7"}
	if err := j.hold([]JournalEntry{e1, e2}); err != nil {
		t.Fatal(err)
	}
	f := readJournal(t, j.Path())
	if f.Owner.PID != os.Getpid() || len(f.Entries) != 2 || f.Entries[0].Original != "0" || f.Entries[1].Value != "7" {
		t.Fatalf("journal holds %+v", f)
	}
	if err := j.hold([]JournalEntry{e1}); err == nil || !strings.Contains(err.Error(), "already changed by this process") {
		t.Errorf("holding a sysctl twice: %v", err)
	}
	if err := j.release(e1.Sysctl); err != nil {
		t.Fatal(err)
	}
	if f := readJournal(t, j.Path()); len(f.Entries) != 1 || f.Entries[0].Sysctl != e2.Sysctl {
		t.Fatalf("after releasing one: %+v", f.Entries)
	}
	if err := j.release(e2.Sysctl); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(j.Path()); !os.IsNotExist(err) {
		t.Errorf("journal file left after releasing everything: %v", err)
	}
	if ents, _ := filepath.Glob(filepath.Join(dir, "journal-*")); len(ents) != 0 {
		t.Errorf("left in the journal directory: %v", ents)
	}
}

// A journal of another live process blocks the same sysctl, naming the
// process; one of a dead process asks for cleanup.
func TestJournalConflicts(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	init, err := ownerOf(1) // alive for as long as the machine is
	if err != nil {
		t.Fatal(err)
	}
	live := plant(t, dir, init, JournalEntry{Sysctl: "net.core.busy_poll", Original: "0", Value: "9"})
	err = j.hold([]JournalEntry{{Sysctl: "net.core.busy_poll", Original: "0", Value: "1"}})
	if err == nil || !strings.Contains(err.Error(), "another running vethbench (pid 1,") {
		t.Errorf("a sysctl held by a live process: %v", err)
	}
	// Other sysctls are free.
	if err := j.hold([]JournalEntry{{Sysctl: "net.core.busy_read", Original: "0", Value: "1"}}); err != nil {
		t.Errorf("a sysctl nobody holds: %v", err)
	}
	// RestoreStale leaves a live process's journal alone.
	if r, err := j.RestoreStale(); err != nil || len(r) != 0 {
		t.Errorf("RestoreStale with only live journals: %v, %v", r, err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live process's journal was removed: %v", err)
	}
	os.Remove(live)

	self, err := ownerOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	dead := self
	dead.StartTicks++ // our pid, another process: as after pid reuse
	plant(t, dir, dead, JournalEntry{Sysctl: "net.core.dev_weight", Original: "64", Value: "65"})
	err = j.hold([]JournalEntry{{Sysctl: "net.core.dev_weight", Original: "65", Value: "66"}})
	if err == nil || !strings.Contains(err.Error(), "vethbench cleanup") {
		t.Errorf("a sysctl left by a dead process: %v", err)
	}
	if err := j.release("net.core.busy_read"); err != nil {
		t.Fatal(err)
	}
}

// RestoreStale on entries it need not write: already original, changed by
// someone else since, from a previous boot, off the allow-list, corrupt.
// Writing is tested as root with a killed process (TestKillDuringHostChange).
func TestRestoreStaleWithoutWriting(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := readSysctl("net.core.busy_poll")
	if err != nil {
		t.Skipf("cannot read host sysctls: %v", err)
	}
	self, _ := ownerOf(os.Getpid())
	dead := self
	dead.StartTicks += 7
	plant(t, dir, dead,
		JournalEntry{Sysctl: "net.core.busy_poll", Original: cur, Value: cur + "1"},
		JournalEntry{Sysctl: "net.core.busy_read", Original: "x-original", Value: "x-value"})
	rebooted := self
	rebooted.PID, rebooted.BootID = 1, "00000000-0000-0000-0000-000000000000"
	plant(t, dir, rebooted, JournalEntry{Sysctl: "net.core.rmem_max", Original: "1", Value: "2"})
	other := dead
	other.StartTicks++
	foreign := plant(t, dir, other, JournalEntry{Sysctl: "kernel.panic", Original: "0", Value: "1"})
	corrupt := filepath.Join(dir, "journal-3-3.json")
	if err := os.WriteFile(corrupt, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "journal-"+strconv.Itoa(dead.PID)+"-"+strconv.FormatUint(dead.StartTicks, 10)+".json.tmp")
	if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}

	restored, err := j.RestoreStale()
	if err == nil || !strings.Contains(err.Error(), "kernel.panic") || !strings.Contains(err.Error(), "not a vethbench journal") {
		t.Errorf("RestoreStale error %v, want one naming kernel.panic and the corrupt file", err)
	}
	got := map[string]string{}
	for _, r := range restored {
		got[r.Sysctl] = r.Action
	}
	want := map[string]string{
		"net.core.busy_poll": RestoreAlready,
		"net.core.busy_read": RestoreLeft,
		"net.core.rmem_max":  RestoreRebooted,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q (all: %+v)", k, got[k], v, restored)
		}
	}
	if len(restored) != len(want) {
		t.Errorf("restored %+v", restored)
	}
	if now, _ := readSysctl("net.core.busy_poll"); now != cur {
		t.Errorf("busy_poll changed from %s to %s", cur, now)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "journal-*"))
	if len(left) != 2 || !slices.Contains(left, foreign) || !slices.Contains(left, corrupt) {
		t.Errorf("left in the directory %v, want only the journal it could not restore and the corrupt one", left)
	}
	// The entry that failed stays as it was.
	var f journalFile
	b, _ := os.ReadFile(foreign)
	if err := json.Unmarshal(b, &f); err != nil || len(f.Entries) != 1 || f.Entries[0].Sysctl != "kernel.panic" {
		t.Errorf("unrestorable journal now holds %s", b)
	}
}
