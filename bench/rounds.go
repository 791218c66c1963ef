package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// rounds measures several cases the way docs/method.md describes: in rounds, each
// running every unfinished case once in a shuffled order (seeded, so the
// order can be replayed), each trial in a freshly built topology with its
// own warm-up. Drift of a shared, noisy machine then hits every case alike
// instead of whichever case happened to run during it. A case stops after
// m.Trials trials once its median pps interval is within m.Target of the
// median, and at m.MaxTrials in any case. A case that is unsupported or
// fails leaves the rounds at once. On cancellation the cases measured so
// far are returned with ctx's error.
func rounds(ctx context.Context, cases []plan.Case, m plan.Measure, opts Options) ([]result.Case, error) {
	maxTrials := max(m.MaxTrials, m.Trials)
	one := m
	one.Trials = 1
	acc := make([]result.Case, len(cases))
	started := make([]bool, len(cases))
	active := make([]int, len(cases))
	for i := range active {
		active[i] = i
	}
	rng := rand.New(rand.NewPCG(m.Seed, 0x7665746862656e63)) // "vethbenc"
	emit := func(i int, ev Event) {
		if opts.Progress != nil {
			ev.Index, ev.Count = i, len(cases)
			opts.Progress(ev)
		}
	}
	var runErr error
	for round := 0; len(active) > 0 && runErr == nil; round++ {
		order := slices.Clone(active)
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, i := range order {
			o := opts
			o.Progress = func(ev Event) { emit(i, ev) }
			n := len(acc[i].Trials)
			total := max(m.Trials, n+1)
			s, err := session(ctx, cases[i], one, o, n, total)
			if err != nil {
				// Interrupted after its trial completed (in the drain
				// or teardown that follow): the trial is whole, keep it.
				if s.Status == "" && len(s.Trials) > 0 && sentNothing(s.Trials) == nil {
					s.Status = result.StatusOK
					merge(&acc[i], s, !started[i])
					started[i] = true
				}
				runErr = err
				break
			}
			merge(&acc[i], s, !started[i])
			started[i] = true
		}
		if runErr != nil {
			break
		}
		active = slices.DeleteFunc(active, func(i int) bool {
			c := &acc[i]
			if c.Status != result.StatusOK {
				emit(i, Event{Case: c.Name, Phase: "done", Outcome: c})
				return true
			}
			n := len(c.Trials)
			if n < m.Trials {
				return false
			}
			hw := halfWidth(c.Trials, m.Confidence)
			switch {
			case m.Target > 0 && hw <= m.Target:
				c.Stop = fmt.Sprintf("the median's interval reached ±%.1f%% (target ±%.1f%%) after %d trials", 100*hw, 100*m.Target, n)
			case n >= maxTrials:
				c.Stop = fmt.Sprintf("stopped at the maximum of %d trials: the median's interval is ±%.1f%%", n, 100*hw)
				if m.Target > 0 {
					c.Stop += fmt.Sprintf("; the desired precision (±%.1f%%) was not achieved", 100*m.Target)
					c.Warnings = append(c.Warnings, c.Stop)
				}
			default:
				return false
			}
			finish(c, m)
			emit(i, Event{Case: c.Name, Phase: "done", Outcome: c})
			return true
		})
	}
	var out []result.Case
	for i, c := range acc {
		if !started[i] {
			continue
		}
		if c.Status == result.StatusOK && c.Summary == nil {
			finish(&c, m) // interrupted between rounds: summarise what there is
			c.Stop = fmt.Sprintf("interrupted after %d trials", len(c.Trials))
			c.Partial = true
		}
		out = append(out, c)
	}
	return out, runErr
}

// merge adds one session's outcome to a case's record. The first session
// gives the case its description (knobs read back, settings, counters);
// later ones add their trial, their batch stamps' spread and anything new
// they flag.
func merge(acc *result.Case, s result.Case, first bool) {
	if first {
		*acc = s
		return
	}
	if s.Status != result.StatusOK {
		acc.Status, acc.Error = s.Status, fmt.Sprintf("trial %d: %s", len(acc.Trials)+1, s.Error)
	}
	acc.Trials = append(acc.Trials, s.Trials...)
	acc.Traffic.StampSpread = acc.Traffic.StampSpread.Merge(s.Traffic.StampSpread)
	acc.Flags = uniq(append(acc.Flags, s.Flags...))
	acc.Warnings = uniq(append(acc.Warnings, s.Warnings...))
}

// halfWidth is the relative half-width of the median pps interval.
func halfWidth(trials []result.Trial, level float64) float64 {
	x := make([]float64, len(trials))
	for i, t := range trials {
		x[i] = t.PPS
	}
	iv := stats.MedianCI(x, level)
	if iv.Median <= 0 {
		return 1
	}
	return (iv.Hi - iv.Lo) / 2 / iv.Median
}
