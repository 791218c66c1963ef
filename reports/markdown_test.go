package reports

import (
	"bytes"
	"os"
	"strings"
	"testing"
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
