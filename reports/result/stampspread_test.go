package result

import "testing"

// Merge weighs each side's mean by its batches and takes nil as nothing.
func TestStampSpreadMerge(t *testing.T) {
	a := &StampSpread{Batches: 1, MeanNs: 10, MaxNs: 10}
	b := &StampSpread{Batches: 3, MeanNs: 2, MaxNs: 5}
	if got, want := *a.Merge(b), (StampSpread{Batches: 4, MeanNs: 4, MaxNs: 10}); got != want {
		t.Errorf("merge: %+v, want %+v", got, want)
	}
	var none *StampSpread
	if got := none.Merge(b); got != b {
		t.Errorf("nil merge: %+v", got)
	}
	if got := a.Merge(nil); got != a {
		t.Errorf("merge nil: %+v", got)
	}
	if got := none.Merge(nil); got != nil {
		t.Errorf("nil merge nil: %+v", got)
	}
}
