package reports

import (
	"math/rand/v2"

	"github.com/vethbench/vethbench/reports/result"
)

// synthCase makes an ok case whose trials' pps scatter ±1% around pps.
func synthCase(name string, pps float64, questions ...string) result.Case {
	rng := rand.New(rand.NewPCG(uint64(len(name)), uint64(pps)))
	c := result.Case{Name: name, Status: result.StatusOK, Questions: questions}
	var v []float64
	for i := range 8 {
		p := pps * (1 + 0.02*(rng.Float64()-0.5))
		v = append(v, p)
		c.Trials = append(c.Trials, result.Trial{Index: i, PPS: p, DevicePPS: p, Closed: true, Sent: 1000, Received: 1000,
			Latency: result.Latency{Histogram: []uint64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 10, 20, 5, 1}, Resolution: 0.125}})
	}
	e := result.Estimate{Median: pps, Lo: pps * 0.99, Hi: pps * 1.01, Level: 0.99, N: 8, Min: pps * 0.99, Max: pps * 1.01}
	c.Summary = &result.Summary{PPS: e, DevicePPS: e, CPUNsPerPkt: result.Estimate{Median: 1e9 / pps, N: 8}, Closed: true, Sent: 8000, Received: 8000}
	return c
}

func synthResult(cases ...result.Case) *result.Result {
	r := result.NewResult()
	r.Settings = result.Settings{Trials: 8, Confidence: 0.95, Seed: 1}
	r.Cases = cases
	return r
}
