package spec

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/tuning"
)

// TestRealCatalog parses the default spec, the examples and the good specs
// with package tuning's catalog, so that every knob they use exists there,
// and checks one of its errors reads well after the spec's position.
func TestRealCatalog(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.yaml")
	examples, _ := filepath.Glob("../../examples/*.yaml")
	if !slices.Contains(examples, "../../examples/annotated.yaml") {
		t.Fatalf("../../examples/annotated.yaml not found (examples: %v)", examples)
	}
	files = append(files, examples...)
	for _, f := range append(files, DefaultFile) {
		data := Default()
		if f != DefaultFile {
			var err error
			if data, err = os.ReadFile(f); err != nil {
				t.Fatal(err)
			}
		}
		fake, err := Parse(f, data, fakeCatalog{})
		if err != nil {
			t.Fatal(err)
		}
		real, err := Parse(f, data, tuning.Catalog{})
		if err != nil {
			t.Errorf("with tuning.Catalog: %v", err)
			continue
		}
		a, b := mustExpand(t, fake), mustExpand(t, real)
		if len(a) != len(b) {
			t.Errorf("%s: %d cases with the fake catalog, %d with the real one", f, len(a), len(b))
		}
		for i := range min(len(a), len(b)) {
			if a[i].Name != b[i].Name {
				t.Errorf("%s: case %q with the fake catalog, %q with the real one", f, a[i].Name, b[i].Name)
			}
		}
	}
	_, err := Parse("r.yaml", []byte("groups:\n  - question: q\n    vary:\n      txqueuelen: [1000, -1]\n"), tuning.Catalog{})
	t.Logf("%v", err)
	if err == nil || !strings.HasPrefix(err.Error(), "r.yaml:4: groups[0].vary.txqueuelen: -1 out of range") {
		t.Errorf("got %v", err)
	}
}

// A grid whose case sets qdisc and a non-zero shape_mbit (both set the
// root qdisc) is refused when the spec is read, at the line that makes it,
// not when the sweep reaches the case.
func TestRealCatalogShapeWithQdisc(t *testing.T) {
	spec := "groups:\n  - question: q\n    set: {qdisc: pfifo}\n    vary:\n      shape_mbit: [0, 100]\n"
	_, err := Parse("s.yaml", []byte(spec), tuning.Catalog{})
	t.Logf("%v", err)
	if err == nil || !strings.HasPrefix(err.Error(), "s.yaml:5: groups[0].vary.shape_mbit") ||
		!strings.Contains(err.Error(), "cannot be combined with qdisc pfifo") {
		t.Errorf("got %v", err)
	}
	ok := "groups:\n  - question: q\n    vary:\n      shape_mbit: [0, 100]\n"
	if _, err := Parse("ok.yaml", []byte(ok), tuning.Catalog{}); err != nil {
		t.Errorf("shape_mbit alone: %v", err)
	}
}
