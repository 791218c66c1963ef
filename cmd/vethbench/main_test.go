package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/internal/testenv"
)

var binary string // built once by TestMain for the process-level tests

func TestMain(m *testing.M) {
	// A fuzzing worker runs only the fuzz target, which needs no binary,
	// and is started in whatever directory the target left.
	if slices.Contains(os.Args, "-test.fuzzworker=true") || slices.Contains(os.Args, "-test.fuzzworker") {
		os.Exit(testenv.Main(m))
	}
	dir, err := os.MkdirTemp("", "vethbench-test-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "vethbench")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := testenv.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	err := run(context.Background(), args, &o, &e)
	code = exitCode(&e, err)
	return o.String(), e.String(), code
}

// Bad input gets one clear error naming the flag and exit code 2, before
// anything is created (these run without root, so nothing could be).
func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--duration", "-1s"}, "--duration: -1s out of range"},
		{[]string{"run", "--duration", "10ms"}, "--duration: 10ms is too short"},
		{[]string{"run", "--pkt-size", "20"}, "--pkt-size: 20 bytes out of range [58, 1514]"},
		{[]string{"run", "--pkt-size", "1515"}, "--pkt-size: 1515 bytes out of range [58, 1514]"},
		{[]string{"run", "--pkt-size", "70", "--family", "ipv6"}, "--pkt-size: 70 bytes out of range [78, 1514]"},
		// Valid: reaches the root check, or as root a short run.
		{[]string{"run", "--pkt-size", "9014", "--mtu", "9000", "--trials", "1", "--duration", "100ms", "--warmup", "0"}, ""},
		{[]string{"run", "--topology", "wireguard"}, `--topology: unknown topology "wireguard"`},
		{[]string{"run", "--family", "ipx"}, `--family: unknown family "ipx"`},
		{[]string{"run", "--trials", "0"}, "--trials: 0 out of range"},
		{[]string{"run", "--flows", "0"}, "--flows: 0 out of range"},
		{[]string{"run", "--senders", "2"}, "--senders: 2 out of range [1, flows=1]"},
		{[]string{"run", "--rate", "-5"}, "--rate: -5 is negative"},
		{[]string{"run", "--mtu", "100"}, "--mtu: 100 out of range"},
		{[]string{"run", "--format", "xml"}, `--format: unknown format "xml"`},
		{[]string{"run", "--generator", "pktgen"}, `--generator: unknown generator "pktgen"`},
		{[]string{"run", "--xdp-batch-stamp"}, "--xdp-batch-stamp: only the xdp generator stamps frames in BPF (generator udp)"},
		{[]string{"run", "--confidence", "1.5"}, "--confidence: 1.5 out of range"},
		{[]string{"run", "--cost-ns", "-1"}, "--cost-ns: -1 out of range [0, 20000]"},
		{[]string{"run", "--cost-ns", "20001"}, "--cost-ns: 20001 out of range [0, 20000]"},
		// strconv.ParseFloat takes NaN and Inf: each float flag refuses
		// them by name, before anything is created.
		{[]string{"run", "--rate", "NaN"}, "--rate: NaN is not a finite number"},
		{[]string{"run", "--rate", "Inf"}, "--rate: +Inf is not a finite number"},
		{[]string{"run", "--rate", "-inf"}, "--rate: -Inf is not a finite number"},
		{[]string{"run", "--generator", "tcp", "--rate", "nan"}, "--rate: NaN is not a finite number"},
		{[]string{"run", "--generator", "rr", "--rate", "+Inf"}, "--rate: +Inf is not a finite number"},
		{[]string{"run", "--confidence", "NaN"}, "--confidence: NaN is not a finite number"},
		{[]string{"run", "--confidence", "-Inf"}, "--confidence: -Inf is not a finite number"},
		{[]string{"compare", "--alpha", "NaN", compareTestdata + "base.json", compareTestdata + "new.json"}, "--alpha: NaN out of range"},
		{[]string{"compare", "--threshold", "Inf", compareTestdata + "base.json", compareTestdata + "new.json"}, "--threshold: +Inf out of range"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := runCLI(t, tc.args...)
			if tc.want == "" {
				if code == exitUsage {
					t.Fatalf("valid flags rejected: %s", stderr)
				}
				return
			}
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.want)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 {
				t.Errorf("want one error line, got:\n%s", stderr)
			}
		})
	}
}

// Every kind of mistake cobra finds in a command line is a usage error by
// type: exit code 2, one line, and a pointer to the help of the command it
// was found in.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		kind string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate" for "vethbench" (see vethbench --help)`},
		{"misspelt command", []string{"swep"}, `unknown command "swep" for "vethbench"; did you mean sweep? (see vethbench --help)`},
		{"argument to a command taking none", []string{"run", "extra"}, `unknown command "extra" for "vethbench run" (see vethbench run --help)`},
		{"argument to cobra's completion command", []string{"completion", "bash", "extra"}, `unknown command "extra" for "vethbench completion bash" (see vethbench completion bash --help)`},
		{"unknown flag", []string{"run", "--bogus"}, "unknown flag: --bogus (see vethbench run --help)"},
		{"unknown flag of the root", []string{"--bogus"}, "unknown flag: --bogus (see vethbench --help)"},
		{"unknown shorthand", []string{"compare", "-z", "a", "b"}, "unknown shorthand flag: 'z' in -z (see vethbench compare --help)"},
		{"wrong argument count", []string{"compare", "base.json"}, "accepts 2 arg(s), received 1 (see vethbench compare --help)"},
		{"wrong argument count, own check", []string{"report"}, "report takes 1 result file, got 0 (to compare two, use --compare BASE NEW) (see vethbench report --help)"},
		{"bad flag value", []string{"run", "--duration", "five"}, `invalid argument "five" for "--duration" flag: time: invalid duration "five" (see vethbench run --help)`},
		{"bad flag value of a shorthand", []string{"sweep", "-q=maybe"}, `invalid argument "maybe" for "-q, --quiet" flag`},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d; stderr %q", code, exitUsage, stderr)
			}
			if !strings.HasPrefix(stderr, "vethbench: "+tc.want) {
				t.Errorf("stderr %q, want %q", stderr, tc.want)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 {
				t.Errorf("want one error line, got:\n%s", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q on a usage error", stdout)
			}
		})
	}
}

// vethbench alone prints its help and succeeds; so does help.
func TestRootHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"--help"}} {
		stdout, stderr, code := runCLI(t, args...)
		if code != exitOK || stderr != "" {
			t.Errorf("%q: exit code %d, stderr %q", args, code, stderr)
		}
		if !strings.Contains(stdout, "Available Commands:") || !strings.Contains(stdout, "Exit codes:") {
			t.Errorf("%q: no help on stdout:\n%s", args, stdout)
		}
	}
}

func TestRunHelpExplainsFlags(t *testing.T) {
	out, _, code := runCLI(t, "run", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"--pkt-size int", "frame size in bytes without FCS", "(default 64)",
		"--duration duration", "(default 5s)", "--trials int", "(default 5)",
		"--rate float", "packets per second", "--format string", "table|json",
		"-o, --output string", "--topology string", "veth|bridge|router|hostnat|macvlan|ipvlan|loopback",
		"--mode string", "vepa",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("run --help lacks %q", want)
		}
	}
}
