package histogram

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestBucketBoundsContiguous(t *testing.T) {
	var next uint64 // the lowest value not yet covered
	for i := range NumBuckets {
		lo, hi := BucketBounds(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d (gap or overlap)", i, lo, next)
		}
		if hi < lo {
			t.Fatalf("bucket %d: hi %d < lo %d", i, hi, lo)
		}
		if i < 8 && lo != hi {
			t.Fatalf("bucket %d = [%d, %d], want a single value", i, lo, hi)
		}
		if i >= 8 && i < NumBuckets-1 {
			if w := hi - lo + 1; float64(w) > Resolution*float64(lo) {
				t.Fatalf("bucket %d = [%d, %d]: width %d > %.3f of its lower bound", i, lo, hi, w, Resolution)
			}
		}
		if BucketOf(lo) != i || BucketOf(hi) != i {
			t.Fatalf("bucket %d = [%d, %d], but BucketOf(lo)=%d BucketOf(hi)=%d", i, lo, hi, BucketOf(lo), BucketOf(hi))
		}
		if i == NumBuckets-1 {
			if hi != math.MaxUint64 {
				t.Fatalf("last bucket ends at %d, want MaxUint64", hi)
			}
			break
		}
		next = hi + 1
	}
	if lo, _ := BucketBounds(NumBuckets - 1); lo != 1<<40 {
		t.Fatalf("last bucket starts at %d, want 2^40", lo)
	}
}

func TestBucketOfMonotone(t *testing.T) {
	prev := 0
	for v := range uint64(1 << 16) {
		b := BucketOf(v)
		if b < prev || b > prev+1 {
			t.Fatalf("BucketOf(%d) = %d after %d: not monotone and contiguous", v, b, prev)
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
		if BucketOf(a) > BucketOf(b) {
			t.Fatalf("BucketOf(%d)=%d > BucketOf(%d)=%d", a, BucketOf(a), b, BucketOf(b))
		}
		lo, hi := BucketBounds(BucketOf(a))
		if a < lo || a > hi {
			t.Fatalf("%d not in its bucket [%d, %d]", a, lo, hi)
		}
	}
	for _, c := range []struct {
		v    uint64
		want int
	}{
		{0, 0}, {7, 7}, {8, 8}, {15, 15}, {16, 16}, {17, 16}, {18, 17},
		{1<<40 - 1, NumBuckets - 2}, {1 << 40, NumBuckets - 1}, {math.MaxUint64, NumBuckets - 1},
	} {
		if got := BucketOf(c.v); got != c.want {
			t.Errorf("BucketOf(%d) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestBucketBoundsPanicsOutOfRange(t *testing.T) {
	for _, i := range []int{-1, NumBuckets} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("BucketBounds(%d) did not panic", i)
				}
			}()
			BucketBounds(i)
		}()
	}
}

func hist(values ...uint64) Histogram {
	var h Histogram
	for _, v := range values {
		h.Record(v)
	}
	return h
}

func TestQuantile(t *testing.T) {
	if _, _, _, ok := (Histogram{}).Quantile(0.5); ok {
		t.Fatal("Quantile of an empty histogram is ok")
	}
	h := hist(3, 3, 5)
	for _, q := range []float64{-0.1, 1.1, math.NaN()} {
		if _, _, _, ok := h.Quantile(q); ok {
			t.Errorf("Quantile(%v) is ok", q)
		}
	}
	// Exact below 8 ns: rank ceil(q*3).
	for _, c := range []struct {
		q    float64
		want uint64
	}{{0, 3}, {0.33, 3}, {0.5, 3}, {0.66, 3}, {0.67, 5}, {1, 5}} {
		est, lo, hi, ok := h.Quantile(c.q)
		if !ok || est != c.want || lo != c.want || hi != c.want {
			t.Errorf("Quantile(%v) = %d [%d, %d] %v, want %d exactly", c.q, est, lo, hi, ok, c.want)
		}
	}

	// 1000 values 1us..1000us: every quantile's bounds hold the true value
	// and the estimate is within Resolution/2 of it.
	var vals []uint64
	for i := uint64(1); i <= 1000; i++ {
		vals = append(vals, i*1000)
	}
	h = hist(vals...)
	if h.Total() != 1000 {
		t.Fatalf("Total = %d", h.Total())
	}
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		truth := vals[int(math.Ceil(q*1000))-1]
		est, lo, hi, ok := h.Quantile(q)
		if !ok || truth < lo || truth > hi {
			t.Errorf("Quantile(%v) = [%d, %d], true value %d outside", q, lo, hi, truth)
		}
		if rel := math.Abs(float64(est)-float64(truth)) / float64(truth); rel > Resolution/2 {
			t.Errorf("Quantile(%v) = %d, true %d: relative error %.3f > %.4f", q, est, truth, rel, Resolution/2)
		}
	}

	// The open-ended last bucket estimates its lower bound.
	est, lo, hi, ok := hist(1 << 50).Quantile(0.5)
	if !ok || est != 1<<40 || lo != 1<<40 || hi != math.MaxUint64 {
		t.Errorf("Quantile over the last bucket = %d [%d, %d]", est, lo, hi)
	}
}

func TestMergeIsSum(t *testing.T) {
	// Two "CPUs" see different halves; the merge equals one histogram of all.
	r := rand.New(rand.NewPCG(3, 4))
	var all, cpu0, cpu1 Histogram
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
	if m.Total() != all.Total() {
		t.Fatalf("merged total %d, want %d", m.Total(), all.Total())
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
