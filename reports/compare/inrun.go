package compare

// In-run ratios: each case of an interleaved question over the question's
// baseline, from the same blocks of the same run, compared between BASE
// and NEW. A host that is faster or slower in one run moves a case and its
// baseline alike, so the ratio cancels it; what is left is a change of the
// case relative to its baseline.

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/vethbench/vethbench/internal/stats"
)

// InRun is the comparison of the in-run ratios of the questions both files
// measured interleaved (result.Question.Paired). Absent from a Report when
// neither file has any.
type InRun struct {
	// Metric is the figure whose ratios are compared: --metric when it
	// has block series (pps, cpu_ns_per_pkt).
	Metric string `json:"metric"`
	// Note says why there are no ratios to compare, when Cases is empty.
	Note   string      `json:"note,omitempty"`
	Method InRunMethod `json:"method"`
	// Counts of the verdicts, as in Summary.
	Regressions  int `json:"regressions"`
	Improvements int `json:"improvements"`
	NoChange     int `json:"no_change"`
	Inconclusive int `json:"inconclusive"`
	NotCompared  int `json:"not_compared"`
	// Cases are one per (question, case other than its baseline), in
	// severity order as Report.Cases.
	Cases []InRunCase `json:"cases"`
}

// InRunMethod records how the in-run ratios were compared.
type InRunMethod struct {
	// Ratio is how each run's ratio and its interval were computed from
	// its blocks (stats.PairedMethod).
	Ratio string `json:"ratio"`
	// Interval is how the ratio of the two runs' ratios got its interval
	// and p-value.
	Interval   string  `json:"interval"`
	Correction string  `json:"correction"` // "benjamini-hochberg"
	Family     int     `json:"family"`     // p-values corrected together
	Alpha      float64 `json:"alpha"`
	Threshold  float64 `json:"threshold"`
	Level      float64 `json:"level"`
}

// InRunCase is one case of an interleaved question, its ratio to the
// question's baseline in each run and the ratio of the two.
type InRunCase struct {
	Question string `json:"question"`
	Case     string `json:"case"`     // after --ignore
	Baseline string `json:"baseline"` // after --ignore
	In       string `json:"in"`       // "both", "base", "new"
	// Verdict is empty when the ratios could not be compared; Note says why.
	Verdict stats.Verdict `json:"verdict,omitempty"`
	Note    string        `json:"note,omitempty"`
	// Base and New are each run's paired ratio case/baseline.
	Base *PairedRatio `json:"base,omitempty"`
	New  *PairedRatio `json:"new,omitempty"`
	// Ratio is New.Ratio / Base.Ratio with its interval.
	Ratio *Ratio     `json:"ratio,omitempty"`
	Test  *InRunTest `json:"test,omitempty"`
}

// PairedRatio is one run's ratio of a case to its baseline over the
// blocks of the run (stats.PairedRatio).
type PairedRatio struct {
	Ratio  float64 `json:"ratio"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	Level  float64 `json:"level"`
	Blocks int     `json:"blocks"`
	// NEff is the blocks' effective number after the autocorrelation
	// adjustment; DF the degrees of freedom of the interval's t (the
	// blocks kept after trimming, times the same adjustment, less 1).
	NEff float64 `json:"n_eff"`
	DF   float64 `json:"df"`
}

// InRunTest is the test of "the two runs' ratios are equal".
type InRunTest struct {
	P float64 `json:"p"`
	// Q is P adjusted by Benjamini-Hochberg over the in-run family.
	Q float64 `json:"q"`
	// DF is the Welch-Satterthwaite degrees of freedom of the t.
	DF       float64 `json:"df"`
	InFamily bool    `json:"in_family"`
}

// The in-run method's names, for the JSON report.
const (
	inRunInterval = "t on the difference of the two runs' mean block log-ratios, standard errors combined, Welch-Satterthwaite df"
)

// inRunSide is one file's side of one question.
type inRunSide struct {
	baseline string // after --ignore
	trials   []int  // the question's blocks per trial
	series   map[string][]float64
	order    []string
}

// questionSides reads in's interleaved questions for metric m: by question
// text, the baseline and every case's series, names after ignore.
func questionSides(in *Input, m resolvedMetric, ignore []string) (map[string]inRunSide, []string) {
	out := map[string]inRunSide{}
	var order []string
	for _, q := range in.questions {
		if _, dup := out[q.Text]; dup || q.Paired == nil {
			continue
		}
		s := inRunSide{baseline: StripKeys(q.Baseline, ignore), trials: q.Paired.TrialBlocks, series: map[string][]float64{}}
		for _, pc := range q.Paired.Cases {
			name := StripKeys(pc.Case, ignore)
			if _, dup := s.series[name]; dup {
				continue
			}
			s.series[name] = m.block(pc)
			s.order = append(s.order, name)
		}
		out[q.Text] = s
		order = append(order, q.Text)
	}
	return out, order
}

// compareInRun compares the in-run ratios of the questions both inputs
// measured interleaved. It returns nil when neither has any.
func compareInRun(base, nw *Input, m resolvedMetric, o Options) *InRun {
	if len(base.questions) == 0 && len(nw.questions) == 0 {
		return nil
	}
	level := 1 - o.Alpha
	ir := &InRun{
		Metric: m.Name,
		Method: InRunMethod{
			Ratio: stats.PairedMethod, Interval: inRunInterval, Correction: "benjamini-hochberg",
			Alpha: o.Alpha, Threshold: o.Threshold, Level: level,
		},
		Cases: []InRunCase{},
	}
	switch {
	case m.block == nil:
		ir.Note = fmt.Sprintf("in-run ratios are of pps and cpu_ns_per_pkt, the figures measured per block; %s has none", m.Name)
		return ir
	case len(base.questions) == 0:
		ir.Note = "BASE has no interleaved questions (measured in rounds, or written before schema version 3): only the absolute figures are compared"
		return ir
	case len(nw.questions) == 0:
		ir.Note = "NEW has no interleaved questions (measured in rounds, or written before schema version 3): only the absolute figures are compared"
		return ir
	}
	bq, border := questionSides(base, m, o.Ignore)
	nq, norder := questionSides(nw, m, o.Ignore)
	texts := slices.Clone(border)
	for _, t := range norder {
		if _, ok := bq[t]; !ok {
			texts = append(texts, t)
		}
	}

	type work struct {
		i      int // in ir.Cases
		d, se2 float64
		df     float64
	}
	var todo []work
	for _, text := range texts {
		b, inB := bq[text]
		n, inN := nq[text]
		names := slices.Clone(b.order)
		for _, c := range n.order {
			if _, ok := b.series[c]; !ok {
				names = append(names, c)
			}
		}
		for _, name := range names {
			_, cb := b.series[name]
			_, cn := n.series[name]
			if name == b.baseline || name == n.baseline {
				continue // a baseline's ratio to itself is 1 by definition
			}
			c := InRunCase{Question: text, Case: name, Baseline: cmp.Or(b.baseline, n.baseline), In: InBoth}
			switch {
			case !inN:
				c.In, c.Note = InBase, "question measured interleaved only in BASE"
			case !inB:
				c.In, c.Note = InNew, "question measured interleaved only in NEW"
			case !cn:
				c.In, c.Note = InBase, "only in BASE"
			case !cb:
				c.In, c.Note = InNew, "only in NEW"
			case b.baseline != n.baseline:
				c.Note = fmt.Sprintf("the baselines differ: %s in BASE, %s in NEW", b.baseline, n.baseline)
			}
			if c.Note != "" {
				ir.Cases = append(ir.Cases, c)
				continue
			}
			pb, errB := pairedSide(b, name, level, "BASE")
			pn, errN := pairedSide(n, name, level, "NEW")
			if pb.N > 0 {
				c.Base = pairedFigure(pb)
			}
			if pn.N > 0 {
				c.New = pairedFigure(pn)
			}
			if msg := cmp.Or(errB, errN); msg != "" {
				c.Note = msg
				ir.Cases = append(ir.Cases, c)
				continue
			}
			sb, sn := pb.SE, pn.SE
			se2 := sb*sb + sn*sn
			df := math.Inf(1)
			if se2 > 0 {
				df = se2 * se2 / (math.Pow(sb, 4)/pb.DF + math.Pow(sn, 4)/pn.DF)
			}
			ir.Cases = append(ir.Cases, c)
			todo = append(todo, work{i: len(ir.Cases) - 1, d: math.Log(pn.Ratio) - math.Log(pb.Ratio), se2: se2, df: df})
		}
	}

	// Test, correct, decide.
	ps := make([]float64, len(todo))
	for j, w := range todo {
		c := &ir.Cases[w.i]
		se := math.Sqrt(w.se2)
		ratio := math.Exp(w.d)
		lo, hi, p := ratio, ratio, 1.0
		if se > 0 {
			t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: w.df}
			q := t.Quantile(1 - (1-level)/2)
			lo, hi = math.Exp(w.d-q*se), math.Exp(w.d+q*se)
			p = math.Min(1, 2*t.Survival(math.Abs(w.d)/se))
		} else if w.d != 0 {
			p = 0
		}
		c.Ratio = &Ratio{Ratio: ratio, Lo: lo, Hi: hi, Level: level}
		c.Test = &InRunTest{P: p, DF: w.df, InFamily: true}
		if math.IsInf(w.df, 0) {
			c.Test.DF = 0 // JSON has no infinity; 0 with se 0 means the ratios were exact
		}
		ps[j] = p
	}
	ir.Method.Family = len(todo)
	for j, q := range stats.BenjaminiHochberg(ps) {
		c := &ir.Cases[todo[j].i]
		c.Test.Q = q
		r := c.Ratio
		c.Verdict = stats.Decide(q, o.Alpha, stats.RatioCI{Ratio: r.Ratio, Lo: r.Lo, Hi: r.Hi, Level: r.Level}, o.Threshold, m.HigherIsBetter, 0)
		if c.Verdict == stats.Inconclusive {
			c.Note = inconclusiveNote(q, o, "blocks")
		}
	}
	for _, c := range ir.Cases {
		switch c.Verdict {
		case stats.Regression:
			ir.Regressions++
		case stats.Improvement:
			ir.Improvements++
		case stats.NoChange:
			ir.NoChange++
		case stats.Inconclusive:
			ir.Inconclusive++
		default:
			ir.NotCompared++
		}
	}
	slices.SortStableFunc(ir.Cases, func(a, b InRunCase) int {
		if c := cmp.Compare(Severity(a.Verdict), Severity(b.Verdict)); c != 0 {
			return c
		}
		return cmp.Compare(inRunMagnitude(b), inRunMagnitude(a))
	})
	if len(ir.Cases) == 0 {
		ir.Note = "no question was measured interleaved in both files with a case other than its baseline"
	}
	return ir
}

// pairedSide is one run's paired ratio of case name to the question's
// baseline, or a note on why there is none.
func pairedSide(s inRunSide, name string, level float64, label string) (stats.Paired, string) {
	base, ok := s.series[s.baseline]
	if !ok || len(base) == 0 {
		return stats.Paired{}, fmt.Sprintf("the baseline %s has no blocks in %s", s.baseline, label)
	}
	p := stats.PairedRatioTrials(base, s.series[name], s.trials, level)
	if p.N < 2 || !finite(p.Ratio, p.Lo, p.Hi) || !(p.Ratio > 0) {
		return p, fmt.Sprintf("%d usable blocks in %s: a ratio's interval needs 2 or more with both values positive", p.N, label)
	}
	return p, ""
}

func pairedFigure(p stats.Paired) *PairedRatio {
	f := &PairedRatio{Ratio: p.Ratio, Lo: p.Lo, Hi: p.Hi, Level: p.Level, Blocks: p.N, NEff: p.NEff, DF: p.DF}
	if !finite(f.Ratio) {
		f.Ratio = 0
	}
	if !finite(f.Lo, f.Hi) {
		f.Lo, f.Hi = 0, 0
	}
	return f
}

func inRunMagnitude(c InRunCase) float64 {
	if c.Ratio == nil || !(c.Ratio.Ratio > 0) {
		return 0
	}
	return math.Abs(math.Log(c.Ratio.Ratio))
}

// inconclusiveNote says what an INCONCLUSIVE verdict needs: more of unit
// (trials or blocks).
func inconclusiveNote(q float64, o Options, unit string) string {
	if q < o.Alpha {
		return fmt.Sprintf("significant (q %.3g) but the interval reaches into ±%s: collect more %s", q, pct(o.Threshold), unit)
	}
	return fmt.Sprintf("not significant (q %.3g) and the interval is wider than ±%s: collect more %s", q, pct(o.Threshold), unit)
}

// inRunHeadline is the in-run part of the headline.
func inRunHeadline(ir *InRun) string {
	parts := []string{
		plural(ir.Regressions, "regression", "regressions"),
		plural(ir.Improvements, "improvement", "improvements"),
		fmt.Sprintf("%d no change", ir.NoChange),
		fmt.Sprintf("%d inconclusive", ir.Inconclusive),
	}
	if ir.NotCompared > 0 {
		parts = append(parts, fmt.Sprintf("%d not compared", ir.NotCompared))
	}
	return "in-run " + ir.Metric + " ratios: " + strings.Join(parts, ", ") + " of " + plural(len(ir.Cases), "case", "cases")
}
