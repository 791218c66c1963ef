package probe

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/host"
	"github.com/vethbench/vethbench/internal/testenv"
)

const ms = time.Millisecond

// phase builds one phase on one CPU over 300 ms: the thread's clock, and
// the CPU's user+system, softirq and idle time as /proc/stat counts them.
func phase(thread, sys, soft, idle time.Duration) irqPhase {
	return irqPhase{CPU: host.CPUTimes{System: sys, SoftIRQ: soft, Idle: idle}, Thread: thread}
}

func withKsoftirqd(p irqPhase, k time.Duration) irqPhase {
	p.Ksoftirqd = k
	return p
}

// The same situation, a thread on a free CPU spending 300 ms of which
// 250 ms in the softirq it causes, as each kernel records it, and the same
// with other work on the CPU.
func TestClassifyIRQTime(t *testing.T) {
	quiet := phase(100*ms, 100*ms, 0, 0)
	for _, tc := range []struct {
		name string
		r    irqReading
		want string
	}{
		// Without IRQ time accounting the thread's clock holds its
		// softirq: T = 300, S = 250, B = 300, overlap 250/250.
		{"off, free CPU", irqReading{Spin1: quiet, Load: phase(300*ms, 50*ms, 250*ms, 0), Spin2: quiet}, IRQTimeOff},
		// With it the clock holds only the 50 ms outside softirq.
		{"on, free CPU", irqReading{Spin1: quiet, Load: phase(50*ms, 50*ms, 250*ms, 0), Spin2: quiet}, IRQTimeOn},
		// Ticks: /proc/stat is counted in 10 ms, so it may be off by one.
		{"on, tick error", irqReading{Spin1: quiet, Load: phase(55*ms, 60*ms, 240*ms, 0), Spin2: quiet}, IRQTimeOn},
		{"off, tick error", irqReading{Spin1: quiet, Load: phase(296*ms, 40*ms, 260*ms, 10*ms), Spin2: quiet}, IRQTimeOff},
		// Part of the softirq ran in ksoftirqd, not in the thread.
		{"off, some in ksoftirqd", irqReading{Spin1: quiet, Load: phase(220*ms, 50*ms, 250*ms, 0), Spin2: quiet}, IRQTimeOff},
		// Another task took a sixth of the CPU: without IRQ time
		// accounting the thread's 250 ms hold 200 ms of softirq, and the
		// overlap still shows it (0.75).
		{"off, other work", irqReading{Spin1: phase(83*ms, 100*ms, 0, 0), Load: phase(250*ms, 100*ms, 200*ms, 0), Spin2: phase(83*ms, 100*ms, 0, 0)}, IRQTimeOff},
		// A third: the raw overlap (0.33) does not, the overlap net of
		// the other work seen while spinning (0.83) does.
		{"off, shared CPU", irqReading{Spin1: phase(67*ms, 100*ms, 0, 0), Load: phase(200*ms, 150*ms, 150*ms, 0), Spin2: phase(67*ms, 100*ms, 0, 0)}, IRQTimeOff},
		// With accounting the same sharing gives the thread 50 ms: a
		// shared CPU never says "on".
		{"on, shared CPU", irqReading{Spin1: phase(67*ms, 100*ms, 0, 0), Load: phase(50*ms, 150*ms, 150*ms, 0), Spin2: phase(67*ms, 100*ms, 0, 0)}, IRQTimeUnknown},
		// Other work that stopped while spinning cannot make "on" look
		// like "off" on a free CPU, nor the reverse.
		{"on, other work only while spinning", irqReading{Spin1: phase(50*ms, 100*ms, 0, 0), Load: phase(50*ms, 50*ms, 250*ms, 0), Spin2: phase(50*ms, 100*ms, 0, 0)}, IRQTimeUnknown},
		// Heavy other load hides the softirq charge of a kernel without
		// accounting: T + S < B. Never "on" then.
		{"off, crowded CPU", irqReading{Spin1: phase(30*ms, 100*ms, 0, 0), Load: phase(100*ms, 200*ms, 100*ms, 0), Spin2: phase(30*ms, 100*ms, 0, 0)}, IRQTimeUnknown},
		// The kernel deferred part of the softirq to ksoftirqd, which
		// is in neither the thread's clock nor anyone's but its own:
		// taken out, the rest still tells.
		{"off, some softirq in ksoftirqd", irqReading{Spin1: quiet, Load: withKsoftirqd(phase(150*ms, 50*ms, 250*ms, 0), 150*ms), Spin2: quiet}, IRQTimeOff},
		{"on, some softirq in ksoftirqd", irqReading{Spin1: quiet, Load: withKsoftirqd(phase(50*ms, 50*ms, 250*ms, 0), 150*ms), Spin2: quiet}, IRQTimeOn},
		// Nearly all of it in ksoftirqd: without taking it out a kernel
		// without accounting would read as one with it.
		{"off, softirq nearly all in ksoftirqd", irqReading{Spin1: quiet, Load: withKsoftirqd(phase(60*ms, 50*ms, 250*ms, 0), 240*ms), Spin2: quiet}, IRQTimeUnknown},
		{"too little softirq", irqReading{Spin1: quiet, Load: phase(300*ms, 260*ms, 40*ms, 0), Spin2: quiet}, IRQTimeUnknown},
		{"softirq too small a share", irqReading{Spin1: quiet, Load: phase(300*ms, 200*ms, 80*ms, 0), Spin2: quiet}, IRQTimeUnknown},
		{"between the modes", irqReading{Spin1: quiet, Load: phase(150*ms, 50*ms, 250*ms, 0), Spin2: quiet}, IRQTimeUnknown},
		{"no readings", irqReading{}, IRQTimeUnknown},
	} {
		got, why := classifyIRQTime(tc.r)
		if got != tc.want || why == "" {
			t.Errorf("%s: %s (%s), want %s", tc.name, got, why, tc.want)
		}
	}
}

func TestCombineIRQTime(t *testing.T) {
	on := IRQTime{Mode: IRQTimeOn, Detail: "overlap 0.02"}
	off := IRQTime{Mode: IRQTimeOff, Detail: "overlap 0.97"}
	unknown := IRQTime{Mode: IRQTimeUnknown, Detail: "busy"}
	noConfig := host.ErrNoConfig
	for _, tc := range []struct {
		name  string
		v     string
		cerr  error
		m     IRQTime
		want  string
		words []string
	}{
		{"not built: off whatever was measured", "", nil, unknown, IRQTimeOff, []string{"is not set", "busy"}},
		{"not built, measured off", "", nil, off, IRQTimeOff, []string{"is not set", "0.97"}},
		{"not built, measured on: the measurement is wrong", "", nil, on, IRQTimeOff, []string{"disagreed"}},
		{"built: may be disabled at boot, the measurement decides", "y", nil, off, IRQTimeOff, []string{"measured", "=y"}},
		{"built and measured on", "y", nil, on, IRQTimeOn, []string{"measured", "=y"}},
		{"built, measurement inconclusive", "y", nil, unknown, IRQTimeUnknown, []string{"=y", "busy"}},
		{"no config, measured", "", noConfig, on, IRQTimeOn, []string{"unreadable"}},
		{"no config, inconclusive", "", noConfig, unknown, IRQTimeUnknown, []string{"unreadable", "busy"}},
	} {
		got := combineIRQTime(tc.v, "/proc/config.gz", tc.cerr, tc.m)
		if got.Mode != tc.want {
			t.Errorf("%s: %+v, want %s", tc.name, got, tc.want)
		}
		for _, w := range tc.words {
			if !strings.Contains(got.Detail, w) {
				t.Errorf("%s: detail %q lacks %q", tc.name, got.Detail, w)
			}
		}
	}
}

// irqTimeByKernel is the mode of the kernels this project runs on; both
// are built without CONFIG_IRQ_TIME_ACCOUNTING.
var irqTimeByKernel = map[string]string{"6.18.": IRQTimeOff, "6.1.": IRQTimeOff}

// TestMeasureIRQTime measures, without reading the configuration, what the
// kernel is known to do. Other work on a shared machine can make a
// measurement inconclusive, never wrong: it is retried, and "unknown" is
// accepted only under emulation, where times mean little.
func TestMeasureIRQTime(t *testing.T) {
	testenv.RequireRoot(t)
	release, err := host.ReadInfo()
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	for prefix, mode := range irqTimeByKernel {
		if strings.HasPrefix(release.Kernel, prefix) {
			want = mode
		}
	}
	var got IRQTime
	for range 4 {
		if got = MeasureIRQTime(context.Background()); got.Mode != IRQTimeUnknown {
			break
		}
		t.Logf("inconclusive, again: %s", got.Detail)
	}
	t.Logf("%s: %s", got.Mode, got.Detail)
	switch {
	case want == "":
		t.Logf("no expectation for kernel %s", release.Kernel)
	case got.Mode == IRQTimeUnknown && testenv.Emulated():
		t.Logf("inconclusive under emulation")
	case got.Mode != want:
		t.Errorf("measured %s on %s, want %s", got.Mode, release.Kernel, want)
	}
	// The runner's detection agrees, from the configuration or a measurement.
	if d := DetectIRQTime(context.Background()); want != "" && d.Mode != want && !(d.Mode == IRQTimeUnknown && testenv.Emulated()) {
		t.Errorf("DetectIRQTime = %+v, want %s", d, want)
	}
}

func TestMeasureIRQTimeCanceled(t *testing.T) {
	testenv.RequireRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := MeasureIRQTime(ctx); got.Mode != IRQTimeUnknown || !strings.Contains(got.Detail, context.Canceled.Error()) {
		t.Errorf("canceled: %+v", got)
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal(ctx.Err())
	}
}

func TestParseTaskStat(t *testing.T) {
	// A command name with a space and a parenthesis, utime 239, stime 17.
	in := []byte("14 (ksoft (irq) 0) S 2 0 0 0 -1 69238848 0 0 0 0 239 17 0 0 20 0 1 0 25 0 0\n")
	if got, err := parseTaskStat(in); err != nil || got != 2560*ms {
		t.Errorf("parseTaskStat = %v, %v; want 2.56s", got, err)
	}
	if _, err := parseTaskStat([]byte("14 (x) S 2\n")); err == nil {
		t.Error("a short stat parsed")
	}
}

func TestKsoftirqdTime(t *testing.T) {
	dir, err := ksoftirqdOf(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := taskTime(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := ksoftirqdOf(1 << 20); err == nil {
		t.Error("found a ksoftirqd of a CPU that does not exist")
	}
}
