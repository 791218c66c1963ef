package compare

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vethbench/vethbench/reports/benchfmt"
	"github.com/vethbench/vethbench/reports/result"
)

var update = flag.Bool("update", false, "rewrite testdata: the synthetic inputs and the golden outputs")

// synthCase describes a synthetic case: n trials around pps with 1% noise
// (latency and CPU cost move inversely to pps).
type synthCase struct {
	name   string
	status string
	n      int
	pps    float64
	frame  int
}

// The synthetic pair of result files in testdata: one case 20% slower in
// NEW with 10 trials per side, one unchanged, one 10% faster, one with 3
// trials per side, one only in BASE, one unsupported in NEW.
var (
	synthBase = []synthCase{
		{"veth/pkt=64", result.StatusOK, 10, 1.0e6, 64},
		{"veth/pkt=1400", result.StatusOK, 10, 5.0e5, 1400},
		{"loopback/pkt=64", result.StatusOK, 10, 2.0e6, 64},
		{"bridge/pkt=64", result.StatusOK, 3, 7.0e5, 64},
		{"macvlan-bridge/pkt=64", result.StatusOK, 10, 9.0e5, 64},
		{"ipvlan-l2/pkt=64", result.StatusOK, 10, 9.5e5, 64},
	}
	synthNew = []synthCase{
		{"veth/pkt=64", result.StatusOK, 10, 0.8e6, 64},
		{"veth/pkt=1400", result.StatusOK, 10, 5.0e5, 1400},
		{"loopback/pkt=64", result.StatusOK, 10, 2.2e6, 64},
		{"bridge/pkt=64", result.StatusOK, 3, 6.5e5, 64},
		{"ipvlan-l2/pkt=64", result.StatusUnsupported, 0, 0, 64},
	}
)

// synth builds a result file from synthetic cases, deterministically.
func synth(version string, seed uint64, cases []synthCase) *result.Result {
	rng := rand.New(rand.NewPCG(seed, 1))
	r := result.NewResult()
	r.Tool = result.Tool{Name: "vethbench", Version: version, GoVersion: "go1.26.0"}
	r.Command = []string{"vethbench", "sweep"}
	r.StartedAt = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	r.FinishedAt = r.StartedAt.Add(10 * time.Minute)
	r.Host = result.Host{Kernel: "6.18.44", Arch: "amd64", CPUModel: "AMD EPYC 7B13", VCPUs: 4, StealPct: 0.3}
	r.Settings = result.Settings{Trials: 10, Duration: 2 * time.Second, Warmup: time.Second, Confidence: 0.95}
	for _, sc := range cases {
		c := result.Case{Name: sc.name, Status: sc.status, Counter: "tcx", DropCounter: "kfree_skb via tp_btf"}
		if sc.status != result.StatusOK {
			c.Error = "kernel has no ipvlan support (EOPNOTSUPP creating link kind ipvlan)"
			r.Cases = append(r.Cases, c)
			continue
		}
		for i := range sc.n {
			f := 1 + 0.01*rng.NormFloat64()
			pps := round(sc.pps * f)
			d := 2 * time.Second
			n := uint64(pps * d.Seconds())
			c.Trials = append(c.Trials, result.Trial{
				Index: i, Duration: d, Sent: n, AtDevice: n, Received: n, Closed: true,
				PPS: pps, SentPPS: pps, DevicePPS: pps, BytesPerSec: pps * float64(sc.frame),
				CPUNsPerPkt: round(8e8 / pps * (1 + 0.01*rng.NormFloat64())),
				Latency: result.Latency{
					Count: n, Resolution: 0.125,
					P50:  round(2e9 / pps * (1 + 0.02*rng.NormFloat64())),
					P90:  round(5e9 / pps * (1 + 0.02*rng.NormFloat64())),
					P99:  round(1e10 / pps * (1 + 0.02*rng.NormFloat64())),
					P999: round(4e10 / pps * (1 + 0.02*rng.NormFloat64())),
				},
			})
		}
		r.Cases = append(r.Cases, c)
	}
	return r
}

func round(v float64) float64 { return float64(int64(v + 0.5)) }

// writeSynth rewrites the synthetic inputs in testdata (with -update).
func writeSynth() error {
	for _, f := range []struct {
		name string
		r    *result.Result
	}{
		{"base", synth("v0.1.0", 1, synthBase)},
		{"new", synth("v0.1.1", 2, synthNew)},
	} {
		if err := f.r.WriteFile(filepath.Join("testdata", f.name+".json")); err != nil {
			return err
		}
		var b bytes.Buffer
		if err := benchfmt.Write(&b, f.r); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join("testdata", f.name+".txt"), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func TestMain(m *testing.M) {
	flag.Parse()
	if *update {
		if err := writeSynth(); err != nil {
			fmt.Fprintln(os.Stderr, "write testdata:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}
