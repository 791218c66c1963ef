package compare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	gobench "golang.org/x/perf/benchfmt"

	"github.com/vethbench/vethbench/reports/benchfmt"
	"github.com/vethbench/vethbench/reports/result"
)

// ErrInput marks errors in what was given to compare: an unreadable or
// malformed file (an *InputError), an unknown metric, options out of range,
// --ignore making two cases of one file the same (a *field.Error naming the
// option). The CLI exits with code 2 on them.
var ErrInput = errors.New("bad input")

// InputError is a file compare cannot use: unreadable, of neither format,
// malformed, or holding one case twice. Like x/perf's benchfmt.SyntaxError
// it names the file and, when the fault is on one line, the line, so that
// callers need not take its text apart.
type InputError struct {
	File string // the path as given to Load or Parse
	Line int    // 1-based; 0 when the fault is not on one line
	Msg  string // what is wrong, without the file and line
	Err  error  // the reader's error behind Msg, if any
}

// Error formats the error as "file:line: message".
func (e *InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Unwrap returns ErrInput and the underlying error, if any.
func (e *InputError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInput, e.Err}
	}
	return []error{ErrInput}
}

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
	// questions are a result file's questions with their interleaved
	// blocks (Question.Paired), for the in-run ratios; none for Go
	// benchmark files and files before schema version 3.
	questions []result.Question
}

// InputCase is one case of an Input.
type InputCase struct {
	Name   string
	Status string // result.StatusOK, StatusUnsupported, StatusFailed
	Error  string
	trials []result.Trial      // result files
	bench  *benchfmt.Benchmark // Go benchmark files
	// paired are the case's series in the interleaved questions that
	// measured it (result.Question.Paired), one per question, in the
	// file's order: different stretches of time.
	paired []result.PairedCase
}

// blockSeries returns the case's per-block values of metric m, one series
// per interleaved question that measured it; nil when there are none or m
// has no block series.
func (c InputCase) blockSeries(m resolvedMetric) [][]float64 {
	if m.block == nil {
		return nil
	}
	var out [][]float64
	for _, p := range c.paired {
		if s := m.block(p); len(s) > 0 {
			out = append(out, s)
		}
	}
	return out
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
// benchmark format. Errors are *InputError.
func Load(path string) (*Input, error) {
	return LoadContext(context.Background(), path)
}

// LoadContext is Load stopping when ctx is done (then it returns ctx's
// error). The file must be a regular file of at most result.MaxFileSize
// bytes (result.ReadInput): anything else is an *InputError wrapping the
// *result.FileError, read no further than its Stat.
func LoadContext(ctx context.Context, path string) (*Input, error) {
	data, err := result.ReadInput(ctx, path, result.MaxFileSize)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		// The path is the error's File: keep only what happened to it.
		msg := err.Error()
		var fe *result.FileError
		if errors.As(err, &fe) {
			msg = fe.Msg
		}
		return nil, &InputError{File: path, Msg: msg, Err: err}
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
			return nil, &InputError{File: path, Msg: err.Error(), Err: err}
		}
		return FromResult(path, r), nil
	case benchfmt.LooksLike(data):
		f, err := benchfmt.Read(bytes.NewReader(data), path)
		if err != nil {
			return nil, benchfmtErr(path, err)
		}
		return FromBenchfmt(path, f), nil
	case len(t) == 0:
		return nil, &InputError{File: path, Msg: "empty file"}
	}
	return nil, &InputError{File: path, Msg: "neither a vethbench result (JSON) nor Go benchmark output (no line starts with \"Benchmark\")"}
}

// benchfmtErr is an error of benchfmt.Read as an *InputError: a syntax
// error of one line keeps its line. Read's other errors (no results, a line
// too long to scan) name the file in their text already, so the path shows
// twice; they have no type to take it from.
func benchfmtErr(path string, err error) *InputError {
	var se *gobench.SyntaxError
	if errors.As(err, &se) {
		return &InputError{File: path, Line: se.Line, Msg: fmt.Sprintf("%v: %s", benchfmt.ErrSyntax, se.Msg), Err: err}
	}
	return &InputError{File: path, Msg: err.Error(), Err: err}
}

// FromResult makes an Input of a vethbench result.
func FromResult(path string, r *result.Result) *Input {
	in := &Input{}
	in.Source = Source{
		Path: path, Format: FormatResult, Tool: r.Tool.Version,
		Host:        Host{Kernel: r.Host.Kernel, Arch: r.Host.Arch, CPUModel: r.Host.CPUModel, VCPUs: r.Host.VCPUs},
		Interrupted: r.Interrupted,
		Schema:      r.Version,
	}
	paired := map[string][]result.PairedCase{}
	for _, q := range r.Questions {
		if q.Paired == nil {
			continue
		}
		in.questions = append(in.questions, q)
		for _, pc := range q.Paired.Cases {
			paired[pc.Case] = append(paired[pc.Case], pc)
		}
	}
	for _, c := range r.Cases {
		in.Cases = append(in.Cases, InputCase{Name: c.Name, Status: c.Status, Error: c.Error, trials: c.Trials, paired: paired[c.Name]})
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
