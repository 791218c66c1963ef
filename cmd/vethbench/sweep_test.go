package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vethbench/vethbench/internal/testenv"
	"github.com/vethbench/vethbench/reports/result"
)

func writeSpec(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A bad spec is one error naming file, line and field, exit 2, nothing made.
func TestSweepBadSpec(t *testing.T) {
	p := writeSpec(t, "name: x\nmeasure: {trials: 6, duration: 1s}\ngroups:\n  - question: q\n    vary:\n      pkt_size: [64, 20]\n")
	_, stderr, code := runCLI(t, "sweep", "-f", p, "--dry-run")
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if want := p + ":6: groups[0].vary.pkt_size"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
	_, stderr, code = runCLI(t, "sweep", "-f", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != exitUsage || !strings.Contains(stderr, "read spec") {
		t.Errorf("missing file: exit %d, %q", code, stderr)
	}
}

// A number that is not finite is refused in every float key of a spec,
// with exit 2 and the key's line, before anything is created.
func TestSweepNotFinite(t *testing.T) {
	for _, tc := range []struct{ measure, vary, want string }{
		{"confidence: .nan", "pkt_size: [64]", ":3: measure.confidence: want a finite number"},
		{"target: .inf", "pkt_size: [64]", ":3: measure.target: want a finite number"},
		{"target: -.Inf", "pkt_size: [64]", ":3: measure.target: want a finite number"},
		{"confidence: 0.95", "rate: [1000, .NaN]", ":6: groups[0].vary.rate: want a finite number"},
	} {
		p := writeSpec(t, "name: x\nmeasure:\n  "+tc.measure+"\ngroups:\n  - question: q\n    vary: {"+tc.vary+"}\n")
		_, stderr, code := runCLI(t, "sweep", "-f", p, "--dry-run")
		if code != exitUsage || !strings.Contains(stderr, p+tc.want) {
			t.Errorf("%s / %s: exit %d, stderr %q; want %d and %q", tc.measure, tc.vary, code, stderr, exitUsage, tc.want)
		}
	}
}

func TestSweepDryRunDefault(t *testing.T) {
	out, stderr, code := runCLI(t, "sweep", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{`sweep "default": 26 cases in 5 groups`, "Does GRO help veth?", "about "} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	def, _, _ := runCLI(t, "sweep", "--print-default")
	if !strings.Contains(def, "groups:") {
		t.Errorf("--print-default printed %q", def)
	}
}

const tinySpec = `name: tiny
measure: {trials: 2, duration: 300ms, warmup: 0s, confidence: 0.5}
groups:
  - question: veth or loopback?
    vary:
      topology: [veth, loopback, ipvlan]
  - question: does txqueuelen matter under noqueue?
    vary:
      txqueuelen: [100, 5000]
`

// A small real sweep: every case recorded (ipvlan as unsupported here), the
// result file written, the summary printed, the host left as found.
func TestSweepRuns(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	cmd := exec.Command(binary, "sweep", "-f", writeSpec(t, tinySpec), "-o", dir, "-q")
	cmd.Env = append(os.Environ(), "VETHBENCH_STATE_DIR="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, stderrOf(err))
	}
	r, err := result.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Cases) != 5 || !strings.Contains(r.Spec, "name: tiny") {
		t.Fatalf("%d cases, spec %q", len(r.Cases), r.Spec)
	}
	for _, c := range r.Cases {
		switch {
		case c.Topology.Kind == "ipvlan":
			if has, ok := testenv.KernelConfig("IPVLAN"); ok && !has && c.Status != result.StatusUnsupported {
				t.Errorf("ipvlan: %s %s", c.Status, c.Error)
			}
		case c.Status != result.StatusOK || !c.Summary.Closed || len(c.Questions) == 0:
			t.Errorf("%s: %s %s, questions %v", c.Name, c.Status, c.Error, c.Questions)
		}
	}
	if !strings.Contains(string(out), "result: "+filepath.Join(dir, "result.json")) {
		t.Errorf("output does not say where the result is:\n%s", out)
	}
}

const backlogPath = "/proc/sys/net/core/netdev_max_backlog"

func readBacklog(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(backlogPath)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// kill -9 during a sweep that changed net.core.netdev_max_backlog leaves
// it changed; `vethbench cleanup` restores it from the journal.
func TestSweepKillThenCleanup(t *testing.T) {
	testenv.RequireRoot(t)
	orig := readBacklog(t)
	t.Cleanup(func() { os.WriteFile(backlogPath, []byte(orig), 0o644) }) // last resort
	n, _ := strconv.Atoi(orig)
	changed := strconv.Itoa(n + 777)
	state := t.TempDir()
	spec := writeSpec(t, "name: k\nmeasure: {trials: 2, duration: 30s, warmup: 0s, confidence: 0.5}\ngroups:\n  - question: q\n    set: {sysctl.net.core.netdev_max_backlog: "+changed+"}\n    vary: {pkt_size: [64]}\n")
	cmd := exec.Command(binary, "sweep", "-f", spec, "-o", t.TempDir(), "-q")
	cmd.Env = append(os.Environ(), "VETHBENCH_STATE_DIR="+state)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for readBacklog(t) != changed {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the sweep never changed netdev_max_backlog")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if got := readBacklog(t); got != changed {
		t.Fatalf("after kill -9 the value is %s; the test needs it left changed (%s)", got, changed)
	}
	c := exec.Command(binary, "cleanup")
	c.Env = append(os.Environ(), "VETHBENCH_STATE_DIR="+state)
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("cleanup: %v\n%s", err, out)
	}
	if got := readBacklog(t); got != orig {
		t.Fatalf("after cleanup netdev_max_backlog is %s, want the original %s\n%s", got, orig, out)
	}
	if !strings.Contains(string(out), "netdev_max_backlog") {
		t.Errorf("cleanup did not say what it restored:\n%s", out)
	}
	c = exec.Command(binary, "cleanup")
	c.Env = append(os.Environ(), "VETHBENCH_STATE_DIR="+state)
	if out, err := c.CombinedOutput(); err != nil || !strings.Contains(string(out), "nothing to restore") {
		t.Errorf("second cleanup: %v\n%s", err, out)
	}
}

// Ctrl-C stops a sweep within 2 s, restores what it changed and still
// writes the result file, marked interrupted.
func TestSweepInterrupt(t *testing.T) {
	testenv.RequireRoot(t)
	orig := readBacklog(t)
	t.Cleanup(func() { os.WriteFile(backlogPath, []byte(orig), 0o644) }) // last resort
	n, _ := strconv.Atoi(orig)
	spec := writeSpec(t, "name: i\nmeasure: {trials: 2, duration: 30s, warmup: 0s, confidence: 0.5}\ngroups:\n  - question: q\n    set: {sysctl.net.core.netdev_max_backlog: "+strconv.Itoa(n+555)+"}\n    vary: {pkt_size: [64, 128]}\n")
	dir := t.TempDir()
	cmd := exec.Command(binary, "sweep", "-f", spec, "-o", dir)
	cmd.Env = append(os.Environ(), "VETHBENCH_STATE_DIR="+t.TempDir())
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for readBacklog(t) == orig {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the sweep never changed netdev_max_backlog")
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stopped %v after SIGINT, want within 2s", d)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
		t.Errorf("exit: %v, want %d", err, exitInterrupted)
	}
	if got := readBacklog(t); got != orig {
		t.Errorf("netdev_max_backlog is %s after Ctrl-C, want %s restored", got, orig)
	}
	r, err := result.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Interrupted {
		t.Error("the result of an interrupted sweep is not marked interrupted")
	}
}
