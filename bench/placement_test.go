package bench

import (
	"slices"
	"strings"
	"testing"
)

// Placement takes CPUs from the allowed set only, keeps the receiving
// thread alone when there are CPUs enough, and warns when a sender must
// share its CPU.
func TestPlacement(t *testing.T) {
	for _, tc := range []struct {
		name     string
		senders  int
		allowed  []int
		want     []int
		receiver int
		warning  string // "" for none
	}{
		{"two CPUs", 1, []int{0, 1}, []int{0}, 1, ""},
		{"taskset -c 1", 1, []int{1}, []int{1}, 1, "sender 0 shares CPU 1 with the receiving thread: this process may use CPUs 1 (its affinity mask), fewer than the 2 threads"},
		{"taskset -c 2,5,7", 2, []int{2, 5, 7}, []int{2, 5}, 7, ""},
		{"two senders on two CPUs", 2, []int{0, 1}, []int{0, 1}, 1, "sender 1 shares CPU 1"},
		{"three senders on one CPU", 3, []int{3}, []int{3, 3, 3}, 3, "senders 0, 1, 2 share CPU 3 with the receiving thread: this process may use CPUs 3"},
		{"cpuset 4-7, five senders", 5, []int{4, 5, 6, 7}, []int{4, 5, 6, 7, 4}, 7, "sender 3 shares CPU 7"},
		{"no CPU known", 2, nil, nil, -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, rcv, warn := placement(tc.senders, tc.allowed)
			if !slices.Equal(got, tc.want) || rcv != tc.receiver {
				t.Errorf("senders on %v, receiver on %d; want %v and %d", got, rcv, tc.want, tc.receiver)
			}
			for _, c := range append(slices.Clone(got), rcv) {
				if c != -1 && !slices.Contains(tc.allowed, c) {
					t.Errorf("CPU %d is not allowed (%v)", c, tc.allowed)
				}
			}
			if (warn == "") != (tc.warning == "") || !strings.Contains(warn, tc.warning) {
				t.Errorf("warning %q, want one containing %q", warn, tc.warning)
			}
		})
	}
}
