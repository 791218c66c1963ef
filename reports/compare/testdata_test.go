package compare

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/vethbench/vethbench/internal/stats"
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

// pairedSpec describes a synthetic interleaved run: one question whose
// cases were measured in blocks, the first case its baseline. Every block
// shares the host's drift (an AR(1) process on the log of the speed,
// stationary standard deviation drift, lag-1 correlation phi: regimes of
// about 1/(1-phi) blocks, as the development VM's second-long regimes at
// blocks of about 100 ms), each case adds its own noise per block, and the
// whole run is host times faster. Trials are the means of equal chunks of
// the blocks, as rounds would give fewer, longer windows.
type pairedSpec struct {
	question string
	cases    []string
	pps      []float64 // each case's rate on a host of speed 1
	cpu      []float64 // each case's CPU ns per packet on a host of speed 1
	blocks   int
	trials   int
	host     float64
	drift    float64
	phi      float64
	noise    float64
	seed     uint64
}

// pairedDefaults is a question of three devices: veth (the baseline),
// bridge at 0.67x and macvlan at 0.9x its rate, 400 blocks, 5 trials, a
// drift of 8% with regimes of about 10 blocks, 1% noise per case and block.
func pairedDefaults() pairedSpec {
	return pairedSpec{
		question: "Which device costs least per packet?",
		cases:    []string{"veth/pkt=64", "bridge/pkt=64", "macvlan-bridge/pkt=64"},
		pps:      []float64{3.0e5, 2.0e5, 2.7e5},
		cpu:      []float64{3300, 4950, 3670},
		blocks:   400, trials: 5, host: 1, drift: 0.08, phi: 0.9, noise: 0.01, seed: 1,
	}
}

// synthPaired builds the result of a pairedSpec, deterministically.
func synthPaired(version string, ps pairedSpec) *result.Result {
	rng := rand.New(rand.NewPCG(ps.seed, 3))
	r := synth(version, ps.seed, nil)
	r.Settings.Method, r.Settings.Slice = "interleaved", 20*time.Millisecond
	q := result.Question{Text: ps.question, Baseline: ps.cases[0], Paired: &result.Paired{
		Slice: 20 * time.Millisecond, Seed: ps.seed, WarmupBlocks: 5, Blocks: ps.blocks, Stop: "time limit",
	}}
	drift := make([]float64, ps.blocks)
	x := ps.drift * rng.NormFloat64()
	for i := range drift {
		drift[i] = x
		x = ps.phi*x + math.Sqrt(1-ps.phi*ps.phi)*ps.drift*rng.NormFloat64()
	}
	for k, name := range ps.cases {
		pc := result.PairedCase{Case: name}
		for i := range ps.blocks {
			speed := ps.host * math.Exp(drift[i])
			pc.PPS = append(pc.PPS, round(ps.pps[k]*speed*math.Exp(ps.noise*rng.NormFloat64())))
			pc.CPUNsPerPkt = append(pc.CPUNsPerPkt, round(ps.cpu[k]/speed*math.Exp(ps.noise*rng.NormFloat64())))
		}
		c := result.Case{Name: name, Status: result.StatusOK, Counter: "tcx", DropCounter: "kfree_skb via tp_btf", Questions: []string{ps.question}}
		chunk := ps.blocks / max(1, ps.trials)
		for t := range ps.trials {
			pps := stat.Mean(pc.PPS[t*chunk:(t+1)*chunk], nil)
			cpu := stat.Mean(pc.CPUNsPerPkt[t*chunk:(t+1)*chunk], nil)
			d := time.Duration(chunk) * 20 * time.Millisecond
			n := uint64(pps * d.Seconds())
			c.Trials = append(c.Trials, result.Trial{
				Index: t, Duration: d, Sent: n, AtDevice: n, Received: n, Closed: true,
				PPS: round(pps), SentPPS: round(pps), DevicePPS: round(pps), BytesPerSec: round(pps) * 64, CPUNsPerPkt: round(cpu),
			})
		}
		r.Cases = append(r.Cases, c)
		q.Paired.Cases = append(q.Paired.Cases, pc)
	}
	base := q.Paired.Cases[0]
	for i := 1; i < len(q.Paired.Cases); i++ {
		pc := &q.Paired.Cases[i]
		pc.PPSRatio = resultRatio(stats.PairedRatio(base.PPS, pc.PPS, 0.95))
		pc.CPURatio = resultRatio(stats.PairedRatio(base.CPUNsPerPkt, pc.CPUNsPerPkt, 0.95))
	}
	r.Questions = []result.Question{q}
	return r
}

func resultRatio(p stats.Paired) *result.Ratio {
	return &result.Ratio{Ratio: p.Ratio, Lo: p.Lo, Hi: p.Hi, Level: p.Level, Blocks: p.N, P: p.P, Method: stats.PairedMethod}
}

// The synthetic pair of interleaved runs in testdata: NEW ran on a host
// 10% faster, and bridge lost 5% against veth there.
func pairedFiles() (base, nw *result.Result) {
	b := pairedDefaults()
	n := pairedDefaults()
	n.seed, n.host = 2, 1.10
	n.pps = []float64{3.0e5, 2.0e5 * 0.95, 2.7e5}
	n.cpu = []float64{3300, 4950 / 0.95, 3670}
	return synthPaired("v0.2.0", b), synthPaired("v0.2.1", n)
}

// writeSynth rewrites the synthetic inputs in testdata (with -update).
func writeSynth() error {
	for _, f := range []struct {
		name string
		r    *result.Result
	}{
		{"base", synth("v0.1.0", 1, synthBase)},
		{"new", synth("v0.1.1", 2, synthNew)},
	} {
		// These two were written by version 2, before blocks: keep them
		// files of that version, as the tests read them.
		f.r.Version = 2
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
	pb, pn := pairedFiles()
	if err := pb.WriteFile(filepath.Join("testdata", "paired-base.json")); err != nil {
		return err
	}
	return pn.WriteFile(filepath.Join("testdata", "paired-new.json"))
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
