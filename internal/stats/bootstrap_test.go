package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// normalSample draws n values around mean with the given coefficient of
// variation, from a seeded PCG (a test fixture, not the bootstrap's stream).
func normalSample(rng *rand.Rand, n int, mean, cv float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = mean * (1 + cv*rng.NormFloat64())
	}
	return x
}

// The counting shortcut gives exactly the median of an explicit resample
// drawn with the same random numbers.
func TestMedianResampler(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7, 10, 31} {
		x := normalSample(rand.New(rand.NewPCG(uint64(n), 1)), n, 100, 0.1)
		r := newMedianResampler(x)
		a, b := newRand(42), newRand(42)
		buf := make([]float64, n)
		for range 500 {
			got := r.draw(a)
			for i := 0; i < n; i += 2 {
				v := b.Uint64()
				buf[i] = r.s[int(uint64(uint32(v))*uint64(n)>>32)]
				if i+1 < n {
					buf[i+1] = r.s[int(uint64(uint32(v>>32))*uint64(n)>>32)]
				}
			}
			if want := Median(buf); got != want {
				t.Fatalf("n=%d: resample median %v, want %v", n, got, want)
			}
		}
	}
}

func TestRatioOfMediansDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	base, nw := normalSample(rng, 10, 1e6, 0.05), normalSample(rng, 12, 0.9e6, 0.05)
	a := RatioOfMedians(base, nw, 0.95, 2000, 99)
	b := RatioOfMedians(base, nw, 0.95, 2000, 99)
	if a != b {
		t.Fatalf("same seed, different CIs: %+v vs %+v", a, b)
	}
	c := RatioOfMedians(base, nw, 0.95, 2000, 100)
	if c.Lo == a.Lo && c.Hi == a.Hi {
		t.Errorf("different seeds gave the same CI %+v", c)
	}
	if a.Ratio != Median(nw)/Median(base) || !(a.Lo <= a.Ratio && a.Ratio <= a.Hi) {
		t.Errorf("ratio %v not inside [%v, %v]", a.Ratio, a.Lo, a.Hi)
	}
	if a.Level != 0.95 || a.Resamples != 2000 || a.Seed != 99 {
		t.Errorf("parameters not recorded: %+v", a)
	}
	if d := RatioOfMedians(base, nw, 0, 0, 1); d.Level != 0.95 || d.Resamples != DefaultResamples {
		t.Errorf("defaults not applied: %+v", d)
	}
}

func TestRatioOfMediansKnown(t *testing.T) {
	// Constant samples: every resample has the same medians.
	ci := RatioOfMedians([]float64{4, 4, 4}, []float64{5, 5}, 0.95, 100, 1)
	if ci.Ratio != 1.25 || ci.Lo != 1.25 || ci.Hi != 1.25 {
		t.Errorf("constant samples: %+v", ci)
	}
	ci = RatioOfMedians(nil, []float64{1}, 0.95, 100, 1)
	if !math.IsNaN(ci.Ratio) || !math.IsNaN(ci.Lo) || !math.IsNaN(ci.Hi) {
		t.Errorf("empty base: %+v", ci)
	}
	// A wider level gives a wider interval from the same resamples.
	rng := rand.New(rand.NewPCG(3, 3))
	base, nw := normalSample(rng, 10, 1, 0.05), normalSample(rng, 10, 1, 0.05)
	c90 := RatioOfMedians(base, nw, 0.90, 2000, 5)
	c99 := RatioOfMedians(base, nw, 0.99, 2000, 5)
	if !(c99.Lo <= c90.Lo && c90.Hi <= c99.Hi) {
		t.Errorf("99%% [%v, %v] does not contain 90%% [%v, %v]", c99.Lo, c99.Hi, c90.Lo, c90.Hi)
	}
}

func TestGeomeanRatio(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	b1, n1 := normalSample(rng, 10, 100, 0.03), normalSample(rng, 10, 110, 0.03)
	// One case: the same draws in the same order as RatioOfMedians.
	g := GeomeanRatio([][2][]float64{{b1, n1}}, 0.95, 2000, 8)
	r := RatioOfMedians(b1, n1, 0.95, 2000, 8)
	if !approx(g.Ratio, r.Ratio, 1e-12) || !approx(g.Lo, r.Lo, 1e-12) || !approx(g.Hi, r.Hi, 1e-12) {
		t.Errorf("one case: geomean %+v, ratio %+v", g, r)
	}
	// Ratios 1.1 and 1/1.1 have geometric mean 1.
	g = GeomeanRatio([][2][]float64{
		{{10, 10, 10}, {11, 11, 11}},
		{{11, 11}, {10, 10}},
	}, 0.95, 100, 1)
	if !approx(g.Ratio, 1, 1e-12) || !approx(g.Lo, 1, 1e-12) || !approx(g.Hi, 1, 1e-12) {
		t.Errorf("1.1 and 1/1.1: %+v, want 1", g)
	}
	b2, n2 := normalSample(rng, 10, 50, 0.03), normalSample(rng, 10, 45, 0.03)
	pairs := [][2][]float64{{b1, n1}, {b2, n2}}
	a, b := GeomeanRatio(pairs, 0.95, 2000, 8), GeomeanRatio(pairs, 0.95, 2000, 8)
	if a != b {
		t.Errorf("same seed, different CIs: %+v vs %+v", a, b)
	}
	want := math.Sqrt(Median(n1) / Median(b1) * Median(n2) / Median(b2))
	if !approx(a.Ratio, want, 1e-12) || !(a.Lo <= a.Ratio && a.Ratio <= a.Hi) {
		t.Errorf("two cases: %+v, want ratio %v inside the CI", a, want)
	}
	if g := GeomeanRatio(nil, 0.95, 10, 1); !math.IsNaN(g.Ratio) {
		t.Errorf("no cases: %+v", g)
	}
	if g := GeomeanRatio([][2][]float64{{b1, nil}}, 0.95, 10, 1); !math.IsNaN(g.Lo) {
		t.Errorf("empty side: %+v", g)
	}
}
