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
	"github.com/vethbench/vethbench/internal/field"
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

// usageError is a mistake in how cmd was called (an unknown command or
// flag, a bad flag value, a wrong number of arguments): exit code 2, with a
// pointer to the command's help.
func usageError(cmd *cobra.Command, err error) error {
	return usageErr(fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath()))
}

// badInput is a bad flag value or input file, with exit code 2: a
// *field.Error is shown as the flag it names ("--pkt-size: 20 bytes out of
// range"), any other error as it is (a compare.InputError names its file
// and line). Not for sweep specs: a spec.Error wraps the *field.Error
// behind it, but its text names the spec's key, where the user wrote it.
func badInput(err error) error {
	var fe *field.Error
	if errors.As(err, &fe) {
		err = &messageError{msg: "--" + fe.Field + ": " + fe.Msg, err: err}
	}
	return usageErr(err)
}

// messageError shows msg in place of err's text, keeping err's chain for
// errors.Is and errors.As.
type messageError struct {
	msg string
	err error
}

func (e *messageError) Error() string { return e.msg }
func (e *messageError) Unwrap() error { return e.err }

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
	return newRoot(args, stdout, stderr).ExecuteContext(ctx)
}

// newRoot is the root command with every command below it, set to run
// args.
func newRoot(args []string, stdout, stderr io.Writer) *cobra.Command {
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
		// Cobra's command lookup reports an unknown command with a plain
		// error unless the root has an argument check of its own, and it
		// runs that check only on a runnable command: so the root is
		// runnable, printing the help when run alone.
		Args: unknownCommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
		SuggestionsMinimumDistance: 2,
		SilenceUsage:               true,
		SilenceErrors:              true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(usageError)
	root.AddCommand(newRunCmd(stdout, stderr))
	root.AddCommand(newSweepCmd(stdout, stderr))
	root.AddCommand(newDoctorCmd(stdout, stderr))
	root.AddCommand(newCompareCmd(stdout, stderr))
	root.AddCommand(newTrendCmd(stdout, stderr))
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
	// Cobra adds its help and completion commands at Execute; adding them
	// now lets usageArgs reach their argument checks too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	usageArgs(root)
	return root
}

// unknownCommand is the root's argument check: any argument is a command
// that does not exist, since the known ones are found before it runs.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	err := fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		err = fmt.Errorf("%w; did you mean %s?", err, strings.Join(s, " or "))
	}
	return err
}

// usageArgs makes the argument check of cmd and of every command below it
// return a usageError: cobra's checks (cobra.NoArgs, cobra.ExactArgs...)
// return plain errors.
func usageArgs(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return usageError(c, err)
			}
			return nil
		}
	}
	for _, c := range cmd.Commands() {
		usageArgs(c)
	}
}
