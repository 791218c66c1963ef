package result

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Inputs that are not regular files, or too large, are refused by name
// before any read: /dev/zero would fill memory, a FIFO would block forever.
func TestReadInputRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no disk space, but a size past the limit.
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, tc := range []struct{ path, want string }{
		{"/dev/zero", "/dev/zero: is a character device, not a regular file"},
		{fifo, fifo + ": is a named pipe (FIFO), not a regular file"},
		{dir, dir + ": is a directory, not a regular file"},
		{big, big + ": is 67108865 bytes, larger than the 64 MiB limit"},
		{filepath.Join(dir, "missing.json"), "no such file or directory"},
	} {
		start := time.Now()
		_, err := ReadInput(context.Background(), tc.path, MaxFileSize)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != tc.path || !errors.Is(err, ErrInputFile) {
			t.Errorf("ReadInput(%s) = %v, want a *FileError naming the path", tc.path, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadInput(%s) = %q, want %q", tc.path, err, tc.want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("ReadInput(%s) took %v", tc.path, d)
		}
		// The same through the result reader.
		if _, err := ReadFile(tc.path); !errors.As(err, &fe) {
			t.Errorf("ReadFile(%s) = %v, want a *FileError", tc.path, err)
		}
	}
}

func TestReadInputSizeText(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(p, make([]byte, 1<<20+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadInput(context.Background(), p, 1<<20)
	if err == nil || !strings.Contains(err.Error(), "is 1048577 bytes, larger than the 1 MiB limit") {
		t.Errorf("got %v", err)
	}
	if b, err := ReadInput(context.Background(), p, 2<<20); err != nil || len(b) != 1<<20+1 {
		t.Errorf("within the limit: %d bytes, %v", len(b), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadInput(ctx, p, 2<<20); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// Decode stops at MaxFileSize bytes of a stream that never ends.
func TestDecodeLimit(t *testing.T) {
	r := &spaces{}
	_, err := Decode(r)
	if err == nil || !strings.Contains(err.Error(), "larger than the 64 MiB limit") {
		t.Fatalf("Decode(endless spaces) = %v", err)
	}
	if r.n > MaxFileSize+1<<20 {
		t.Errorf("read %d bytes", r.n)
	}
}

type spaces struct{ n int64 }

func (s *spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	s.n += int64(len(p))
	return len(p), nil
}
