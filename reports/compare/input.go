package compare

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/vethbench/vethbench/reports/benchfmt"
	"github.com/vethbench/vethbench/reports/result"
)

// ErrInput marks errors in what was given to compare: an unreadable or
// malformed file, an unknown metric, options out of range, --ignore making
// two cases of one file the same. The CLI exits with code 2 on them.
var ErrInput = errors.New("bad input")

// Input formats, as recorded in Source.Format.
const (
	FormatResult   = "vethbench-result" // a result file (JSON)
	FormatBenchfmt = "benchfmt"         // the Go benchmark format
)

// Input is one side of a comparison, read from either format.
type Input struct {
	Source Source // path, format and host context
	Cases  []InputCase
	file   *benchfmt.File // for the Go benchmark format: unit metadata
}

// InputCase is one case of an Input.
type InputCase struct {
	Name   string
	Status string // result.StatusOK, StatusUnsupported, StatusFailed
	Error  string
	trials []result.Trial      // result files
	bench  *benchfmt.Benchmark // Go benchmark files
}

// values returns the case's values of metric m: one per trial (result
// file) or result line (Go benchmark file) that has it.
func (c InputCase) values(m resolvedMetric) []float64 {
	if c.bench != nil {
		return c.bench.Values(m.Unit)
	}
	if m.trial == nil {
		return nil
	}
	var v []float64
	for _, t := range c.trials {
		if x, ok := m.trial(t); ok {
			v = append(v, x)
		}
	}
	return v
}

// Load reads a file of either format, telling them apart by content: a
// JSON object is a vethbench result, text with Benchmark lines is the Go
// benchmark format. Errors wrap ErrInput.
func Load(path string) (*Input, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	return Parse(path, data)
}

// Parse is Load on data already read; path names it in messages.
func Parse(path string, data []byte) (*Input, error) {
	t := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(t) > 0 && t[0] == '{':
		r, err := result.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInput, path, err)
		}
		return FromResult(path, r), nil
	case benchfmt.LooksLike(data):
		f, err := benchfmt.Read(bytes.NewReader(data), path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInput, err)
		}
		return FromBenchfmt(path, f), nil
	case len(t) == 0:
		return nil, fmt.Errorf("%w: %s: empty file", ErrInput, path)
	}
	return nil, fmt.Errorf("%w: %s: neither a vethbench result (JSON) nor Go benchmark output (no line starts with \"Benchmark\")", ErrInput, path)
}

// FromResult makes an Input of a vethbench result.
func FromResult(path string, r *result.Result) *Input {
	in := &Input{}
	in.Source = Source{
		Path: path, Format: FormatResult, Tool: r.Tool.Version,
		Host:        Host{Kernel: r.Host.Kernel, Arch: r.Host.Arch, CPUModel: r.Host.CPUModel, VCPUs: r.Host.VCPUs},
		Interrupted: r.Interrupted,
	}
	for _, c := range r.Cases {
		in.Cases = append(in.Cases, InputCase{Name: c.Name, Status: c.Status, Error: c.Error, trials: c.Trials})
	}
	return in
}

// FromBenchfmt makes an Input of a Go benchmark file. A benchmark's case
// name drops "Vethbench/" (see benchfmt.CaseName), so vethbench's own
// benchmark files match result files. When the file holds benchmarks of
// several packages, names are qualified by package ("pkg.Name").
func FromBenchfmt(path string, f *benchfmt.File) *Input {
	in := &Input{file: f}
	cfg := f.Config
	vcpus, _ := strconv.Atoi(cfg["vcpus"])
	in.Source = Source{
		Path: path, Format: FormatBenchfmt, Tool: cfg["vethbench"],
		Host: Host{Kernel: cfg["kernel"], Arch: cfg["goarch"], CPUModel: cfg["cpu"], VCPUs: vcpus},
	}
	pkgs := map[string]bool{}
	for _, b := range f.Benchmarks {
		pkgs[b.Pkg] = true
	}
	for _, b := range f.Benchmarks {
		name := benchfmt.CaseName(b.Name)
		if len(pkgs) > 1 && b.Pkg != "" {
			name = b.Pkg + "." + name
		}
		in.Cases = append(in.Cases, InputCase{Name: name, Status: result.StatusOK, bench: b})
	}
	return in
}
