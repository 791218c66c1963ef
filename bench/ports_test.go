package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The port tests need no root: they reserve ports in a directory of their
// own, with the code the runner uses on portDir.

// Environment of a port holder: a copy of the test binary that reserves a
// port in $dir for $runID, prints it, and holds it until its stdin closes.
const (
	portHolderDir   = "VETHBENCH_TEST_PORT_DIR"
	portHolderRunID = "VETHBENCH_TEST_PORT_RUNID"
)

func init() {
	// In init, not TestMain: a holder must not run the tests.
	if dir := os.Getenv(portHolderDir); dir != "" {
		os.Exit(portHolder(dir, os.Getenv(portHolderRunID)))
	}
}

func portHolder(dir, runID string) int {
	l, err := reservePort(dir, runID)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println(l.port)
	io.Copy(io.Discard, os.Stdin)
	l.release()
	return 0
}

// Four cases at once that start their search at the same port get four
// different ports, and a port released is free again. The run id is the
// same for all four: before ports were reserved, a port was a hash of the
// run id, and four runs whose ids collide shared it.
func TestReservePortConcurrent(t *testing.T) {
	dir := t.TempDir()
	const runID = "a1b2c3"
	locks := make([]*portLock, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range locks {
		wg.Go(func() { locks[i], errs[i] = reservePort(dir, runID) })
	}
	wg.Wait()
	var ports []uint16
	for i, l := range locks {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		ports = append(ports, l.port)
	}
	checkPorts(t, ports, portOffset(runID))

	// Released, the first port of the search is taken by the next case.
	port0 := uint16(dstPortBase + portOffset(runID))
	first := slices.IndexFunc(locks, func(l *portLock) bool { return l.port == port0 })
	if first < 0 {
		t.Fatalf("nobody holds %d, the first port of the search: %v", port0, ports)
	}
	locks[first].release()
	locks[first].release() // idempotent
	again, err := reservePort(dir, runID)
	if err != nil {
		t.Fatal(err)
	}
	if again.port != port0 {
		t.Errorf("after its release, reserved %d, want the freed %d", again.port, port0)
	}
	locks[first] = again
	for _, l := range locks {
		l.release()
	}
	// Nothing is left behind.
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("lock files left after every release: %v", left)
	}
}

// checkPorts wants distinct ports, the first ones of the search from start.
func checkPorts(t *testing.T, ports []uint16, start uint32) {
	t.Helper()
	got := slices.Sorted(slices.Values(ports))
	var want []uint16
	for i := range uint32(len(ports)) {
		want = append(want, uint16(dstPortBase+(start+i)%dstPortRange))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("reserved ports %v, want %v (distinct, the first free from %d)", ports, want, dstPortBase+start)
	}
}

// Four processes at once get four different ports; a process killed with
// SIGKILL frees its port without a word, and the next reservation removes
// the file the dead one left.
func TestReservePortProcesses(t *testing.T) {
	dir := t.TempDir()
	const runID = "0f0f0f"
	type holder struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		port  uint16
	}
	hs := make([]*holder, 4)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	for i := range hs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), portHolderDir+"="+dir, portHolderRunID+"="+runID)
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		hs[i] = &holder{cmd: cmd, stdin: stdin}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		wg.Go(func() {
			line, _ := bufio.NewReader(out).ReadString('\n')
			p, err := strconv.ParseUint(strings.TrimSpace(line), 10, 16)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Sprintf("holder %d said %q", i, line))
			}
			hs[i].port = uint16(p)
		})
	}
	// Started together: every holder is searching at the same time.
	for _, h := range hs {
		if err := h.cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("holders did not report their ports within 30s")
	}
	if len(errs) > 0 {
		t.Fatal(strings.Join(errs, "; "))
	}
	var ports []uint16
	for _, h := range hs {
		ports = append(ports, h.port)
	}
	checkPorts(t, ports, portOffset(runID))

	// SIGKILL the holder of the search's first port: it is free at once.
	first := uint16(dstPortBase + portOffset(runID))
	i := slices.IndexFunc(hs, func(h *holder) bool { return h.port == first })
	if i < 0 {
		t.Fatalf("no holder of %d among %v", first, ports)
	}
	if err := hs[i].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	hs[i].cmd.Wait()
	dead := filepath.Join(dir, strconv.Itoa(int(first)))
	if _, err := os.Stat(dead); err != nil {
		t.Errorf("the killed holder's lock file: %v (expected to stay, empty, until the next reservation)", err)
	}
	// The next run to reserve a port, here another, removes it.
	other, err := reservePort(dir, "ffffff")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed holder's lock file after another reservation: %v, want it removed", err)
	}
	other.release()
	l, err := reservePort(dir, runID)
	if err != nil {
		t.Fatal(err)
	}
	if l.port != first {
		t.Errorf("after its holder was killed, reserved %d, want %d", l.port, first)
	}
	// The others are still held.
	for j, h := range hs {
		if j == i {
			continue
		}
		if o, err := tryPort(dir, h.port); err != nil || o != nil {
			o.release()
			t.Errorf("port %d of a live holder could be taken (%v)", h.port, err)
		}
	}
	l.release()
	for j, h := range hs {
		if j == i {
			continue
		}
		h.stdin.Close()
		if err := h.cmd.Wait(); err != nil {
			t.Errorf("holder of %d: %v", h.port, err)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("lock files left after every holder released or was replaced: %v", left)
	}
}
