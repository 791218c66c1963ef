package tuning

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Claim takes the named host-wide knobs ("sysctl.net.core.netdev_max_backlog";
// other names are ignored, as are repeats) for this process until Unclaim,
// before any is changed: each gets an entry in the journal at its current
// value, so another vethbench that wants one is refused at its start,
// naming this process, instead of taking it between two of this run's
// cases and failing it. A run calls Claim at plan time with the host
// knobs of all its cases. Apply and NewHostSwitch of this process then
// take a claimed entry over; their restore puts it back at the original
// without dropping it. A SIGKILL leaves the entries for `vethbench
// cleanup`, which finds them already original or restores them.
//
// Claim fails, taking nothing, when another vethbench, running or dead,
// holds one of them (as Apply would), when a journal file cannot be read,
// or when the journal cannot be written. A sysctl that cannot be read (the
// kernel lacks it, the process is outside the initial network namespace)
// is not claimed: Apply and NewHostSwitch report it per case.
func (j *Journal) Claim(names []string) error { return j.claim(&sysKernel{}, names) }

func (j *Journal) claim(k kernel, names []string) error {
	var knobs []*Knob
	for _, n := range names {
		if kn, ok := Lookup(n); ok && kn.Scope == ScopeHost && !slices.Contains(knobs, kn) {
			knobs = append(knobs, kn)
		}
	}
	if len(knobs) == 0 {
		return nil
	}
	if err := k.checkHost(); err != nil {
		return nil // every host knob fails per case with this error
	}
	var entries []JournalEntry
	var sysctls []string
	for _, kn := range knobs {
		v, err := getSysctl(k, nil, kn.Sysctl)
		if err != nil {
			continue
		}
		if j.isClaimed(kn.Sysctl) {
			continue
		}
		entries = append(entries, JournalEntry{Sysctl: kn.Sysctl, Original: v, Value: v, Time: time.Now().UTC()})
		sysctls = append(sysctls, kn.Sysctl)
	}
	if len(entries) == 0 {
		return nil
	}
	if err := j.hold(entries); err != nil {
		return fmt.Errorf("claim the host sysctls of this run: %w", err)
	}
	j.mu.Lock()
	j.claimed = append(j.claimed, sysctls...)
	j.mu.Unlock()
	return nil
}

func (j *Journal) isClaimed(sysctl string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Contains(j.claimed, sysctl)
}

// Unclaim ends Claim's hold at the end of the run: the entries of claimed
// sysctls that are at their original leave the journal. One a restore
// could not put back stays for `vethbench cleanup`, and the error says so.
func (j *Journal) Unclaim() error {
	unlock, err := j.lock()
	if err != nil {
		return err
	}
	defer unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.claimed) == 0 {
		return nil
	}
	var next []JournalEntry
	var errs []error
	for _, e := range j.entries {
		switch {
		case !slices.Contains(j.claimed, e.Sysctl):
			next = append(next, e)
		case e.outstanding():
			next = append(next, e)
			errs = append(errs, fmt.Errorf("%s%s was not restored to %s: it stays in %s for `vethbench cleanup`", SysctlPrefix, e.Sysctl, e.Original, j.Path()))
		}
	}
	j.claimed = nil
	if err := j.write(next); err != nil {
		return err
	}
	j.entries = next
	return errors.Join(errs...)
}
