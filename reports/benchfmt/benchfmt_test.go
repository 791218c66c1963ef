package benchfmt

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	gobench "golang.org/x/perf/benchfmt"

	"github.com/vethbench/vethbench/reports/result"
)

func sample() *result.Result {
	r := result.NewResult()
	r.Tool = result.Tool{Name: "vethbench", Version: "v0.1.0+abc123", GoVersion: "go1.26.0"}
	r.Host = result.Host{Kernel: "6.18.44", Arch: "amd64", CPUModel: "AMD EPYC 7B13 64-Core\nProcessor", VCPUs: 4}
	r.Settings = result.Settings{Trials: 3, Duration: time.Second, Confidence: 0.95}
	lat := func(p50 float64) result.Latency {
		return result.Latency{Count: 100, P50: p50, P90: 2 * p50, P99: 5 * p50, P999: 20 * p50, Resolution: 0.125}
	}
	r.Cases = []result.Case{
		{Name: "veth/pkt=64/gro=on", Status: result.StatusOK, Trials: []result.Trial{
			{PPS: 1012345.678, DevicePPS: 1012400.5, CPUNsPerPkt: 812.25, BytesPerSec: 64 * 1012345.678, Latency: lat(2304)},
			{PPS: 998765.4321, DevicePPS: 998800, CPUNsPerPkt: 830, BytesPerSec: 64 * 998765.4321, Latency: lat(2432)},
			{PPS: 1e-7, DevicePPS: 3.5e12, CPUNsPerPkt: 1.0 / 3, BytesPerSec: math.MaxFloat64 / 2}, // no latency
		}},
		{Name: "ipvlan-l2/pkt=64", Status: result.StatusUnsupported, Error: "kernel has no ipvlan support"},
		{Name: "bridge/pkt=1400", Status: result.StatusOK, Trials: []result.Trial{
			{PPS: 400000, DevicePPS: 400000, CPUNsPerPkt: 1500, BytesPerSec: 5.6e8, Latency: lat(9000)},
		}},
	}
	return r
}

// What Write writes, golang.org/x/perf/benchfmt reads back: the same
// values, one result per trial, the configuration and which way is better.
func TestWriteReadBackWithXPerf(t *testing.T) {
	r := sample()
	var b bytes.Buffer
	if err := Write(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"goos: linux\ngoarch: amd64\ncpu: AMD EPYC 7B13 64-Core Processor\nkernel: 6.18.44\nvcpus: 4\nvethbench: v0.1.0+abc123\n",
		"Unit pps better=higher\n", "Unit ns/pkt better=lower\n", "Unit p99-ns better=lower\n",
		"\n# ipvlan-l2/pkt=64: unsupported: kernel has no ipvlan support\n",
		"BenchmarkVethbench/veth/pkt=64/gro=on 1 1012345.678 pps 1012400.5 device-pps 812.25 ns/pkt 2304 p50-ns 11520 p99-ns 46080 p999-ns ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	rd := gobench.NewReader(strings.NewReader(out), "x.txt")
	type row struct {
		name   string
		values map[string]float64
	}
	var got []row
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *gobench.SyntaxError:
			t.Fatal(rec)
		case *gobench.Result:
			if rec.Iters != 1 {
				t.Errorf("%s: %d iterations, want 1", rec.Name, rec.Iters)
			}
			if rec.GetConfig("kernel") != "6.18.44" || rec.GetConfig("vcpus") != "4" || rec.GetConfig("goos") != "linux" {
				t.Errorf("%s: config %v", rec.Name, rec.Config)
			}
			v := map[string]float64{}
			for _, x := range rec.Values {
				if x.OrigUnit != "" {
					v[x.OrigUnit] = x.OrigValue
				} else {
					v[x.Unit] = x.Value
				}
			}
			got = append(got, row{string(rec.Name), v})
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	var want []row
	for _, c := range r.Cases {
		for _, tr := range c.Trials {
			v := map[string]float64{}
			for _, x := range TrialValues(tr) {
				v[x.Unit] = x.Value
			}
			want = append(want, row{"Vethbench/" + c.Name, v})
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%v\nwant\n%v", got, want)
	}
	if v := want[0].values; v[UnitPPS] != 1012345.678 || v[UnitP999] != 46080 || v[UnitBytesPerSec] != 64*1012345.678 {
		t.Errorf("first trial %v", v)
	}
	if _, ok := want[2].values[UnitP50]; ok {
		t.Error("a trial without latency has latency units")
	}
	units := rd.Units()
	for _, u := range Units {
		wantBetter := -1
		if u.HigherIsBetter {
			wantBetter = 1
		}
		if got := units.GetBetter(u.Name); got != wantBetter {
			t.Errorf("unit %s: better %d, want %d", u.Name, got, wantBetter)
		}
	}
}

// Read (this package's reader) gives the same values grouped by benchmark.
func TestRead(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample()); err != nil {
		t.Fatal(err)
	}
	f, err := Read(&b, "x.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Benchmarks) != 2 || f.Benchmarks[0].Name != "Vethbench/veth/pkt=64/gro=on" || f.Config["kernel"] != "6.18.44" {
		t.Fatalf("benchmarks %+v config %v", f.Benchmarks, f.Config)
	}
	bm := f.Benchmarks[0]
	if got := bm.Values(UnitPPS); !reflect.DeepEqual(got, []float64{1012345.678, 998765.4321, 1e-7}) {
		t.Errorf("pps %v", got)
	}
	if got := bm.Values(UnitP50); !reflect.DeepEqual(got, []float64{2304, 2432}) {
		t.Errorf("p50-ns %v", got)
	}
	if got := bm.Values("p50-sec"); len(got) != 2 || math.Abs(got[0]-2304e-9) > 1e-18 {
		t.Errorf("p50-sec (tidied) %v", got)
	}
	if f.Better(UnitCPUNsPerPkt) != -1 || f.Better(UnitDevicePPS) != 1 || f.Better("ns/op") != -1 || f.Better("widgets") != 0 {
		t.Error("unit metadata not read")
	}
	if got := CaseName(bm.Name); got != "veth/pkt=64/gro=on" {
		t.Errorf("CaseName %q", got)
	}
	if got := BenchName("a b/c=1"); got != "Vethbench/a_b/c=1" {
		t.Errorf("BenchName %q", got)
	}
	if got := CaseName("Decode/size=1k-8"); got != "Decode/size=1k-8" {
		t.Errorf("CaseName of another benchmark %q", got)
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"goos: linux\nBenchmarkX 1 12x pps\n", "malformed Go benchmark file: f.txt:2: parsing measurement"},
		{"BenchmarkX 1 12 pps\nBenchmarkX one 12 pps\n", "f.txt:2: parsing iteration count"},
		{"BenchmarkX 1 12\n", "f.txt:1: missing units"},
		{"goos: linux\nPASS\n", "f.txt: no benchmark results"},
	} {
		_, err := Read(strings.NewReader(tc.in), "f.txt")
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want ErrSyntax with %q", tc.in, err, tc.want)
		}
	}
	if !LooksLike([]byte("goos: linux\nBenchmarkX 1 2 ns/op\n")) || LooksLike([]byte(`{"schema": "Benchmark"}`)) || LooksLike([]byte("hello\n")) {
		t.Error("LooksLike")
	}
}
