package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vethbench/vethbench/reports/result"
)

// Exit statuses.
const (
	exitPass  = 0
	exitFail  = 1
	exitInput = 2
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run checks the result file named in args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sensitivity", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lim := DefaultLimits
	fs.Float64Var(&lim.AA, "aa", lim.AA, "A'/A's pps interval must lie within [1-aa, 1+aa]")
	fs.Float64Var(&lim.CPUTolerance, "cpu-tolerance", lim.CPUTolerance, "B/A's CPU ratio must be within this fraction of the injected effect N/cost_A of 1 + N/cost_A")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sensitivity [-aa 0.01] [-cpu-tolerance 0.5] result.json")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitInput
	}
	if fs.NArg() != 1 || !(lim.AA > 0 && lim.AA < 1) || !(lim.CPUTolerance > 0) {
		fs.Usage()
		return exitInput
	}
	r, err := result.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "sensitivity:", err)
		return exitInput
	}
	rep, err := Check(r, lim)
	if err != nil {
		fmt.Fprintln(stderr, "sensitivity:", err)
		if errors.Is(err, ErrInput) {
			return exitInput
		}
		return exitFail
	}
	if err := rep.Write(stdout); err != nil {
		fmt.Fprintln(stderr, "sensitivity:", err)
		return exitInput
	}
	if !rep.Pass {
		return exitFail
	}
	return exitPass
}
