package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vethbench/vethbench/internal/testenv"
)

// runBinary runs the built vethbench with args (as uid when uid > 0) and
// returns its output and exit code; it fails the test after 60 s.
func runBinary(t *testing.T, uid int, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	if uid > 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%q still running after 60s", args)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// An output path that cannot be written is refused before anything is
// measured, naming the user's path (not a temporary file), exit 2. The
// runs would take seconds if they measured; their stderr would show
// progress lines.
func TestOutputCheckedFirst(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	spec := writeSpec(t, "name: x\nmeasure: {trials: 6, duration: 100ms, warmup: 0s}\ngroups:\n  - question: q\n    vary: {pkt_size: [64]}\n")
	short := []string{"--trials", "1", "--duration", "100ms", "--warmup", "0"}
	env := []string{"VETHBENCH_STATE_DIR=" + filepath.Join(dir, "state")}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append([]string{"run", "-o", "/nonexistent/dir/x.json"}, short...), "-o /nonexistent/dir/x.json: cannot write in /nonexistent/dir: no such file or directory"},
		{append([]string{"run", "-o", file + "/sub.json"}, short...), "-o " + file + "/sub.json: cannot write in " + file + ": not a directory"},
		{append([]string{"run", "-o", dir}, short...), "-o " + dir + ": is a directory; give a file name"},
		// Not /dev/null: vethbench before this check renamed its result
		// over the device.
		{append([]string{"run", "-o", fifo}, short...), "-o " + fifo + ": exists and is not a regular file"},
		{[]string{"sweep", "-q", "-f", spec, "-o", file + "/out"}, "-o " + file + "/out: cannot create the directory: not a directory"},
		{[]string{"report", compareTestdata + "base.json", "-o", file + "/r.html"}, "-o " + file + "/r.html: cannot write in " + file + ": not a directory"},
		{[]string{"report", "--compare", compareTestdata + "base.json", compareTestdata + "new.json", "-o", "/nonexistent/c.html"}, "-o /nonexistent/c.html: cannot write in /nonexistent: no such file or directory"},
	} {
		t.Run(strings.Join(tc.args[:3], " "), func(t *testing.T) {
			stdout, stderr, code := runBinary(t, 0, binary, env, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) || strings.Contains(stderr, ".vethbench-") {
				t.Errorf("stderr %q, want %q", stderr, tc.want)
			}
			if strings.Count(stderr, "\n") != 1 || strings.Contains(stdout, "result:") {
				t.Errorf("measured before the check: stdout %q, stderr %q", stdout, stderr)
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) > 2 { // file and fifo
		t.Errorf("left in %s: %v", dir, ents)
	}
}

// The sweep's output check creates the directory and removes what it
// created; the sweep creates it again when it writes.
func TestCheckOutputDirLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "a", "b", "c")
	if err := checkOutputDir("-o", out); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left in %s: %v", dir, ents)
	}
	if err := os.Mkdir(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkOutputDir("-o", out); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "a")); len(ents) != 0 {
		t.Errorf("left in a: %v", ents)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err != nil {
		t.Errorf("removed a directory it did not create: %v", err)
	}
}

// nobodyBinary is a copy of the binary that the user nobody can run, in a
// directory nobody can enter, and that directory.
func nobodyBinary(t *testing.T) (bin, dir string) {
	t.Helper()
	testenv.RequireRoot(t)
	dir = t.TempDir()
	// t.TempDir's directories are 0700.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin = filepath.Join(dir, "vethbench")
	src, err := os.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

const nobody = 65534

// A read-only directory (root bypasses permissions, so the user nobody):
// report -o into it is refused up front, naming the path.
func TestOutputReadOnlyDir(t *testing.T) {
	bin, dir := nobodyBinary(t)
	res := filepath.Join(dir, "base.json")
	b, err := os.ReadFile(compareTestdata + "base.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(res, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(ro, "report.html")
	_, stderr, code := runBinary(t, nobody, bin, nil, "report", res, "-o", out)
	if want := "-o " + out + ": cannot write in " + ro + ": permission denied"; code != exitUsage || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, want)
	}
	// An existing file nobody may not write, in a directory it may.
	rw := filepath.Join(dir, "rw")
	if err := os.Mkdir(rw, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(rw, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	locked := filepath.Join(rw, "report.html")
	if err := os.WriteFile(locked, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runBinary(t, nobody, bin, nil, "report", res, "-o", locked)
	if want := "-o " + locked + ": cannot write it: permission denied"; code != exitUsage || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, want)
	}
	// The default output, beside a result in a read-only directory.
	inRO := filepath.Join(ro, "r.json")
	if err := os.WriteFile(inRO, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runBinary(t, nobody, bin, nil, "report", inRO)
	if want := "report " + out + ": cannot write in " + ro + ": permission denied"; code != exitUsage || !strings.Contains(stderr, want) {
		t.Errorf("default output: exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, want)
	}
}

// sweep refuses a user who is not root before it prints a plan that reads
// as if it were about to start; --dry-run still plans unprivileged.
func TestSweepRefusesBeforePlan(t *testing.T) {
	bin, dir := nobodyBinary(t)
	stdout, stderr, code := runBinary(t, nobody, bin, []string{"VETHBENCH_STATE_DIR=" + filepath.Join(dir, "state")}, "sweep", "-o", filepath.Join(dir, "out"))
	if code != exitFailure || !strings.Contains(stderr, "sweep needs root") || stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want %d, no plan, the refusal", code, stdout, stderr, exitFailure)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("the output directory was created")
	}
	stdout, _, code = runBinary(t, nobody, bin, nil, "sweep", "--dry-run")
	if code != exitOK || !strings.Contains(stdout, "cases in") {
		t.Errorf("--dry-run unprivileged: exit %d, stdout %q", code, stdout)
	}
}

// 0 TX or RX queues is a bad value, not "the default": the flag's default
// is 1, so 0 was typed. The peer flags' 0 means "same as" (their default).
func TestQueuesZero(t *testing.T) {
	short := []string{"--trials", "1", "--duration", "100ms", "--warmup", "0"}
	for _, tc := range []struct{ flag, want string }{
		{"--tx-queues", "--tx-queues: 0 out of range [1, 64]"},
		{"--rx-queues", "--rx-queues: 0 out of range [1, 64]"},
	} {
		_, stderr, code := runCLI(t, append([]string{"run", tc.flag, "0"}, short...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s 0: exit %d, stderr %q; want %d and %q", tc.flag, code, stderr, exitUsage, tc.want)
		}
	}
	_, stderr, code := runCLI(t, "run", "--peer-tx-queues", "-1")
	if code != exitUsage || !strings.Contains(stderr, "--peer-tx-queues: -1 out of range") {
		t.Errorf("--peer-tx-queues -1: exit %d, stderr %q", code, stderr)
	}
}
