package compare

import (
	"strings"

	"github.com/vethbench/vethbench/internal/field"
	"github.com/vethbench/vethbench/reports/benchfmt"
	"github.com/vethbench/vethbench/reports/result"
)

// Metric is a per-trial figure compare can compare.
type Metric struct {
	Name           string // the --metric value
	Unit           string // its unit in the Go benchmark format
	HigherIsBetter bool
	Description    string
	trial          func(result.Trial) (float64, bool)
	// block is the metric's per-block series of an interleaved question
	// (result.PairedCase); nil for metrics the runner records per trial
	// only. It is what both the block samples of the absolute comparison
	// and the in-run ratios use.
	block func(result.PairedCase) []float64
}

// Metrics are the figures of a vethbench result, by --metric name. With Go
// benchmark files, each is looked up by its Unit, and --metric may also name
// any other unit in the files (ns/op, sec/op, B/op, ...).
var Metrics = []Metric{
	{Name: "pps", Unit: benchfmt.UnitPPS, HigherIsBetter: true, Description: "packets/s read by the receiving socket",
		trial: func(t result.Trial) (float64, bool) { return t.PPS, true },
		block: func(p result.PairedCase) []float64 { return p.PPS }},
	{Name: "device_pps", Unit: benchfmt.UnitDevicePPS, HigherIsBetter: true, Description: "packets/s that reached the receiving device",
		trial: func(t result.Trial) (float64, bool) { return t.DevicePPS, true }},
	{Name: "cpu_ns_per_pkt", Unit: benchfmt.UnitCPUNsPerPkt, HigherIsBetter: false, Description: "busy CPU ns per received packet",
		trial: func(t result.Trial) (float64, bool) { return t.CPUNsPerPkt, true },
		block: func(p result.PairedCase) []float64 { return p.CPUNsPerPkt }},
	{Name: "p50", Unit: benchfmt.UnitP50, HigherIsBetter: false, Description: "median one-way latency, ns",
		trial: func(t result.Trial) (float64, bool) { return t.Latency.P50, t.Latency.Count > 0 }},
	{Name: "p99", Unit: benchfmt.UnitP99, HigherIsBetter: false, Description: "99th percentile one-way latency, ns",
		trial: func(t result.Trial) (float64, bool) { return t.Latency.P99, t.Latency.Count > 0 }},
	{Name: "p999", Unit: benchfmt.UnitP999, HigherIsBetter: false, Description: "99.9th percentile one-way latency, ns",
		trial: func(t result.Trial) (float64, bool) { return t.Latency.P999, t.Latency.Count > 0 }},
	{Name: "bytes_per_sec", Unit: benchfmt.UnitBytesPerSec, HigherIsBetter: true, Description: "received frame bytes/s",
		trial: func(t result.Trial) (float64, bool) { return t.BytesPerSec, true }},
	stageMetric(result.StageSender), stageMetric(result.StageQdisc), stageMetric(result.StageDevice), stageMetric(result.StageSocket),
}

// stageMetric is the mean time datagrams spent in one stage of their trip
// (measure.stages): "stage_qdisc" says whether a change queued them more
// before the device. A trial without the stage has no value.
func stageMetric(stage string) Metric {
	return Metric{Name: "stage_" + stage, Unit: "stage-" + stage + "-ns", HigherIsBetter: false,
		Description: "mean ns in the " + stage + " stage (measure.stages)",
		trial: func(t result.Trial) (float64, bool) {
			if t.Stages == nil {
				return 0, false
			}
			for _, st := range t.Stages.Stages {
				if st.Name == stage {
					return st.MeanNs, st.Count > 0
				}
			}
			return 0, false
		}}
}

// MetricNames lists the names of Metrics, for help texts.
func MetricNames() []string {
	var s []string
	for _, m := range Metrics {
		s = append(s, m.Name)
	}
	return s
}

func lookupMetric(name string) (Metric, bool) {
	for _, m := range Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// resolvedMetric is the metric of one comparison.
type resolvedMetric struct {
	Metric
	known bool // one of Metrics; otherwise a unit of Go benchmark files
}

// resolveMetric finds the metric name means for these inputs. A name of
// Metrics is that metric; any other name must be a unit present in Go
// benchmark input on both sides. The direction of an arbitrary unit comes
// from the files' unit metadata ("Unit x better=higher"), else from its
// name: rates (".../s", "...pps") are better higher, everything else (time,
// bytes and allocations per op) lower.
func resolveMetric(name string, base, nw *Input) (resolvedMetric, error) {
	if m, ok := lookupMetric(name); ok {
		return resolvedMetric{Metric: m, known: true}, nil
	}
	for _, in := range []*Input{base, nw} {
		if in.file == nil {
			return resolvedMetric{}, field.Errorf(ErrInput, "metric", "unknown metric %q (%s)", name, strings.Join(MetricNames(), ", "))
		}
	}
	m := resolvedMetric{Metric: Metric{Name: name, Unit: name}}
	switch b := base.file.Better(name) + nw.file.Better(name); {
	case b > 0:
		m.HigherIsBetter = true
	case b < 0:
		m.HigherIsBetter = false
	default:
		m.HigherIsBetter = strings.HasSuffix(name, "/s") || strings.HasSuffix(name, "pps")
	}
	return m, nil
}

// hasValues reports whether any ok case of in has values of m, and the
// units in the input when it is a Go benchmark file (for the message).
func hasValues(in *Input, m resolvedMetric) (bool, []string) {
	okCases := 0
	for _, c := range in.Cases {
		if c.Status != result.StatusOK {
			continue
		}
		okCases++
		if len(c.values(m)) > 0 || len(c.blockSeries(m)) > 0 {
			return true, nil
		}
	}
	if okCases == 0 {
		return true, nil // nothing to compare anyway; each case says why
	}
	if in.file != nil {
		return false, in.file.Units()
	}
	return false, nil
}
