package probe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/host"
)

// IRQ time accounting modes (IRQTime.Mode).
const (
	// IRQTimeOn: the kernel accounts hardirq and softirq time apart
	// (CONFIG_IRQ_TIME_ACCOUNTING, enabled): a thread's CPU clock excludes
	// the softirq work done on its CPU while it ran.
	IRQTimeOn = "on"
	// IRQTimeOff: a thread's CPU clock includes the softirq work done on
	// its CPU while it ran (on veth: the receive path of what it sent).
	IRQTimeOff = "off"
	// IRQTimeUnknown: neither the kernel's configuration nor a measurement
	// could tell.
	IRQTimeUnknown = "unknown"
)

// IRQTime says whether the running kernel charges the softirq work done
// while a thread runs to that thread's CPU clock.
type IRQTime struct {
	Mode   string // IRQTimeOn, IRQTimeOff or IRQTimeUnknown
	Detail string // how it was found, in words
}

const irqTimeOption = "CONFIG_IRQ_TIME_ACCOUNTING"

// DetectIRQTime finds the IRQ time accounting mode for the runner. A
// kernel built without CONFIG_IRQ_TIME_ACCOUNTING cannot account IRQ time
// apart, so a configuration saying so settles it at once; otherwise (the
// option is set, which the kernel may still turn off at boot, or the
// configuration cannot be read) it is measured with MeasureIRQTime, which
// needs root and takes about half a second of one CPU.
func DetectIRQTime(ctx context.Context) IRQTime {
	v, from, cerr := host.KernelConfig(irqTimeOption)
	if cerr == nil && v == "" {
		return IRQTime{Mode: IRQTimeOff, Detail: irqTimeOption + " is not set (" + from + ")"}
	}
	return combineIRQTime(v, from, cerr, MeasureIRQTime(ctx))
}

// combineIRQTime joins what the configuration says (v, read from from, or
// the error cerr) with a measurement. Only "not set" is decisive: a kernel
// built with the option may disable it at boot (an unstable TSC, or
// tsc=noirqtime on x86), which the measurement sees.
func combineIRQTime(v, from string, cerr error, m IRQTime) IRQTime {
	var cfg string
	switch {
	case cerr != nil:
		cfg = "configuration unreadable (" + cerr.Error() + ")"
	case v == "":
		cfg = irqTimeOption + " is not set (" + from + ")"
	default:
		cfg = irqTimeOption + "=" + v + " (" + from + ")"
	}
	switch {
	case cerr == nil && v == "" && m.Mode == IRQTimeOn:
		// The kernel has no code to account IRQ time apart: the
		// measurement was fooled. Say so rather than hide it.
		return IRQTime{Mode: IRQTimeOff, Detail: cfg + "; the measurement disagreed, and is wrong: " + m.Detail}
	case cerr == nil && v == "":
		return IRQTime{Mode: IRQTimeOff, Detail: cfg + "; measured: " + m.Detail}
	case m.Mode == IRQTimeUnknown:
		return IRQTime{Mode: IRQTimeUnknown, Detail: cfg + "; " + m.Detail}
	}
	return IRQTime{Mode: m.Mode, Detail: "measured: " + m.Detail + "; " + cfg}
}

// irqTime is the doctor's item: the configuration and a measurement, both
// shown.
func (p *prober) irqTime(ctx context.Context) {
	const name = "irq time accounting"
	v, from, cerr := host.KernelConfig(irqTimeOption)
	if p.unprivileged && (cerr != nil || v != "") {
		// Only a build without the option settles it unmeasured; the
		// measurement needs a scratch namespace.
		p.add(Item{Group: GroupCPU, Name: name, Status: NeedsRoot, Detail: "not measured: it sends over a scratch namespace's loopback, which needs root; " + combineIRQTime(v, from, cerr, IRQTime{Mode: IRQTimeUnknown}).Detail})
		return
	}
	if p.unprivileged {
		p.no(GroupCPU, name, "a thread's CPU clock includes the softirq it ran: "+irqTimeOption+" is not set ("+from+"); not measured (needs root)")
		return
	}
	it := combineIRQTime(v, from, cerr, MeasureIRQTime(ctx))
	switch it.Mode {
	case IRQTimeOn:
		p.yes(GroupCPU, name, "softirq time is not charged to the thread it interrupts: "+it.Detail)
	case IRQTimeOff:
		p.no(GroupCPU, name, "a thread's CPU clock includes the softirq it ran: "+it.Detail)
	default:
		p.add(Item{Group: GroupCPU, Name: name, Status: Unknown, Detail: it.Detail})
	}
}

// Phases of the measurement: the thread spins in user space (how much of
// the CPU it gets), then makes softirq work, then spins again.
const (
	irqSpin = 75 * time.Millisecond
	irqLoad = 225 * time.Millisecond
)

// irqPhase is one phase of the measurement: the pinned CPU's /proc/stat
// times, the probing thread's CPU clock and the CPU's ksoftirqd's over it.
type irqPhase struct {
	CPU       host.CPUTimes
	Thread    time.Duration
	Ksoftirqd time.Duration
}

// irqReading is one measurement on one CPU.
type irqReading struct {
	CPU                int
	Spin1, Load, Spin2 irqPhase
}

// Thresholds of classifyIRQTime.
const (
	// irqMinSoft is the least softirq time (hardirq included) the load
	// phase must show: /proc/stat counts 10 ms ticks.
	irqMinSoft = 60 * time.Millisecond
	// irqQuiet is the least share of its CPU the spinning thread must get
	// for the CPU to count as free of other work; irqShared the least for
	// the other work to be estimated from the spinning phases.
	irqQuiet  = 0.85
	irqShared = 0.5
	// irqOverlapOff and irqOverlapOn bound the overlap (below) that
	// decides each mode; between them the answer is unknown.
	// irqCorrectedOff is the bound for the overlap corrected for other
	// work, which rests on that work being steady.
	irqOverlapOff   = 0.5
	irqOverlapOn    = 0.2
	irqCorrectedOff = 0.7
)

// classifyIRQTime decides the mode from one reading. In the load phase the
// thread sends UDP GSO datagrams over a loopback, whose segmentation and
// delivery run in softirq on its own CPU: S, the CPU's softirq and hardirq
// time, is most of the CPU's busy time B. With IRQ time accounting the
// thread's clock T and S are disjoint parts of B, so T + S <= B. Without
// it T includes the softirq the thread ran, so T + S exceeds B by about
// that much. The overlap (T + S - B) / S is therefore near 1 without and
// at most about 0 with it.
//
// Other work on the CPU lowers the overlap by its share in both modes. So
// an overlap above irqOverlapOff means "off" whatever else ran; a low one
// means "on" only when the thread had the CPU to itself while spinning.
// On a shared CPU the other work, estimated from the spinning phases, is
// added back: a corrected overlap near 1 still means "off". A shared CPU
// never gives "on".
//
// Softirq the kernel defers to ksoftirqd is in no other thread's clock in
// either mode, and /proc/stat counts it as softirq in both: it would make
// a kernel without accounting look like one with it. ksoftirqd's own time
// is taken out of S and B first.
func classifyIRQTime(r irqReading) (mode, why string) {
	l := r.Load
	k := min(l.Ksoftirqd, l.CPU.SoftIRQ)
	soft, busy := l.CPU.IRQ+l.CPU.SoftIRQ-k, l.CPU.Busy()-k
	if soft < irqMinSoft || busy <= 0 || float64(soft) < 0.3*float64(busy) {
		return IRQTimeUnknown, fmt.Sprintf("CPU %d: the loopback load made too little softirq work outside ksoftirqd to tell (%v of %v busy; ksoftirqd %v)", r.CPU, soft, busy, k)
	}
	overlap := float64(l.Thread+soft-busy) / float64(soft)
	spinCPU := r.Spin1.CPU.Total() + r.Spin2.CPU.Total()
	share := 0.0
	if spinCPU > 0 {
		share = min(1, float64(r.Spin1.Thread+r.Spin2.Thread)/float64(spinCPU))
	}
	other := (1 - share) * float64(l.CPU.Total())
	corrected := overlap + other/float64(soft)
	numbers := fmt.Sprintf("CPU %d: thread clock %v, CPU busy %v of which softirq and irq %v, besides ksoftirqd's %v (overlap %.2f, %.2f net of other work); the spinning thread got %.0f%% of the CPU",
		r.CPU, l.Thread.Round(time.Millisecond), busy, soft, k.Round(time.Millisecond), overlap, corrected, 100*share)
	switch {
	case overlap >= irqOverlapOff, share >= irqShared && corrected >= irqCorrectedOff:
		return IRQTimeOff, numbers
	case overlap <= irqOverlapOn && share >= irqQuiet && l.CPU.Pct(l.CPU.Busy()) >= 100*irqQuiet:
		return IRQTimeOn, numbers
	case share < irqQuiet:
		return IRQTimeUnknown, numbers + ": other work on the CPU hides the answer"
	}
	return IRQTimeUnknown, numbers + ": between the two modes"
}

// MeasureIRQTime measures whether a thread's CPU clock includes the softirq
// work done while it runs: a thread pinned to one CPU makes softirq work
// (UDP GSO datagrams to itself over the loopback of a scratch namespace,
// segmented and dropped in softirq), and its clock is compared with the
// CPU's softirq time in /proc/stat (see classifyIRQTime). It tries up to
// two of the allowed CPUs, the idlest first, and answers IRQTimeUnknown
// with the reason when neither tells. It needs root (a namespace); no
// packet leaves the scratch namespace.
func MeasureIRQTime(ctx context.Context) IRQTime {
	cpus, err := idlestCPUs(ctx)
	if err != nil {
		return IRQTime{Mode: IRQTimeUnknown, Detail: "not measured: " + err.Error()}
	}
	var whys []string
	for _, cpu := range cpus[:min(2, len(cpus))] {
		r, err := measureIRQ(ctx, cpu)
		if err != nil {
			return IRQTime{Mode: IRQTimeUnknown, Detail: "not measured: " + err.Error()}
		}
		mode, why := classifyIRQTime(r)
		if mode != IRQTimeUnknown {
			return IRQTime{Mode: mode, Detail: why}
		}
		whys = append(whys, why)
	}
	return IRQTime{Mode: IRQTimeUnknown, Detail: "measurement inconclusive: " + strings.Join(whys, "; ")}
}

// idlestCPUs returns the CPUs this thread may run on, the idlest over the
// last 50 ms first.
func idlestCPUs(ctx context.Context) ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("read CPU affinity: %w", err)
	}
	a, err := host.ReadPerCPU()
	if err != nil {
		return nil, err
	}
	if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
		return nil, err
	}
	b, err := host.ReadPerCPU()
	if err != nil {
		return nil, err
	}
	var cpus []int
	for c := range min(len(a), len(b)) {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) == 0 {
		return nil, errors.New("no allowed CPU in /proc/stat")
	}
	idle := func(c int) time.Duration { d := b[c].Sub(a[c]); return d.Idle + d.IOWait }
	slices.SortStableFunc(cpus, func(x, y int) int { return int(idle(y) - idle(x)) })
	return cpus, nil
}

// measureIRQ takes one reading on cpu. The sockets are made in a scratch
// namespace and used from a thread pinned to cpu, which is never unpinned:
// it dies with its goroutine.
func measureIRQ(ctx context.Context, cpu int) (irqReading, error) {
	ns, h, release, err := scratch()
	if err != nil {
		return irqReading{}, fmt.Errorf("scratch namespace: %w", err)
	}
	defer release()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return irqReading{}, fmt.Errorf("find lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return irqReading{}, fmt.Errorf("set lo up: %w", err)
	}
	fd := -1
	if err := ns.Do(func() error {
		var err error
		fd, err = loopbackGSOSocket()
		return err
	}); err != nil {
		return irqReading{}, err
	}
	defer unix.Close(fd)
	ksoftirqd, err := ksoftirqdOf(cpu)
	if err != nil {
		return irqReading{}, err
	}

	type out struct {
		r   irqReading
		err error
	}
	ch := make(chan out, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the pinned thread exits with the goroutine
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			ch <- out{err: fmt.Errorf("pin to CPU %d: %w", cpu, err)}
			return
		}
		r := irqReading{CPU: cpu}
		var err error
		if r.Spin1, err = irqMeasurePhase(cpu, ksoftirqd, irqSpin, spin); err == nil {
			if r.Load, err = irqMeasurePhase(cpu, ksoftirqd, irqLoad, func(end time.Time) error { return gsoLoad(ctx, fd, end) }); err == nil {
				r.Spin2, err = irqMeasurePhase(cpu, ksoftirqd, irqSpin, spin)
			}
		}
		ch <- out{r, err}
	}()
	o := <-ch
	if o.err == nil {
		o.err = ctx.Err()
	}
	return o.r, o.err
}

// loopbackGSOSocket opens a UDP socket on 127.0.0.1 connected to itself
// that sends 60 kB datagrams as 1000-byte GSO segments. Its receive buffer
// is small, so nearly every segment is dropped in softirq after being
// segmented: the work the measurement needs, without a reader.
func loopbackGSOSocket() (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("udp socket: %w", err)
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4096); err != nil {
		return fail("set SO_RCVBUF", err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_UDP, unix.UDP_SEGMENT, 1000); err != nil {
		return fail("set UDP_SEGMENT", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fail("bind 127.0.0.1", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	if err := unix.Connect(fd, sa); err != nil {
		return fail("connect to itself", err)
	}
	return fd, nil
}

// irqMeasurePhase runs work until d has passed and returns the CPU's, the
// calling thread's and ksoftirqd's (task ksoftirqd: /proc/PID) times over
// it.
func irqMeasurePhase(cpu int, ksoftirqd string, d time.Duration, work func(end time.Time) error) (irqPhase, error) {
	a, err := host.ReadPerCPU()
	if err != nil {
		return irqPhase{}, err
	}
	k0, err := taskTime(ksoftirqd)
	if err != nil {
		return irqPhase{}, err
	}
	t0 := threadClock()
	werr := work(time.Now().Add(d))
	t1 := threadClock()
	k1, err := taskTime(ksoftirqd)
	if err != nil {
		return irqPhase{}, err
	}
	b, err := host.ReadPerCPU()
	if err != nil {
		return irqPhase{}, err
	}
	if werr != nil {
		return irqPhase{}, werr
	}
	if cpu >= len(a) || cpu >= len(b) {
		return irqPhase{}, fmt.Errorf("CPU %d not in /proc/stat", cpu)
	}
	return irqPhase{CPU: b[cpu].Sub(a[cpu]), Thread: t1 - t0, Ksoftirqd: k1 - k0}, nil
}

// ksoftirqdOf finds the /proc directory of the CPU's ksoftirqd thread.
func ksoftirqdOf(cpu int) (string, error) {
	want := "ksoftirqd/" + strconv.Itoa(cpu)
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return "", fmt.Errorf("list /proc: %w", err)
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/comm"); err == nil && strings.TrimSpace(string(b)) == want {
			return "/proc/" + e.Name(), nil
		}
	}
	return "", fmt.Errorf("no %s thread in /proc", want)
}

// taskTime is a task's CPU time: the run time in its schedstat (ns), or,
// without CONFIG_SCHED_INFO, user + system time in its stat (USER_HZ
// ticks).
func taskTime(dir string) (time.Duration, error) {
	if b, err := os.ReadFile(dir + "/schedstat"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return time.Duration(ns), nil
			}
		}
	}
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read %s/stat: %w", dir, err)
	}
	return parseTaskStat(b)
}

// parseTaskStat reads utime + stime from /proc/PID/stat. The command name
// (field 2) may hold spaces and parentheses: fields are counted after its
// closing parenthesis, where field 3 is the state.
func parseTaskStat(b []byte) (time.Duration, error) {
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse task stat %q: no command name", s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("parse task stat %q: short", s)
	}
	var sum time.Duration
	for _, v := range f[11:13] { // fields 14 (utime) and 15 (stime)
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse task stat: %w", err)
		}
		sum += time.Duration(n) * 10 * time.Millisecond // USER_HZ is 100
	}
	return sum, nil
}

// spin keeps the thread busy in user space until end, with no system call
// (time.Now reads the vDSO clock).
func spin(end time.Time) error {
	x := 0
	for time.Now().Before(end) {
		for i := range 1000 {
			x += i
		}
	}
	_ = x
	return nil
}

var gsoPayload = make([]byte, 60000)

// gsoLoad sends datagrams on fd until end.
func gsoLoad(ctx context.Context, fd int, end time.Time) error {
	for n := 0; time.Now().Before(end); n++ {
		if n%64 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if _, err := unix.Write(fd, gsoPayload); err != nil && !errors.Is(err, unix.ENOBUFS) && !errors.Is(err, unix.EAGAIN) {
			return fmt.Errorf("send on loopback: %w", err)
		}
	}
	return nil
}

// threadClock is the calling thread's CPU clock.
func threadClock() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
