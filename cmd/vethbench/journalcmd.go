package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/tuning"
)

// stateDir is where the journal of host-wide changes lives; the
// environment variable exists for tests and unusual hosts.
func stateDir() string { return os.Getenv("VETHBENCH_STATE_DIR") }

// hostKnobNames are the host-wide knobs any of cases sets: a run claims
// them all before its first case (Journal.Claim).
func hostKnobNames(cases []plan.Case) []string {
	var names []string
	for _, c := range cases {
		_, host := tuning.SplitHost(c.Knobs)
		for _, s := range host {
			names = append(names, s.Name)
		}
	}
	return names
}

// openJournal opens the journal of a run that changes no host sysctl.
func openJournal(stderr io.Writer) (*tuning.Journal, error) { return openJournalFor(stderr, nil) }

// openJournalFor opens the journal of host-wide changes, first restores
// what a crashed or killed vethbench left behind, and claims the host
// knobs named (hostKnobNames) for the whole run: a second vethbench that
// wants one is refused here, at its start, naming the holder. A journal
// file that is not a vethbench journal blocks only a run that changes a
// host sysctl (it might name one); others go on with a warning. Call
// unclaim at the end of the run.
func openJournalFor(stderr io.Writer, hostKnobs []string) (*tuning.Journal, error) {
	j, err := tuning.OpenJournal(stateDir())
	if err != nil {
		return nil, err
	}
	restored, err := j.RestoreStale()
	for _, r := range restored {
		fmt.Fprintf(stderr, "vethbench: %s of an earlier run (pid %d): %s, found %s, original %s\n", r.Action, r.PID, r.Sysctl, r.Found, r.Original)
	}
	if err != nil {
		if len(hostKnobs) > 0 || !onlyBadJournals(err) {
			return nil, fmt.Errorf("restore what an earlier run left: %w", err)
		}
		fmt.Fprintf(stderr, "vethbench: warning: %v (this run changes no host sysctl, so it goes on)\n", err)
	}
	if err := j.Claim(hostKnobs); err != nil {
		return nil, err
	}
	return j, nil
}

// onlyBadJournals reports whether every error joined in err is an
// unreadable journal file (tuning.ErrBadJournal).
func onlyBadJournals(err error) bool {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		n := 0
		for _, e := range joined.Unwrap() {
			if e == nil {
				continue
			}
			if !onlyBadJournals(e) {
				return false
			}
			n++
		}
		return n > 0
	}
	return errors.Is(err, tuning.ErrBadJournal)
}

// unclaim ends the run's claim on host sysctls; what it could not let go
// of stays in the journal for `vethbench cleanup`, and is said.
func unclaim(j *tuning.Journal, stderr io.Writer) {
	if err := j.Unclaim(); err != nil {
		fmt.Fprintf(stderr, "vethbench: %v\n", err)
	}
}

func newCleanupCmd(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "cleanup",
		Short: "Restore host-wide values a killed or crashed vethbench left changed",
		Long: `cleanup restores every host-wide value (global sysctl) that a vethbench
process changed and could not restore because it was killed or crashed, from
the journal it wrote before changing anything (/var/lib/vethbench, or
$VETHBENCH_STATE_DIR). Journals of vethbench processes still running are left
alone. vethbench runs the same restore at the start of every run and sweep.
The directory must be owned by root and closed to group and others, and each
journal file owned by root: anything else is refused, and nothing is written.
A state directory that does not exist means nothing to restore; it is not
created.

Nothing else can be left behind: vethbench's namespaces are anonymous and its
devices live in them, so the kernel removes both when the process dies.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if os.Geteuid() != 0 {
				return fmt.Errorf("cleanup needs root (it writes host sysctls)")
			}
			dir := stateDir()
			if dir == "" {
				dir = tuning.DefaultJournalDir
			}
			if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
				fmt.Fprintln(stdout, "nothing to restore")
				return nil
			}
			j, err := tuning.OpenJournal(dir)
			if err != nil {
				return err
			}
			restored, err := j.RestoreStale()
			for _, r := range restored {
				fmt.Fprintf(stdout, "%s: %s (pid %d): found %s, original %s\n", r.Action, r.Sysctl, r.PID, r.Found, r.Original)
			}
			if err != nil {
				return err
			}
			if len(restored) == 0 {
				fmt.Fprintln(stdout, "nothing to restore")
			}
			return nil
		},
	}
}
