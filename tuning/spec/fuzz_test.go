package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds Parse arbitrary bytes. It must never panic; it either
// returns one *Error naming the file, or a spec whose every case expands
// and validates, with unique names. The seed corpus is every spec under
// testdata and under the repository's examples/, the default spec, the
// inputs below, and the files under testdata/fuzz/FuzzParse (where go test
// also writes any failing input it finds).
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*/*.yaml", "../../examples/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add(Default())
	for _, s := range []string{
		"",
		"---\n",
		"groups: [{question: q}]",
		"groups: [{question: q, vary: {pkt_size: &a [64, 1400], mtu: *a}}]",
		"a: &a [*a]",
		"groups: [{question: q, one_of: [{}, {}]}]",
		"groups: [{question: q, one_of: [{tx_queues: 0}, {tx_queues: 1}]}]",
		"groups: [{question: q, vary: {rate: [1e400, -0]}}]",
		"groups: [{question: q, set: {gro: !!binary aGVsbG8=}}]",
		"groups:\n- question: q\n  vary: {pkt_size: [64, 1400], flows: [1, 2], senders: [1, 2]}",
		"measure: {trials: 99999999999999999999}\ngroups: [{question: q}]",
		"? [a]\n: b\n",
		"groups: [{question: q, vary: {sysctl.net.core.rmem_max: [\"1 2\", \"1  2\"]}}]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		s, err := Parse("fuzz.yaml", data, fakeCatalog{})
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Parse took %v", d)
		}
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %T is not an *Error wrapping ErrInvalid: %v", err, err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "fuzz.yaml") || strings.Contains(msg, "\n") {
				t.Fatalf("badly formed error %q", msg)
			}
			return
		}
		cases, err := s.Expand()
		if err != nil {
			t.Fatalf("Parse accepted a spec Expand refuses: %v", err)
		}
		if len(cases) == 0 || len(cases) > HardMaxCases {
			t.Fatalf("%d cases", len(cases))
		}
		seen := map[string]bool{}
		m := s.Measure
		for _, c := range cases {
			if seen[c.Name] {
				t.Fatalf("case %q twice", c.Name)
			}
			seen[c.Name] = true
			if err := c.Case.Validate(m); err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
		}
		if err := s.Check(true); err != nil {
			t.Fatalf("Check(true): %v", err)
		}
	})
}
