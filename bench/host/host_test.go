package host

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	in := []byte("cpu  100 5 50 1000 10 1 4 30 0 0\ncpu0 50 2 25 500 5 0 2 15 0 0\n")
	c, err := parseStat(in)
	if err != nil {
		t.Fatal(err)
	}
	tick := 10 * time.Millisecond
	if c.User != 100*tick || c.Steal != 30*tick || c.SoftIRQ != 4*tick {
		t.Fatalf("parsed %+v", c)
	}
	if got, want := c.Busy(), 160*tick; got != want {
		t.Errorf("Busy = %v, want %v", got, want)
	}
	if got, want := c.Total(), 1200*tick; got != want {
		t.Errorf("Total = %v, want %v", got, want)
	}
	if got := c.Pct(c.Steal); got != 2.5 {
		t.Errorf("steal pct = %v, want 2.5", got)
	}
	if _, err := parseStat([]byte("intr 1 2 3\n")); err == nil {
		t.Error("a file without the cpu line parsed")
	}
}

func TestCPUModel(t *testing.T) {
	in := []byte("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz\n")
	if got, want := cpuModel(in), "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"; got != want {
		t.Fatalf("cpuModel = %q, want %q", got, want)
	}
}

func TestReadLive(t *testing.T) {
	info, err := ReadInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.Kernel == "" || info.VCPUs < 1 {
		t.Fatalf("ReadInfo = %+v", info)
	}
	a, err := ReadCPU()
	if err != nil {
		t.Fatal(err)
	}
	if a.Total() <= 0 {
		t.Fatalf("no CPU time in %+v", a)
	}
}

func TestParsePerCPU(t *testing.T) {
	stat := "cpu  10 0 20 300 0 0 5 1 0 0\ncpu0 4 0 10 150 0 0 5 1 0 0\ncpu1 6 0 10 150 0 0 0 0 0 0\nintr 1 2\n"
	cpus, err := parsePerCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if len(cpus) != 2 || cpus[0].SoftIRQ != 50*time.Millisecond || cpus[1].User != 60*time.Millisecond {
		t.Fatalf("got %+v", cpus)
	}
	if _, err := parsePerCPU([]byte("cpu 1 2 3 4 5 6 7 8\n")); err == nil {
		t.Fatal("no per-CPU lines accepted")
	}
	if live, err := ReadPerCPU(); err != nil || len(live) == 0 {
		t.Fatalf("ReadPerCPU: %v, %d CPUs", err, len(live))
	}
}

func TestReadStat(t *testing.T) {
	s, err := ReadStat()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.PerCPU) == 0 || s.All.Total() <= 0 {
		t.Fatalf("ReadStat = %+v", s)
	}
	// One read: the CPUs add up to the aggregate line, to a tick each.
	var sum CPUTimes
	for _, c := range s.PerCPU {
		sum.User += c.User
		sum.System += c.System
		sum.Idle += c.Idle
	}
	slack := time.Duration(len(s.PerCPU)) * time.Second / userHZ
	for name, d := range map[string][2]time.Duration{"user": {sum.User, s.All.User}, "system": {sum.System, s.All.System}, "idle": {sum.Idle, s.All.Idle}} {
		if diff := d[0] - d[1]; diff > slack || diff < -slack {
			t.Errorf("%s: CPUs sum to %v, the aggregate says %v", name, d[0], d[1])
		}
	}
}

func TestKernelConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := "#\n# Automatically generated file; DO NOT EDIT.\nCONFIG_TICK_CPU_ACCOUNTING=y\n# CONFIG_IRQ_TIME_ACCOUNTING is not set\nCONFIG_HZ=250\nCONFIG_LOCALVERSION=\"-fc\"\n"
	plain := filepath.Join(dir, "config-6.1")
	if err := os.WriteFile(plain, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	z := gzip.NewWriter(&gz)
	z.Write([]byte(strings.Replace(cfg, "# CONFIG_IRQ_TIME_ACCOUNTING is not set", "CONFIG_IRQ_TIME_ACCOUNTING=y", 1)))
	z.Close()
	gzPath := filepath.Join(dir, "config.gz")
	if err := os.WriteFile(gzPath, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "absent")
	for _, tc := range []struct {
		option     string
		paths      []string
		want, from string
		err        error
	}{
		{"CONFIG_IRQ_TIME_ACCOUNTING", []string{missing, plain}, "", plain, nil},
		{"CONFIG_IRQ_TIME_ACCOUNTING", []string{gzPath, plain}, "y", gzPath, nil},
		{"CONFIG_HZ", []string{plain}, "250", plain, nil},
		{"CONFIG_LOCALVERSION", []string{plain}, `"-fc"`, plain, nil},
		{"CONFIG_HZ_250", []string{plain}, "", plain, nil}, // not mentioned: not set
		{"CONFIG_TICK_CPU_ACCOUNTING", []string{missing}, "", "", ErrNoConfig},
	} {
		got, from, err := kernelConfig(tc.option, tc.paths)
		if got != tc.want || from != tc.from || !errors.Is(err, tc.err) {
			t.Errorf("%s from %v: %q, %q, %v; want %q, %q, %v", tc.option, tc.paths, got, from, err, tc.want, tc.from, tc.err)
		}
	}
	notConfig := filepath.Join(dir, "notes")
	os.WriteFile(notConfig, []byte("hello\n"), 0o644)
	if _, _, err := kernelConfig("CONFIG_HZ", []string{notConfig}); err == nil || errors.Is(err, ErrNoConfig) {
		t.Errorf("a file without options: %v, want a parse error", err)
	}
	// The live kernel: either a value (possibly "") from a file, or ErrNoConfig.
	if _, from, err := KernelConfig("CONFIG_HZ"); err != nil && !errors.Is(err, ErrNoConfig) || err == nil && from == "" {
		t.Errorf("KernelConfig: %q, %v", from, err)
	}
}
