package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench"
	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/reports"
	"github.com/vethbench/vethbench/reports/result"
	"github.com/vethbench/vethbench/tuning/spec"
)

// Rough fixed costs of a case beside its windows, for time-left estimates.
const (
	setupCost = 300 * time.Millisecond // topology, counters, sockets, teardown
	drainCost = 100 * time.Millisecond // after each window
)

// progressLine prints progress on stderr: on a terminal one line rewritten
// in place (case n of N, the case, the trial, the live rate, time left);
// otherwise a line per finished trial and case, which logs read well.
type progressLine struct {
	w        io.Writer
	tty      bool
	m        plan.Measure
	start    time.Time
	perTrial time.Duration // planned time of one trial
	cases    int
	last     string
	trials   int // trials finished
	skipped  int // cases that ended without measuring
}

func newProgressLine(w io.Writer, m plan.Measure, cases int) *progressLine {
	p := &progressLine{w: w, m: m, start: time.Now(), cases: cases}
	// Several cases run interleaved or in rounds, each trial in a
	// topology of its own; one case keeps its topology for all its trials.
	p.perTrial = m.Duration + drainCost
	switch {
	case cases > 1 && m.MethodOf() == plan.MethodInterleaved:
		// A trial's slices each cost a switch besides their own length;
		// a question's cases make their trials at the same time.
		slice := m.SliceOf()
		p.perTrial = time.Duration(float64(m.Duration) * float64(slice+spec.SwitchCost) / float64(slice))
	case cases > 1:
		p.perTrial += setupCost + m.Warmup
	}
	if f, ok := w.(*os.File); ok {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		p.tty = err == nil
	}
	return p
}

// left estimates the time left from the trials done so far and the pace
// they were done at. Cases that ended without measuring (unsupported,
// failed) took no time and leave the plan; adaptive stopping may add trials
// beyond it.
func (p *progressLine) left() time.Duration {
	total := time.Duration((p.cases-p.skipped)*p.m.Trials) * p.perTrial
	done := time.Duration(p.trials) * p.perTrial
	if done <= 0 {
		return total
	}
	pace := float64(time.Since(p.start)) / float64(done)
	return time.Duration(float64(max(total-done, 0)) * pace).Round(time.Second)
}

func (p *progressLine) event(ev bench.Event) {
	head := fmt.Sprintf("[%d/%d] %s", ev.Index+1, max(ev.Count, 1), ev.Case)
	switch ev.Phase {
	case "live":
		if p.tty {
			trial := "warm-up"
			if ev.Trial > 0 {
				trial = fmt.Sprintf("trial %d/%d", ev.Trial, ev.Trials)
			}
			p.rewrite(fmt.Sprintf("%s  %s  %s pps  ~%v left", head, trial, reports.Thousands(ev.LivePPS), p.left()))
		}
	case "trial":
		if ev.Result == nil && ev.Trial == 1 && !p.tty {
			fmt.Fprintf(p.w, "%s: measuring %d trials of %v\n", head, ev.Trials, p.m.Duration)
		}
		if ev.Result != nil {
			p.trials++
		}
		if ev.Result != nil && !p.tty {
			t := ev.Result
			fmt.Fprintf(p.w, "%s: trial %d/%d: %s pps, sent %d, received %d, dropped %d, p99 %.1f us, %s\n",
				head, ev.Trial, ev.Trials, reports.Thousands(t.PPS), t.Sent, t.Received, t.Dropped, t.Latency.P99/1e3, accounting(t))
		}
	case "done":
		c := ev.Outcome
		if c.Summary == nil {
			p.skipped++
		}
		line := fmt.Sprintf("%s: %s", head, c.Status)
		if c.Summary != nil {
			line += fmt.Sprintf(", %s pps (median of %d), accounting %s", reports.Thousands(c.Summary.PPS.Median), c.Summary.PPS.N, closedWord(c.Summary.Closed))
		}
		if c.Error != "" {
			line += ": " + c.Error
		}
		if p.cases > 1 {
			line += fmt.Sprintf("  ~%v left", p.left())
		}
		p.rewrite("")
		fmt.Fprintln(p.w, line)
	case "setup", "warmup":
		if p.tty {
			p.rewrite(fmt.Sprintf("%s  %s  ~%v left", head, ev.Phase, p.left()))
		}
	}
}

// rewrite replaces the terminal's current line.
func (p *progressLine) rewrite(s string) {
	if !p.tty {
		return
	}
	pad := ""
	if n := len(p.last) - len(s); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprintf(p.w, "\r%s%s\r%s", s, pad, s)
	p.last = s
	if s == "" {
		fmt.Fprint(p.w, "\r")
	}
}

func accounting(t *result.Trial) string {
	if t.Closed {
		return "accounting closed"
	}
	return fmt.Sprintf("ACCOUNTING OPEN by %d", t.Unaccounted)
}

func closedWord(ok bool) string {
	if ok {
		return "closed"
	}
	return "NOT CLOSED"
}
