package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vethbench/vethbench/bench/host"
	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
	"github.com/vethbench/vethbench/tuning"
)

// A sweep measured the interleaved way (docs/method.md, "Interleaved
// blocks") runs question by question. All the cases of a question are set
// up at once, each with its own namespaces, counters, port and receiver;
// then the load moves from one case to the next every slice: the case's
// generator runs for the slice, its path drains (uncounted), and the next
// case's generator starts. A block gives every case one slice, in an order
// drawn afresh for every block. The machine's speed, which drifts in regimes of about a second
// here, is then nearly the same for every case of a block, and the ratio of
// a case's slice rate to the baseline's in the same block cancels it.
//
// A trial of a case is its slices in consecutive blocks adding up to
// m.Duration of sending; every case's counters are read in full at trial
// boundaries, when every path has drained, so each trial's accounting
// closes exactly. Rates count only what arrived while the case's generator
// ran (inSlice); the drain's arrivals are in the accounting, the latency
// and the CPU cost, which are of the slice's packets.

// sweepInterleaved measures a sweep question by question, each question's
// cases together; a question with a tcp case runs in rounds instead
// (interleavable). It returns the cases in the sweep's order, a case of
// several questions once with the trials of all of them, and the
// questions with their paired series. On cancellation it returns what was
// finished with ctx's error.
func sweepInterleaved(ctx context.Context, cases []plan.Case, m plan.Measure, opts Options) ([]result.Case, []result.Question, error) {
	questions := slices.Clone(opts.Questions)
	acc := make([]*result.Case, len(cases))
	gs := groups(cases, questions)
	// A case is summarised once, after the last question that measures it.
	last := make([]int, len(cases))
	for gi, g := range gs {
		for _, ci := range g.cases {
			last[ci] = gi
		}
	}
	// With a time limit each question may spend its share of what is
	// left, by its number of cases: a question that stops early leaves
	// more to the noisier ones after it.
	start, weight := time.Now(), 0
	for _, g := range gs {
		weight += len(g.cases)
	}
	var runErr error
	for gi, g := range gs {
		var got []result.Case
		var paired *result.Paired
		var note string
		var deadline time.Time
		if m.TimeLimit > 0 {
			left := m.TimeLimit - time.Since(start)
			deadline = time.Now().Add(time.Duration(float64(left) * float64(len(g.cases)) / float64(weight)))
		}
		weight -= len(g.cases)
		if i := slices.IndexFunc(g.cases, func(i int) bool { return !interleavable(cases[i]) }); i >= 0 {
			sub := make([]plan.Case, len(g.cases))
			for k, ci := range g.cases {
				sub[k] = cases[ci]
			}
			o := opts
			o.Progress = func(ev Event) {
				if opts.Progress != nil {
					ev.Index, ev.Count = g.cases[ev.Index], len(cases)
					opts.Progress(ev)
				}
			}
			got, runErr = rounds(ctx, sub, m, o)
			note = fmt.Sprintf("measured in rounds, not interleaved: %s uses the tcp generator, whose stream does not stop and start cleanly in slices", cases[g.cases[i]].Name())
		} else {
			// Each question draws its own orders, reproducibly from
			// the sweep's seed.
			qseed := m.Seed + uint64(gi)*0x9e3779b97f4a7c15
			got, paired, runErr = interleaved(ctx, cases, g, qseed, m, deadline, opts)
		}
		for _, c := range got {
			ci := g.cases[slices.IndexFunc(g.cases, func(i int) bool { return cases[i].Name() == c.Name })]
			if note != "" {
				c.Warnings = append(c.Warnings, note)
			}
			if acc[ci] == nil {
				c := c
				acc[ci] = &c
			} else {
				mergeSessions(acc[ci], c)
			}
			if gi == last[ci] || runErr != nil {
				a := acc[ci]
				if a.Status == result.StatusOK && a.Summary == nil && len(a.Trials) > 0 {
					finish(a, m)
					a.Warnings, a.Flags = uniq(a.Warnings), uniq(a.Flags)
				}
				if runErr != nil && a.Status == result.StatusOK {
					a.Partial = true // its question was cut short
				}
				if opts.Progress != nil {
					opts.Progress(Event{Case: a.Name, Index: ci, Count: len(cases), Phase: "done", Outcome: a})
				}
			}
		}
		if g.question >= 0 {
			questions[g.question].Paired = paired
		}
		if runErr != nil {
			break
		}
	}
	var out []result.Case
	for _, c := range acc {
		if c == nil {
			continue
		}
		if c.Status == result.StatusOK && c.Summary == nil && len(c.Trials) > 0 {
			// Interrupted before a later question it is in.
			finish(c, m)
			c.Partial = true
			c.Warnings, c.Flags = uniq(c.Warnings), uniq(c.Flags)
		}
		out = append(out, *c)
	}
	return out, questions, runErr
}

// uniq drops repeated strings, keeping the first of each.
func uniq(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// mergeSessions adds a later question's record of a case to its first:
// its trials, numbered on, and what it flagged or warned of.
func mergeSessions(acc *result.Case, s result.Case) {
	if acc.Status == result.StatusOK && s.Status != result.StatusOK {
		acc.Status, acc.Error = s.Status, s.Error
	}
	for _, t := range s.Trials {
		t.Index = len(acc.Trials)
		acc.Trials = append(acc.Trials, t)
		acc.Summary = nil // summarised again with them
	}
	acc.Traffic.StampSpread = acc.Traffic.StampSpread.Merge(s.Traffic.StampSpread)
	acc.Partial = acc.Partial || s.Partial
	acc.Flags = uniq(append(acc.Flags, s.Flags...))
	acc.Warnings = uniq(append(acc.Warnings, s.Warnings...))
}

// group is the cases of one question, measured together.
type group struct {
	question int    // index in Options.Questions; -1: cases of no question
	baseline string // name of the case ratios are taken to
	cases    []int  // indexes into the sweep's cases
	// slices, when set, gives some cases a slice of their own (the
	// switching overhead benchmark: one case in long slices as the
	// reference, nearly alone); the others take the Measure's.
	slices map[int]time.Duration
}

// groups splits a sweep's cases by question, in the questions' order; a
// case of several questions is in each of their groups. Cases of no
// question form a last group whose baseline is its first case.
func groups(cases []plan.Case, questions []result.Question) []group {
	var out []group
	for qi, q := range questions {
		g := group{question: qi, baseline: q.Baseline}
		for i, c := range cases {
			if slices.Contains(c.Questions, q.Text) {
				g.cases = append(g.cases, i)
			}
		}
		if len(g.cases) > 0 {
			out = append(out, g)
		}
	}
	rest := group{question: -1}
	for i, c := range cases {
		asked := false
		for _, q := range questions {
			asked = asked || slices.Contains(c.Questions, q.Text)
		}
		if !asked {
			rest.cases = append(rest.cases, i)
		}
	}
	if len(rest.cases) > 0 {
		rest.baseline = cases[rest.cases[0]].Name()
		out = append(out, rest)
	}
	return out
}

// interleavable says whether a case can take the load in slices: the
// datagram generators and rr can stop and start within a millisecond and
// drain in one; a tcp stream's window and pacing carry over from one
// slice to the next (docs/method.md says why its groups run in rounds).
func interleavable(c plan.Case) bool { return c.Traffic.Generator != plan.GenTCP }

// blockOrders returns the order of n cases in each of blocks blocks: a
// fresh random permutation each, so that every block visits every case
// once and what runs before a case (whose drain and whose cache traces it
// follows) changes from block to block. An earlier design drew Latin
// squares (each case in each position once every n blocks); within a
// square that keeps the order of neighbours fixed, and with seed 1 the
// copies of one case came out 0.3% apart, with seed 7 not: positions mean
// nothing when blocks run back to back, but neighbours may.
func blockOrders(rng *rand.Rand, n, blocks int) [][]int {
	out := make([][]int, blocks)
	for b := range out {
		out[b] = rng.Perm(n)
	}
	return out
}

// member is one case of an interleaved question.
type member struct {
	idx  int // in the sweep's cases
	out  result.Case
	r    *running
	live bool // set up and still measuring

	at  snapshot // every counter at the current trial's start
	acc sliceSum // the current trial's slices
	// pps and cost are the member's series, a value per measured block
	// from the first; a member that failed has a shorter one.
	pps, cost []float64
}

// sliceSum adds up a trial's slices: what only a slice can say (the time
// sent, what arrived in it, the CPU over it and its drain).
type sliceSum struct {
	n                  int
	elapsed            time.Duration
	inSlice, atDevice  uint64
	cpu                cpuCounts
	genCPU, rcvCPU     time.Duration
	spanPkts, spanSent uint64
}

// slice is what one slice measured.
type slice struct {
	elapsed           time.Duration // the generator's run
	inSlice, atDevice uint64        // arrived while it ran: at the receiver, at the device
	spanPkts          uint64        // arrived in the slice and its drain
	cpu               cpuCounts     // /proc/stat, the slice and its drain
	genCPU, rcvCPU    time.Duration // the threads' clocks, the same span
}

func (s *sliceSum) add(x slice) {
	s.n++
	s.elapsed += x.elapsed
	s.inSlice += x.inSlice
	s.atDevice += x.atDevice
	s.cpu = s.cpu.add(x.cpu)
	s.genCPU += x.genCPU
	s.rcvCPU += x.rcvCPU
	s.spanPkts += x.spanPkts
}

// pps is the slice's rate: what arrived while the generator ran, over its
// run.
func (x slice) pps() float64 {
	if x.elapsed <= 0 {
		return 0
	}
	return float64(x.inSlice) / x.elapsed.Seconds()
}

// costNs is the run's threads' CPU per packet over the slice and its drain.
func (x slice) costNs() float64 {
	if x.spanPkts == 0 {
		return 0
	}
	return float64((x.genCPU + x.rcvCPU).Nanoseconds()) / float64(x.spanPkts)
}

// beforeSlice, when set (by tests), is called with the case's name just
// before each of its slices, the host-wide knobs already set.
var beforeSlice func(name string)

// sliceQuiet is how long a path's counts must stay still before its drain
// counts as done when not every packet sent is accounted for (a packet
// lost where nothing counts it).
const sliceQuiet = 2 * time.Millisecond

// run moves the load onto the member for d and measures the slice.
func (mb *member) run(ctx context.Context, d time.Duration) (slice, error) {
	r := mb.r
	l := r.load
	c0, err := readCPUSnap()
	if err != nil {
		return slice{}, err
	}
	dev0, err := r.counters.Snapshot()
	if err != nil {
		return slice{}, err
	}
	rcv0, sent0, lost0 := l.received(), l.gen.Sent(), l.lost()
	g0, v0 := l.gen.CPUTime(), l.server.CPUTime()
	drop0, err := r.dropped()
	if err != nil {
		return slice{}, err
	}
	sctx, cancel := context.WithTimeout(ctx, d)
	start := time.Now()
	err = l.gen.Run(sctx)
	elapsed := time.Since(start)
	cancel()
	if g, ok := l.gen.(interface{ SendTime() time.Duration }); ok && g.SendTime() > 0 {
		// The time the generator sent, without its Run's start (threads
		// started and pinned) and end, nor rr's final drain.
		elapsed = g.SendTime()
	}
	rcv1 := l.received()
	dev1, derr := r.counters.Snapshot()
	stopped, cerr := host.ReadPerCPU()
	if ctx.Err() != nil {
		return slice{}, ctx.Err()
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return slice{}, fmt.Errorf("generator: %w", err)
	}
	if derr != nil {
		return slice{}, derr
	}
	if cerr != nil {
		return slice{}, cerr
	}
	// The drain: until everything sent in the slice arrived, was dropped
	// or (rr) given up on, or nothing moved for sliceQuiet; at most the
	// case's drain limit.
	limit := r.c.Traffic.Drain
	if limit <= 0 {
		limit = time.Second
	}
	sent := l.gen.Sent() - sent0
	deadline := time.Now().Add(limit)
	last, lastChange := uint64(math.MaxUint64), time.Now()
	for {
		drop, err := r.dropped()
		if err != nil {
			return slice{}, err
		}
		done := l.received() - rcv0 + l.lost() - lost0 + drop - drop0
		if done >= sent || time.Now().After(deadline) {
			break
		}
		if done != last {
			last, lastChange = done, time.Now()
		} else if time.Since(lastChange) >= sliceQuiet {
			break
		}
		select {
		case <-ctx.Done():
			return slice{}, ctx.Err()
		case <-time.After(200 * time.Microsecond):
		}
	}
	select {
	case err := <-r.rcvExit:
		if err == nil {
			err = errors.New("returned early")
		}
		return slice{}, fmt.Errorf("receiver stopped: %w", err)
	default:
	}
	c1, err := readCPUSnap()
	if err != nil {
		return slice{}, err
	}
	return slice{
		elapsed:  elapsed,
		inSlice:  rcv1 - rcv0,
		atDevice: dev1.Segs - dev0.Segs,
		spanPkts: l.received() - rcv0,
		cpu:      windowCPU(c0, c1, stopped, r.senderCPUs, r.receiverCPU),
		genCPU:   l.gen.CPUTime() - g0,
		rcvCPU:   l.server.CPUTime() - v0,
	}, nil
}

// dropped is the case's drops counted so far by the drop counter; 0
// without one (then a drain ends on quiet).
func (r *running) dropped() (uint64, error) {
	if r.drops == nil {
		return 0, nil
	}
	s, err := r.drops.Snapshot()
	if err != nil {
		return 0, err
	}
	return s.Total(), nil
}

// trial turns the member's slices since its last trial boundary, and the
// counters read at both boundaries, into a trial.
func (mb *member) trial(end snapshot) result.Trial {
	r := mb.r
	w := r.counts(mb.at, end, nil, mb.acc.elapsed)
	w.CPU = mb.acc.cpu
	w.GenCPU, w.RcvCPU = mb.acc.genCPU, mb.acc.rcvCPU
	w.InSlices = &inSlices{Received: mb.acc.inSlice, AtDevice: mb.acc.atDevice}
	tr := trialFigures(w)
	tr.Slices = mb.acc.n
	return tr
}

// interleaved measures one question's cases together (see the top of this
// file) and returns their records, in the group's order, and the
// question's paired series. Every trial is measured in topologies built
// for it, all the question's cases at once: two copies of one case differ
// a little for as long as they exist (0.1-0.4% for a veth pair here), so
// the trials, not the blocks, are what the ratios' intervals are over
// (stats.PairedRatioTrials). Events carry the sweep's case indexes. On
// cancellation it returns what was measured so far with ctx's error.
//
// After m.Trials trials it stops adding more once every ratio's interval
// is within m.Target, at m.MaxTrials, or when the next trial would end
// after deadline (zero: none), judged by the trials so far.
func interleaved(ctx context.Context, all []plan.Case, g group, qseed uint64, m plan.Measure, deadline time.Time, opts Options) ([]result.Case, *result.Paired, error) {
	emit := func(i int, ev Event) {
		if opts.Progress != nil {
			ev.Index, ev.Count = i, len(all)
			opts.Progress(ev)
		}
	}
	sliceD := m.SliceOf()
	members := make([]*member, len(g.cases))
	for k, i := range g.cases {
		members[k] = &member{idx: i, out: describe(all[i]), live: true}
	}
	live := func() []*member {
		var out []*member
		for _, mb := range members {
			if mb.live {
				out = append(out, mb)
			}
		}
		return out
	}
	paired := &result.Paired{Slice: sliceD, Seed: qseed}
	rng := rand.New(rand.NewPCG(qseed, 0x7665746862656e63))
	perTrial := int(math.Ceil(float64(m.Duration) / float64(sliceD)))
	maxTrials := max(m.MaxTrials, m.Trials)
	if m.Warmup > 0 {
		paired.WarmupBlocks = int(math.Ceil(float64(m.Warmup) / float64(sliceD)))
	}
	s := &trialSession{all: all, g: g, m: m, opts: opts, emit: emit, rng: rng, slice: sliceD, paired: paired}
	var runErr error
	began := time.Now()
	for t := 0; len(live()) > 0; t++ {
		total := max(m.Trials, t+1)
		if runErr = s.run(ctx, t, total, live(), perTrial); runErr != nil {
			break
		}
		if t+1 < m.Trials {
			continue
		}
		widest, which := pairedWidest(members, g.baseline, paired.TrialBlocks, m.Confidence)
		switch {
		case which == "":
			// No ratio to take: the baseline did not run, or ran alone.
			paired.Stop = fmt.Sprintf("after %d trials of %d blocks: no ratio to take (the baseline %s is not among the cases measured, or is alone)", t+1, perTrial, g.baseline)
		case m.Target > 0 && widest <= m.Target:
			paired.Stop = fmt.Sprintf("every pps and CPU ratio's interval reached ±%.2f%% or better (target ±%.2f%%) after %d trials of %d blocks", 100*widest, 100*m.Target, t+1, perTrial)
		case t+1 >= maxTrials:
			paired.Stop = fmt.Sprintf("stopped at the maximum of %d trials of %d blocks", t+1, perTrial)
		case !deadline.IsZero() && time.Now().Add(time.Since(began)/time.Duration(t+1)).After(deadline):
			paired.Stop = fmt.Sprintf("stopped after %d trials of %d blocks: another would pass the question's share of the time limit (%v)", t+1, perTrial, m.TimeLimit)
		default:
			continue
		}
		if which != "" && m.Target > 0 && widest > m.Target {
			paired.Stop += fmt.Sprintf(": %s has an interval of ±%.2f%%; the desired precision (±%.2f%%) was not achieved", which, 100*widest, 100*m.Target)
		}
		break
	}
	if runErr != nil && paired.Stop == "" {
		paired.Stop = fmt.Sprintf("interrupted after %d blocks", paired.Blocks)
	}
	var out []result.Case
	for _, mb := range members {
		if mb.out.Status == "" && len(mb.out.Trials) == 0 && runErr != nil {
			mb.out.Status, mb.out.Error = result.StatusFailed, "interrupted before its first trial"
		}
		if mb.out.Status == "" {
			mb.out.Status = result.StatusOK
			if err := sentNothing(mb.out.Trials); err != nil {
				mb.out.Status, mb.out.Error = result.StatusFailed, err.Error()
			}
		}
		if len(mb.pps) > 0 {
			paired.Cases = append(paired.Cases, result.PairedCase{Case: mb.out.Name, PPS: mb.pps, CPUNsPerPkt: mb.cost})
		}
		mb.out.Stop = paired.Stop
		mb.out.Flags, mb.out.Warnings = uniq(mb.out.Flags), uniq(mb.out.Warnings)
		out = append(out, mb.out)
	}
	setRatios(paired, g.baseline, m.Confidence)
	if m.Target > 0 {
		for _, pc := range paired.Cases {
			i := slices.IndexFunc(out, func(c result.Case) bool { return c.Name == pc.Case })
			for _, x := range []struct {
				what string
				r    *result.Ratio
			}{{"pps", pc.PPSRatio}, {"CPU per packet", pc.CPURatio}} {
				if r := x.r; r != nil && (r.Hi-r.Lo)/2/r.Ratio > m.Target {
					out[i].Warnings = append(out[i].Warnings, fmt.Sprintf("its %s ratio to %s is %.3f (%.3f-%.3f) after %d trials: the desired precision (±%.1f%%) was not achieved",
						x.what, g.baseline, r.Ratio, r.Lo, r.Hi, max(r.Trials, 1), 100*m.Target))
				}
			}
		}
	}
	return out, paired, runErr
}

// trialSession runs the trials of an interleaved question.
type trialSession struct {
	all    []plan.Case
	g      group
	m      plan.Measure
	opts   Options
	emit   func(int, Event)
	rng    *rand.Rand
	slice  time.Duration
	paired *result.Paired
}

// run measures trial t (0-based, of total as far as known) of the
// members: builds them afresh, runs the warm-up blocks and perTrial
// measured blocks, records each member's trial and tears everything down.
// A member that cannot be set up or fails is out for the rest of the
// question; the error is only a cancellation's.
func (s *trialSession) run(ctx context.Context, t, total int, members []*member, perTrial int) (err error) {
	fail := func(mb *member, err error) {
		mb.live = false
		mb.out.Status, mb.out.Error = result.StatusFailed, fmt.Sprintf("trial %d: %v", t+1, err)
	}
	var set []*member
	defer func() {
		for _, mb := range set {
			if mb.r != nil {
				// Teardown writes the spread of this session's batch
				// stamps: the case's is over all of them.
				spread := mb.out.Traffic.StampSpread
				teardown(&mb.out, mb.r, func(ev Event) { s.emit(mb.idx, ev) })
				mb.out.Traffic.StampSpread = spread.Merge(mb.out.Traffic.StampSpread)
				mb.r = nil
			}
		}
	}()
	// The cases are built in a shuffled order: two builds of one case
	// differ a little (0.2-0.5% between copies of a veth case here, the
	// first built being the fastest, whatever the mechanism), and in a
	// fixed order that difference would follow the case from trial to
	// trial, where the trials' interval cannot see it.
	for _, k := range s.rng.Perm(len(members)) {
		mb := members[k]
		out, r, err := prepare(ctx, s.all[mb.idx], s.m.Stages, s.opts.Journal, true, func(ev Event) { s.emit(mb.idx, ev) })
		mb.r = r
		if r != nil {
			set = append(set, mb)
		}
		if t == 0 {
			mb.out = out
		} else {
			mb.out.Flags = append(mb.out.Flags, out.Flags...)
			mb.out.Warnings = append(mb.out.Warnings, out.Warnings...)
		}
		if err != nil {
			return err
		}
		if out.Status != "" {
			mb.live = false
			if t > 0 {
				mb.out.Status, mb.out.Error = out.Status, fmt.Sprintf("trial %d: %s", t+1, out.Error)
			}
		}
	}
	var active []*member
	for _, mb := range members {
		if mb.live {
			active = append(active, mb)
		}
	}
	hs, err := newHostKnobs(s.opts.Journal, active, t == 0)
	if err != nil {
		return err
	}
	defer hs.restore()
	// Every case set up gets one slice a block; one that failed since is
	// skipped where it would have run.
	blocks := func(count int, measured bool) error {
		for b, order := range blockOrders(s.rng, len(active), count) {
			for _, k := range order {
				mb := active[k]
				if !mb.live {
					continue
				}
				if err := hs.set(mb); err != nil {
					fail(mb, fmt.Errorf("block %d: %w", b+1, err))
					continue
				}
				if beforeSlice != nil {
					beforeSlice(mb.out.Name)
				}
				d := s.slice
				if own, ok := s.g.slices[mb.idx]; ok {
					d = own
				}
				x, err := mb.run(ctx, d)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err != nil {
					fail(mb, fmt.Errorf("block %d: %w", b+1, err))
					continue
				}
				if measured {
					mb.acc.add(x)
					// A tenth of a packet per second and of a
					// nanosecond: far below the blocks' noise, and
					// half the digits in the result file.
					mb.pps = append(mb.pps, math.Round(10*x.pps())/10)
					mb.cost = append(mb.cost, math.Round(10*x.costNs())/10)
				}
			}
			if measured {
				s.paired.Blocks++
				s.paired.TrialBlocks[len(s.paired.TrialBlocks)-1]++
			}
		}
		return nil
	}
	for _, mb := range active {
		s.emit(mb.idx, Event{Case: mb.out.Name, Phase: "warmup", Trial: t + 1, Trials: total})
	}
	if err := blocks(s.paired.WarmupBlocks, false); err != nil {
		return err
	}
	for _, mb := range active {
		if !mb.live {
			continue
		}
		if mb.at, err = mb.r.snapshot(); err != nil {
			fail(mb, err)
			continue
		}
		mb.acc = sliceSum{}
		s.emit(mb.idx, Event{Case: mb.out.Name, Phase: "trial", Trial: t + 1, Trials: total})
	}
	s.paired.TrialBlocks = append(s.paired.TrialBlocks, 0)
	if err := blocks(perTrial, true); err != nil {
		return err
	}
	for _, mb := range active {
		if !mb.live {
			continue
		}
		end, err := mb.r.snapshot()
		if err != nil {
			fail(mb, err)
			continue
		}
		tr := mb.trial(end)
		tr.Index = len(mb.out.Trials)
		mb.out.Trials = append(mb.out.Trials, tr)
		s.emit(mb.idx, Event{Case: mb.out.Name, Phase: "trial", Trial: t + 1, Trials: total, Result: &mb.out.Trials[len(mb.out.Trials)-1]})
	}
	return nil
}

// hostKnobs sets the host-wide knobs of an interleaved question's cases:
// before each slice, the slice's case's values, and the originals of the
// others' (tuning.HostSwitch). Its methods do nothing when no case of
// the question has a host-wide knob.
type hostKnobs struct {
	sw      *tuning.HostSwitch
	members []*member // the cases with a host-wide knob
	values  map[*member]map[string]string
	seen    map[*member]bool // its settings recorded
	record  bool             // record the settings (a question's first trial)
	done    bool
}

// newHostKnobs takes hold of the host-wide knobs of members that are set
// up; record: put them in the members' settings when first set. When the switch cannot be had (another run holds a sysctl, the
// kernel lacks one), those members fail or are unsupported and the others
// go on; the error returned is only a cancellation's.
func newHostKnobs(j *tuning.Journal, members []*member, record bool) (*hostKnobs, error) {
	h := &hostKnobs{values: map[*member]map[string]string{}, seen: map[*member]bool{}, record: record}
	var names []string
	for _, mb := range members {
		if !mb.live || len(mb.r.hostKnobs) == 0 {
			continue
		}
		v := map[string]string{}
		for _, k := range mb.r.hostKnobs {
			v[k.Name] = k.Value
			if !slices.Contains(names, k.Name) {
				names = append(names, k.Name)
			}
		}
		h.values[mb] = v
		h.members = append(h.members, mb)
	}
	if len(names) == 0 {
		return h, nil
	}
	sw, err := tuning.NewHostSwitch(j, names)
	if err != nil {
		for _, mb := range h.members {
			mb.live = false
			mb.out.Status, mb.out.Error = result.StatusFailed, fmt.Sprintf("host-wide knobs: %v", err)
			if errors.Is(err, tuning.ErrNotSupported) {
				mb.out.Status = result.StatusUnsupported
			}
		}
		h.members = nil
		return h, nil
	}
	h.sw = sw
	return h, nil
}

// set gives the host mb's values, and records them in its settings the
// first time. Someone else's change to a sysctl is a flag on the cases
// that set it, not a failure.
func (h *hostKnobs) set(mb *member) error {
	if h.sw == nil {
		return nil
	}
	v := h.values[mb] // nil: every original
	err := h.sw.Set(v)
	var changed *tuning.ChangedSinceError
	if errors.As(err, &changed) {
		h.flag(err.Error())
		err = nil
	}
	if err != nil {
		return fmt.Errorf("set host-wide knobs: %w", err)
	}
	if v != nil && h.record && !h.seen[mb] {
		h.seen[mb] = true
		applied, err := h.sw.Applied(v)
		if err != nil {
			return fmt.Errorf("read host-wide knobs back: %w", err)
		}
		s, f := settings(applied)
		mb.out.Settings = append(mb.out.Settings, s...)
		mb.out.Flags = append(mb.out.Flags, f...)
	}
	return nil
}

// flag adds msg to the flags of every case with a host-wide knob.
func (h *hostKnobs) flag(msg string) {
	for _, mb := range h.members {
		if !slices.Contains(mb.out.Flags, msg) {
			mb.out.Flags = append(mb.out.Flags, msg)
		}
	}
}

// restore puts the originals back (once); a failure is flagged on the
// cases with host-wide knobs, and what could not be restored stays in the
// journal for `vethbench cleanup`.
func (h *hostKnobs) restore() {
	if h.sw == nil || h.done {
		return
	}
	h.done = true
	if err := h.sw.Restore(); err != nil {
		h.flag(fmt.Sprintf("restore host-wide knobs: %v", err))
	}
}

// pairedWidest is the widest relative half-width of the live cases' pps
// and CPU ratio intervals, over the trials so far, and which ratio it is;
// 0 and "" when there is no ratio to take (no baseline, or the baseline
// alone).
func pairedWidest(members []*member, baseline string, trials []int, level float64) (float64, string) {
	bi := slices.IndexFunc(members, func(mb *member) bool { return mb.live && mb.out.Name == baseline })
	if bi < 0 {
		return 0, ""
	}
	base := members[bi]
	widest, which := 0.0, ""
	for i, mb := range members {
		if i == bi || !mb.live {
			continue
		}
		if hw := stats.PairedRatioTrials(base.pps, mb.pps, trials, level).HalfWidth(); hw > widest {
			widest, which = hw, mb.out.Name+"'s pps ratio"
		}
		if hw := stats.PairedRatioTrials(base.cost, mb.cost, trials, level).HalfWidth(); hw > widest {
			widest, which = hw, mb.out.Name+"'s CPU/pkt ratio"
		}
	}
	return widest, which
}

// setRatios gives every case of p other than the baseline its pps and CPU
// ratios to the baseline, from the blocks both have, over their trials.
func setRatios(p *result.Paired, baseline string, level float64) {
	bi := slices.IndexFunc(p.Cases, func(c result.PairedCase) bool { return c.Case == baseline })
	if bi < 0 {
		return
	}
	base := p.Cases[bi]
	for i := range p.Cases {
		if i == bi {
			continue
		}
		c := &p.Cases[i]
		c.PPSRatio = ratioOf(stats.PairedRatioTrials(base.PPS, c.PPS, p.TrialBlocks, level))
		c.CPURatio = ratioOf(stats.PairedRatioTrials(base.CPUNsPerPkt, c.CPUNsPerPkt, p.TrialBlocks, level))
	}
}

func ratioOf(p stats.Paired) *result.Ratio {
	if p.N < 2 || math.IsNaN(p.Lo) {
		return nil
	}
	method := stats.PairedMethod
	if p.Trials > 0 {
		method = stats.PairedTrialsMethod
	}
	return &result.Ratio{Ratio: p.Ratio, Lo: p.Lo, Hi: p.Hi, Level: p.Level, Blocks: p.N, Trials: p.Trials, P: p.P, Method: method}
}
