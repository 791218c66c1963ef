package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/bench/traffic"
	"github.com/vethbench/vethbench/internal/testenv"
	"github.com/vethbench/vethbench/reports/result"
)

// A short real run through the binary: the JSON result is complete and the
// accounting closes.
func TestRunJSON(t *testing.T) {
	testenv.RequireRoot(t)
	out := filepath.Join(t.TempDir(), "r.json")
	cmd := exec.Command(binary, "run", "--duration", "500ms", "--trials", "2", "--warmup", "200ms",
		"--format", "json", "-o", out, "-q")
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("vethbench run: %v\n%s", err, stderrOf(err))
	}
	var fromStdout result.Result
	if err := json.Unmarshal(stdout, &fromStdout); err != nil {
		t.Fatalf("stdout is not a JSON result: %v", err)
	}
	r, err := result.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != result.SchemaVersion || r.Host.Kernel == "" || r.Host.VCPUs < 1 || r.Tool.GoVersion == "" || len(r.Command) < 2 {
		t.Errorf("context incomplete: %+v %+v %v", r.Host, r.Tool, r.Command)
	}
	if len(r.Cases) != 1 || r.Cases[0].Status != result.StatusOK {
		t.Fatalf("cases: %+v", r.Cases)
	}
	c := r.Cases[0]
	if len(c.Trials) != 2 || c.Summary == nil || !c.Summary.Closed {
		t.Fatalf("trials %d, summary %+v, warnings %v", len(c.Trials), c.Summary, c.Warnings)
	}
	for _, role := range []string{"sender", "receiver"} {
		k, ok := c.Knobs[role]
		if !ok || k.Qdisc == "" || k.MTU != 1500 || k.TxQueues != 1 || len(k.Features) == 0 {
			t.Errorf("knobs of %s: %+v", role, k)
		}
	}
	// TCX from 6.6, cls_bpf before: a fallback on a kernel with TCX fails.
	if want := testenv.CounterHook(t); c.Counter != want {
		t.Errorf("counter hook %q, want %q on this kernel", c.Counter, want)
	}
	if c.Traffic.DstPort < 47000 || c.Traffic.DstPort >= 49000 {
		t.Errorf("destination port %d outside the range runs reserve from", c.Traffic.DstPort)
	}
}

// Under `taskset -c N` every thread is placed on CPU N, the only one
// allowed, and the result warns that the sender shares the receiver's CPU.
// Before placement read the affinity mask, nothing was pinned (one CPU
// counted) and nothing said so; with a mask of CPUs 1-2 of 3 it pinned a
// sender to CPU 0, outside the mask.
func TestRunTaskset(t *testing.T) {
	testenv.RequireRoot(t)
	allowed, err := traffic.AllowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(allowed) < 2 {
		t.Skip("needs 2 CPUs, to leave out the first")
	}
	cpu := allowed[len(allowed)-1]
	out := filepath.Join(t.TempDir(), "r.json")
	cmd := exec.Command("taskset", "-c", strconv.Itoa(cpu), binary, "run", "--duration", "300ms", "--trials", "2",
		"--warmup", "0", "-q", "--format", "json", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("taskset -c %d vethbench run: %v\n%s", cpu, err, b)
	}
	r, err := result.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	c := r.Cases[0]
	if !slices.Equal(c.Traffic.SenderCPUs, []int{cpu}) || c.Traffic.ReceiverCPU != cpu {
		t.Errorf("senders on %v, receiver on %d; want both on CPU %d, the only one allowed", c.Traffic.SenderCPUs, c.Traffic.ReceiverCPU, cpu)
	}
	if want := fmt.Sprintf("sender 0 shares CPU %d with the receiving thread", cpu); !slices.ContainsFunc(c.Warnings, func(w string) bool {
		return strings.Contains(w, want)
	}) {
		t.Errorf("warnings %q lack %q", c.Warnings, want)
	}
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// startRun starts `vethbench run` and waits until its first trial has begun
// (the topology, counters and sockets all exist).
func startRun(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"run"}, args...)...)
	cmd.Stdout = io.Discard
	pipe, err := cmd.StderrPipe()
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
	rd := bufio.NewReader(pipe)
	lines := make(chan string)
	go func() {
		defer close(lines)
		for {
			l, err := rd.ReadString('\n')
			if l != "" {
				lines <- l
			}
			if err != nil {
				return
			}
		}
	}()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("vethbench exited before its first trial")
			}
			if strings.Contains(l, "trial") || strings.Contains(l, "warmup") {
				// Keep draining stderr so the child never blocks on it.
				go func() {
					for range lines {
					}
				}()
				return cmd
			}
		case <-timeout:
			t.Fatal("no trial started within 20s")
		}
	}
}

// Ctrl-C stops a run within 2 s, cleans up and exits non-zero.
func TestInterrupt(t *testing.T) {
	testenv.RequireRoot(t)
	cmd := startRun(t, "--duration", "30s", "--trials", "3", "--warmup", "0")
	held := heldObjects(t, cmd.Process.Pid)
	start := time.Now()
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("exited %v after SIGINT, want within 2s", d)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Errorf("exit: %v, want code %d", err, exitInterrupted)
	}
	held.checkGone(t)
}

// SIGKILL gives vethbench no chance to clean up: the kernel must do it,
// because everything hangs off descriptors of the dead process.
func TestKillLeavesNothing(t *testing.T) {
	testenv.RequireRoot(t)
	for _, kind := range []string{"veth", "bridge", "macvlan", "hostnat"} {
		t.Run(kind, func(t *testing.T) {
			cmd := startRun(t, "--topology", kind, "--duration", "30s", "--trials", "3", "--warmup", "0")
			held := heldObjects(t, cmd.Process.Pid)
			if len(held.progs) == 0 || len(held.netns) < 2 {
				t.Fatalf("the running vethbench holds %d BPF programs and %d namespaces; expected its counter and its namespaces",
					len(held.progs), len(held.netns))
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			held.checkGone(t)
		})
	}
}

// Every kind runs from the command line; a kind the kernel lacks exits 3
// with "unsupported: KIND (reason)".
func TestRunEveryKind(t *testing.T) {
	testenv.RequireRoot(t)
	for _, k := range topology.Kinds {
		t.Run(string(k), func(t *testing.T) {
			cmd := exec.Command(binary, "run", "--topology", string(k), "--duration", "300ms", "--trials", "1", "--warmup", "0", "-q")
			out, err := cmd.Output()
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() == exitUnsupported {
				if want := "unsupported: " + string(k); !strings.Contains(string(ee.Stderr), want) {
					t.Fatalf("exit 3 without %q: %s", want, ee.Stderr)
				}
				if has, ok := testenv.KernelConfig(string(k)); !ok || has {
					t.Fatalf("%s reported unsupported, but the kernel config says it has it: %s", k, ee.Stderr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, stderrOf(err))
			}
			if !strings.Contains(string(out), "accounting: ") || !strings.Contains(string(out), "closed in every trial") {
				t.Errorf("output lacks a closed accounting line:\n%s", out)
			}
		})
	}
}

// Four vethbench processes at once do not collide: different run ids,
// device names and destination ports (the drop counter watches the whole
// host by port), and all finish with closed accounting.
func TestConcurrentRuns(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	var cmds [4]*exec.Cmd
	for i := range cmds {
		cmds[i] = exec.Command(binary, "run", "--topology", "bridge", "--duration", "500ms", "--trials", "2",
			"--warmup", "0", "-q", "--format", "json", "-o", filepath.Join(dir, strconv.Itoa(i)+".json"))
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	var res [4]*result.Result
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		r, err := result.ReadFile(filepath.Join(dir, strconv.Itoa(i)+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if !r.Cases[0].Summary.Closed {
			t.Errorf("run %d: accounting open: %v", i, r.Cases[0].Warnings)
		}
		res[i] = r
	}
	// They ran at the same time, or the test shows nothing.
	last, first := res[0].StartedAt, res[0].FinishedAt
	for _, r := range res {
		if r.StartedAt.After(last) {
			last = r.StartedAt
		}
		if r.FinishedAt.Before(first) {
			first = r.FinishedAt
		}
	}
	if !last.Before(first) {
		t.Fatalf("the runs did not overlap: the last started at %v, the first finished at %v", last, first)
	}
	runIDs, ifnames, ports := map[string]int{}, map[string]int{}, map[uint16]int{}
	for i, r := range res {
		c := r.Cases[0]
		for _, seen := range []struct {
			what string
			m    map[string]int
			v    string
		}{{"run id", runIDs, c.Topology.RunID}, {"sender device", ifnames, c.Knobs["sender"].Ifname}} {
			if j, dup := seen.m[seen.v]; dup {
				t.Errorf("runs %d and %d both used %s %s", j, i, seen.what, seen.v)
			}
			seen.m[seen.v] = i
		}
		if j, dup := ports[c.Traffic.DstPort]; dup {
			t.Errorf("runs %d and %d both used destination port %d", j, i, c.Traffic.DstPort)
		}
		ports[c.Traffic.DstPort] = i
	}
}

// held is what a vethbench process holds through its descriptors.
type held struct {
	progs []ebpf.ProgramID
	netns []string // "net:[inode]"
}

func heldObjects(t *testing.T, pid int) held {
	t.Helper()
	var h held
	// vethbench briefly holds its own (the initial) namespace while it
	// switches threads; that one is not vethbench's to remove.
	home, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join(fdDir, e.Name()))
		if strings.HasPrefix(target, "net:[") && target != home {
			h.netns = append(h.netns, target)
		}
		info, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "fdinfo", e.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "prog_id:"); ok {
				if id, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
					h.progs = append(h.progs, ebpf.ProgramID(id))
				}
			}
		}
	}
	return h
}

// checkGone waits (teardown in the kernel is asynchronous) until none of the
// objects exists any more and no vethbench link is in the initial namespace.
func (h held) checkGone(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := h.remaining()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left behind: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h held) remaining() []string {
	var left []string
	for _, id := range h.progs {
		if p, err := ebpf.NewProgramFromID(id); err == nil {
			p.Close()
			left = append(left, "BPF program "+strconv.Itoa(int(id)))
		}
	}
	// A namespace that no process references through a descriptor, a
	// thread or a mount is being destroyed with its devices.
	refs := namespaceRefs()
	for _, ns := range h.netns {
		if refs[ns] {
			left = append(left, "namespace "+ns)
		}
	}
	links, _ := netlink.LinkList()
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, topology.NamePrefix) {
			left = append(left, "link "+l.Attrs().Name+" in the initial namespace")
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, ns := range h.netns {
			if strings.Contains(string(b), ns) {
				left = append(left, "bind mount of "+ns)
			}
		}
	}
	return left
}

// namespaceRefs lists every network namespace some process refers to.
func namespaceRefs() map[string]bool {
	refs := map[string]bool{}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		tasks, _ := filepath.Glob(filepath.Join(p, "task", "*", "ns", "net"))
		fds, _ := filepath.Glob(filepath.Join(p, "fd", "*"))
		for _, f := range append(tasks, fds...) {
			if target, err := os.Readlink(f); err == nil && strings.HasPrefix(target, "net:[") {
				refs[target] = true
			}
		}
	}
	return refs
}
