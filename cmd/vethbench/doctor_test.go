package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/vethbench/vethbench/bench/probe"
	"github.com/vethbench/vethbench/internal/testenv"
)

func TestDoctorBadFormat(t *testing.T) {
	_, stderr, code := runCLI(t, "doctor", "--format", "xml")
	if code != exitUsage {
		t.Errorf("exit code %d, want %d", code, exitUsage)
	}
	if want := `--format: unknown format "xml" (table or json)`; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q does not contain %q", stderr, want)
	}
	if _, stderr, code := runCLI(t, "doctor", "extra"); code != exitUsage {
		t.Errorf("doctor extra: exit code %d, want %d (%s)", code, exitUsage, stderr)
	}
}

func TestDoctorHelp(t *testing.T) {
	out, _, code := runCLI(t, "doctor", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--format string", "table|json", "TCX", "cls_bpf", "NAPI", "initial namespace", "never by writing", "needs root", "IRQ time accounting", "unknown"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor --help lacks %q", want)
		}
	}
}

func TestDoctorJSON(t *testing.T) {
	testenv.RequireRoot(t)
	stdout, stderr, code := runCLI(t, "doctor", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	var r probe.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, stdout)
	}
	if it, ok := r.Lookup(probe.GroupDevice, "veth"); !ok || it.Status != probe.Yes {
		t.Errorf("veth: %+v", it)
	}
	ipvlan, ok := r.Lookup(probe.GroupDevice, "ipvlan")
	if !ok {
		t.Fatal("no ipvlan item")
	}
	release, _ := r.Lookup(probe.GroupKernel, "release")
	// The 6.18 VM is built without ipvlan (Debian's 6.1 has it as a module).
	if strings.HasPrefix(release.Detail, "6.18.") && (ipvlan.Status != probe.No || !strings.Contains(ipvlan.Detail, "ipvlan")) {
		t.Errorf("ipvlan on %s: %+v, want no with a reason", release.Detail, ipvlan)
	}
	if !strings.Contains(stdout, `"status": "no"`) || !strings.Contains(stdout, `"group": "device"`) {
		t.Errorf("JSON field names changed:\n%s", stdout)
	}
	// IRQ time accounting is reported, and decided on this project's
	// kernel, which is built without it.
	irq, ok := r.Lookup(probe.GroupCPU, "irq time accounting")
	switch {
	case !ok:
		t.Error("no irq time accounting item")
	case irq.Status == probe.Error || irq.Detail == "":
		t.Errorf("irq time accounting: %+v", irq)
	case strings.HasPrefix(release.Detail, "6.18.") && (irq.Status != probe.No || !strings.Contains(irq.Detail, "CONFIG_IRQ_TIME_ACCOUNTING is not set")):
		t.Errorf("irq time accounting on %s: %+v, want no, from the configuration", release.Detail, irq)
	}
}

func TestDoctorTable(t *testing.T) {
	testenv.RequireRoot(t)
	stdout, stderr, code := runCLI(t, "doctor")
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "items:") || !strings.Contains(last, "unsupported") {
		t.Errorf("last line is not the summary: %q", last)
	}
	for _, want := range []string{"device kinds", "\n  veth ", "qdiscs", "tracepoints", "global sysctls", "CPU", "\n  irq time accounting "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	// Columns line up: the status of every item row starts in one column.
	// Names may hold single spaces ("veth native"); columns are set apart
	// by two or more.
	row := regexp.MustCompile(`^  \S+(?: \S+)* {2,}(yes|no|unknown|error)(?:  |$)`)
	col, rows := -1, 0
	for _, l := range lines {
		if !strings.HasPrefix(l, "  ") {
			continue
		}
		m := row.FindStringSubmatchIndex(l)
		if m == nil {
			t.Errorf("not an item row: %q", l)
			continue
		}
		rows++
		if col == -1 {
			col = m[2]
		} else if m[2] != col {
			t.Errorf("status column at %d, want %d: %q", m[2], col, l)
		}
	}
	if rows < 40 {
		t.Errorf("only %d item rows", rows)
	}
}

// Without root doctor still reports: the kernel, the CPU and the sysctls'
// values, and "needs root" for what creates namespaces, devices or BPF.
// As root the binary runs as nobody, from a copy nobody can execute.
func TestDoctorUnprivileged(t *testing.T) {
	bin := binary
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		dir, err := os.MkdirTemp("", "doctor-") // the build's directory is 0700
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		b, err := os.ReadFile(binary)
		if err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(dir, "vethbench")
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	for _, format := range []string{"json", "table"} {
		cmd := exec.Command(bin, "doctor", "--format", format)
		cmd.Dir = os.TempDir()
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("doctor --format %s as nobody: %v; stderr %q", format, err, stderr.String())
		}
		if format == "table" {
			if out := stdout.String(); !strings.Contains(out, "needs root") || !strings.Contains(out, "Needs root: ") {
				t.Errorf("table without needs root:\n%s", out)
			}
			continue
		}
		var r probe.Report
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("stdout is not a JSON report: %v\n%s", err, stdout.String())
		}
		if it, ok := r.Lookup(probe.GroupKernel, "release"); !ok || it.Status != probe.Yes {
			t.Errorf("kernel release without root: %+v", it)
		}
		if it, ok := r.Lookup(probe.GroupCPU, "vcpus"); !ok || it.Status != probe.Yes {
			t.Errorf("vcpus without root: %+v", it)
		}
		for _, g := range []string{probe.GroupDevice, probe.GroupXDP, probe.GroupTC, probe.GroupQdisc, probe.GroupBPF, probe.GroupTracepoint, probe.GroupSysctlChild} {
			if it, ok := r.Lookup(g, "all"); !ok || it.Status != probe.NeedsRoot {
				t.Errorf("group %s without root: %+v, want needs root", g, it)
			}
		}
		if it, ok := r.Lookup(probe.GroupSysctl, "net.core.rmem_max"); !ok || it.Status != probe.NeedsRoot || !strings.Contains(it.Detail, "value ") {
			t.Errorf("rmem_max without root: %+v, want its value and needs root", it)
		}
		if errs := r.With(probe.Error); len(errs) > 0 {
			t.Errorf("errors without root: %+v", errs)
		}
	}
}
