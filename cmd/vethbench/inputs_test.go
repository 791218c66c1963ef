package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Spec and result inputs that are not regular files, or are too large, get
// one clear sentence naming the path and what it is, exit 2, at once: no
// read of /dev/zero until memory runs out, no FIFO blocking forever, no
// goroutine trace. The real binary, so a hang or a crash shows.
func TestInputsNotRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sparse := func(name string, size int64) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bigSpec := sparse("big.yaml", 1<<20+1)
	bigResult := sparse("big.json", 64<<20+1)
	base := compareTestdata + "base.json"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", "--dry-run", "-f", "/dev/zero"}, "read spec: /dev/zero: is a character device, not a regular file"},
		{[]string{"sweep", "--dry-run", "-f", fifo}, "read spec: " + fifo + ": is a named pipe (FIFO), not a regular file"},
		{[]string{"sweep", "--dry-run", "-f", dir}, "read spec: " + dir + ": is a directory, not a regular file"},
		{[]string{"sweep", "--dry-run", "-f", bigSpec}, "read spec: " + bigSpec + ": is 1048577 bytes, larger than the 1 MiB limit"},
		{[]string{"compare", "/dev/zero", base}, "/dev/zero: is a character device, not a regular file"},
		{[]string{"compare", base, fifo}, fifo + ": is a named pipe (FIFO), not a regular file"},
		{[]string{"compare", dir, base}, dir + ": is a directory, not a regular file"},
		{[]string{"compare", base, bigResult}, bigResult + ": is 67108865 bytes, larger than the 64 MiB limit"},
		{[]string{"report", "/dev/zero"}, "/dev/zero: is a character device, not a regular file"},
		{[]string{"report", fifo}, fifo + ": is a named pipe (FIFO), not a regular file"},
		{[]string{"report", dir}, dir + ": is a directory, not a regular file"},
		{[]string{"report", bigResult}, bigResult + ": is 67108865 bytes, larger than the 64 MiB limit"},
		{[]string{"report", "--compare", fifo, base}, fifo + ": is a named pipe (FIFO), not a regular file"},
		{[]string{"report", "--compare", base, "/dev/zero"}, "/dev/zero: is a character device, not a regular file"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, tc.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("still running after %v", time.Since(start))
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
				t.Errorf("exit %v, want %d; stderr %q", err, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.want)
			}
			if n := strings.Count(stderr.String(), "\n"); n != 1 || strings.Contains(stderr.String(), "goroutine") {
				t.Errorf("stderr is %d lines, want one: %q", n, stderr.String())
			}
			if strings.Contains(tc.args[0], "sweep") && stdout.Len() > 0 {
				t.Errorf("a plan printed for an unreadable spec: %q", stdout.String())
			}
		})
	}
}
