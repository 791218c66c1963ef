package spec

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden .err files of testdata/bad")

// loadBad parses a bad spec as `vethbench sweep -f` does: Parse, then the
// grid-size limit without force.
func loadBad(name string, data []byte) error {
	s, err := Parse(name, data, fakeCatalog{})
	if err != nil {
		return err
	}
	return s.Check(false)
}

// TestBadSpecs checks that every spec under testdata/bad fails with exactly
// the message in its .err file.
func TestBadSpecs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("%d bad specs, want at least 15", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			err = loadBad(name, data)
			if err == nil {
				t.Fatalf("%s: no error", name)
			}
			var se *Error
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) {
				t.Errorf("error %T does not wrap *Error and ErrInvalid: %v", err, err)
			}
			if se != nil && se.Line == 0 {
				t.Errorf("no line in %q", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(err.Error()+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run go test -run TestBadSpecs -update to create it)", rerr)
			}
			if got := err.Error(); got != strings.TrimSpace(string(want)) {
				t.Errorf("got  %s\nwant %s", got, strings.TrimSpace(string(want)))
			}
		})
	}
}
