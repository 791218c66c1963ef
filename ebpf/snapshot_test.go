package vbpf

import (
	"testing"

	"github.com/vethbench/vethbench/internal/histogram"
)

func histOf(values ...uint64) histogram.Histogram {
	h := histogram.Histogram{Scale: LatencyScale}
	for _, v := range values {
		h.Record(v)
	}
	return h
}

func TestSnapshotSub(t *testing.T) {
	prev := Snapshot{Packets: 10, Bytes: 1000, Matched: 5, MatchedBytes: 500, BadTimestamp: 1, Latency: histOf(100, 2000)}
	cur := Snapshot{Packets: 25, Bytes: 2600, Matched: 12, MatchedBytes: 1200, BadTimestamp: 2, Latency: histOf(100, 2000, 2000, 50000)}
	d := cur.Sub(prev)
	if d.Packets != 15 || d.Bytes != 1600 || d.Matched != 7 || d.MatchedBytes != 700 || d.BadTimestamp != 1 {
		t.Fatalf("Sub = %+v", d)
	}
	if d.Latency.Total() != 2 || d.Latency.Counts[LatencyScale.BucketOf(2000)] != 1 || d.Latency.Counts[LatencyScale.BucketOf(50000)] != 1 {
		t.Fatalf("latency delta %v", d.Latency.Counts)
	}
	if z := cur.Sub(cur); z.Packets != 0 || z.Latency.Total() != 0 {
		t.Fatalf("s.Sub(s) = %+v", z)
	}
}

// The map the program fills holds exactly the buckets of the scale the Go
// side reads it with.
func TestLatencyScaleMatchesMap(t *testing.T) {
	if n, want := len(counterVbWindow{}.Buckets), LatencyScale.NumBuckets(); n != want {
		t.Fatalf("counter.c's vb_window has %d buckets, LatencyScale (%d sub-bucket bits) %d", n, LatencyScale.Bits(), want)
	}
	spec, err := loadCounter()
	if err != nil {
		t.Fatal(err)
	}
	if n := spec.Maps[counterMapVbWindows].MaxEntries; n != TagSlots {
		t.Errorf("counter.c has %d window slots, TagSlots is %d", n, TagSlots)
	}
	if LatencyScale != histogram.OneWay {
		t.Errorf("LatencyScale %+v, want histogram.OneWay", LatencyScale)
	}
}
