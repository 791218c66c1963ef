package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/vethbench/vethbench/reports/trend"
)

// The CI workflows people copy (examples/ci/) run vethbench commands in
// shell lines; these tests keep them true to the CLI: every vethbench
// command line they run names a command that exists, with flags it has,
// values its enumerated flags take and the positional arguments it
// accepts.
//
// A command line runs vethbench when its program, after leading VAR=value
// assignments and `sudo` (with options such as -E), is `vethbench` or a path
// to it (`./vethbench`, `/usr/local/bin/vethbench`); a variable holding the
// binary ("$BIN") is not recognised, so the examples do not use one.

const (
	githubExample = "../../examples/ci/github-nightly.yml"
	gitlabExample = "../../examples/ci/gitlab-nightly.yml"
)

// shellCommand is one simple command of a shell line: its words, quotes
// removed, redirections and their targets dropped.
type shellCommand struct {
	line  string
	words []string
}

// splitShell splits one shell line (continuations joined) into its simple
// commands, separated by ; && || | &. It handles single and double quotes,
// backslash escapes, $(...) and `...` as part of a word, redirections (>,
// >>, <, 2>, 2>&1, &>) and a # comment. Enough for CI scripts, not a shell.
func splitShell(line string) ([][]string, error) {
	var (
		cmds     [][]string
		words    []string
		word     strings.Builder
		inWord   bool
		redirect bool // the next word is a redirection's target
	)
	endWord := func() {
		if !inWord {
			return
		}
		if redirect {
			redirect = false
		} else {
			words = append(words, word.String())
		}
		word.Reset()
		inWord = false
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	s := []rune(line)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := slices.Index(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", line)
			}
			word.WriteString(string(s[i+1 : i+1+j]))
			inWord = true
			i += j + 1
		case c == '"':
			inWord = true
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && strings.ContainsRune("\"\\$`", s[j+1]) {
					j++
				}
				word.WriteRune(s[j])
			}
			if j == len(s) {
				return nil, fmt.Errorf("unterminated \" in %q", line)
			}
			i = j
		case c == '\\':
			if i+1 < len(s) {
				i++
				word.WriteRune(s[i])
				inWord = true
			}
		case c == '$' && i+1 < len(s) && s[i+1] == '(', c == '`':
			// A command substitution is one piece of the word it is in.
			j, depth := i+1, 1
			if c == '$' {
				j++
			}
			for ; j < len(s) && depth > 0; j++ {
				switch {
				case c == '`' && s[j] == '`':
					depth--
				case c == '$' && s[j] == '(':
					depth++
				case c == '$' && s[j] == ')':
					depth--
				}
			}
			if depth > 0 {
				return nil, fmt.Errorf("unterminated command substitution in %q", line)
			}
			word.WriteString(string(s[i:j]))
			inWord = true
			i = j - 1
		case c == ' ' || c == '\t':
			endWord()
		case c == '#' && !inWord:
			endCmd()
			return cmds, nil
		case c == ';' || c == '|' || c == '&' && !(i+1 < len(s) && s[i+1] == '>'):
			endCmd()
			if i+1 < len(s) && (s[i+1] == '|' || s[i+1] == '&') && c != ';' {
				i++
			}
		case c == '>' || c == '<' || c == '&':
			// A redirection: [N]>, >>, <, &>, >&N; a digit just before it
			// is its descriptor, not a word.
			if w := word.String(); inWord && strings.Trim(w, "0123456789") == "" {
				word.Reset()
				inWord = false
			}
			endWord()
			for i+1 < len(s) && strings.ContainsRune("<>&", s[i+1]) {
				i++
			}
			rest := s[i+1:]
			if n := len(rest) - len(strings.TrimLeft(string(rest), "0123456789-")); s[i] == '&' && n > 0 {
				i += n // >&2, 2>&1: no target word
				continue
			}
			redirect = true
		default:
			word.WriteRune(c)
			inWord = true
		}
	}
	if redirect && !inWord {
		return nil, fmt.Errorf("redirection without a target in %q", line)
	}
	endCmd()
	return cmds, nil
}

// shellLines splits a script into its lines, continuations joined, blank
// and comment lines dropped.
func shellLines(script string) []string {
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(script, "\n") {
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\"))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(l)
		if t := strings.TrimSpace(cur.String()); t != "" && !strings.HasPrefix(t, "#") {
			lines = append(lines, t)
		}
		cur.Reset()
	}
	if t := strings.TrimSpace(cur.String()); t != "" {
		lines = append(lines, t)
	}
	return lines
}

// vethbenchArgs returns the arguments to vethbench of a simple command
// that runs it.
func vethbenchArgs(words []string) ([]string, bool) {
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
		words = words[1:] // VAR=value
	}
	if len(words) > 0 && words[0] == "sudo" {
		words = words[1:]
		for len(words) > 0 && strings.HasPrefix(words[0], "-") {
			words = words[1:]
		}
	}
	if len(words) == 0 || path.Base(words[0]) != "vethbench" {
		return nil, false
	}
	return words[1:], true
}

// enumFlags are the flags whose values the CLI checks only when the command
// runs: a workflow with a value outside them would fail at night.
var enumFlags = map[string]map[string][]string{
	"trend": {"format": trend.Formats},
	"sweep": {"format": outputFormats},
}

// checkCommand checks vethbench args against the real command tree: the
// command exists, each flag exists on it and takes the value given (cobra's
// own parsing: long, shorthand, --flag=value), enumerated flags have a
// known value, and the command accepts the positional arguments.
func checkCommand(args []string) (*cobra.Command, error) {
	root := newRoot(nil, io.Discard, io.Discard)
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return nil, fmt.Errorf("no command in vethbench %s", strings.Join(args, " "))
	}
	var cmd *cobra.Command
	for _, c := range root.Commands() {
		if c.Name() == args[0] || c.HasAlias(args[0]) {
			cmd = c
		}
	}
	if cmd == nil {
		return nil, fmt.Errorf("vethbench has no command %q", args[0])
	}
	if err := cmd.ParseFlags(args[1:]); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	for name, values := range enumFlags[cmd.Name()] {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed && !slices.Contains(values, f.Value.String()) {
			return nil, fmt.Errorf("%s --%s %q: not one of %s", cmd.CommandPath(), name, f.Value, strings.Join(values, ", "))
		}
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	return cmd, nil
}

// vethbenchCommands finds every vethbench command in scripts.
func vethbenchCommands(t *testing.T, scripts []string) []shellCommand {
	t.Helper()
	var out []shellCommand
	for _, s := range scripts {
		for _, line := range shellLines(s) {
			cmds, err := splitShell(line)
			if err != nil {
				t.Errorf("%v", err)
				continue
			}
			for _, words := range cmds {
				if args, ok := vethbenchArgs(words); ok {
					out = append(out, shellCommand{line: line, words: args})
				}
			}
		}
	}
	return out
}

func readYAML(t *testing.T, p string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return doc
}

// strs is v as a list of strings: a string, or a list of them (GitLab
// allows nested lists in scripts).
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, strs(e)...)
		}
		return out
	}
	return nil
}

func mapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }

// githubSteps is every step of every job of a GitHub workflow.
func githubSteps(doc map[string]any) []map[string]any {
	var steps []map[string]any
	for _, job := range mapOf(doc["jobs"]) {
		list, _ := mapOf(job)["steps"].([]any)
		for _, s := range list {
			if m := mapOf(s); m != nil {
				steps = append(steps, m)
			}
		}
	}
	return steps
}

// gitlabJobs is every job of a GitLab CI file (a top-level map with a
// script), and default.
func gitlabJobs(doc map[string]any) map[string]map[string]any {
	jobs := map[string]map[string]any{}
	for k, v := range doc {
		if m := mapOf(v); m != nil && (m["script"] != nil || k == "default") {
			jobs[k] = m
		}
	}
	return jobs
}

// checkExample checks every vethbench command of a workflow's scripts and
// returns them.
func checkExample(t *testing.T, file string, scripts []string) []shellCommand {
	t.Helper()
	cmds := vethbenchCommands(t, scripts)
	for _, c := range cmds {
		if _, err := checkCommand(c.words); err != nil {
			t.Errorf("%s: %q: %v", file, c.line, err)
		}
	}
	// A sweep and a trend with the formats the artifacts need, so that a
	// file the parser no longer understands cannot pass by finding nothing.
	for _, want := range [][]string{{"sweep"}, {"trend", "--format", "junit"}, {"trend", "--format", "html"}, {"trend", "--format", "markdown"}} {
		if !slices.ContainsFunc(cmds, func(c shellCommand) bool { return hasWords(c.words, want) }) {
			t.Errorf("%s runs no vethbench %s", file, strings.Join(want, " "))
		}
	}
	// The sweep's spec exists and is valid (sweep --dry-run checks it in
	// full and creates nothing).
	for _, c := range cmds {
		if c.words[0] != "sweep" {
			continue
		}
		cmd, err := checkCommand(c.words)
		if err != nil {
			continue
		}
		args := []string{"sweep", "--dry-run"}
		if spec := cmd.Flags().Lookup("file").Value.String(); spec != "" {
			args = append(args, "-f", filepath.Join("../..", spec))
		}
		if err := run(context.Background(), args, io.Discard, io.Discard); err != nil {
			t.Errorf("%s: %q: %v", file, c.line, err)
		}
	}
	return cmds
}

// hasWords: words holds want in order, each want[i] as a word or as the
// value of --flag=value.
func hasWords(words, want []string) bool {
	joined := " " + strings.Join(words, " ") + " "
	j := " " + strings.Join(want, " ") + " "
	if len(want) == 3 && strings.HasPrefix(want[1], "--") {
		alt := " " + want[1] + "=" + want[2] + " "
		return words[0] == want[0] && (strings.Contains(joined, " "+want[1]+" "+want[2]+" ") || strings.Contains(joined, alt))
	}
	return strings.HasPrefix(joined, j)
}

// outputOf is the -o/--output value of a trend command with --format f.
func outputOf(t *testing.T, cmds []shellCommand, f string) string {
	t.Helper()
	for _, c := range cmds {
		if c.words[0] != "trend" {
			continue
		}
		cmd, err := checkCommand(c.words)
		if err != nil {
			continue
		}
		if cmd.Flags().Lookup("format").Value.String() == f {
			return cmd.Flags().Lookup("output").Value.String()
		}
	}
	return ""
}

// TestExamplesCIGitHub: the GitHub workflow runs nightly, its vethbench
// commands exist, and it uploads what trend writes even when the job fails.
func TestExamplesCIGitHub(t *testing.T) {
	doc := readYAML(t, githubExample)
	on := mapOf(doc["on"])
	if on == nil {
		t.Fatalf("%s: on is not a map but %T", githubExample, doc["on"])
	}
	if list, _ := on["schedule"].([]any); len(list) == 0 || mapOf(list[0])["cron"] == nil {
		t.Errorf("%s: no on.schedule with a cron: %v", githubExample, on["schedule"])
	}
	var scripts []string
	steps := githubSteps(doc)
	for _, s := range steps {
		scripts = append(scripts, strs(s["run"])...)
	}
	cmds := checkExample(t, githubExample, scripts)
	var uploaded []string
	for _, s := range steps {
		if u, _ := s["uses"].(string); strings.HasPrefix(u, "actions/upload-artifact@") {
			if cond, _ := s["if"].(string); !strings.Contains(cond, "always()") {
				t.Errorf("%s: the upload step runs only when the job passes (if: %q), and a regression is when its files matter", githubExample, cond)
			}
			for _, p := range strs(mapOf(s["with"])["path"]) {
				uploaded = append(uploaded, strings.Fields(p)...)
			}
		}
	}
	for _, f := range []string{"junit", "html"} {
		if out := outputOf(t, cmds, f); out == "" || !slices.Contains(uploaded, out) {
			t.Errorf("%s: trend --format %s writes %q, the artifacts are %q", githubExample, f, out, uploaded)
		}
	}
}

// TestExamplesCIGitLab: the GitLab file's vethbench commands exist, and
// its job runs in scheduled pipelines, with the file trend --format junit
// writes as its junit report and the HTML as an artifact, kept always.
func TestExamplesCIGitLab(t *testing.T) {
	doc := readYAML(t, gitlabExample)
	jobs := gitlabJobs(doc)
	var scripts []string
	for _, j := range jobs {
		for _, k := range []string{"before_script", "script", "after_script"} {
			scripts = append(scripts, strs(j[k])...)
		}
	}
	cmds := checkExample(t, gitlabExample, scripts)
	junit := outputOf(t, cmds, "junit")
	found := false
	for name, j := range jobs {
		art := mapOf(j["artifacts"])
		reports := strs(mapOf(art["reports"])["junit"])
		if len(reports) == 0 {
			continue
		}
		found = true
		if !slices.Contains(reports, junit) {
			t.Errorf("%s: job %s's junit report is %q, trend --format junit writes %q", gitlabExample, name, reports, junit)
		}
		if !strings.Contains(fmt.Sprint(j["rules"]), `$CI_PIPELINE_SOURCE == "schedule"`) {
			t.Errorf("%s: job %s does not run in scheduled pipelines: rules %v", gitlabExample, name, j["rules"])
		}
		if art["when"] != "always" {
			t.Errorf("%s: job %s keeps its artifacts only when it passes (when: %v), and a regression is when they matter", gitlabExample, name, art["when"])
		}
		if html := outputOf(t, cmds, "html"); html == "" || !slices.Contains(strs(art["paths"]), html) {
			t.Errorf("%s: job %s: trend --format html writes %q, the artifacts are %q", gitlabExample, name, html, strs(art["paths"]))
		}
	}
	if !found {
		t.Errorf("%s: no job has artifacts: reports: junit", gitlabExample)
	}
}

// TestExamplesCICheck: the checks above fail on a command or flag the CLI
// does not have, and pass on the shell forms the examples use.
func TestExamplesCICheck(t *testing.T) {
	for _, tc := range []struct {
		line string
		bad  string // "" when the line must pass; else words the error has
	}{
		{`./vethbench trend "$HISTORY" --format markdown >> "$GITHUB_STEP_SUMMARY" || true`, ""},
		{`sudo ./vethbench sweep -q -f examples/quick.yaml -o "$HISTORY/$(date -u +%Y-%m-%dT%H-%M-%SZ)"`, ""},
		{`sudo -E vethbench trend --format=junit -o junit.xml h/ 2>&1 | tee log`, ""},
		{"./vethbench trend \\\n  --format html \\\n  -o trend.html --threshold 0.05 --p-value 0.001 --by-kernel --ack a.yaml a.json b.json", ""},
		{`X=1 /usr/local/bin/vethbench trend h/ > out.txt; echo done`, ""},
		{`vethbench trend --no-such-flag "$HISTORY"`, "unknown flag: --no-such-flag"},
		{`vethbench trnd "$HISTORY"`, `no command "trnd"`},
		{`./vethbench trend -z "$HISTORY"`, "unknown shorthand flag: 'z'"},
		{`./vethbench trend --format junit`, "requires at least 1 arg"},
		{`./vethbench trend --format junitxml -o junit.xml h/`, `--format "junitxml": not one of`},
		{`./vethbench trend --threshold three h/`, `invalid argument "three"`},
		{`sudo ./vethbench sweep -f examples/quick.yaml extra`, "unknown command"},
		{`true && ./vethbench --format junit`, "no command"},
		{"echo x | ./vethbench trend \\\n  --formt html h/", "unknown flag: --formt"},
	} {
		var errs []string
		n := 0
		for _, line := range shellLines(tc.line) {
			cmds, err := splitShell(line)
			if err != nil {
				t.Fatalf("%q: %v", tc.line, err)
			}
			for _, words := range cmds {
				args, ok := vethbenchArgs(words)
				if !ok {
					continue
				}
				n++
				if _, err := checkCommand(args); err != nil {
					errs = append(errs, err.Error())
				}
			}
		}
		if n != 1 {
			t.Errorf("%q: %d vethbench commands found, want 1", tc.line, n)
		}
		got := strings.Join(errs, "; ")
		switch {
		case tc.bad == "" && got != "":
			t.Errorf("%q: %s", tc.line, got)
		case tc.bad != "" && !strings.Contains(got, tc.bad):
			t.Errorf("%q: error %q, want one saying %q", tc.line, got, tc.bad)
		}
	}
}

// TestExamplesCISplitShell pins the shell splitting the checks rely on.
func TestExamplesCISplitShell(t *testing.T) {
	for _, tc := range []struct {
		line string
		want [][]string
	}{
		{`a "b c" 'd e' f\ g "$(date -u +%F)" >> out 2>&1 | h`, [][]string{{"a", "b c", "d e", "f g", "$(date -u +%F)"}, {"h"}}},
		{`a $(x "y z") x$(p q)y 2> err && b > o < i; c &> all & d >&2 # e`, [][]string{{"a", `$(x "y z")`, "x$(p q)y"}, {"b"}, {"c"}, {"d"}}},
		{`a "x \"q\" \$y" 'it''s' ` + "`b c`", [][]string{{"a", `x "q" $y`, "its", "`b c`"}}},
	} {
		got, err := splitShell(tc.line)
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || len(got) != len(tc.want) {
			t.Errorf("%q:\n got %q\nwant %q", tc.line, got, tc.want)
		}
	}
	for _, bad := range []string{`a "b`, `a 'b`, `a $(b`, `a >`} {
		if _, err := splitShell(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if got := shellLines("a \\\n  b\n# c\n\n d"); fmt.Sprint(got) != fmt.Sprint([]string{"a    b", "d"}) {
		t.Errorf("shellLines: %q", got)
	}
}
