package benchfmt

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	gobench "golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchunit"

	"github.com/vethbench/vethbench/reports/result"
)

// Prefix is the base benchmark name of every vethbench case: a case
// "veth/pkt=64" is written as BenchmarkVethbench/veth/pkt=64.
const Prefix = "Vethbench"

// The units Write uses, one per metric.
const (
	UnitPPS         = "pps"
	UnitDevicePPS   = "device-pps"
	UnitCPUNsPerPkt = "ns/pkt"
	UnitP50         = "p50-ns"
	UnitP99         = "p99-ns"
	UnitP999        = "p999-ns"
	UnitBytesPerSec = "B/s"
)

// Unit is a unit Write uses and which direction is better.
type Unit struct {
	Name           string
	HigherIsBetter bool
}

// Units lists the units Write uses, in the order of their columns.
var Units = []Unit{
	{UnitPPS, true},
	{UnitDevicePPS, true},
	{UnitCPUNsPerPkt, false},
	{UnitP50, false},
	{UnitP99, false},
	{UnitP999, false},
	{UnitBytesPerSec, true},
}

// BenchName is the benchmark name (without the "Benchmark" prefix) of a
// case: Vethbench/ and the case name, with any white space (which the format
// does not allow in names) replaced by '_'.
func BenchName(caseName string) string {
	return Prefix + "/" + strings.Join(strings.Fields(caseName), "_")
}

// CaseName is the inverse of BenchName: a benchmark name without the
// "Benchmark" prefix, with the leading "Vethbench/" removed if present.
// Other benchmarks' names are returned as they are.
func CaseName(benchName string) string {
	if s, ok := strings.CutPrefix(benchName, Prefix+"/"); ok && s != "" {
		return s
	}
	return benchName
}

// Write writes r in the Go benchmark format: configuration lines, unit
// metadata, and one line per trial of every case that has trials. See the
// package documentation for the layout.
func Write(w io.Writer, r *result.Result) error {
	var b bytes.Buffer
	for _, kv := range config(r) {
		fmt.Fprintf(&b, "%s: %s\n", kv[0], kv[1])
	}
	bw := gobench.NewWriter(&b)
	for _, u := range Units {
		better := "lower"
		if u.HigherIsBetter {
			better = "higher"
		}
		_, tidy := benchunit.Tidy(1, u.Name)
		if err := bw.Write(&gobench.UnitMetadata{
			UnitMetadataKey: gobench.UnitMetadataKey{Unit: tidy, Key: "better"},
			OrigUnit:        u.Name, Value: better,
		}); err != nil {
			return fmt.Errorf("write benchmark format: %w", err)
		}
	}
	b.WriteString("\n")
	for _, c := range r.Cases {
		if c.Status != result.StatusOK || len(c.Trials) == 0 {
			line := fmt.Sprintf("# %s: %s", c.Name, c.Status)
			if c.Status == result.StatusOK {
				line += ": no trials"
			}
			if c.Error != "" {
				line += ": " + c.Error
			}
			b.WriteString(oneLine(line) + "\n")
			continue
		}
		name := BenchName(c.Name)
		for _, t := range c.Trials {
			// As gobench.Writer writes a Result, but with numbers in plain
			// decimal (shortest exact form, as go test prints them) rather
			// than %v's exponents.
			b.WriteString("Benchmark" + name + " 1")
			for _, v := range TrialValues(t) {
				b.WriteString(" " + strconv.FormatFloat(v.Value, 'f', -1, 64) + " " + v.Unit)
			}
			b.WriteString("\n")
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write benchmark format: %w", err)
	}
	return nil
}

// TrialValues are the measurements of one trial in the units Write uses.
// The latency units are left out when the trial measured no latency.
func TrialValues(t result.Trial) []gobench.Value {
	v := []gobench.Value{
		{Value: t.PPS, Unit: UnitPPS},
		{Value: t.DevicePPS, Unit: UnitDevicePPS},
		{Value: t.CPUNsPerPkt, Unit: UnitCPUNsPerPkt},
	}
	if t.Latency.Count > 0 {
		v = append(v,
			gobench.Value{Value: t.Latency.P50, Unit: UnitP50},
			gobench.Value{Value: t.Latency.P99, Unit: UnitP99},
			gobench.Value{Value: t.Latency.P999, Unit: UnitP999})
	}
	return append(v, gobench.Value{Value: t.BytesPerSec, Unit: UnitBytesPerSec})
}

// config is the file configuration Write puts at the top, in order.
func config(r *result.Result) [][2]string {
	var kv [][2]string
	add := func(k, v string) {
		if v = oneLine(v); v != "" {
			kv = append(kv, [2]string{k, v})
		}
	}
	add("goos", "linux") // vethbench runs only on Linux
	add("goarch", r.Host.Arch)
	add("cpu", r.Host.CPUModel)
	add("kernel", r.Host.Kernel)
	if r.Host.VCPUs > 0 {
		add("vcpus", strconv.Itoa(r.Host.VCPUs))
	}
	add("vethbench", r.Tool.Version)
	return kv
}

// oneLine joins the fields of s with single spaces: a configuration value or
// comment must not span lines.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
