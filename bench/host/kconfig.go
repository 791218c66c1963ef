package host

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNoConfig is returned by KernelConfig when the running kernel's build
// configuration cannot be read: no /proc/config.gz (CONFIG_IKCONFIG_PROC)
// and no /boot/config-<release>.
var ErrNoConfig = errors.New("kernel build configuration not readable")

// KernelConfig returns the value of one option of the running kernel's
// build configuration: "y", "m", a string or number as written, or "" when
// the configuration says the option is not set (or does not mention it).
// from names the file it was read from. It reads /proc/config.gz, then
// /boot/config-<release>; without either it returns ErrNoConfig.
func KernelConfig(option string) (value, from string, err error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", "", fmt.Errorf("uname: %w", err)
	}
	return kernelConfig(option, []string{"/proc/config.gz", "/boot/config-" + unix.ByteSliceToString(u.Release[:])})
}

func kernelConfig(option string, paths []string) (value, from string, err error) {
	for _, p := range paths {
		b, err := readConfig(p)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		v, err := configValue(b, option)
		if err != nil {
			return "", "", fmt.Errorf("parse %s: %w", p, err)
		}
		return v, p, nil
	}
	return "", "", ErrNoConfig
}

func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		defer z.Close()
		r = z
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// configValue finds option in a kernel .config: "CONFIG_X=value" gives
// the value (quotes kept), "# CONFIG_X is not set" or no mention gives "".
// A file that holds no CONFIG_ line at all is not a kernel configuration.
func configValue(b []byte, option string) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	seen := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "CONFIG_") || strings.HasPrefix(line, "# CONFIG_") {
			seen = true
		}
		if k, v, ok := strings.Cut(line, "="); ok && k == option {
			return v, nil
		}
		if line == "# "+option+" is not set" {
			return "", nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if !seen {
		return "", errors.New("no CONFIG_ option in it")
	}
	return "", nil
}
