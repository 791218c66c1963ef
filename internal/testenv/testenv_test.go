package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReleaseAtLeast(t *testing.T) {
	for _, tc := range []struct {
		release      string
		major, minor int
		want         bool
	}{
		{"6.1.0-28-cloud-amd64", 6, 6, false}, // make vmtest's Debian 12 kernel: cls_bpf
		{"6.6.0", 6, 6, true},
		{"6.18.44-fc-v1272", 6, 6, true},
		{"5.15.0-91-generic", 6, 6, false},
		{"7.0.1", 6, 6, true},
		{"6.10", 6, 6, true}, // 10 > 6, not "1" < "6"
	} {
		got, err := releaseAtLeast(tc.release, tc.major, tc.minor)
		if err != nil || got != tc.want {
			t.Errorf("releaseAtLeast(%q, %d, %d) = %v, %v; want %v", tc.release, tc.major, tc.minor, got, err, tc.want)
		}
	}
	if _, err := releaseAtLeast("linux", 6, 6); err == nil {
		t.Error("an unparsable release was accepted")
	}
}

// helperEnv makes TestHelperRequireRoot call RequireRoot: it is the child
// of TestRequireRootUnprivileged, run without root.
const helperEnv = "VETHBENCH_TESTENV_HELPER"

// TestHelperRequireRoot is not a test: TestRequireRootUnprivileged runs it
// as a child without root, where RequireRoot must skip it, or fail it when
// RequirePrivilegedEnv is 1.
func TestHelperRequireRoot(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	RequireRoot(t)
	t.Log("RequireRoot let an unprivileged test run")
}

// Without root a privileged test skips, and fails where CI forbids
// skipping it.
func TestRequireRootUnprivileged(t *testing.T) {
	bin := os.Args[0]
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// Run the child as nobody, from a copy it can execute.
		dir, err := os.MkdirTemp("", "testenv-") // t.TempDir's parent is 0700
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(dir, "testenv.test")
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	for _, tc := range []struct {
		require string
		fails   bool
		want    string
	}{
		{"", false, "--- SKIP: TestHelperRequireRoot"},
		{"1", true, "forbids skipping it"},
	} {
		cmd := exec.Command(bin, "-test.run=^TestHelperRequireRoot$", "-test.v")
		cmd.Dir = os.TempDir()
		cmd.Env = append(os.Environ(), helperEnv+"=1", RequirePrivilegedEnv+"="+tc.require)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.fails || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s=%q without root: %v, want failure %v and %q in:\n%s", RequirePrivilegedEnv, tc.require, err, tc.fails, tc.want, out)
		}
	}
}
