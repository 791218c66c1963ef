package benchfmt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	gobench "golang.org/x/perf/benchfmt"

	"github.com/vethbench/vethbench/reports/result"
)

// ErrSyntax is returned (wrapped, with the file and line) for input that is
// not well-formed Go benchmark output or holds no benchmark results.
var ErrSyntax = errors.New("malformed Go benchmark file")

// File is a Go benchmark file as read: its results grouped by benchmark.
type File struct {
	Name string // as given to Read, for messages
	// Config is the file configuration in effect at the first result
	// (goos, goarch, cpu, pkg, kernel, vcpus, vethbench...).
	Config map[string]string
	// Benchmarks in the order of their first result. Results of one name
	// within one package are one Benchmark, in file order.
	Benchmarks []*Benchmark
	units      gobench.UnitMetadataMap
}

// Benchmark is every result of one benchmark name (in one package).
type Benchmark struct {
	// Name is the full name as written without the "Benchmark" prefix,
	// e.g. "Vethbench/veth/pkt=64" or "Decode/size=1k-8".
	Name string
	// Pkg is the "pkg" configuration in effect for its results, if any.
	Pkg string
	// Units are the units of its values as written, in order of first use.
	Units  []string
	values map[string][]float64 // by unit as written
	tidied map[string][]float64 // by tidied unit, for units that tidy changes
}

// Values returns the benchmark's values in unit, one per result line that
// has it, as written. unit may also be the tidied name benchstat shows
// (sec/op for ns/op, sec/pkt for ns/pkt, B/s for MB/s); the values are then
// tidied too.
func (b *Benchmark) Values(unit string) []float64 {
	if v, ok := b.values[unit]; ok {
		return v
	}
	return b.tidied[unit]
}

// Better reports whether higher (+1) or lower (-1) values of unit are
// better, from the file's unit metadata ("Unit pps better=higher") or
// x/perf's defaults for the units of the testing package (ns/op, sec/op,
// B/op, allocs/op lower; MB/s, B/s higher); 0 when neither says.
func (f *File) Better(unit string) int {
	return f.units.GetBetter(unit)
}

// Units lists every unit used in the file, as written, sorted.
func (f *File) Units() []string {
	seen := map[string]bool{}
	var out []string
	for _, b := range f.Benchmarks {
		for _, u := range b.Units {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	slices.Sort(out)
	return out
}

// ReadFile reads a Go benchmark file, a regular file of at most
// result.MaxFileSize bytes (result.ReadInput).
func ReadFile(path string) (*File, error) {
	data, err := result.ReadInput(context.Background(), path, result.MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("read benchmark file: %w", err)
	}
	return Read(bytes.NewReader(data), path)
}

// Read reads Go benchmark output from r; name is used in messages. Lines
// that are neither results, configuration nor unit metadata are ignored, as
// the format says, but a malformed result line is an error, and so is input
// without any result.
func Read(r io.Reader, name string) (*File, error) {
	f := &File{Name: name}
	rd := gobench.NewReader(r, name)
	type key struct{ pkg, name string }
	index := map[key]*Benchmark{}
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *gobench.SyntaxError:
			return nil, fmt.Errorf("%w: %w", ErrSyntax, rec)
		case *gobench.Result:
			if f.Config == nil {
				f.Config = map[string]string{}
				for _, c := range rec.Config {
					if c.File {
						f.Config[c.Key] = string(c.Value)
					}
				}
			}
			k := key{rec.GetConfig("pkg"), string(rec.Name)}
			b := index[k]
			if b == nil {
				b = &Benchmark{Name: k.name, Pkg: k.pkg, values: map[string][]float64{}, tidied: map[string][]float64{}}
				index[k] = b
				f.Benchmarks = append(f.Benchmarks, b)
			}
			for _, v := range rec.Values {
				unit, val := v.Unit, v.Value
				if v.OrigUnit != "" {
					unit, val = v.OrigUnit, v.OrigValue
				}
				if _, ok := b.values[unit]; !ok {
					b.Units = append(b.Units, unit)
				}
				b.values[unit] = append(b.values[unit], val)
				if v.OrigUnit != "" {
					b.tidied[v.Unit] = append(b.tidied[v.Unit], v.Value)
				}
			}
		}
	}
	if err := rd.Err(); err != nil {
		return nil, fmt.Errorf("read benchmark file: %w", err)
	}
	if len(f.Benchmarks) == 0 {
		return nil, fmt.Errorf("%w: %s: no benchmark results (no line like \"BenchmarkName 1 250000 pps\")", ErrSyntax, name)
	}
	f.units = rd.Units()
	return f, nil
}

// LooksLike reports whether data looks like Go benchmark output rather
// than JSON: some line starts with "Benchmark" and the first non-blank byte
// is not '{'.
func LooksLike(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		return false
	}
	return bytes.HasPrefix(t, []byte("Benchmark")) || bytes.Contains(t, []byte("\nBenchmark"))
}
