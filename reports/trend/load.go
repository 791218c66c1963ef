package trend

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vethbench/vethbench/reports/result"
)

// ErrNothing: the history has nothing trend can judge (no result file, or
// no case with a figure).
var ErrNothing = errors.New("nothing to judge")

// InputError is a file or directory trend was asked to read and cannot
// use: the CLI exits 2.
type InputError struct {
	Path string
	Err  error
}

func (e *InputError) Error() string {
	if strings.Contains(e.Err.Error(), e.Path) {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *InputError) Unwrap() error { return e.Err }

// maxDepth is how deep a history directory is searched: DIR/*.json and
// DIR/*/*.json, the layout of `sweep -o DIR/<time>`.
const maxDepth = 2

// History is the runs read for trend, each reduced to the figures trend
// follows: a year of nightly default sweeps is 650 MB of result files,
// which need not all be in memory at once.
type History struct {
	runs    []runData
	Skipped []Skipped
}

// Runs is the number of runs read.
func (h *History) Runs() int { return len(h.runs) }

// runData is what trend keeps of one result file.
type runData struct {
	Run
	group    string // machine: host name, CPU model, vCPUs
	settings string // the measurement settings, in words
	costNS   map[int]bool
	cases    map[string]caseData
	order    []string // case names in the file's order
	ratios   []ratioData
}

type caseData struct {
	status string
	err    string
	figs   map[string]Point // by metric name; Point.Run unset
	// latencyRes is the latency histogram's relative bucket width: a
	// p99 is known to no better than that.
	latencyRes float64
}

type ratioData struct {
	question, baseline, kase string
	metric                   string
	p                        Point
}

// Load reads a history: each argument is a result file or a directory,
// searched for *.json files two levels deep (DIR/*.json, DIR/*/*.json).
// A named file that cannot be read as a result is an *InputError; a file
// found in a directory that is not a result is skipped and said.
func Load(ctx context.Context, args []string) (*History, error) {
	h := &History{}
	seen := map[string]bool{}
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, &InputError{Path: a, Err: err}
		}
		if !fi.IsDir() {
			if err := h.add(ctx, a, seen, false); err != nil {
				return nil, err
			}
			continue
		}
		files, err := jsonFiles(a)
		if err != nil {
			return nil, &InputError{Path: a, Err: err}
		}
		for _, f := range files {
			if err := h.add(ctx, f, seen, true); err != nil {
				return nil, err
			}
		}
	}
	if len(h.runs) == 0 {
		return nil, fmt.Errorf("%w: no result file in %s", ErrNothing, strings.Join(args, ", "))
	}
	sort.SliceStable(h.runs, func(i, j int) bool {
		if !h.runs[i].Started.Equal(h.runs[j].Started) {
			return h.runs[i].Started.Before(h.runs[j].Started)
		}
		return h.runs[i].Path < h.runs[j].Path
	})
	return h, nil
}

// jsonFiles lists dir's *.json files maxDepth levels deep, sorted, leaving
// out hidden files and directories.
func jsonFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		depth := len(strings.Split(rel, string(filepath.Separator)))
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != dir && depth >= maxDepth {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".json") && depth <= maxDepth {
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

func (h *History) add(ctx context.Context, path string, seen map[string]bool, found bool) error {
	res, err := result.ReadFileContext(ctx, path)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if found && errors.Is(err, result.ErrSchema) {
			h.Skipped = append(h.Skipped, Skipped{Path: path, Reason: "not a vethbench result: " + shortErr(err, path)})
			return nil
		}
		return &InputError{Path: path, Err: err}
	}
	if res.StartedAt.IsZero() {
		if found {
			h.Skipped = append(h.Skipped, Skipped{Path: path, Reason: "no start time: a run cannot be placed in the history"})
			return nil
		}
		return &InputError{Path: path, Err: errors.New("no start time (started_at): a run cannot be placed in the history")}
	}
	rd := extract(res)
	rd.Path = path
	// The same run given twice (a file and its copy) would count twice.
	key := rd.group + "\x00" + rd.Started.Format(time.RFC3339Nano)
	if seen[key] {
		h.Skipped = append(h.Skipped, Skipped{Path: path, Reason: "the same run (host and start time) as another file"})
		return nil
	}
	seen[key] = true
	h.runs = append(h.runs, rd)
	return nil
}

func shortErr(err error, path string) string {
	return strings.TrimPrefix(err.Error(), path+": ")
}

// machine names the host a run was on: its name where the file has one,
// and what it ran on, which a renamed or resized machine changes.
func machine(hst result.Host) string {
	name := hst.Name
	if name == "" {
		name = "unnamed host"
	}
	return fmt.Sprintf("%s (%s, %d vCPUs, %s)", name, orUnknown(hst.CPUModel), hst.VCPUs, orUnknown(hst.Arch))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// settingsWords is a run's measurement settings as one comparable line.
func settingsWords(s result.Settings) string {
	method := s.Method
	if method == "" {
		method = "rounds"
		if !s.Interleaved {
			method = "sequential"
		}
	}
	w := []string{"method " + method, fmt.Sprintf("trials %d", s.Trials), "duration " + s.Duration.String(), "warm-up " + s.Warmup.String()}
	if s.MaxTrials > 0 {
		w = append(w, fmt.Sprintf("max trials %d", s.MaxTrials))
	}
	if s.Target > 0 {
		w = append(w, "target "+strconv.FormatFloat(100*s.Target, 'g', 3, 64)+"%")
	}
	if s.Slice > 0 {
		w = append(w, "slice "+s.Slice.String())
	}
	return strings.Join(w, ", ")
}

// extract keeps what trend follows of a result.
func extract(res *result.Result) runData {
	rd := runData{
		Run: Run{
			Started:     res.StartedAt.UTC(),
			Host:        res.Host.Name,
			Kernel:      res.Host.Kernel,
			Tool:        res.Tool.Version,
			Interrupted: res.Interrupted,
		},
		group:    machine(res.Host),
		settings: settingsWords(res.Settings),
		costNS:   map[int]bool{},
		cases:    map[string]caseData{},
	}
	for _, c := range res.Cases {
		if _, dup := rd.cases[c.Name]; dup {
			continue
		}
		cd := caseData{status: c.Status, err: c.Error, figs: map[string]Point{}}
		if c.Status == result.StatusOK && c.Summary != nil {
			rd.costNS[c.Traffic.CostNS] = true
			s := c.Summary
			put := func(metric string, e result.Estimate) {
				if e.N > 0 && e.Median > 0 {
					cd.figs[metric] = Point{Value: e.Median, Lo: e.Lo, Hi: e.Hi}
				}
			}
			put(MetricPPS, s.PPS)
			put(MetricDevicePPS, s.DevicePPS)
			put(MetricCPU, s.CPUNsPerPkt)
			// A p99 that is only a lower bound (rr requests never
			// answered) is not a figure a step could be measured on.
			if !s.IsLowerBound(result.PctP99) {
				put(MetricP99, s.P99)
			}
			for _, t := range c.Trials {
				cd.latencyRes = max(cd.latencyRes, t.Latency.Resolution)
			}
		}
		rd.cases[c.Name] = cd
		rd.order = append(rd.order, c.Name)
	}
	for _, q := range res.Questions {
		if q.Paired == nil {
			continue
		}
		for _, pc := range q.Paired.Cases {
			for _, r := range []struct {
				metric string
				r      *result.Ratio
			}{{MetricPPSRatio, pc.PPSRatio}, {MetricCPURatio, pc.CPURatio}} {
				if r.r == nil || !(r.r.Ratio > 0) {
					continue
				}
				rd.ratios = append(rd.ratios, ratioData{question: q.Text, baseline: q.Baseline, kase: pc.Case, metric: r.metric,
					p: Point{Value: r.r.Ratio, Lo: r.r.Lo, Hi: r.r.Hi}})
			}
		}
	}
	return rd
}
