package netns

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/vethbench/vethbench/internal/testenv"
)

func TestDoSysfsSeesNamespaceDevices(t *testing.T) {
	testenv.RequireRoot(t)
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	h, err := n.NetlinkHandle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	a := netlink.NewLinkAttrs()
	a.Name = "vbsysfs0"
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: a, PeerName: "vbsysfs1", PeerTxQLen: -1}); err != nil {
		t.Fatal(err)
	}
	mntBefore := inode(t, "/proc/thread-self/ns/mnt")
	hostMounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}

	var names []string
	var threshold []byte
	err = n.DoSysfs(func(root string) error {
		ents, err := os.ReadDir(filepath.Join(root, "class/net"))
		if err != nil {
			return err
		}
		for _, e := range ents {
			names = append(names, e.Name())
		}
		threshold, err = os.ReadFile(filepath.Join(root, "class/net/vbsysfs0/gro_flush_timeout"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	devs := map[string]bool{"lo": true, "vbsysfs0": true, "vbsysfs1": true}
	if len(names) != len(devs) {
		t.Fatalf("the namespace's sysfs lists %v, want exactly lo, vbsysfs0, vbsysfs1", names)
	}
	for _, name := range names {
		if !devs[name] {
			t.Fatalf("the namespace's sysfs lists %v, want exactly lo, vbsysfs0, vbsysfs1", names)
		}
	}
	if len(threshold) == 0 {
		t.Error("gro_flush_timeout read empty")
	}

	// Nothing leaked into the caller's mount namespace or the host's mounts.
	for range 20 {
		if err := n.DoSysfs(func(string) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if got := inode(t, "/proc/thread-self/ns/mnt"); got != mntBefore {
			t.Fatalf("a goroutine runs in mount namespace %s after DoSysfs, want %s", got, mntBefore)
		}
	}
	after, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(hostMounts) {
		t.Errorf("the process's mounts changed:\nbefore:\n%s\nafter:\n%s", hostMounts, after)
	}
	if _, err := os.Stat("/sys/class/net/vbsysfs0"); err == nil {
		t.Error("the host's /sys shows a device of the namespace")
	}

	// No thread of the process stays in the namespace (the main thread
	// must never be parked there). A locked thread exits just after its
	// goroutine has answered: give it a moment.
	ino, err := n.Inode()
	if err != nil {
		t.Fatal(err)
	}
	want := "net:[" + strconv.FormatUint(ino, 10) + "]"
	inside := func() []string {
		tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
		var in []string
		for _, task := range tasks {
			if s, err := os.Readlink(task); err == nil && s == want {
				in = append(in, task)
			}
		}
		return in
	}
	for deadline := time.Now().Add(2 * time.Second); len(inside()) > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if in := inside(); len(in) > 0 {
		t.Errorf("threads still in the namespace 2s after DoSysfs returned: %v", in)
	}

	boom := errors.New("boom")
	if err := n.DoSysfs(func(string) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("DoSysfs returned %v, want the function's error", err)
	}
	n.Close()
	if err := n.DoSysfs(func(string) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("DoSysfs after Close: %v, want ErrClosed", err)
	}
}

func TestDoSysfsNilIsCurrentNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	var n *NS
	var found bool
	err := n.DoSysfs(func(root string) error {
		_, err := os.Stat(filepath.Join(root, "class/net/lo"))
		found = err == nil
		return nil
	})
	if err != nil || !found {
		t.Fatalf("nil NS: DoSysfs returned %v, lo found %v", err, found)
	}
}
