package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// .ci/run refuses to run without root, before it installs or runs
// anything: a CI run without root would skip every privileged test and
// pass. As root it makes the skip a failure (RequirePrivilegedEnv).
func TestCIRunNeedsRoot(t *testing.T) {
	script, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "export "+RequirePrivilegedEnv+"=1") {
		t.Errorf(".ci/run does not export %s=1", RequirePrivilegedEnv)
	}
	// A copy in a directory of its own: were the check missing, the script
	// would find no go.mod there and do nothing of consequence.
	dir, err := os.MkdirTemp("", "ci-run-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.MkdirAll(filepath.Join(dir, ".ci"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".ci", "run"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(dir, ".ci", "run"))
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf(".ci/run without root: %v, want exit status 1", err)
	}
	if want := ".ci/run: must run as root (uid 0), not uid "; !strings.HasPrefix(string(out), want) || strings.Count(string(out), "\n") != 1 {
		t.Errorf(".ci/run without root said:\n%s\nwant one line starting %q", out, want)
	}
}
