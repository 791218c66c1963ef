package bench

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/vethbench/vethbench/bench/host"
	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/reports/result"
	"github.com/vethbench/vethbench/tuning"
)

// Version is vethbench's version, set by the linker
// (-X github.com/vethbench/vethbench/bench.Version=...); otherwise taken
// from the module's build information.
var Version = ""

// ToolVersion is the version written into results and printed by
// `vethbench version`.
func ToolVersion() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
			if s.Key == "vcs.modified" && s.Value == "true" {
				v += "-dirty"
			}
		}
		return v
	}
	return "unknown"
}

// Run measures every case in order and returns the result file's contents.
// It validates all cases before creating anything. When ctx is cancelled it
// returns the cases finished so far, with Interrupted set, and ctx's error.
func Run(ctx context.Context, cases []plan.Case, m plan.Measure, opts Options) (*result.Result, error) {
	progress := opts.Progress
	for _, c := range cases {
		if err := c.Validate(m); err != nil {
			return nil, err
		}
	}
	info, err := host.ReadInfo()
	if err != nil {
		return nil, err
	}
	cpu0, err := host.ReadCPU()
	if err != nil {
		return nil, err
	}
	res := result.NewResult()
	res.Tool = result.Tool{Name: "vethbench", Version: ToolVersion(), GoVersion: runtime.Version()}
	res.Command = opts.Command
	res.Spec = opts.Spec
	res.Questions = opts.Questions
	res.HostKnobs = tuning.ReadHost()
	res.StartedAt = time.Now().UTC()
	res.Host = result.Host{Name: info.Name, Kernel: info.Kernel, Arch: info.Arch, CPUModel: info.CPUModel, VCPUs: info.VCPUs}
	// What the threads' CPU clocks hold, and so how the bottleneck rule
	// reads them.
	res.Host.IRQTimeAccounting = irqTime(ctx).Mode
	res.Settings = result.Settings{Trials: m.Trials, Duration: m.Duration, Warmup: m.Warmup, Confidence: m.Confidence}

	var runErr error
	if len(cases) > 1 {
		res.Settings.MaxTrials, res.Settings.Target, res.Settings.Seed = max(m.MaxTrials, m.Trials), m.Target, m.Seed
		res.Settings.Method = m.MethodOf()
		if res.Settings.Method == plan.MethodRounds {
			res.Settings.Interleaved = true
			res.Cases, runErr = rounds(ctx, cases, m, opts)
		} else {
			res.Settings.Slice, res.Settings.TimeLimit = m.SliceOf(), m.TimeLimit
			res.Cases, res.Questions, runErr = sweepInterleaved(ctx, cases, m, opts)
		}
	} else if len(cases) == 1 {
		indexed := func(ev Event) {
			if progress != nil {
				ev.Count = 1
				progress(ev)
			}
		}
		o := opts
		o.Progress = indexed
		rc, err := RunCase(ctx, cases[0], m, o)
		if err == nil || rc.Partial {
			res.Cases = append(res.Cases, rc)
			indexed(Event{Case: rc.Name, Phase: "done", Outcome: &res.Cases[0]})
		}
		runErr = err
	}
	res.FinishedAt = time.Now().UTC()
	if cpu1, err := host.ReadCPU(); err == nil {
		d := cpu1.Sub(cpu0)
		res.Host.StealPct, res.Host.BusyPct = d.Pct(d.Steal), d.Pct(d.Busy())
	}
	if errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded) {
		res.Interrupted = true
	}
	return res, runErr
}
