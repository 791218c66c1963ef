package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/topology"
	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/reports/result"
	"github.com/vethbench/vethbench/tuning"
)

// Event reports progress to the caller (the CLI prints it).
type Event struct {
	Case   string
	Index  int    // 0-based position of the case in the run
	Count  int    // cases in the run
	Phase  string // "setup", "warmup", "trial", "live", "teardown", "done"
	Trial  int    // 1-based, for Phase "trial" and "live"
	Trials int
	Result *result.Trial // set when a trial has finished
	// LivePPS is the receive rate over the last half second (Phase "live").
	LivePPS float64
	// Outcome is the finished case (Phase "done").
	Outcome *result.Case
}

// Progress receives events; it may be nil. It is called by one goroutine
// at a time.
type Progress func(Event)

// Options are how a run is carried out and recorded.
type Options struct {
	Progress Progress
	// Journal records the original of every host-wide value before a knob
	// changes it; cases with host-wide knobs are refused without one.
	Journal *tuning.Journal
	Command []string // the command line, for the result
	Spec    string   // the sweep spec as given, for the result
	// Questions are the sweep's questions with their baseline cases, for
	// the result.
	Questions []result.Question
}

// RunCase measures one case. Failures that belong to the case (an
// unsupported topology, a setup error) are recorded in the returned case;
// the error is non-nil only when the context was cancelled, and then the
// case holds the trials completed before, Partial, when there are any.
func RunCase(ctx context.Context, c plan.Case, m plan.Measure, opts Options) (result.Case, error) {
	out, err := session(ctx, c, m, opts, 0, m.Trials)
	switch {
	case err == nil && out.Status == result.StatusOK:
		finish(&out, m)
	case err != nil && out.Status == "" && len(out.Trials) > 0:
		// Interrupted after some trials: they are complete (a window
		// cut short is never recorded), so keep them, as a sweep does.
		out.Partial = true
		out.Stop = fmt.Sprintf("interrupted after %d of %d trials", len(out.Trials), m.Trials)
		if nothing := sentNothing(out.Trials); nothing != nil {
			out.Status, out.Error = result.StatusFailed, nothing.Error()
			break
		}
		out.Status = result.StatusOK
		finish(&out, m)
	}
	return out, err
}

// session builds a case, runs a warm-up and m.Trials windows, and tears it
// down. Its trials are numbered from base+1, out of total, in events and
// in the result. The summary is left to finish.
func session(ctx context.Context, c plan.Case, m plan.Measure, opts Options, base, total int) (out result.Case, err error) {
	progress := func(Event) {}
	if opts.Progress != nil {
		// The live rate is reported from a goroutine of its own, while
		// the windows' events come from this one: one call at a time.
		var mu sync.Mutex
		progress = func(ev Event) {
			mu.Lock()
			defer mu.Unlock()
			opts.Progress(ev)
		}
	}
	out, r, err := prepare(ctx, c, m.Stages, opts.Journal, false, progress)
	if r != nil {
		defer teardown(&out, r, progress)
	}
	if r == nil || out.Status != "" {
		return out, err
	}
	var trial atomic.Int64 // the window running now, for live events; 0 is the warm-up
	r.live = func(pps float64) {
		progress(Event{Case: out.Name, Phase: "live", Trial: int(trial.Load()), Trials: total, LivePPS: pps})
	}
	err = r.trials(ctx, &out, m, base, total, progress, &trial)
	return out, err
}

// describe is a case's record before anything is measured: what it asked
// for.
func describe(c plan.Case) result.Case {
	spec := c.Topology.WithDefaults()
	out := result.Case{
		Name:      c.Name(),
		Questions: c.Questions,
		Topology: result.Topology{
			Kind: string(spec.Kind), Family: string(spec.Family), MTU: spec.MTU,
			TxQueues: spec.TxQueues, RxQueues: spec.RxQueues,
			PeerTxQueues: spec.PeerTxQueues, PeerRxQueues: spec.PeerRxQueues, Mode: spec.Mode,
		},
		Traffic: result.Traffic{
			Generator: c.Traffic.Generator, FrameSize: c.Traffic.FrameSize, Flows: c.Traffic.Flows,
			Senders: c.Traffic.Senders, Rate: c.Traffic.Rate, Batch: c.Traffic.Batch, Family: string(spec.Family),
			XDPBatchStamp: c.Traffic.XDPBatchStamp,
			GSO:           c.Traffic.GSO, QdiscBypass: c.Traffic.QdiscBypass,
			CostNS: c.Traffic.CostNS,
		},
	}
	if c.Traffic.Generator == plan.GenRR {
		out.Traffic.Proto = c.Traffic.RRProto()
	}
	return out
}

// prepare sets a case up and describes it. A failure that belongs to the
// case (unsupported, a setup error) is recorded in out, whose Status is
// then set, and err is nil; err is ctx's error when it was cancelled. r is
// what was set up, possibly partly, for teardown; nil when nothing was.
// hostLater leaves the host-wide knobs to the caller (setup).
func prepare(ctx context.Context, c plan.Case, stages bool, j *tuning.Journal, hostLater bool, progress Progress) (out result.Case, r *running, err error) {
	out = describe(c)
	progress(Event{Case: out.Name, Phase: "setup"})
	r, err = setup(ctx, c, stages, j, hostLater)
	if r != nil {
		out.Settings, out.Flags = settings(r.applied)
	}
	if err != nil {
		if ctx.Err() != nil {
			out.Status = result.StatusFailed
			return out, r, ctx.Err()
		}
		out.Status, out.Error = result.StatusFailed, err.Error()
		var unsup *topology.UnsupportedError
		switch {
		case errors.As(err, &unsup):
			out.Status, out.Error = result.StatusUnsupported, unsup.Reason
		case errors.Is(err, vbpf.ErrNotSupported):
			out.Status = result.StatusUnsupported
		}
		return out, r, nil
	}
	out.Topology.RunID = r.topo.Spec.RunID
	out.Counter = r.counters.Hook()
	out.DropCounter = r.dropCounter
	out.Knobs = r.knobs
	out.Sysctls = r.sysctls
	out.Traffic.RcvBuf = r.load.rcvbuf
	// Read back like a knob: the kernel caps what it cannot give.
	if s, flag, ok := rcvbufSetting(c.Traffic.RcvBuf, r.load.rcvbuf, rmemMax()); ok && r.load.rcvbuf > 0 {
		out.Settings = append(out.Settings, s)
		if flag != "" {
			out.Flags = append(out.Flags, flag)
		}
	}
	out.Traffic.Unit, out.Traffic.Bypasses = r.load.unit, r.load.bypasses
	out.Traffic.DstPort = r.port.port
	out.Traffic.SenderCPUs, out.Traffic.ReceiverCPU = r.senderCPUs, r.receiverCPU
	out.Warnings = append(out.Warnings, r.knobWarnings...)
	return out, r, nil
}

// teardown undoes prepare and records what that says about the case.
func teardown(out *result.Case, r *running, progress Progress) {
	progress(Event{Case: out.Name, Phase: "teardown"})
	out.Traffic.StampSpread = stampSpread(r.load) // while the generator is open
	r.close()
	if r.closeErr != nil {
		out.Flags = append(out.Flags, r.closeErr.Error())
	}
}

// trials runs a set-up case's warm-up and trials into out, numbered from
// base+1 of total, and sets its status: ok, or failed when a window failed
// or a trial sent nothing. trial tells the live events which window runs.
func (r *running) trials(ctx context.Context, out *result.Case, m plan.Measure, base, total int, progress Progress, trial *atomic.Int64) error {
	n0 := len(out.Trials)
	err := r.measure(ctx, m, windowEvents{
		start: func(i int) {
			if i < 0 {
				progress(Event{Case: out.Name, Phase: "warmup"})
				return
			}
			trial.Store(int64(base + i + 1))
			progress(Event{Case: out.Name, Phase: "trial", Trial: base + i + 1, Trials: total})
		},
		result: func(i int, tr result.Trial) {
			if i < 0 {
				return // the warm-up, the tail
			}
			tr.Index = base + i
			out.Trials = append(out.Trials, tr)
			progress(Event{Case: out.Name, Phase: "trial", Trial: base + i + 1, Trials: total, Result: &out.Trials[len(out.Trials)-1]})
		},
		warn: func(msg string) { out.Warnings = append(out.Warnings, msg) },
	})
	if te := (*trialError)(nil); errors.As(err, &te) {
		err = fmt.Errorf("trial %d: %w", base+te.i+1, te.err)
	}
	if err == nil {
		err = sentNothing(out.Trials[n0:])
	}
	if err != nil {
		return r.fail(ctx, out, err)
	}
	out.Status = result.StatusOK
	return nil
}

// fail records a mid-run error in the case; a cancellation is passed up.
func (r *running) fail(ctx context.Context, out *result.Case, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	out.Status, out.Error = result.StatusFailed, err.Error()
	return nil
}
