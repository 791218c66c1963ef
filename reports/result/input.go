package result

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxFileSize is the largest result file ReadFile, Decode and compare read:
// 64 MiB. A default interleaved sweep's file is about 2 MB; the limit is
// there so that a wrong path (/dev/zero, a huge log) is refused with a
// sentence instead of running out of memory.
const MaxFileSize = 64 << 20

// ErrInputFile marks an input path that is not a regular file within the
// size limit (a *FileError).
var ErrInputFile = errors.New("unusable input file")

// FileError is an input path that cannot be read as an input file: not a
// regular file (a directory, a FIFO, a device, a socket), larger than the
// limit, or not readable. Path is the path as given.
type FileError struct {
	Path string
	Msg  string // what is wrong, without the path
	Err  error  // the system's error behind Msg, if any
}

func (e *FileError) Error() string { return e.Path + ": " + e.Msg }

// Unwrap returns ErrInputFile and the system's error, if any.
func (e *FileError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInputFile, e.Err}
	}
	return []error{ErrInputFile}
}

// ReadInput reads the regular file at path, at most limit bytes, for the
// readers of user-given inputs (result files, Go benchmark files, sweep
// specs). Anything else is refused by a *FileError naming what it is,
// before any read: a FIFO would block the read forever and a device such as
// /dev/zero never ends. The open is non-blocking and the opened file is
// checked again (it may have been swapped after the first look), and the
// read stops when ctx is done (Ctrl-C), returning ctx's error.
func ReadInput(ctx context.Context, path string, limit int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fileErr(path, err)
	}
	if err := regular(path, fi, limit); err != nil {
		return nil, err
	}
	// O_NONBLOCK: if path became a FIFO since the Stat, the open returns
	// at once instead of waiting for a writer; the Stat below refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fileErr(path, err)
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, fileErr(path, err)
	}
	if err := regular(path, fi, limit); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, fi.Size()+1)
	chunk := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := f.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if int64(len(buf)) > limit {
			// The file grew after the Stat.
			return nil, &FileError{Path: path, Msg: fmt.Sprintf("larger than the %s limit", sizeText(limit))}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fileErr(path, err)
		}
	}
}

// regular refuses what is not a regular file of at most limit bytes.
func regular(path string, fi fs.FileInfo, limit int64) error {
	if what := kindOf(fi.Mode()); what != "" {
		return &FileError{Path: path, Msg: "is " + what + ", not a regular file"}
	}
	if fi.Size() > limit {
		return &FileError{Path: path, Msg: fmt.Sprintf("is %d bytes, larger than the %s limit", fi.Size(), sizeText(limit))}
	}
	return nil
}

// kindOf names a file type that is not a regular file; "" for a regular one.
func kindOf(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return ""
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file (mode " + m.String() + ")"
}

// sizeText is a byte count as people read it: "64 MiB", "1.5 GiB".
func sizeText(n int64) string {
	const (
		kib = 1 << 10
		mib = 1 << 20
		gib = 1 << 30
	)
	switch {
	case n >= gib:
		return trimZero(float64(n)/gib) + " GiB"
	case n >= mib:
		return trimZero(float64(n)/mib) + " MiB"
	case n >= kib:
		return trimZero(float64(n)/kib) + " KiB"
	}
	return fmt.Sprintf("%d bytes", n)
}

func trimZero(x float64) string {
	s := fmt.Sprintf("%.1f", x)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s
}

// fileErr is a system error on path as a *FileError: the path is the
// error's Path, so only what happened to it stays in Msg.
func fileErr(path string, err error) error {
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = pe.Err.Error()
	}
	return &FileError{Path: path, Msg: msg, Err: err}
}

// limitReader fails a read past max bytes, so Decode of a stream cannot
// grow without bound.
type limitReader struct {
	r   io.Reader
	n   int64 // bytes still allowed
	max int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("input larger than the %s limit", sizeText(l.max))
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
