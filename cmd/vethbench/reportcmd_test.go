package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCompareWritesHTML(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cmp.html")
	var o, e bytes.Buffer
	err := run(context.Background(), []string{"report", "--compare", compareTestdata + "base.json", compareTestdata + "new.json", "-o", out}, &o, &e)
	if code := exitCode(&e, err); code != exitOK {
		t.Fatalf("exit code %d; stderr: %s", code, e.String())
	}
	if got := o.String(); got != "report: "+out+"\n" {
		t.Errorf("stdout %q", got)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{`id="verdicts"`, `id="ratios"`, `id="differs"`, `id="host-base"`, "REGRESSION", "veth/pkt=64", "<svg"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"http://", "https://", "url(", "<script", "<link"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
}

// Go benchmark files, and the default output ./compare.html.
func TestReportCompareBenchfmtDefaultOutput(t *testing.T) {
	base, err := filepath.Abs(compareTestdata + "base.txt")
	if err != nil {
		t.Fatal(err)
	}
	nw, _ := filepath.Abs(compareTestdata + "new.txt")
	dir := t.TempDir()
	t.Chdir(dir)
	var o, e bytes.Buffer
	err = run(context.Background(), []string{"report", "--compare", base, nw}, &o, &e)
	if code := exitCode(&e, err); code != exitOK {
		t.Fatalf("exit code %d; stderr: %s", code, e.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "compare.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `id="verdicts"`) || strings.Contains(string(b), `id="host-base"`) {
		t.Errorf("benchfmt comparison page:\n%s", b)
	}
}

func TestReportCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "cmp.html")
	for _, args := range [][]string{
		{"report", "--compare", compareTestdata + "base.json"},
		{"report", "--compare", compareTestdata + "base.json", compareTestdata + "new.json", compareTestdata + "new.json"},
		{"report", "--compare", compareTestdata + "base.json", filepath.Join(dir, "missing.json"), "-o", out},
		{"report", "--compare", compareTestdata + "base.json", compareTestdata + "malformed.txt", "-o", out},
		{"report", "--compare", "--format", "markdown", compareTestdata + "base.json", compareTestdata + "new.json", "-o", out},
		{"report", compareTestdata + "base.json", compareTestdata + "new.json"},
	} {
		var o, e bytes.Buffer
		err := run(context.Background(), args, &o, &e)
		if code := exitCode(&e, err); code != exitUsage {
			t.Errorf("%q: exit code %d, want %d; stderr: %s", args, code, exitUsage, e.String())
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%q: wrote %s", args, out)
		}
	}
}

// Without --compare, report still renders one result file.
func TestReportSingleResult(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.html")
	var o, e bytes.Buffer
	err := run(context.Background(), []string{"report", compareTestdata + "base.json", "-o", out}, &o, &e)
	if code := exitCode(&e, err); code != exitOK {
		t.Fatalf("exit code %d; stderr: %s", code, e.String())
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), `id="answers"`) {
		t.Errorf("report: %v", err)
	}
}
