package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/vethbench/vethbench/bench"
)

// isRoot and measure are run's and sweep's only ways to privilege and to
// the kernel: FuzzFlags replaces them, so that no argv it makes up can
// measure or create anything.
var (
	isRoot  = func() bool { return os.Geteuid() == 0 }
	measure = bench.Run
)

// errNeedsRoot is behind a command's refusal to run unprivileged (exit 1:
// the input was fine, the process is not allowed).
var errNeedsRoot = errors.New("needs root")

// needsRoot is the refusal of what, with why it needs root.
func needsRoot(what, why string) error {
	return &messageError{msg: fmt.Sprintf("%s needs root (%s)", what, why), err: errNeedsRoot}
}

// checkOutputFile makes sure a file can be written at path, as flag named
// it, before anything is measured: a result is written by a temporary file
// in path's directory renamed over path (result.WriteFile), a report in
// place (os.WriteFile), so the directory must exist and take a new file,
// and an existing path must be a regular file (a rename over /dev/null
// would replace the device). The probe file is removed at once. Errors name
// the user's path, never the probe's, and exit 2.
func checkOutputFile(flag, path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return usageErr(fmt.Errorf("%s %s: is a directory; give a file name", flag, path))
	case err == nil && !fi.Mode().IsRegular():
		return usageErr(fmt.Errorf("%s %s: exists and is not a regular file", flag, path))
	case err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
		return usageErr(fmt.Errorf("%s %s: %s", flag, path, reason(err)))
	case err == nil:
		// A report is written in place: the file itself must take it.
		// Opened without truncating, so nothing changes.
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return usageErr(fmt.Errorf("%s %s: cannot write it: %s", flag, path, reason(err)))
		}
		f.Close()
	}
	return probeDir(flag, path, filepath.Dir(path))
}

// checkOutputDir makes sure dir can be created (as the sweep will, once
// its journal is open) and takes new files. What it creates it removes
// again, so a sweep refused later (a host sysctl held by another) leaves no
// empty directory.
func checkOutputDir(flag, dir string) error {
	var created []string // deepest last
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		created = append([]string{d}, created...)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usageErr(fmt.Errorf("%s %s: cannot create the directory: %s", flag, dir, reason(err)))
	}
	err := probeDir(flag, dir, dir)
	for i := len(created) - 1; i >= 0; i-- {
		os.Remove(created[i])
	}
	return err
}

// probeDir creates and removes a file in dir; path is what the user gave.
func probeDir(flag, path, dir string) error {
	f, err := os.CreateTemp(dir, ".vethbench-probe-*")
	if err != nil {
		return usageErr(fmt.Errorf("%s %s: cannot write in %s: %s", flag, path, dir, reason(err)))
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("%s %s: remove the probe file: %w", flag, path, err)
	}
	return nil
}

// reason is what happened to a path, without the path (which may be the
// probe's name): "no such file or directory", "not a directory".
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
