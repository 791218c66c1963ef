package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/internal/testenv"
	"github.com/vethbench/vethbench/reports/result"
)

// vb runs the binary with VETHBENCH_STATE_DIR=state (unset when empty)
// and returns its output and exit code; prefix runs it under a wrapper
// (unshare).
func vb(t *testing.T, state string, prefix []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	argv := append(append(prefix, binary), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "VETHBENCH_STATE_DIR="+state)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

const raceSpec = `name: race
measure: {trials: 2, duration: 300ms, warmup: 0s, confidence: 0.5}
groups:
  - question: does the backlog matter?
    vary:
      sysctl.net.core.netdev_max_backlog: [%d, %d]
`

// Two sweeps that vary one host sysctl: the one that claims it first
// finishes, every case measured; the other is refused at its start, naming
// the holder's pid, with nothing measured or written. The second is
// started at 20 offsets spread over the first's run (before the claim at
// plan time, a second sweep took the sysctl between two trials and the
// first failed every case after).
func TestSweepRaceHostSysctl(t *testing.T) {
	testenv.RequireRoot(t)
	orig := readBacklog(t)
	t.Cleanup(func() { os.WriteFile(backlogPath, []byte(orig), 0o644) }) // last resort
	n, _ := strconv.Atoi(orig)
	spec := writeSpec(t, fmt.Sprintf(raceSpec, n+100, n+200))
	state := t.TempDir()
	start := func(dir string) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(binary, "sweep", "-f", spec, "-o", dir, "-q")
		cmd.Env = append(os.Environ(), "VETHBENCH_STATE_DIR="+state)
		var e bytes.Buffer
		cmd.Stdout, cmd.Stderr = nil, &e
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &e
	}
	// How long one sweep takes alone, to spread the offsets over.
	t0 := time.Now()
	solo, e := start(t.TempDir())
	if err := solo.Wait(); err != nil {
		t.Fatalf("a sweep alone: %v\n%s", err, e)
	}
	span := time.Since(t0)
	t.Logf("one sweep alone: %v", span)
	finished := 0
	for i := range 20 {
		// Over the first 85% of a run: later, the first may be done
		// already when the second starts (both then finish).
		offset := time.Duration(i) * span * 85 / 100 / 20
		d1, d2 := t.TempDir(), t.TempDir()
		first, e1 := start(d1)
		time.Sleep(offset)
		second, e2 := start(d2)
		err1, err2 := first.Wait(), second.Wait()
		// ok: exit 0 and every case measured; refused: exit 1 at the
		// start, naming the other's pid, no result written.
		check := func(who string, err error, stderr *bytes.Buffer, dir string, other *exec.Cmd) bool {
			t.Helper()
			if err == nil {
				r, rerr := result.ReadFile(filepath.Join(dir, "result.json"))
				if rerr != nil {
					t.Errorf("offset %v: %s exited 0 without a result: %v", offset, who, rerr)
					return false
				}
				for _, c := range r.Cases {
					if c.Status != result.StatusOK {
						t.Errorf("offset %v: %s: case %s %s: %s", offset, who, c.Name, c.Status, c.Error)
					}
				}
				return true
			}
			var ee *exec.ExitError
			want := fmt.Sprintf("held by another running vethbench (pid %d,", other.Process.Pid)
			if !errors.As(err, &ee) || ee.ExitCode() != exitFailure || !strings.Contains(stderr.String(), want) {
				t.Errorf("offset %v: %s: %v, stderr %q; want exit 0, or exit %d saying %q", offset, who, err, stderr, exitFailure, want)
			}
			if _, err := os.Stat(filepath.Join(dir, "result.json")); err == nil {
				t.Errorf("offset %v: %s was refused but measured and wrote a result", offset, who)
			}
			return false
		}
		ok1 := check("the first sweep", err1, e1, d1, second)
		ok2 := check("the second sweep", err2, e2, d2, first)
		switch {
		case ok1 && ok2:
			// Both ran: the second started after the first ended.
			t.Logf("offset %v: the first had finished when the second started", offset)
		case !ok1 && !ok2:
			t.Errorf("offset %v: neither sweep finished", offset)
		case ok1:
			finished++
		case offset > span/4:
			// Before that, on a loaded machine, the first may not have
			// reached its claim yet: either may win, one finishes.
			t.Errorf("offset %v: the second sweep won, although the first had run for %v", offset, offset)
		}
		// Another test on the machine may set it too: ours are restored.
		if got := readBacklog(t); got == strconv.Itoa(n+100) || got == strconv.Itoa(n+200) {
			t.Fatalf("offset %v: netdev_max_backlog is %s after both, want %s restored", offset, got, orig)
		}
	}
	if finished < 10 {
		t.Errorf("the first sweep finished (with the second refused) %d times of 20", finished)
	}
	if ents, _ := os.ReadDir(state); len(ents) > 1 { // the lock file
		t.Errorf("the state directory holds %v after the sweeps", ents)
	}
}

// A state directory open to others, or a journal file of another user's,
// is refused by run and cleanup, which then write nothing: neither the
// planted entry's value nor any file.
func TestUntrustedStateRefused(t *testing.T) {
	testenv.RequireRoot(t)
	open := t.TempDir()
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"cleanup"}, {"run", "--trials", "2", "--duration", "200ms"}} {
		_, stderr, code := vb(t, open, nil, args...)
		if code == 0 || !strings.Contains(stderr, "writable by others") || !strings.Contains(stderr, "chmod 0700 "+open) {
			t.Errorf("%s with a world-writable state directory: exit %d, %q", args[0], code, stderr)
		}
	}
	if ents, _ := os.ReadDir(open); len(ents) != 0 {
		t.Errorf("wrote %v into a world-writable state directory", ents)
	}

	// A journal of nobody's in a good directory, claiming a dead process
	// changed busy_read from (current+1) to current: obeying it would write.
	const busyRead = "/proc/sys/net/core/busy_read"
	b, err := os.ReadFile(busyRead)
	if err != nil {
		t.Skip(err)
	}
	cur := strings.TrimSpace(string(b))
	t.Cleanup(func() { os.WriteFile(busyRead, []byte(cur), 0o644) }) // last resort
	n, _ := strconv.Atoi(cur)
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	planted := filepath.Join(state, "journal-999999-1.json")
	text := fmt.Sprintf(`{"schema":"vethbench-journal","version":1,"owner":{"pid":999999,"start_ticks":1,"boot_id":%q},"entries":[{"sysctl":"net.core.busy_read","original":"%d","value":%q}]}`,
		strings.TrimSpace(string(boot)), n+1, cur)
	if err := os.WriteFile(planted, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(planted, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"cleanup"}, {"run", "--trials", "2", "--duration", "200ms"}} {
		_, stderr, code := vb(t, state, nil, args...)
		if code == 0 || !strings.Contains(stderr, planted+" is owned by uid 65534, not root") {
			t.Errorf("%s with a journal of nobody's: exit %d, %q", args[0], code, stderr)
		}
		b, _ := os.ReadFile(busyRead)
		if got := strings.TrimSpace(string(b)); got != cur {
			t.Fatalf("%s wrote busy_read=%s on the say of nobody's journal", args[0], got)
		}
	}
	if _, err := os.Stat(planted); err != nil {
		t.Errorf("the planted journal was removed: %v", err)
	}
}

// A corrupt journal blocks a run that changes a host sysctl, not one that
// changes none (a warning); cleanup with no state directory creates none;
// under a user namespace the errors say what is wrong in the user's terms.
func TestStateDirGaps(t *testing.T) {
	testenv.RequireRoot(t)
	state := t.TempDir()
	if err := os.WriteFile(filepath.Join(state, "journal-999999-1.json"), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := vb(t, state, nil, "run", "--trials", "2", "--duration", "200ms", "-q")
	if code != 0 || !strings.Contains(stderr, "warning") || !strings.Contains(stderr, "not a vethbench journal") {
		t.Errorf("run (no host sysctl) with a corrupt journal: exit %d, %q", code, stderr)
	}
	orig := readBacklog(t)
	n, _ := strconv.Atoi(orig)
	out := t.TempDir()
	_, stderr, code = vb(t, state, nil, "sweep", "-q", "-o", out, "-f", writeSpec(t, fmt.Sprintf(raceSpec, n+100, n+200)))
	if code != exitFailure || !strings.Contains(stderr, "not a vethbench journal") {
		t.Errorf("sweep of a host sysctl with a corrupt journal: exit %d, %q", code, stderr)
	}
	if got := readBacklog(t); got != orig {
		t.Errorf("netdev_max_backlog %s, want %s", got, orig)
	}

	missing := filepath.Join(t.TempDir(), "state")
	stdout, stderr, code := vb(t, missing, nil, "cleanup")
	if code != 0 || !strings.Contains(stdout, "nothing to restore") {
		t.Errorf("cleanup without a state directory: exit %d, %q %q", code, stdout, stderr)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cleanup created the state directory: %v", err)
	}

	// A user who is not root, in a user namespace of their own, is root
	// there, and root's files are nobody's (65534).
	pub, err := os.MkdirTemp("", "vethbench-userns-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	bin := filepath.Join(pub, "vethbench")
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(pub, 0o755); err != nil {
		t.Fatal(err)
	}
	userns := []string{"setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "unshare", "--user", "--map-root-user"}
	if out, err := exec.Command(userns[0], append(userns[1:], "id", "-u")...).Output(); err != nil || strings.TrimSpace(string(out)) != "0" {
		t.Logf("no user namespace for nobody here (%v, %q): the rest is not tested", err, out)
		return
	}
	roots := filepath.Join(pub, "state")
	if err := os.Mkdir(roots, 0o700); err != nil {
		t.Fatal(err)
	}
	closed := filepath.Join(t.TempDir(), "state") // under root's 0700 directory
	for _, tc := range []struct{ dir, want string }{
		{roots, roots + " is owned by uid 65534, not root"},
		{closed, closed + ": permission denied: run as root"},
	} {
		for _, args := range [][]string{{"run", "--trials", "2", "--duration", "200ms"}, {"cleanup"}} {
			cmd := exec.Command(userns[0], append(append(userns[1:], bin), args...)...)
			cmd.Env = append(os.Environ(), "VETHBENCH_STATE_DIR="+tc.dir)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "state directory "+tc.want) || strings.Contains(string(out), "journal lock") {
				t.Errorf("%s in a user namespace, state %s: %v, %q; want %q", args[0], tc.dir, err, out, tc.want)
			}
		}
	}
}
