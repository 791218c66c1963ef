package bench

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/internal/testenv"
	"github.com/vethbench/vethbench/reports/result"
)

// histMean is the mean of a latency histogram from its buckets' midpoints,
// as a report would compute it from the file.
func histMean(l result.Latency) float64 {
	sc := histogram.Scale{SubBits: l.HistogramSubBits()}
	var n, sum float64
	for i, c := range l.Histogram {
		lo, hi := sc.BucketBounds(i)
		n += float64(c)
		sum += float64(c) * (float64(lo) + float64(hi)) / 2
	}
	return sum / n
}

// With measure.stages, every kind's trials say where the one-way time
// went: each stage positive, the stages adding up to the trip exactly, the
// trip agreeing with the ingress counter's one-way latency, and, on veth at
// a low rate, the device hop a small part of it.
func TestRunCaseStages(t *testing.T) {
	testenv.RequireRoot(t)
	m := quick
	m.Stages = true
	for _, k := range topology.Kinds {
		c := vethCase(64)
		c.Topology.Kind = k
		c.Traffic.Rate = 5000
		t.Run(c.Name(), func(t *testing.T) {
			rc, err := RunCase(context.Background(), c, m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rc.Status == result.StatusUnsupported {
				t.Skipf("unsupported here: %s", rc.Error)
			}
			if rc.Status != result.StatusOK {
				t.Fatalf("status %s: %s", rc.Status, rc.Error)
			}
			for _, tr := range rc.Trials {
				st := tr.Stages
				if st == nil {
					t.Fatalf("trial %d has no stages", tr.Index+1)
				}
				for _, b := range []string{"send", "queue", "xmit", "ingress"} {
					if !slices.Contains(st.Boundaries, b) {
						t.Errorf("trial %d: boundaries %v lack %s", tr.Index+1, st.Boundaries, b)
					}
				}
				var sum float64
				for _, s := range st.Stages {
					if s.Count == 0 || !(s.MeanNs > 0) {
						t.Errorf("trial %d: stage %s: count %d mean %v, want positive", tr.Index+1, s.Name, s.Count, s.MeanNs)
					}
					sum += s.MeanNs * float64(s.Count)
				}
				total := st.Total.MeanNs * float64(st.Total.Count)
				if st.Total.Count == 0 || math.Abs(sum-total) > 1e-3*total {
					t.Errorf("trial %d: stages sum to %.0f ns, the trip to %.0f ns (%d datagrams)", tr.Index+1, sum, total, st.Total.Count)
				}
				// The trip ends at the stage program's ingress stamp, just
				// before the ingress counter's: the two means agree within
				// the histogram's resolution and that offset.
				e2e := histMean(tr.Latency)
				if tol := (tr.Latency.Resolution + 0.05) * e2e; math.Abs(st.Total.MeanNs-e2e) > tol {
					t.Errorf("trial %d: stages' trip %.0f ns, the one-way latency's mean %.0f ns (tolerance %.0f)", tr.Index+1, st.Total.MeanNs, e2e, tol)
				}
				// On a bare veth pair the device hop is veth's xmit and
				// the backlog; through a bridge or a router it holds their
				// forwarding too, about half the trip here.
				for _, s := range st.Stages {
					if k == topology.KindVeth && s.Name == result.StageDevice && !(s.MeanNs < st.Total.MeanNs/2) {
						t.Errorf("trial %d: at %v pps the device hop, %.0f ns, is not a small part of the trip, %.0f ns", tr.Index+1, c.Traffic.Rate, s.MeanNs, st.Total.MeanNs)
					}
				}
			}
			if len(rc.Summary.Stages) == 0 {
				t.Error("no stages in the summary")
			}
		})
	}
}
