package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench"
	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/reports/result"
)

// fuzzCommands are the commands FuzzFlags drives: those whose every path
// to the kernel or the state directory goes through isRoot or measure.
// doctor probes the kernel and cleanup writes sysctls without a seam to
// stop them, and commands added later are not known to be safe: an input
// naming any other command is skipped.
var fuzzCommands = []string{"run", "sweep", "report", "compare", "version", "help", "completion"}

// FuzzFlags feeds arbitrary argv (arguments one per line) to the root
// command as an unprivileged process would see it, with measuring
// replaced by a failure: it must never panic, never measure, never create
// a file (the working directory, HOME and VETHBENCH_STATE_DIR are empty
// temporary directories checked after each input), and every error must be
// typed: a usage or input error (exit 2) or the root refusal. The seed
// corpus is the flags of every command; go test -fuzz adds its finds to
// testdata/fuzz/FuzzFlags.
func FuzzFlags(f *testing.F) {
	for _, seed := range []string{
		"run",
		"run\n--pkt-size\n1400\n--topology\nmacvlan\n--mode\nvepa",
		"run\n--tx-queues\n0",
		"run\n--peer-rx-queues\n65\n--rx-queues\n2",
		"run\n--rate\nNaN\n--trials\n1\n--duration\n100ms\n--warmup\n0",
		"run\n--generator\nxdp\n--xdp-batch-stamp\n--batch\n0",
		"run\n--generator\nrr\n--proto\ntcp\n--rate\n1e9",
		"run\n--generator\ntcp\n--flows\n4\n--senders\n4\n--rcvbuf\n2147483648",
		"run\n--generator\npacket\n--qdisc-bypass\n--udp-gso\n64",
		"run\n--family\nipv6\n--mtu\n1280\n--pkt-size\n78",
		"run\n--cost-ns\n20000\n--confidence\n0.5\n-o\nx.json\n--format\njson",
		"run\n-q\n--format\nbenchfmt",
		"sweep",
		"sweep\n--dry-run",
		"sweep\n--dry-run\n--format\njson\n-o\nout",
		"sweep\n--print-default",
		"sweep\n-f\nmissing.yaml\n--dry-run",
		"sweep\n--force\n-q\n-o\nout",
		"report\nresult.json\n--format\nmarkdown",
		"report\n--compare\na.json\nb.json\n-o\nc.html",
		"compare\na.json\nb.json\n--metric\np99\n--alpha\n0.01\n--threshold\n0.05",
		"compare\n--fail-on\nin-run\n--seed\n7\n--ignore\nrate\na\nb",
		"version",
		"help\nrun",
		"completion\nbash",
		"--help",
		"run\n--help",
		"bogus",
		"run\n--bogus",
		"",
	} {
		f.Add(seed)
	}
	root := f.TempDir()
	dirs := map[string]string{"cwd": "", "home": "", "state": ""}
	for name := range dirs {
		dirs[name] = filepath.Join(root, name)
		if err := os.Mkdir(dirs[name], 0o700); err != nil {
			f.Fatal(err)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		f.Fatal(err)
	}
	for k, v := range map[string]string{"HOME": dirs["home"], "VETHBENCH_STATE_DIR": dirs["state"]} {
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		f.Cleanup(func() {
			if had {
				os.Setenv(k, old)
			} else {
				os.Unsetenv(k)
			}
		})
	}
	measured := false
	oldRoot, oldMeasure := isRoot, measure
	isRoot = func() bool { return false }
	measure = func(context.Context, []plan.Case, plan.Measure, bench.Options) (*result.Result, error) {
		measured = true
		return nil, errors.New("FuzzFlags: measure called")
	}
	f.Cleanup(func() { isRoot, measure = oldRoot, oldMeasure })
	var known []string
	for _, c := range newRoot(nil, io.Discard, io.Discard).Commands() {
		known = append(known, c.Name())
	}

	f.Fuzz(func(t *testing.T, argv string) {
		args := strings.Split(argv, "\n")
		if argv == "" {
			args = nil
		}
		for _, a := range args {
			if slices.Contains(known, a) && !slices.Contains(fuzzCommands, a) {
				t.Skip("command without a seam")
			}
		}
		// Only around the call: fuzzing workers are started from the
		// coordinator's directory, and TestMain builds the package there.
		if err := os.Chdir(dirs["cwd"]); err != nil {
			t.Fatal(err)
		}
		defer os.Chdir(wd)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, &stdout, &stderr)
		if ctx.Err() != nil {
			t.Fatalf("argv %q: still running after 10s", args)
		}
		if measured {
			t.Fatalf("argv %q: measured", args)
		}
		for name, dir := range dirs {
			if ents, _ := os.ReadDir(dir); len(ents) > 0 {
				for _, e := range ents {
					os.RemoveAll(filepath.Join(dir, e.Name()))
				}
				t.Fatalf("argv %q: created %s in the %s directory", args, ents[0].Name(), name)
			}
		}
		if err == nil || errors.Is(err, errNeedsRoot) {
			return
		}
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitUsage {
			t.Fatalf("argv %q: error %q (%T) is neither a usage error (exit 2) nor the root refusal", args, err, err)
		}
	})
}
