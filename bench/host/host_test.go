package host

import (
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
