package reports

// The host, the tool and the settings of a run.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

type hostView struct {
	Context   table
	HostKnobs table
	Command   string
}

func buildHost(a *analysis) (any, error) {
	r := a.r
	kv := func(k, v string) []tcell { return []tcell{{Text: k, Class: "key"}, txt(v)} }
	t := table{Fit: true}
	t.Rows = append(t.Rows,
		kv("tool", strings.TrimSpace(r.Tool.Name+" "+r.Tool.Version+" ("+r.Tool.GoVersion+")")),
		kv("kernel", r.Host.Kernel+" "+r.Host.Arch),
		kv("CPU", fmt.Sprintf("%s, %d vCPUs", r.Host.CPUModel, r.Host.VCPUs)),
		kv("steal", fmt.Sprintf("%.1f%% of CPU time over the run (the hypervisor's share: high steal makes every figure noisier)", r.Host.StealPct)),
		kv("busy", fmt.Sprintf("%.1f%% of all vCPUs over the run", r.Host.BusyPct)),
	)
	if !r.StartedAt.IsZero() {
		span := r.StartedAt.UTC().Format(time.RFC3339)
		if !r.FinishedAt.IsZero() {
			span += " to " + r.FinishedAt.UTC().Format(time.RFC3339) + " (" + r.FinishedAt.Sub(r.StartedAt).Round(time.Second).String() + ")"
		}
		t.Rows = append(t.Rows, kv("run", span))
	}
	st := r.Settings
	m := fmt.Sprintf("%d trials of %v after a %v warm-up; intervals at %s", st.Trials, st.Duration, st.Warmup, pct(st.Confidence))
	if st.Interleaved {
		m += fmt.Sprintf("; interleaved rounds shuffled with seed %d, up to %d trials a case until the median's interval is within ±%s",
			st.Seed, st.MaxTrials, pct(st.Target))
	}
	t.Rows = append(t.Rows, kv("measurement", m))
	rule := a.rule()
	t.Rows = append(t.Rows, kv("comparisons", fmt.Sprintf("each case against its question's baseline, the rule of vethbench compare: "+
		"ratios of medians with %s percentile-bootstrap intervals (%d resamples, seed %d), two-sided Mann-Whitney p-values adjusted by Benjamini-Hochberg across each question (q); "+
		"faster or slower when q < %.3g and the whole interval lies beyond ±%s, no measurable difference when q ≥ %.3g and the interval lies within ±%s, inconclusive otherwise",
		pct(1-rule.Alpha), rule.Resamples, rule.Seed, rule.Alpha, pct(rule.Threshold), rule.Alpha, pct(rule.Threshold))))
	if r.Interrupted {
		t.Rows = append(t.Rows, kv("interrupted", "yes: the cases present are complete, the others did not run"))
	}
	hk := table{Head: []string{"host-wide knob", "value before the run"}}
	for _, k := range slices.Sorted(maps.Keys(r.HostKnobs)) {
		hk.Rows = append(hk.Rows, []tcell{{Text: k, Class: "name"}, num(r.HostKnobs[k])})
	}
	return hostView{Context: t, HostKnobs: hk, Command: strings.Join(r.Command, " ")}, nil
}
