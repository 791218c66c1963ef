package trend

import (
	"time"
)

// Metric is one figure a series follows.
type Metric struct {
	// Name is the metric's key in JSON output, JUnit test names and
	// acknowledgements: one of the Metric* constants.
	Name  string `json:"name"`
	Label string `json:"label"` // for people: "pps", "CPU ns/pkt"...
	Unit  string `json:"unit"`  // "pps", "ns", "x" (a ratio)
	// HigherIsBetter gives a step its direction: a fall in pps is a
	// regression, a fall in CPU per packet an improvement.
	HigherIsBetter bool `json:"higher_is_better"`
}

// The metrics trend follows. The ratios are in-run: a case's pps or CPU
// per packet over its question's baseline's, from the same blocks of an
// interleaved run, so a host that is faster or slower tonight cancels.
const (
	MetricPPS       = "pps"
	MetricDevicePPS = "device_pps"
	MetricCPU       = "cpu_ns_per_pkt"
	MetricP99       = "p99_ns"
	MetricPPSRatio  = "pps_ratio"
	MetricCPURatio  = "cpu_ratio"
)

// Run is one result file of a history.
type Run struct {
	Path    string    `json:"path"` // as given, or relative to the history directory
	Started time.Time `json:"started_at"`
	Host    string    `json:"host"`
	Kernel  string    `json:"kernel"`
	Tool    string    `json:"tool_version"`
	// Interrupted runs are kept: their complete cases count.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Event is something that changed between two runs of a group besides the
// figures: the kernel, the measurement settings, a validation knob. A
// change point next to one is likely its doing.
type Event struct {
	Run  int    `json:"run"` // index in Group.Runs of the first run with the change
	What string `json:"what"`
}

// Point is one run's figure for a series, with the run's own interval as
// its result file gives it (Lo = Hi = Value when it has none; readers of
// hand-built reports should also treat NaN as none).
type Point struct {
	Run   int     `json:"run"` // index in Group.Runs
	Value float64 `json:"value"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
}

// Change is a change point: from run Run on, the series' level moved.
type Change struct {
	Run int `json:"run"` // index in Group.Runs of the first run at the new level
	// Before and After are the geometric means of the segments on either
	// side (from the change point before to the one after).
	Before float64 `json:"before"`
	After  float64 `json:"after"`
	// Step is After/Before - 1, with its interval at Report.Level (Welch's
	// t on the logs of the two segments).
	Step float64 `json:"step"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
	// P is the larger of Welch's and Student's t-tests' p-values on the
	// two segments' logs (a change must pass both: stats.ChangePoints).
	P float64 `json:"p"`
	// Direction is DirRegression or DirImprovement, by the metric's sense.
	Direction string `json:"direction"`
	// Beyond: |Step| is larger than Report.Threshold.
	Beyond bool `json:"beyond_threshold"`
	// Ack is the acknowledgement that covers this change, if any.
	Ack *Ack `json:"acknowledged,omitempty"`
	// Events are the group's events at this change's run or the run
	// before it (a change point's place is known to about one run).
	Events []string `json:"events,omitempty"`
}

// Directions of a Change.
const (
	DirRegression  = "regression"
	DirImprovement = "improvement"
)

// Band is a series' reference level, drawn behind its points: the segment
// the newest run is judged against, its geometric mean and the threshold
// around it.
type Band struct {
	From  int     `json:"from"` // first run (index in Group.Runs)
	To    int     `json:"to"`   // last run, inclusive
	Level float64 `json:"level"`
	Lo    float64 `json:"lo"` // Level * (1 - threshold)
	Hi    float64 `json:"hi"` // Level * (1 + threshold)
}

// Verdict is the judgement of a series' newest run.
type Verdict struct {
	Status string `json:"status"` // one of the Status* constants
	Detail string `json:"detail"` // one sentence for people
	// Change is the change point the newest run continues, for
	// StatusRegression, StatusAcknowledged and StatusImproved.
	Change *Change `json:"change,omitempty"`
}

// Verdict statuses. Only StatusRegression and StatusBroken fail the job.
const (
	// StatusOK: the newest run is at the level of the runs before it, or
	// the last change was smaller than the threshold.
	StatusOK = "ok"
	// StatusRegression: the newest run starts or continues a regression
	// larger than the threshold, found as a change point, not
	// acknowledged.
	StatusRegression = "regression"
	// StatusAcknowledged: a regression as above that people accepted
	// (the acknowledgements file): shown, not failed.
	StatusAcknowledged = "acknowledged"
	// StatusImproved: the newest run continues an improvement larger than
	// the threshold.
	StatusImproved = "improved"
	// StatusWatch: the newest run alone lies beyond the threshold on the
	// bad side of its band. One night is not a change point (it may be an
	// outlier); a few more like it will be.
	StatusWatch = "watch"
	// StatusShort: too few runs with the series to look for a change.
	StatusShort = "short"
	// StatusBroken: the case failed in the newest run after it ran in an
	// earlier one.
	StatusBroken = "broken"
	// StatusAbsent: the newest run has no figure for the series (the case
	// was not in it, or was unsupported there).
	StatusAbsent = "absent"
)

// Failing reports whether the verdict fails the job (exit 1, a failed
// JUnit test case).
func (v Verdict) Failing() bool { return v.Status == StatusRegression || v.Status == StatusBroken }

// Series is one case's metric over a group's runs.
type Series struct {
	Case string `json:"case"`
	// Question is set for the in-run ratios: the question whose baseline
	// Baseline the case was compared with.
	Question string   `json:"question,omitempty"`
	Baseline string   `json:"baseline,omitempty"`
	Metric   Metric   `json:"metric"`
	Points   []Point  `json:"points"`
	Changes  []Change `json:"changes"`
	Band     *Band    `json:"band,omitempty"`
	Verdict  Verdict  `json:"verdict"`
}

// Group is a history from one machine (and one kernel with --by-kernel):
// its runs in start order and every case's series over them.
type Group struct {
	Key    string   `json:"key"` // host, or host and kernel
	Runs   []Run    `json:"runs"`
	Events []Event  `json:"events,omitempty"`
	Series []Series `json:"series"`
}

// Skipped is an input file trend did not use, and why.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Report is trend's answer over a history.
type Report struct {
	Threshold float64 `json:"threshold"` // a regression smaller than this never fails
	PValue    float64 `json:"p_value"`   // a change point's significance level
	Level     float64 `json:"level"`     // the steps' intervals' coverage
	Window    int     `json:"window"`    // E-divisive's window, in runs
	// AckFile is the acknowledgements file read, if any.
	AckFile string    `json:"acknowledgements,omitempty"`
	Groups  []Group   `json:"groups"`
	Skipped []Skipped `json:"skipped,omitempty"`
	// Notes say what else a reader should know: acknowledgements that
	// matched no change, groups that were not the newest run's.
	Notes []string `json:"notes,omitempty"`
}

// Failing reports whether any series' newest run fails the job.
func (r *Report) Failing() bool {
	for _, g := range r.Groups {
		for _, s := range g.Series {
			if s.Verdict.Failing() {
				return true
			}
		}
	}
	return false
}

// Ack is one acknowledged change: a regression people accepted (a known
// kernel change), which stops failing the job and is still shown.
type Ack struct {
	// Case is a case name or a pattern: path.Match's syntax, with * and ?
	// matching the / between a name's parts too ("veth/*": every veth
	// case; "*": every case).
	Case string `yaml:"case" json:"case"`
	// Metric is a metric name (MetricPPS...); empty: every metric.
	Metric string `yaml:"metric,omitempty" json:"metric,omitempty"`
	// Since is the start time of the run where the change starts, as
	// trend prints it (RFC 3339). A change point's place is known to
	// about one run, so it covers a change within one run of it.
	Since time.Time `yaml:"since" json:"since"`
	// Reason says why it was accepted; required.
	Reason string `yaml:"reason" json:"reason"`
}
