package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
	"github.com/vethbench/vethbench/reports/result"
)

// cancelAfterTrial is a Progress that cancels once a trial's result has
// been reported (one that sent something: a loaded machine can starve a
// sender through a window, and such a trial fails its case).
func cancelAfterTrial(cancel context.CancelFunc) Progress {
	return func(ev Event) {
		if ev.Phase == "trial" && ev.Result != nil && ev.Result.Sent > 0 {
			cancel()
		}
	}
}

// checkPartial checks a case cut short: ok, its completed trials kept and
// summarised over, marked partial.
func checkPartial(t *testing.T, c result.Case, want int) {
	t.Helper()
	if c.Status != result.StatusOK || !c.Partial || len(c.Trials) < 1 || len(c.Trials) >= want || c.Summary == nil || c.Summary.PPS.N != len(c.Trials) {
		t.Errorf("%s: status %s, partial %v, %d trials (of %d), summary %+v; want ok, partial, 1 to %d trials summarised",
			c.Name, c.Status, c.Partial, len(c.Trials), want, c.Summary, want-1)
	}
	for _, tr := range c.Trials {
		// Neither Closed (the accounting adds up) nor a rate is asked: a
		// loaded machine can starve the receiver through a whole window.
		if tr.Sent == 0 || tr.Duration <= 0 {
			t.Errorf("%s trial %d: sent %d over %v: a trial kept must be complete", c.Name, tr.Index, tr.Sent, tr.Duration)
		}
	}
	if !strings.Contains(c.Stop, "interrupted after") {
		t.Errorf("%s: stop %q", c.Name, c.Stop)
	}
}

// A run interrupted after its first trial keeps the case with its complete
// trials, partial, and the result says interrupted.
func TestRunInterruptedKeepsTrials(t *testing.T) {
	testenv.RequireRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := plan.Measure{Trials: 4, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Confidence: 0.95}
	var events []string
	cancelled := cancelAfterTrial(cancel)
	res, err := Run(ctx, []plan.Case{vethCase(64)}, m, Options{Progress: func(ev Event) {
		if ev.Phase != "live" {
			events = append(events, fmt.Sprintf("%s %d %v", ev.Phase, ev.Trial, ev.Result != nil))
		}
		cancelled(ev)
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
	if !res.Interrupted || len(res.Cases) != 1 {
		t.Fatalf("interrupted %v, %d cases; want interrupted with the case (events %q)", res.Interrupted, len(res.Cases), events)
	}
	checkPartial(t, res.Cases[0], m.Trials)
}

// A sweep in rounds interrupted after the first trial marks the cases it
// cut short partial.
func TestRoundsInterruptedPartial(t *testing.T) {
	testenv.RequireRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lo := vethCase(64)
	lo.Topology.Kind = topology.KindLoopback
	m := plan.Measure{Method: plan.MethodRounds, Trials: 3, Seed: 7, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Confidence: 0.95}
	res, err := Run(ctx, []plan.Case{vethCase(64), lo}, m, Options{Progress: cancelAfterTrial(cancel)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
	if !res.Interrupted || len(res.Cases) == 0 {
		t.Fatalf("interrupted %v, %d cases", res.Interrupted, len(res.Cases))
	}
	for _, c := range res.Cases {
		checkPartial(t, c, m.Trials)
	}
}

// An interleaved sweep interrupted after a first trial marks its cases
// partial.
func TestInterleavedInterruptedPartial(t *testing.T) {
	testenv.RequireRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lo := vethCase(64)
	lo.Topology.Kind = topology.KindLoopback
	m := plan.Measure{Method: plan.MethodInterleaved, Trials: 3, Seed: 7, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Confidence: 0.95}
	res, err := Run(ctx, []plan.Case{vethCase(64), lo}, m, Options{Progress: cancelAfterTrial(cancel)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
	if !res.Interrupted || len(res.Cases) == 0 {
		t.Fatalf("interrupted %v, %d cases", res.Interrupted, len(res.Cases))
	}
	measured := 0
	for _, c := range res.Cases {
		if len(c.Trials) == 0 {
			continue // interrupted before its first trial: failed, as before
		}
		measured++
		if c.Status != result.StatusOK || !c.Partial || c.Summary == nil {
			t.Errorf("%s: status %s, partial %v, %d trials, summary %v; want ok and partial", c.Name, c.Status, c.Partial, len(c.Trials), c.Summary != nil)
		}
	}
	if measured == 0 {
		t.Error("no case kept a trial")
	}
}
