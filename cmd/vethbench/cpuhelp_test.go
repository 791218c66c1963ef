package main

import (
	"strings"
	"testing"
)

// The help of the commands that print CPU ns per packet says what it
// charges: the run's pinned CPUs, not every CPU of the host.
func TestHelpSaysWhatCPUCostIs(t *testing.T) {
	for _, cmd := range []string{"run", "sweep"} {
		out, _, code := runCLI(t, cmd, "--help")
		if code != exitOK {
			t.Fatalf("%s --help: exit %d", cmd, code)
		}
		flat := strings.Join(strings.Fields(out), " ")
		for _, want := range []string{"CPU ns per packet", "the run's cost", "CPUs the run pinned", "the span of the packet counts"} {
			if !strings.Contains(flat, want) {
				t.Errorf("%s --help lacks %q", cmd, want)
			}
		}
		if strings.Contains(flat, "all CPUs, from /proc/stat") {
			t.Errorf("%s --help still says CPU ns per packet is every CPU's", cmd)
		}
	}
}
