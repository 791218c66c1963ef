package host

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Info is the static part of the host context.
type Info struct {
	// Name is the host's name (uname's nodename): what tells two machines'
	// histories apart (vethbench trend).
	Name     string
	Kernel   string
	Arch     string
	CPUModel string
	VCPUs    int
}

// ReadInfo reads the host context.
func ReadInfo() (Info, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return Info{}, fmt.Errorf("uname: %w", err)
	}
	info := Info{
		Name:   unix.ByteSliceToString(u.Nodename[:]),
		Kernel: unix.ByteSliceToString(u.Release[:]),
		Arch:   runtime.GOARCH,
		VCPUs:  runtime.NumCPU(),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		info.CPUModel = cpuModel(b)
	}
	return info, nil
}

func cpuModel(cpuinfo []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// CPUTimes is the aggregate "cpu" line of /proc/stat, converted to time.
type CPUTimes struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal time.Duration
}

// Busy is time spent doing work: user, nice, system, irq and softirq. Guest
// time is already inside user and nice.
func (c CPUTimes) Busy() time.Duration {
	return c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ
}

// Total is all time the CPUs existed, steal included.
func (c CPUTimes) Total() time.Duration {
	return c.Busy() + c.Idle + c.IOWait + c.Steal
}

// Add returns c + o.
func (c CPUTimes) Add(o CPUTimes) CPUTimes {
	return CPUTimes{
		User: c.User + o.User, Nice: c.Nice + o.Nice, System: c.System + o.System,
		Idle: c.Idle + o.Idle, IOWait: c.IOWait + o.IOWait, IRQ: c.IRQ + o.IRQ,
		SoftIRQ: c.SoftIRQ + o.SoftIRQ, Steal: c.Steal + o.Steal,
	}
}

// Sub returns c - o.
func (c CPUTimes) Sub(o CPUTimes) CPUTimes {
	return CPUTimes{
		User: c.User - o.User, Nice: c.Nice - o.Nice, System: c.System - o.System,
		Idle: c.Idle - o.Idle, IOWait: c.IOWait - o.IOWait, IRQ: c.IRQ - o.IRQ,
		SoftIRQ: c.SoftIRQ - o.SoftIRQ, Steal: c.Steal - o.Steal,
	}
}

// Pct returns part as a percentage of the total, 0 when there is no total.
func (c CPUTimes) Pct(part time.Duration) float64 {
	if t := c.Total(); t > 0 {
		return 100 * float64(part) / float64(t)
	}
	return 0
}

// userHZ is the unit of /proc/stat; it is 100 on every Linux architecture
// Go supports (the kernel's USER_HZ, not CONFIG_HZ).
const userHZ = 100

// ReadCPU reads the aggregate CPU times.
func ReadCPU() (CPUTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPUTimes{}, fmt.Errorf("read /proc/stat: %w", err)
	}
	return parseStat(b)
}

func parseStat(b []byte) (CPUTimes, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return CPUTimes{}, fmt.Errorf("parse /proc/stat: unexpected first line %q", line)
	}
	return parseCPULine(f)
}

// ReadPerCPU reads each CPU's times, indexed by CPU number (a CPU that is
// offline is absent and stays zero).
func ReadPerCPU() ([]CPUTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, fmt.Errorf("read /proc/stat: %w", err)
	}
	return parsePerCPU(b)
}

// Stat is one reading of /proc/stat: all CPUs together and each CPU, from
// the same instant.
type Stat struct {
	All    CPUTimes
	PerCPU []CPUTimes // indexed by CPU number, as ReadPerCPU
}

// ReadStat reads the aggregate and the per-CPU times in one read of
// /proc/stat, so that both cover exactly the same span when two readings
// are subtracted.
func ReadStat() (Stat, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return Stat{}, fmt.Errorf("read /proc/stat: %w", err)
	}
	all, err := parseStat(b)
	if err != nil {
		return Stat{}, err
	}
	per, err := parsePerCPU(b)
	if err != nil {
		return Stat{}, err
	}
	return Stat{All: all, PerCPU: per}, nil
}

func parsePerCPU(b []byte) ([]CPUTimes, error) {
	var out []CPUTimes
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil || n < 0 || n > 1<<16 {
			return nil, fmt.Errorf("parse /proc/stat: bad CPU line %q", line)
		}
		c, err := parseCPULine(f)
		if err != nil {
			return nil, err
		}
		for len(out) <= n {
			out = append(out, CPUTimes{})
		}
		out[n] = c
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("parse /proc/stat: no per-CPU lines")
	}
	return out, nil
}

// parseCPULine reads the fields of one "cpu" or "cpuN" line.
func parseCPULine(f []string) (CPUTimes, error) {
	if len(f) < 9 {
		return CPUTimes{}, fmt.Errorf("parse /proc/stat: short line %q", strings.Join(f, " "))
	}
	var v [8]time.Duration
	for i := range v {
		n, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return CPUTimes{}, fmt.Errorf("parse /proc/stat field %d: %w", i+1, err)
		}
		v[i] = time.Duration(n) * time.Second / userHZ
	}
	return CPUTimes{User: v[0], Nice: v[1], System: v[2], Idle: v[3], IOWait: v[4], IRQ: v[5], SoftIRQ: v[6], Steal: v[7]}, nil
}
