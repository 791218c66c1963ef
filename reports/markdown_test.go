package reports

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/reports/result"
)

const markdownGolden = "testdata/sweep.md"

func TestMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, readFixture(t)); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(markdownGolden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(markdownGolden)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run TestMarkdownGolden -update)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("markdown differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", markdownGolden, got, want)
	}
	if strings.Contains(b.String(), "http") {
		t.Error("markdown names a URL")
	}
}

func TestMarkdownEscape(t *testing.T) {
	if got, want := mdEscape("a|b *c* <d>"), `a\|b \*c\* &lt;d&gt;`; got != want {
		t.Errorf("mdEscape = %q, want %q", got, want)
	}
}

// TestMarkdownQuestion checks that a result without questions is asked the
// same question in Markdown as in HTML.
func TestMarkdownQuestion(t *testing.T) {
	for _, c := range []struct {
		name string
		r    *result.Result
		want string
	}{
		{"one case", synthResult(synthCase("veth/pkt=64", 300000)), "What did this run measure?"},
		{"two sizes", synthResult(synthCase("veth/pkt=64", 300000), synthCase("veth/pkt=1400", 250000)), "How do the cases compare?"},
	} {
		var b bytes.Buffer
		if err := WriteMarkdown(&b, c.r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "1. **"+c.want+"**") {
			t.Errorf("%s: markdown lacks question %q:\n%s", c.name, c.want, b.String())
		}
		if page := renderHTML(t, c.r); !strings.Contains(page, escape(c.want)) {
			t.Errorf("%s: HTML lacks question %q", c.name, c.want)
		}
	}
}
