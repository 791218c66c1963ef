package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vethbench/vethbench/bench"
)

// Exit codes, documented in the README and in `vethbench --help`.
const (
	exitOK          = 0
	exitFailure     = 1 // the run failed (or, for compare, a regression)
	exitUsage       = 2 // bad flags or input; nothing was created
	exitUnsupported = 3 // the kernel lacks what the case needs
	exitInterrupted = 130
)

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(os.Stderr, err))
}

func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitFailure
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if errors.Is(err, context.Canceled) {
		code = exitInterrupted
		err = errors.New("interrupted: stopped and cleaned up")
	}
	fmt.Fprintf(stderr, "vethbench: %v\n", err)
	return code
}

// run is the whole program, testable without a process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:   "vethbench",
		Short: "Measure what Linux virtual network devices cost, and which knobs make them faster",
		Long: `vethbench builds network namespaces joined by virtual devices, drives traffic
between them from inside its own process, counts every packet and its latency
with eBPF at the receiver, and reports packets per second, CPU cost per
packet and one-way latency with confidence intervals.

It needs root. Everything it creates lives in anonymous network namespaces
that disappear with the process, even when it is killed.

Exit codes: 0 success; 1 the run failed; 2 bad flags or input (nothing was
created); 3 the kernel does not support what was asked; 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr(fmt.Errorf("%w (see %s --help)", err, c.CommandPath()))
	})
	root.AddCommand(newRunCmd(stdout, stderr))
	root.AddCommand(newSweepCmd(stdout, stderr))
	root.AddCommand(newDoctorCmd(stdout, stderr))
	root.AddCommand(newCompareCmd(stdout, stderr))
	root.AddCommand(newReportCmd(stdout))
	root.AddCommand(newCleanupCmd(stdout, stderr))
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print vethbench's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(stdout, "vethbench", bench.ToolVersion())
			return err
		},
	})
	err := root.ExecuteContext(ctx)
	if err != nil && isCobraUsageError(err) {
		return usageErr(err)
	}
	return err
}

// isCobraUsageError recognises cobra's own argument errors (unknown
// command, wrong number of arguments), which it returns as plain errors.
func isCobraUsageError(err error) bool {
	var ee *exitError
	if errors.As(err, &ee) || errors.Is(err, context.Canceled) {
		return false
	}
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "unknown flag", "unknown shorthand"} {
		if strings.Contains(err.Error(), p) {
			return true
		}
	}
	return false
}
