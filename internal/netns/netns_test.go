package netns

import (
	"errors"
	"os"
	"strconv"
	"testing"

	vnetns "github.com/vishvananda/netns"

	"github.com/vethbench/vethbench/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func inode(t *testing.T, path string) string {
	t.Helper()
	s, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewDoClose(t *testing.T) {
	testenv.RequireRoot(t)
	home, err := vnetns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer home.Close()

	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ino, err := n.Inode()
	if err != nil {
		t.Fatal(err)
	}
	var inside string
	if err := n.Do(func() error {
		inside = inode(t, "/proc/thread-self/ns/net")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := "net:[" + strconv.FormatUint(ino, 10) + "]"; inside != want {
		t.Fatalf("inside Do the thread is in %s, want %s", inside, want)
	}
	// Many Do calls must never leave a thread of the runtime elsewhere.
	for range 200 {
		if err := n.Do(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
		cur, err := vnetns.Get()
		if err != nil {
			t.Fatal(err)
		}
		if !cur.Equal(home) {
			cur.Close()
			t.Fatal("a goroutine ran outside the original namespace after Do")
		}
		cur.Close()
	}
	wantErr := errors.New("boom")
	if err := n.Do(func() error { return wantErr }); !errors.Is(err, wantErr) {
		t.Fatalf("Do returned %v, want the function's error", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := n.Do(func() error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after Close: %v, want ErrClosed", err)
	}
}

func TestReadFileSeesNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	// A fresh namespace has only lo; the host has more.
	b, err := n.ReadFile("/proc/thread-self/net/dev")
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, c := range b {
		if c == '\n' {
			lines++
		}
	}
	if lines != 3 { // two header lines and lo
		t.Fatalf("/proc/thread-self/net/dev inside a new namespace has %d lines:\n%s", lines, b)
	}
}

func TestNilIsCurrentNamespace(t *testing.T) {
	var n *NS
	ran := false
	if err := n.Do(func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("nil NS: Do returned %v, ran %v", err, ran)
	}
}

func TestNetlinkHandleInside(t *testing.T) {
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
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 1 || links[0].Attrs().Name != "lo" {
		t.Fatalf("a handle opened in a new namespace lists %d links", len(links))
	}
}
