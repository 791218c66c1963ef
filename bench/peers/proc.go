package peers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/netns"
)

// proc is a peer tool running inside one of vethbench's namespaces.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *os.File // its stdout and stderr
	done chan error
}

// start runs a program inside ns. The child is forked from a thread
// switched into ns, so it lives there; its output goes to a temporary file
// (an *os.File, so exec starts no copying goroutine inside netns.Do). It
// gets its own process group so that stop reaches what it forks (trafgen
// forks one process per CPU).
//
// cpu >= 0 pins it there: the forking thread (netns.Do's) takes that
// affinity for the fork, which the child inherits, and gets its own back.
func start(ns *netns.NS, cpu int, name string, args ...string) (*proc, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (make bench-peers installs it with apt-get)", name, err)
	}
	out, err := os.CreateTemp("", "vethbench-peer-*.out")
	if err != nil {
		return nil, err
	}
	os.Remove(out.Name()) // kept open; nothing left behind
	p := &proc{name: name, out: out, done: make(chan error, 1)}
	err = ns.Do(func() error {
		if cpu >= 0 {
			var old, set unix.CPUSet
			if err := unix.SchedGetaffinity(0, &old); err != nil {
				return err
			}
			set.Set(cpu)
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				return fmt.Errorf("pin to CPU %d: %w", cpu, err)
			}
			defer unix.SchedSetaffinity(0, &old)
		}
		p.cmd = exec.Command(path, args...)
		p.cmd.Stdout, p.cmd.Stderr = out, out
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return p.cmd.Start()
	})
	if err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	return p, nil
}

// wait waits for the program to exit by itself, at most d, then stops it.
func (p *proc) wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-ctx.Done():
		p.stop()
		return ctx.Err()
	case <-t.C:
		p.stop()
		return fmt.Errorf("%s did not finish within %v", p.name, d)
	}
}

// stop interrupts the program's process group (SIGINT: trafgen and iperf3
// print their statistics on it), then kills it if it lingers, and waits.
func (p *proc) stop() error {
	select {
	case err := <-p.done:
		p.done <- err
		return nil
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-p.done:
		p.done <- err
		return nil
	case <-time.After(3 * time.Second):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	err := <-p.done
	p.done <- err
	return nil
}

// output returns what the program printed so far.
func (p *proc) output() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d", p.out.Fd()))
	if err != nil {
		return ""
	}
	return string(b)
}

// close stops the program and releases its output file.
func (p *proc) close() {
	p.stop()
	p.out.Close()
}

// exitErr describes a failed run (err non-nil) with the tail of its output.
func (p *proc) exitErr(err error) error {
	out := strings.TrimSpace(p.output())
	if len(out) > 400 {
		out = "..." + out[len(out)-400:]
	}
	return fmt.Errorf("%s: %w: %s", p.name, err, out)
}
