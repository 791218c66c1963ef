package reports

// Labels: the words and number formats the sentences and both renderers
// share.

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// valueLabel names a value of a dimension: "64 B", "gro on", "2x2 queues".
func valueLabel(dim, v string) string {
	switch dim {
	case dimDevice, dimFamily:
		return v
	case dimPkt:
		return v + " B"
	case dimQueues:
		return v + " queues"
	case result.DimFlows, result.DimSenders:
		return v + " " + dim
	case result.DimMTU:
		return "MTU " + v
	case result.DimRate:
		if v == "0" {
			return "unlimited rate"
		}
		return "rate " + v + " pps"
	}
	return dim + " " + v
}

// contextLabel places a context value: "at 64 B", "under qdisc noqueue",
// "on veth", "with gro off".
func contextLabel(dim, v string) string {
	switch dim {
	case dimPkt:
		return "at " + valueLabel(dim, v)
	case "qdisc":
		return "under " + valueLabel(dim, v)
	case dimDevice:
		return "on " + v
	case dimFamily:
		return "over " + v
	}
	return "with " + valueLabel(dim, v)
}

// contextPhrase places a finding's context: "at 64 B, with gro off".
func (g *group) contextPhrase(ctx []string) string {
	parts := make([]string, len(ctx))
	for i, v := range ctx {
		parts[i] = contextLabel(g.Context[i], v)
	}
	return strings.Join(parts, ", ")
}

// contextName names a context for a legend: "64 B", "qdisc noqueue".
func (g *group) contextName(ctx []string) string {
	if len(ctx) == 0 {
		return ""
	}
	parts := make([]string, len(ctx))
	for i, v := range ctx {
		parts[i] = valueLabel(g.Context[i], v)
	}
	return strings.Join(parts, ", ")
}

// dimNoun names what a dimension is, as the subject of "had no measurable
// effect".
func dimNoun(dim string) string {
	switch dim {
	case dimDevice:
		return "the device"
	case dimPkt:
		return "the packet size"
	case dimQueues:
		return "the number of queues"
	case dimFamily:
		return "the address family"
	case result.DimFlows, result.DimSenders:
		return "the number of " + dim
	}
	return dim
}

// questionText is a group's question, or what its answer tells when the
// result asked none.
func questionText(g *group) string {
	switch {
	case g.Question != "":
		return g.Question
	case g.Compare != "":
		return "How do the cases compare?"
	}
	return "What did this run measure?"
}

// effectWhat names what an effect compares: "txqueuelen 5000 vs
// txqueuelen 1000 under qdisc pfifo_fast".
func effectWhat(e effect) string {
	g, f := e.g, e.f
	what := valueLabel(g.Compare, e.c.Value) + " vs " + valueLabel(g.Compare, g.BaseValue)
	if len(g.Context) > 0 {
		what += " " + g.contextPhrase(f.Context)
	}
	return what
}

// ruleText says how the answers' verdicts are reached.
func ruleText(r stats.Rule) string {
	return fmt.Sprintf("Each case against its question's baseline (the first case of the question unless the spec names one), by the rule of vethbench compare: "+
		"faster or slower when the whole %s interval of the ratio lies beyond ±%s and q < %.3g (q: the Mann-Whitney p-value adjusted across the question); "+
		"no measurable difference when the interval lies within ±%s and q ≥ %.3g; inconclusive otherwise: more trials may tell.",
		pct(1-r.Alpha), pct(r.Threshold), r.Alpha, pct(r.Threshold), r.Alpha)
}

// verdictWords says what a verdict on pps against a baseline means.
func verdictWords(v stats.Verdict) string {
	switch v {
	case stats.Improvement:
		return "faster"
	case stats.Regression:
		return "slower"
	case stats.NoChange:
		return "no measurable difference"
	case stats.TooFewTrials:
		return "too few trials to tell"
	}
	return "inconclusive"
}

// notApplicable stands for a ratio or interval that has no meaning: NaN or
// Inf, from a median of 0 (all-zero counters).
const notApplicable = "n/a"

// fmtRatio formats a ratio: "1.30x"; n/a when it has no meaning.
func fmtRatio(r float64) string {
	if !finiteAll(r) {
		return notApplicable
	}
	if r >= 10 {
		return fmt.Sprintf("%.1fx", r)
	}
	return fmt.Sprintf("%.2fx", r)
}

// fmtCI formats an interval: "95% CI 1.25–1.36"; "no interval" when it
// has no meaning.
func fmtCI(ci stats.RatioCI) string {
	if !finiteAll(ci.Lo, ci.Hi) {
		return "no interval"
	}
	return fmt.Sprintf("%s CI %s", pct(ci.Level), fmtRange(ci.Lo, ci.Hi))
}

// fmtRange formats an interval's bounds: "1.25–1.36"; n/a when either has
// no meaning.
func fmtRange(lo, hi float64) string {
	if !finiteAll(lo, hi) {
		return notApplicable
	}
	return fmt.Sprintf("%.2f–%.2f", lo, hi)
}

// pct formats a fraction as a percentage with at most one decimal: "95%",
// "97.5%".
func pct(level float64) string {
	s := strconv.FormatFloat(100*level, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + "%"
}

// halfWidth is an interval's larger half-width relative to its median, as
// a percentage.
func halfWidth(e result.Estimate) string {
	if e.Median == 0 {
		return "?"
	}
	hw := math.Max(e.Hi-e.Median, e.Median-e.Lo) / e.Median
	return fmt.Sprintf("%.1f%%", 100*hw)
}

// plural counts: "1 case", "2 cases".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// joinOr lists alternatives: "a, b or c".
func joinOr(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

var specName = regexp.MustCompile(`(?m)^name:\s*"?([^"#\n]*?)"?\s*(#.*)?$`)

// reportName names what a result is of: its sweep, else its command.
func reportName(r *result.Result) string {
	if m := specName.FindStringSubmatch(r.Spec); m != nil && m[1] != "" {
		return "sweep “" + m[1] + "”"
	}
	if len(r.Command) > 1 {
		return strings.Join(r.Command[:2], " ")
	}
	return "result"
}

func reportTitle(r *result.Result) string { return "vethbench report: " + reportName(r) }

// subtitle is a result's context in short parts: cases, kernel, CPU, date,
// version.
func subtitle(r *result.Result) []string {
	var s []string
	s = append(s, plural(len(r.Cases), "case", "cases"))
	if r.Host.Kernel != "" {
		s = append(s, "kernel "+r.Host.Kernel)
	}
	if r.Host.VCPUs > 0 {
		cpu := plural(r.Host.VCPUs, "vCPU", "vCPUs")
		if r.Host.CPUModel != "" {
			cpu += " " + r.Host.CPUModel
		}
		s = append(s, cpu)
	}
	if !r.StartedAt.IsZero() {
		s = append(s, r.StartedAt.UTC().Format("2006-01-02 15:04 MST"))
	}
	if r.Tool.Version != "" {
		s = append(s, "vethbench "+r.Tool.Version)
	}
	return s
}
