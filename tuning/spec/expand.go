package spec

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/reports/result"
)

// Limits on the size of a sweep.
const (
	// MaxCases is the largest sweep Check accepts without force: at about
	// 15 s a case, 200 cases take most of an hour.
	MaxCases = 200
	// HardMaxCases bounds every grid, forced or not (Parse and Expand
	// refuse larger ones before building them).
	HardMaxCases = 10000
)

// Where a value comes from, most specific last: the error for an invalid
// case points at the most specific of the values involved.
const (
	levelBuiltin = iota
	levelDefaults
	levelSet
	levelGrid // one_of or vary
)

type source struct {
	v     *Value
	level int
}

// Expand returns every case of the sweep, group by group, each group's grid
// in order (one_of outermost, then the vary keys in file order, the last
// varying fastest). Each case starts from the built-in defaults (those of
// `vethbench run`), then takes the spec's defaults, then the group's set,
// one_of entry and vary values.
//
// Every case is validated (plan.Case.Validate with the spec's Measure); the
// first invalid one is an *Error pointing at the value that makes it
// invalid. Two grid points of one group that make the same case are an
// error, unless the later one takes a value its vary list gives again
// (Value.Repeat): it is then a replica, a case of its own named with
// replica=N, N = 2 for the second point making that case, 3 for the third
// (plan.Case.Replica), which a baseline never selects. A case asked for
// by several groups (same Name) is merged: it appears once, where the
// first group puts it, and CaseSpec.Groups and Questions list every group
// that asks for it.
func (s *Spec) Expand() ([]CaseSpec, error) {
	if err := s.checkMeasure(); err != nil {
		return nil, err
	}
	if n := s.size(); n > HardMaxCases {
		return nil, s.sizeErr(n, HardMaxCases, "even when forced")
	}
	m := s.Measure
	var out []CaseSpec
	index := map[string]int{}
	for gi := range s.Groups {
		g := &s.Groups[gi]
		inGroup := map[string][]*Value{} // case name -> the grid values making it
		copies := map[string]int{}       // case name without replica -> cases of the group with it
		var first string                 // the grid's first case
		var picked []string              // the cases g.Baseline selects
		taken := map[string][]string{}   // baseline key -> the values the group's cases take
		err := g.points(func(grid []*Value) error {
			src := map[string]source{}
			for i := range s.Defaults {
				src[s.Defaults[i].Key] = source{&s.Defaults[i], levelDefaults}
			}
			for i := range g.Set {
				src[g.Set[i].Key] = source{&g.Set[i], levelSet}
			}
			for _, v := range grid {
				src[v.Key] = source{v, levelGrid}
			}
			c := build(src)
			knobs := c.Knobs
			if err := c.Validate(m); err != nil {
				return s.caseErr(g, src, err)
			}
			name := c.Name()
			if prev, dup := inGroup[name]; dup {
				if !slices.ContainsFunc(grid, func(v *Value) bool { return v.Repeat > 1 }) {
					return s.sameCaseErr(g, grid, prev, name)
				}
				c.Replica = copies[name] + 1
				copies[name]++
				name = c.Name()
			} else {
				copies[name] = 1
				inGroup[name] = grid
			}
			if first == "" {
				first = name
			}
			if g.selects(src, taken) && c.Replica <= 1 {
				picked = append(picked, name)
			}
			if i, dup := index[name]; dup {
				cs := &out[i]
				if !slices.Contains(cs.Groups, gi) {
					cs.Groups = append(cs.Groups, gi)
					cs.Questions = append(cs.Questions, g.Question)
				}
				return nil
			}
			index[name] = len(out)
			out = append(out, CaseSpec{
				Group: gi, Question: g.Question, Groups: []int{gi}, Questions: []string{g.Question},
				Case: c, Knobs: knobs, Name: name,
			})
			return nil
		})
		if err != nil {
			return nil, err
		}
		base := first
		if g.Baseline != nil {
			if len(picked) != 1 {
				return nil, s.baselineErr(g, picked, taken)
			}
			base = picked[0]
		}
		if base != "" {
			cs := &out[index[base]]
			cs.BaselineOf = append(cs.BaselineOf, gi)
		}
	}
	return out, nil
}

// selects reports whether the grid point whose values are src is the case
// the group's baseline names, and records in taken the values the point
// takes for the baseline's keys.
func (g *Group) selects(src map[string]source, taken map[string][]string) bool {
	if g.Baseline == nil {
		return false
	}
	ok := true
	for _, b := range g.Baseline {
		sv, set := src[b.Key]
		if !set {
			ok = false
			continue
		}
		if !slices.Contains(taken[b.Key], sv.v.Value) {
			taken[b.Key] = append(taken[b.Key], sv.v.Value)
		}
		if sv.v.Value != b.Value {
			ok = false
		}
	}
	return ok
}

// baselineErr says why a group's baseline does not select exactly one of
// its cases: a key its cases do not set, a value none takes, no case with
// every value, or several cases.
func (s *Spec) baselineErr(g *Group, picked []string, taken map[string][]string) *Error {
	path := g.Path + ".baseline"
	for _, b := range g.Baseline {
		vals := taken[b.Key]
		switch {
		case len(vals) == 0:
			return &Error{File: s.File, Line: b.Line, Path: b.Path,
				Msg: fmt.Sprintf("%s is not given to the group's cases (by defaults, set, one_of or vary): the baseline selects a case by the values it is given", b.Key)}
		case !slices.Contains(vals, b.Value):
			return &Error{File: s.File, Line: b.Line, Path: b.Path,
				Msg: fmt.Sprintf("%s selects no case: the group's cases take %s", text(clip(b.Value)), strings.Join(clipAll(vals), ", "))}
		}
	}
	if len(picked) == 0 {
		var kv []string
		for _, b := range g.Baseline {
			kv = append(kv, b.Key+"="+text(clip(b.Value)))
		}
		return &Error{File: s.File, Line: g.BaselineLine, Path: path,
			Msg: "selects no case: no case of the group has " + strings.Join(kv, " and ")}
	}
	shown := picked
	if len(shown) > 3 {
		shown = append(slices.Clone(shown[:3]), "...")
	}
	return &Error{File: s.File, Line: g.BaselineLine, Path: path,
		Msg: fmt.Sprintf("selects %d cases (%s): name more values, so that it selects one", len(picked), strings.Join(shown, ", "))}
}

func clipAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = text(clip(v))
	}
	return out
}

// points calls f with the grid values of every point of the group's grid.
func (g *Group) points(f func(grid []*Value) error) error {
	var axes [][]*Value // each axis: the values of one point along it
	var bundles [][]*Value
	for i := range g.OneOf {
		b := []*Value{}
		for j := range g.OneOf[i] {
			b = append(b, &g.OneOf[i][j])
		}
		bundles = append(bundles, b)
	}
	for ai := range g.Vary {
		var vs []*Value
		for vi := range g.Vary[ai].Values {
			vs = append(vs, &g.Vary[ai].Values[vi])
		}
		axes = append(axes, vs)
	}
	if len(bundles) == 0 {
		bundles = [][]*Value{{}}
	}
	idx := make([]int, len(axes))
	for _, b := range bundles {
		for i := range idx {
			idx[i] = 0
		}
		for {
			grid := slices.Clone(b)
			for ai, vs := range axes {
				if len(vs) == 0 {
					return nil // cannot happen after Parse: empty lists are refused
				}
				grid = append(grid, vs[idx[ai]])
			}
			if err := f(grid); err != nil {
				return err
			}
			// Odometer: the last axis turns fastest.
			ai := len(axes) - 1
			for ; ai >= 0; ai-- {
				if idx[ai]++; idx[ai] < len(axes[ai]) {
					break
				}
				idx[ai] = 0
			}
			if ai < 0 {
				break
			}
		}
	}
	return nil
}

// build makes the case and its knobs from the values in src.
func build(src map[string]source) plan.Case {
	c := builtin()
	var knobs []Setting
	for key, s := range src {
		if d, ok := dimensions[key]; ok {
			d.apply(&c, s.v.Value)
		} else {
			knobs = append(knobs, Setting{Name: key, Value: s.v.Value})
		}
	}
	slices.SortFunc(knobs, func(a, b Setting) int { return strings.Compare(a.Name, b.Name) })
	c.Knobs = knobs
	return c
}

// caseErr points a validation error at the most specific value involved.
func (s *Spec) caseErr(g *Group, src map[string]source, err error) *Error {
	field, msg := splitField(err)
	msg = oneLine(msg)
	key := byField[field]
	if _, knob := src[field]; key == "" && knob {
		key = field // a knob's own key, from a check of several knobs together
	}
	if key == "" {
		if field != "" {
			msg = field + ": " + msg
		}
		return &Error{File: s.File, Line: g.Line, Path: g.Path, Msg: msg, Err: err}
	}
	keys := related[key]
	if keys == nil {
		keys = []string{key}
	}
	var best *source
	for _, k := range keys {
		if sv, ok := src[k]; ok && (best == nil || sv.level > best.level) {
			best = &sv
		}
	}
	if best == nil {
		return &Error{File: s.File, Line: g.Line, Path: g.Path, Msg: key + ": " + msg, Err: err}
	}
	if best.v.Key != key {
		msg = key + ": " + msg
	}
	return &Error{File: s.File, Line: best.v.Line, Path: best.v.Path, Msg: msg, Err: err}
}

// sameCaseErr reports two grid points of one group that make one case,
// pointing at a value of the later point that differs from the earlier.
func (s *Spec) sameCaseErr(g *Group, grid, prev []*Value, name string) *Error {
	find := func(vs []*Value, key string) *Value {
		for _, v := range vs {
			if v.Key == key {
				return v
			}
		}
		return nil
	}
	for _, v := range grid {
		switch p := find(prev, v.Key); {
		case p == nil:
			return &Error{File: s.File, Line: v.Line, Path: v.Path,
				Msg: fmt.Sprintf("%s makes the same case as leaving %s out: %s", text(clip(v.Value)), v.Key, text(name))}
		case p != v:
			return &Error{File: s.File, Line: v.Line, Path: v.Path,
				Msg: fmt.Sprintf("%s makes the same case as %s (line %d): %s", text(clip(v.Value)), text(clip(p.Value)), p.Line, text(name))}
		}
	}
	for _, p := range prev {
		if find(grid, p.Key) == nil {
			return &Error{File: s.File, Line: p.Line, Path: p.Path,
				Msg: fmt.Sprintf("%s makes the same case as leaving %s out: %s", text(clip(p.Value)), p.Key, text(name))}
		}
	}
	return &Error{File: s.File, Line: g.Line, Path: g.Path, Msg: "two points of the grid make the same case " + text(name)}
}

func (s *Spec) checkMeasure() error {
	m := s.Measure
	line := func(paths ...string) int {
		for _, p := range paths {
			if l, ok := s.Lines[p]; ok {
				return l
			}
		}
		return s.Lines["measure"]
	}
	bad := func(path string, err error, format string, a ...any) error {
		return &Error{File: s.File, Line: line(path), Path: path, Msg: fmt.Sprintf(format, a...), Err: err}
	}
	if err := builtin().Validate(m); err != nil {
		field, msg := splitField(err)
		return bad("measure."+field, err, "%s", msg)
	}
	if m.MaxTrials < m.Trials {
		return bad("measure.max_trials", nil, "%d is below trials (%d): it is the upper bound of adaptive stopping", m.MaxTrials, m.Trials)
	}
	if m.MaxTrials > plan.MaxTrials {
		return bad("measure.max_trials", nil, "%d out of range [trials, %d]", m.MaxTrials, plan.MaxTrials)
	}
	if need, best := TrialsFor(m.Confidence), coverage(m.Trials); m.Trials < need {
		path := "measure.trials"
		if _, ok := s.Lines[path]; !ok {
			path = "measure.confidence"
		}
		return bad(path, nil, "%d trials cannot give a %g%% interval of the median (at most %.4g%%): use at least %d trials or a lower confidence",
			m.Trials, 100*m.Confidence, 100*best, need)
	}
	return nil
}

// coverage is the largest coverage an interval of the median from n trials
// has: that of [min, max], 1 - 2 * 0.5^n (see internal/stats).
func coverage(n int) float64 { return 1 - 2*math.Pow(0.5, float64(n)) }

// TrialsFor returns the fewest trials whose median interval can reach the
// confidence level: 6 for 0.95, 8 for 0.99.
func TrialsFor(confidence float64) int {
	n := 1
	for n < plan.MaxTrials && coverage(n) < confidence {
		n++
	}
	return n
}

// size counts the grid points of every group, before merging, saturating
// just above HardMaxCases.
func (s *Spec) size() int {
	total := 0
	for i := range s.Groups {
		total += s.Groups[i].size()
		if total > HardMaxCases {
			return HardMaxCases + 1
		}
	}
	return total
}

func (g *Group) size() int {
	n := max(len(g.OneOf), 1)
	for _, a := range g.Vary {
		n *= len(a.Values)
		if n > HardMaxCases {
			return HardMaxCases + 1
		}
	}
	return n
}

func (s *Spec) sizeErr(n, limit int, how string) *Error {
	count := func(n int) string {
		if n > HardMaxCases {
			return fmt.Sprintf("more than %d", HardMaxCases)
		}
		return fmt.Sprint(n)
	}
	var per []string
	for i := range s.Groups {
		per = append(per, fmt.Sprintf("%s: %s", s.Groups[i].Path, count(s.Groups[i].size())))
	}
	return &Error{File: s.File, Line: s.Lines["groups"], Path: "groups",
		Msg: fmt.Sprintf("%s cases (%s), above the limit of %d %s", count(n), strings.Join(per, ", "), limit, how)}
}

// Check applies the grid-size limit: more than MaxCases cases is an error
// unless force is set; more than HardMaxCases always is. Cases merged
// across groups count once.
func (s *Spec) Check(force bool) error {
	n := s.size()
	if n > HardMaxCases {
		return s.sizeErr(n, HardMaxCases, "even when forced")
	}
	if force || n <= MaxCases {
		return nil
	}
	cases, err := s.Expand()
	if err != nil {
		return err
	}
	if len(cases) > MaxCases {
		return s.sizeErr(len(cases), MaxCases, "(split the spec, or force it with --force)")
	}
	return nil
}

// Costs EstimateDuration assumes besides the measured windows.
const (
	SetupCost = 300 * time.Millisecond // build the topology, apply knobs, attach counters, tear down
	DrainCost = 100 * time.Millisecond // wait for in-flight packets after each trial
	// SwitchCost is what an interleaved slice takes beyond its own
	// length: stopping and starting the generator, the drain, reading
	// the counters (about 1-2 ms measured on a 2-vCPU VM).
	SwitchCost = 2 * time.Millisecond
)

// EstimateDuration is how long measuring cases with m takes at the minimum
// number of trials.
//
//   - A single case keeps its topology: SetupCost + Warmup + Trials *
//     (Duration + DrainCost).
//   - Interleaved (the default), question by question: for every trial
//     each question's cases are set up together (SetupCost each) and
//     every case gets one slice a block, Warmup/Slice warm-up blocks and
//     Duration/Slice measured blocks, each slice costing Slice +
//     SwitchCost. A case several questions ask for is measured in each.
//     A question with a tcp case runs in rounds.
//   - Rounds: every trial in a topology of its own, Trials * (SetupCost +
//     Warmup + Duration + DrainCost) per case.
//
// Cases the kernel cannot build (ipvlan without ipvlan support) take almost
// nothing, so the estimate errs long; adaptive stopping can add up to
// MaxTrials - Trials trials.
func EstimateDuration(cases []CaseSpec, m plan.Measure) time.Duration {
	if len(cases) == 1 {
		return SetupCost + m.Warmup + time.Duration(m.Trials)*(m.Duration+DrainCost)
	}
	rounds := func(n int) time.Duration {
		return time.Duration(n*m.Trials) * (SetupCost + m.Warmup + m.Duration + DrainCost)
	}
	if m.MethodOf() == plan.MethodRounds {
		return rounds(len(cases))
	}
	slice := m.SliceOf()
	blocks := func(d time.Duration) int { return int((d + slice - 1) / slice) }
	// Every trial builds the question's cases afresh and warms them up.
	perCase := time.Duration(m.Trials) * (SetupCost + time.Duration(blocks(m.Warmup)+blocks(m.Duration))*(slice+SwitchCost))
	n := map[int]int{}
	tcp := map[int]bool{}
	for _, c := range cases {
		for _, g := range c.Groups {
			n[g]++
			tcp[g] = tcp[g] || c.Case.Traffic.Generator == plan.GenTCP
		}
	}
	var total time.Duration
	for g, k := range n {
		if tcp[g] {
			total += rounds(k)
			continue
		}
		total += time.Duration(k) * perCase
	}
	return total
}

// EstimateLongest is how long measuring cases with m may take at most: at
// MaxTrials, or, for an interleaved sweep with a time limit, the limit
// (never less than the minimum, which every question runs whatever the
// limit).
func EstimateLongest(cases []CaseSpec, m plan.Measure) time.Duration {
	least := EstimateDuration(cases, m)
	most := m
	most.Trials = max(m.MaxTrials, m.Trials)
	longest := EstimateDuration(cases, most)
	if len(cases) > 1 && m.MethodOf() == plan.MethodInterleaved && m.TimeLimit > 0 {
		longest = min(longest, max(m.TimeLimit, least))
	}
	return longest
}

// Questions returns the sweep's questions in the spec's order, each with
// the name of its baseline case, for the result file
// (result.Result.Questions); cases are what Expand returned.
func (s *Spec) Questions(cases []CaseSpec) []result.Question {
	out := make([]result.Question, len(s.Groups))
	for gi := range s.Groups {
		out[gi].Text = s.Groups[gi].Question
	}
	for _, c := range cases {
		for _, gi := range c.BaselineOf {
			out[gi].Baseline = c.Name
		}
	}
	return out
}
