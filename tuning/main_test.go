package tuning

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/internal/testenv"
)

// The test binary doubles as the helper process of the kill tests: run
// with helperEnv set, it applies one host sysctl (or moves it with a
// HostSwitch) and waits to be killed.
const (
	helperEnv   = "VETHBENCH_TUNING_HELPER" // "after-write", "before-write" or "switch"
	helperDir   = "VETHBENCH_TUNING_HELPER_DIR"
	helperValue = "VETHBENCH_TUNING_HELPER_VALUE"
	helperKnob  = "net.core.netdev_max_backlog"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	// The host's sysctls must be exactly as the tests found them.
	host := ReadHost()
	code := testenv.Main(m)
	if after := ReadHost(); !maps.Equal(host, after) {
		fmt.Fprintf(os.Stderr, "FAIL: the tests changed host sysctls:\n  before %v\n  after  %v\n", host, after)
		for name, v := range host {
			if after[name] != v {
				_ = writeSysctl(strings.TrimPrefix(name, SysctlPrefix), v)
			}
		}
		code = 1
	}
	os.Exit(code)
}

// helper applies helperKnob = $helperValue with a journal in $helperDir,
// says "ready" on stdout (in before-write mode: once journaled, before the
// write, where it then blocks) and waits to be killed. In switch mode,
// $helperValue is a comma-separated list of values that a HostSwitch
// holding helperKnob sets in turn, "" for the original.
func helper(mode string) int {
	j, err := OpenJournal(os.Getenv(helperDir))
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	if mode == "switch" {
		s, err := NewHostSwitch(j, []string{SysctlPrefix + helperKnob})
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		for _, v := range strings.Split(os.Getenv(helperValue), ",") {
			values := map[string]string{}
			if v != "" {
				values[SysctlPrefix+helperKnob] = v
			}
			if err := s.Set(values); err != nil {
				fmt.Println("error:", err)
				return 1
			}
		}
		fmt.Println("ready")
		select {}
	}
	if mode == "before-write" {
		testHookBeforeHostWrite = func(string) {
			fmt.Println("ready")
			select {}
		}
	}
	_, _, err = Apply(context.Background(), nil, []Setting{{SysctlPrefix + helperKnob, os.Getenv(helperValue)}}, j)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	select {}
}

// startHelper runs the helper and waits for its "ready".
func startHelper(t *testing.T, mode, dir, value string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDir+"="+dir, helperValue+"="+value)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		if s != "ready" {
			t.Fatalf("helper: %q", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("helper not ready after 20s")
	}
	return cmd
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
}

// A vethbench killed with SIGKILL while it has netdev_max_backlog changed:
// the journal restores it. Meanwhile the live process's hold refuses
// another Apply, naming its pid.
func TestKillDuringHostChange(t *testing.T) {
	testenv.RequireRoot(t)
	orig := mustRead(t, helperKnob)
	t.Cleanup(func() { lastResort(t, helperKnob, orig) })
	dir := t.TempDir()
	changed := plusN(t, orig, 1234)
	cmd := startHelper(t, "after-write", dir, changed)
	pid := cmd.Process.Pid

	if v := mustRead(t, helperKnob); v != changed {
		t.Fatalf("helper ready, value %s, want %s", v, changed)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "journal-"+strconv.Itoa(pid)+"-*.json"))
	if len(files) != 1 {
		t.Fatalf("helper's journal: %v", files)
	}
	if f := readJournal(t, files[0]); len(f.Entries) != 1 || f.Entries[0].Original != orig || f.Entries[0].Value != changed {
		t.Fatalf("helper's journal holds %+v", f)
	}

	// Held by a live process: refused, nothing changed.
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, restore, err := Apply(t.Context(), nil, []Setting{{SysctlPrefix + helperKnob, orig}}, j)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("another running vethbench (pid %d,", pid)) {
		t.Errorf("Apply of a sysctl a live process holds: %v", err)
	}
	restore()
	if v := mustRead(t, helperKnob); v != changed {
		t.Errorf("refused Apply changed the value to %s", v)
	}
	// RestoreStale leaves the live process alone.
	if r, err := j.RestoreStale(); err != nil || len(r) != 0 {
		t.Errorf("RestoreStale while the helper lives: %+v, %v", r, err)
	}

	kill(t, cmd)
	if v := mustRead(t, helperKnob); v != changed {
		t.Fatalf("value %s after the kill, want the helper's %s", v, changed)
	}
	restored, err := j.RestoreStale()
	if err != nil {
		t.Fatal(err)
	}
	want := Restored{PID: pid, Sysctl: helperKnob, Original: orig, Found: changed, Action: RestoreWritten}
	if len(restored) != 1 || restored[0] != want {
		t.Errorf("RestoreStale: %+v, want %+v", restored, want)
	}
	if v := mustRead(t, helperKnob); v != orig {
		t.Errorf("value %s after RestoreStale, want %s", v, orig)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "journal-*")); len(left) != 0 {
		t.Errorf("left in the journal directory: %v", left)
	}
	// Nothing more to do the second time.
	if r, err := j.RestoreStale(); err != nil || len(r) != 0 {
		t.Errorf("second RestoreStale: %+v, %v", r, err)
	}
}

// Killed after journaling, before writing: the value never changed, and
// cleanup says so and removes the journal.
func TestKillBetweenJournalAndWrite(t *testing.T) {
	testenv.RequireRoot(t)
	orig := mustRead(t, helperKnob)
	t.Cleanup(func() { lastResort(t, helperKnob, orig) })
	dir := t.TempDir()
	cmd := startHelper(t, "before-write", dir, plusN(t, orig, 99))
	pid := cmd.Process.Pid
	kill(t, cmd)
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := j.RestoreStale()
	if err != nil {
		t.Fatal(err)
	}
	if len(restored) != 1 || restored[0].PID != pid || restored[0].Action != RestoreAlready {
		t.Errorf("RestoreStale: %+v", restored)
	}
	if v := mustRead(t, helperKnob); v != orig {
		t.Errorf("value %s, want %s", v, orig)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "journal-*")); len(left) != 0 {
		t.Errorf("left in the journal directory: %v", left)
	}
}

// Two dead processes changed one sysctl in turn (the second journaled the
// first's value as its original): restoring newest first gives back the
// first's original.
func TestRestoreStaleNewestFirst(t *testing.T) {
	testenv.RequireRoot(t)
	orig := mustRead(t, helperKnob)
	t.Cleanup(func() { lastResort(t, helperKnob, orig) })
	dir := t.TempDir()
	self, err := ownerOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	older, newer := self, self
	older.StartTicks, newer.StartTicks = self.StartTicks+100, self.StartTicks+200 // neither is this process
	v1, v2 := plusN(t, orig, 1), plusN(t, orig, 2)
	plant(t, dir, newer, JournalEntry{Sysctl: helperKnob, Original: v1, Value: v2})
	plant(t, dir, older, JournalEntry{Sysctl: helperKnob, Original: orig, Value: v1})
	if err := writeSysctl(helperKnob, v2); err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := j.RestoreStale()
	if err != nil {
		t.Fatal(err)
	}
	if len(restored) != 2 || restored[0].Found != v2 || restored[1].Found != v1 || restored[1].Action != RestoreWritten {
		t.Errorf("RestoreStale: %+v", restored)
	}
	if v := mustRead(t, helperKnob); v != orig {
		t.Errorf("value %s, want %s", v, orig)
	}
}

// A vethbench killed with SIGKILL while a HostSwitch moves
// netdev_max_backlog between cases: RestoreStale (vethbench cleanup) puts
// the original back whichever of the switch's values the sysctl holds,
// including one journaled before the last (the entry's Value is the last
// new value, 2345 above the original, while the host holds the first),
// and finds nothing to write when the switch had put the original back.
func TestKillDuringHostSwitch(t *testing.T) {
	testenv.RequireRoot(t)
	orig := mustRead(t, helperKnob)
	t.Cleanup(func() { lastResort(t, helperKnob, orig) })
	v1, v2 := plusN(t, orig, 1234), plusN(t, orig, 2345)
	for _, c := range []struct {
		name   string
		values string // what the helper sets in turn
		holds  string // the host's value when it is killed
		action string
	}{
		{"holding an earlier value", v1 + "," + v2 + ",," + v1, v1, RestoreWritten},
		{"holding the last value", v1 + "," + v2, v2, RestoreWritten},
		{"back at the original", v1 + "," + v2 + ",", orig, RestoreAlready},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Cleanup(func() { lastResort(t, helperKnob, orig) })
			dir := t.TempDir()
			cmd := startHelper(t, "switch", dir, c.values)
			pid := cmd.Process.Pid
			if v := mustRead(t, helperKnob); v != c.holds {
				t.Fatalf("helper ready, value %s, want %s", v, c.holds)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "journal-"+strconv.Itoa(pid)+"-*.json"))
			if len(files) != 1 {
				t.Fatalf("helper's journal: %v", files)
			}
			f := readJournal(t, files[0])
			if len(f.Entries) != 1 || f.Entries[0].Original != orig || f.Entries[0].Value != v2 ||
				!slices.Equal(f.Entries[0].Values, []string{v1, v2}) {
				t.Fatalf("helper's journal holds %+v, want the original %s and the values %s, %s", f.Entries, orig, v1, v2)
			}
			kill(t, cmd)
			if v := mustRead(t, helperKnob); v != c.holds {
				t.Fatalf("value %s after the kill, want the helper's %s", v, c.holds)
			}
			j, err := OpenJournal(dir)
			if err != nil {
				t.Fatal(err)
			}
			restored, err := j.RestoreStale()
			if err != nil {
				t.Fatal(err)
			}
			want := Restored{PID: pid, Sysctl: helperKnob, Original: orig, Found: c.holds, Action: c.action}
			if len(restored) != 1 || restored[0] != want {
				t.Errorf("RestoreStale: %+v, want %+v", restored, want)
			}
			if v := mustRead(t, helperKnob); v != orig {
				t.Errorf("value %s after RestoreStale, want %s", v, orig)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "journal-*")); len(left) != 0 {
				t.Errorf("left in the journal directory: %v", left)
			}
		})
	}
}
