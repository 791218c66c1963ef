package histogram

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var scales = []Scale{Coarse, OneWay, RoundTrip, {SubBits: 1}, {}}

func TestScales(t *testing.T) {
	for _, c := range []struct {
		s       Scale
		bits, n int
		res     float64
	}{
		{Scale{}, 3, 305, 0.125},
		{Coarse, 3, 305, 0.125},
		{OneWay, 5, 1153, 1.0 / 32},
		{RoundTrip, 7, 4353, 1.0 / 128},
	} {
		if c.s.Bits() != c.bits || c.s.NumBuckets() != c.n || c.s.Resolution() != c.res {
			t.Errorf("%+v: bits %d, %d buckets, resolution %v; want %d, %d, %v", c.s, c.s.Bits(), c.s.NumBuckets(), c.s.Resolution(), c.bits, c.n, c.res)
		}
	}
	// The claims the package makes of the scales vethbench uses.
	if OneWay.Resolution() > 0.032 || RoundTrip.Resolution() > 0.01 {
		t.Errorf("one-way %.4f, round trip %.4f: want about 3%% and 1%% or better", OneWay.Resolution(), RoundTrip.Resolution())
	}
	for _, bad := range []int{-1, MaxSubBits + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SubBits %d accepted", bad)
				}
			}()
			Scale{SubBits: bad}.NumBuckets()
		}()
	}
}

func TestBucketBoundsContiguous(t *testing.T) {
	for _, s := range scales {
		t.Run(fmt.Sprint(s.Bits()), func(t *testing.T) {
			n, exact := s.NumBuckets(), 1<<s.Bits()
			var next uint64 // the lowest value not yet covered
			for i := range n {
				lo, hi := s.BucketBounds(i)
				if lo != next {
					t.Fatalf("bucket %d starts at %d, want %d (gap or overlap)", i, lo, next)
				}
				if hi < lo {
					t.Fatalf("bucket %d: hi %d < lo %d", i, hi, lo)
				}
				if i < exact && lo != hi {
					t.Fatalf("bucket %d = [%d, %d], want a single value", i, lo, hi)
				}
				if i >= exact && i < n-1 {
					if w := hi - lo + 1; float64(w) > s.Resolution()*float64(lo) {
						t.Fatalf("bucket %d = [%d, %d]: width %d > %.4f of its lower bound", i, lo, hi, w, s.Resolution())
					}
				}
				if s.BucketOf(lo) != i || s.BucketOf(hi) != i {
					t.Fatalf("bucket %d = [%d, %d], but BucketOf(lo)=%d BucketOf(hi)=%d", i, lo, hi, s.BucketOf(lo), s.BucketOf(hi))
				}
				if i == n-1 {
					if hi != math.MaxUint64 {
						t.Fatalf("last bucket ends at %d, want MaxUint64", hi)
					}
					break
				}
				next = hi + 1
			}
			if lo, _ := s.BucketBounds(n - 1); lo != 1<<40 {
				t.Fatalf("last bucket starts at %d, want 2^40", lo)
			}
		})
	}
}

func TestBucketOfMonotone(t *testing.T) {
	for _, s := range scales {
		prev := 0
		for v := range uint64(1 << 16) {
			b := s.BucketOf(v)
			if b < prev || b > prev+1 {
				t.Fatalf("bits %d: BucketOf(%d) = %d after %d: not monotone and contiguous", s.Bits(), v, b, prev)
			}
			prev = b
		}
		r := rand.New(rand.NewPCG(1, 2))
		for range 100000 {
			a := r.Uint64() >> r.IntN(64)
			b := r.Uint64() >> r.IntN(64)
			if a > b {
				a, b = b, a
			}
			if s.BucketOf(a) > s.BucketOf(b) {
				t.Fatalf("bits %d: BucketOf(%d)=%d > BucketOf(%d)=%d", s.Bits(), a, s.BucketOf(a), b, s.BucketOf(b))
			}
			lo, hi := s.BucketBounds(s.BucketOf(a))
			if a < lo || a > hi {
				t.Fatalf("bits %d: %d not in its bucket [%d, %d]", s.Bits(), a, lo, hi)
			}
		}
	}
	for _, c := range []struct {
		s    Scale
		v    uint64
		want int
	}{
		// Coarse: (e-2)*8 + ((v >> (e-3)) & 7), as SCHEMA.md writes it.
		{Coarse, 0, 0}, {Coarse, 7, 7}, {Coarse, 8, 8}, {Coarse, 15, 15}, {Coarse, 16, 16}, {Coarse, 17, 16}, {Coarse, 18, 17},
		{Coarse, 1<<40 - 1, 303}, {Coarse, 1 << 40, 304}, {Coarse, math.MaxUint64, 304},
		// OneWay: (e-4)*32 + ((v >> (e-5)) & 31).
		{OneWay, 31, 31}, {OneWay, 32, 32}, {OneWay, 64, 64}, {OneWay, 66, 65},
		{OneWay, 100_000, (16-4)*32 + (100_000>>11)&31}, {OneWay, 1<<40 - 1, 1151}, {OneWay, 1 << 40, 1152},
		// RoundTrip: (e-6)*128 + ((v >> (e-7)) & 127).
		{RoundTrip, 127, 127}, {RoundTrip, 128, 128}, {RoundTrip, 258, 257},
		{RoundTrip, 1<<40 - 1, 4351}, {RoundTrip, math.MaxUint64, 4352},
	} {
		if got := c.s.BucketOf(c.v); got != c.want {
			t.Errorf("bits %d: BucketOf(%d) = %d, want %d", c.s.Bits(), c.v, got, c.want)
		}
	}
}

func TestBucketBoundsPanicsOutOfRange(t *testing.T) {
	for _, s := range scales {
		for _, i := range []int{-1, s.NumBuckets()} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("bits %d: BucketBounds(%d) did not panic", s.Bits(), i)
					}
				}()
				s.BucketBounds(i)
			}()
		}
	}
}

func hist(s Scale, values ...uint64) Histogram {
	h := Histogram{Scale: s}
	for _, v := range values {
		h.Record(v)
	}
	return h
}

func TestQuantile(t *testing.T) {
	if _, _, _, ok := (Histogram{}).Quantile(0.5); ok {
		t.Fatal("Quantile of an empty histogram is ok")
	}
	for _, s := range scales {
		h := hist(s, 1, 1, 2)
		for _, q := range []float64{-0.1, 1.1, math.NaN()} {
			if _, _, _, ok := h.Quantile(q); ok {
				t.Errorf("Quantile(%v) is ok", q)
			}
		}
		// Exact below 2^SubBits ns: rank ceil(q*3).
		for _, c := range []struct {
			q    float64
			want uint64
		}{{0, 1}, {0.33, 1}, {0.5, 1}, {0.66, 1}, {0.67, 2}, {1, 2}} {
			est, lo, hi, ok := h.Quantile(c.q)
			if !ok || est != c.want || lo != c.want || hi != c.want {
				t.Errorf("bits %d: Quantile(%v) = %d [%d, %d] %v, want %d exactly", s.Bits(), c.q, est, lo, hi, ok, c.want)
			}
		}

		// 1000 values 1us..1000us: every quantile's bounds hold the true
		// value and the estimate is within Resolution/2 of it.
		var vals []uint64
		for i := uint64(1); i <= 1000; i++ {
			vals = append(vals, i*1000)
		}
		h = hist(s, vals...)
		if h.Total() != 1000 {
			t.Fatalf("Total = %d", h.Total())
		}
		for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
			truth := vals[int(math.Ceil(q*1000))-1]
			est, lo, hi, ok := h.Quantile(q)
			if !ok || truth < lo || truth > hi {
				t.Errorf("bits %d: Quantile(%v) = [%d, %d], true value %d outside", s.Bits(), q, lo, hi, truth)
			}
			if rel := math.Abs(float64(est)-float64(truth)) / float64(truth); rel > s.Resolution()/2 {
				t.Errorf("bits %d: Quantile(%v) = %d, true %d: relative error %.4f > %.4f", s.Bits(), q, est, truth, rel, s.Resolution()/2)
			}
		}

		// The open-ended last bucket estimates its lower bound.
		est, lo, hi, ok := hist(s, 1<<50).Quantile(0.5)
		if !ok || est != 1<<40 || lo != 1<<40 || hi != math.MaxUint64 {
			t.Errorf("bits %d: Quantile over the last bucket = %d [%d, %d]", s.Bits(), est, lo, hi)
		}
	}
}

// A finer scale tells apart what a coarser one cannot: 100 us and 103 us
// share a Coarse bucket and not a OneWay one.
func TestQuantileFollowsScale(t *testing.T) {
	for _, c := range []struct {
		s    Scale
		same bool
	}{{Coarse, true}, {OneWay, false}, {RoundTrip, false}} {
		h := hist(c.s, 100_000, 103_000)
		p0, _, _, _ := h.Quantile(0)
		p1, _, _, _ := h.Quantile(1)
		if (p0 == p1) != c.same {
			t.Errorf("bits %d: 100 us and 103 us read as %d and %d", c.s.Bits(), p0, p1)
		}
	}
}

func TestMergeIsSum(t *testing.T) {
	// Two "CPUs" see different halves; the merge equals one histogram of all.
	r := rand.New(rand.NewPCG(3, 4))
	all, cpu0, cpu1 := Histogram{Scale: OneWay}, New(OneWay), Histogram{Scale: OneWay}
	for range 10000 {
		v := r.Uint64N(10_000_000)
		all.Record(v)
		if r.IntN(2) == 0 {
			cpu0.Record(v)
		} else {
			cpu1.Record(v)
		}
	}
	m := cpu0.Merge(cpu1)
	if m.Total() != all.Total() || m.Scale != OneWay {
		t.Fatalf("merged total %d scale %+v, want %d of OneWay", m.Total(), m.Scale, all.Total())
	}
	for i := range max(len(m.Counts), len(all.Counts)) {
		var a, b uint64
		if i < len(m.Counts) {
			a = m.Counts[i]
		}
		if i < len(all.Counts) {
			b = all.Counts[i]
		}
		if a != b {
			t.Fatalf("bucket %d: merged %d, want %d", i, a, b)
		}
	}
	for _, q := range []float64{0.5, 0.99} {
		e1, _, _, _ := m.Quantile(q)
		e2, _, _, _ := all.Quantile(q)
		if e1 != e2 {
			t.Errorf("Quantile(%v): merged %d, whole %d", q, e1, e2)
		}
	}
	// Merge leaves its operands alone; Add works in place; short + long works.
	short := Histogram{Counts: []uint64{1}}
	long := Histogram{Counts: []uint64{1, 2, 3}}
	if got := short.Merge(long); len(got.Counts) != 3 || got.Counts[0] != 2 || short.Counts[0] != 1 {
		t.Errorf("short.Merge(long) = %v, short now %v", got.Counts, short.Counts)
	}
	short.Add(long)
	if len(short.Counts) != 3 || short.Counts[0] != 2 || short.Counts[2] != 3 {
		t.Errorf("Add: %v", short.Counts)
	}
}

// An empty histogram takes the scale of what it is combined with; two
// non-empty ones of different scales do not combine.
func TestCombineScales(t *testing.T) {
	fine := hist(RoundTrip, 1000)
	var acc Histogram
	acc.Add(fine)
	if acc.Scale != RoundTrip || acc.Total() != 1 {
		t.Errorf("zero.Add(fine) = %+v", acc)
	}
	if d := fine.Sub(Histogram{}); d.Scale != RoundTrip || d.Total() != 1 {
		t.Errorf("fine.Sub(zero) = %+v", d)
	}
	if m := (Histogram{}).Merge(fine); m.Scale != RoundTrip {
		t.Errorf("zero.Merge(fine) has scale %+v", m.Scale)
	}
	// The zero Scale is Coarse: the two combine.
	if m := hist(Scale{}, 5).Merge(hist(Coarse, 5)); m.Total() != 2 {
		t.Errorf("zero scale + Coarse = %+v", m)
	}
	for name, f := range map[string]func(){
		"Merge": func() { hist(OneWay, 1).Merge(fine) },
		"Add":   func() { h := hist(OneWay, 1); h.Add(fine) },
		"Sub":   func() { hist(OneWay, 1).Sub(fine) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s of OneWay and RoundTrip did not panic", name)
				}
			}()
			f()
		}()
	}
}
