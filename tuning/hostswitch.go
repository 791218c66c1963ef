package tuning

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// SplitHost separates the host-wide settings (ScopeHost in the catalog)
// from the others, each keeping its order: an interleaved run applies
// local to each case's topology with Apply and gives host to a HostSwitch,
// because several cases are alive at once and the host holds one value. A
// name the catalog does not know goes to local, where Apply rejects it.
func SplitHost(settings []Setting) (local, host []Setting) {
	for _, s := range settings {
		if k, ok := Lookup(s.Name); ok && k.Scope == ScopeHost {
			host = append(host, s)
		} else {
			local = append(local, s)
		}
	}
	return local, host
}

// HostSwitch moves host-wide sysctls between the values of cases measured
// in turn: before a case's slice, Set makes the host hold that case's
// values and every other sysctl the switch holds its original, so a case
// runs under its own value and the others under the original.
//
// NewHostSwitch journals the originals, under the journal's rules (a
// sysctl another vethbench holds or left behind is refused). Set journals
// each value before its first write, in one write of the journal for all
// the values new to it, and never again for that value: Journal.RestoreStale
// after a kill -9 treats whichever journaled value the sysctl holds as
// vethbench's and writes the original back. Set writes only a sysctl whose
// value differs from what the switch last wrote (reading it first: one a
// process other than vethbench changed is left alone and reported), so
// switching between cases that share their host values, or have none,
// writes nothing and reads nothing. Restore writes every original back
// while the host still holds the switch's last value and releases the
// journal's entries.
//
// A HostSwitch is for one goroutine: the runner calls Set, Applied and
// Restore from the goroutine that switches slices.
type HostSwitch struct {
	k    kernel
	j    *Journal
	held []*switched // catalog order
	// asked is the last Set's values (knob name -> canonical value):
	// Applied describes them.
	asked map[string]string
	done  bool
	rerr  error // Restore's result, returned again by later calls
}

// switched is one host sysctl a HostSwitch holds.
type switched struct {
	knob     *Knob
	original string
	// last is what the host holds as far as the switch knows: the last
	// value it wrote, or the original.
	last string
	// journaled are the values in the journal's entry (Values).
	journaled []string
	// failed is the value whose last write failed, with failErr.
	failed  string
	failErr error
	// lost is set once someone else changed the sysctl: the switch leaves
	// it alone from then on, and Restore reports it again.
	lost *ChangedSinceError
}

// NewHostSwitch reads the originals of the named host-wide knobs
// ("sysctl.net.core.netdev_max_backlog"; a name given twice counts once)
// and journals them all in j, writing no sysctl. It fails, with nothing
// journaled, for a name that is not a host-wide knob of the catalog
// (ErrInvalid), a sysctl the kernel lacks (ErrNotSupported), a process
// outside the initial network namespace, a sysctl another vethbench holds
// or left behind, or a nil j. With no names it holds nothing and j may be
// nil. Call Restore when done, always.
func NewHostSwitch(j *Journal, names []string) (*HostSwitch, error) {
	return newHostSwitch(&sysKernel{}, j, names)
}

// newHostSwitch is NewHostSwitch through k, which the tests replace with
// a fake.
func newHostSwitch(k kernel, j *Journal, names []string) (*HostSwitch, error) {
	var knobs []*Knob
	var errs []error
	for _, n := range names {
		kn, ok := Lookup(n)
		switch {
		case !ok:
			errs = append(errs, LookupError(n))
		case kn.Scope != ScopeHost:
			errs = append(errs, fmt.Errorf("%w: %s is set per %s, not host-wide: Apply sets it", ErrInvalid, n, kn.Scope))
		case !slices.Contains(knobs, kn):
			knobs = append(knobs, kn)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(knobs, func(a, b *Knob) int { return slices.Index(catalog, a) - slices.Index(catalog, b) })
	s := &HostSwitch{k: k, j: j}
	if len(knobs) == 0 {
		return s, nil
	}
	if j == nil {
		return nil, fmt.Errorf("%s is host-wide and needs a journal", knobs[0].Name)
	}
	if err := k.checkHost(); err != nil {
		return nil, err
	}
	var entries []JournalEntry
	for _, kn := range knobs {
		v, err := getSysctl(k, nil, kn.Sysctl)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.held = append(s.held, &switched{knob: kn, original: v, last: v})
		// Value is the original until a value is journaled: a kill before
		// the first write finds the sysctl "already original".
		entries = append(entries, JournalEntry{Sysctl: kn.Sysctl, Original: v, Value: v, Time: time.Now().UTC()})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := j.hold(entries); err != nil {
		return nil, err
	}
	return s, nil
}

// Set makes the host hold values (knob name -> value, canonical or not,
// checked as Apply checks them) and every other sysctl the switch holds
// its original. Every value is checked before anything is touched: a knob
// the switch does not hold, a bad value (ErrInvalid). A value new to the
// switch is journaled before it is written. Only a sysctl whose value
// differs from what the switch last wrote is read and written; one found
// changed by someone else is not written, now or later, and Set's error
// includes a *ChangedSinceError (ErrChangedSince) naming it. A write the
// kernel refuses is in the error and in Applied; the other sysctls are
// still set. Set after Restore is an error.
func (s *HostSwitch) Set(values map[string]string) error {
	if s.done {
		return errors.New("host switch: Set after Restore")
	}
	want, err := s.resolve(values)
	if err != nil {
		return err
	}
	s.asked = want
	type write struct {
		h *switched
		v string
	}
	var todo []write
	add := map[string]string{}
	for _, h := range s.held {
		v, ok := want[h.knob.Name]
		if !ok {
			v = h.original
		}
		if h.lost != nil || v == h.last {
			continue
		}
		todo = append(todo, write{h, v})
		if v != h.original && !slices.Contains(h.journaled, v) {
			add[h.knob.Sysctl] = v
		}
	}
	if err := s.j.addValues(add); err != nil {
		return fmt.Errorf("host switch: %w", err) // nothing written
	}
	for _, w := range todo {
		if _, ok := add[w.h.knob.Sysctl]; ok {
			w.h.journaled = append(w.h.journaled, w.v)
		}
	}
	var errs []error
	for _, w := range todo {
		errs = append(errs, s.write(w.h, w.v))
	}
	return errors.Join(errs...)
}

// write sets h to v if the host still holds what the switch last wrote.
func (s *HostSwitch) write(h *switched, v string) error {
	cur, err := getSysctl(s.k, nil, h.knob.Sysctl)
	if err != nil {
		h.failed, h.failErr = v, err
		return fmt.Errorf("%s=%s: %w", h.knob.Name, v, err)
	}
	if cur != h.last {
		h.lost = &ChangedSinceError{Sysctl: h.knob.Sysctl, Original: h.original, Set: h.last, Found: cur}
		return h.lost
	}
	if testHookBeforeHostWrite != nil {
		testHookBeforeHostWrite(h.knob.Sysctl)
	}
	if err := setSysctl(s.k, nil, h.knob.Sysctl, v); err != nil {
		h.failed, h.failErr = v, err
		return fmt.Errorf("%s=%s: %w", h.knob.Name, v, err)
	}
	h.last, h.failed, h.failErr = v, "", nil
	return nil
}

// resolve checks values against the knobs the switch holds and returns
// them canonical.
func (s *HostSwitch) resolve(values map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(values))
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(values)) {
		i := slices.IndexFunc(s.held, func(h *switched) bool { return h.knob.Name == name })
		if i < 0 {
			var names []string
			for _, h := range s.held {
				names = append(names, h.knob.Name)
			}
			errs = append(errs, fmt.Errorf("%w: %s is not a host sysctl this switch holds (it holds: %s)",
				ErrInvalid, name, strings.Join(names, ", ")))
			continue
		}
		v, err := s.held[i].knob.Parse(values[name])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[name] = v
	}
	return out, errors.Join(errs...)
}

// Applied describes values as the last Set made them, one Applied per
// knob in catalog order, as Apply would for a case: target HostTarget,
// Before the original, After read back from the host now, the status
// (refused with the kernel's error when Set's write failed; Detail also
// names a sysctl someone else changed). Call it right after Set(values),
// while the host holds them: values other than the last Set's are an
// error, as is a call after Restore.
func (s *HostSwitch) Applied(values map[string]string) ([]Applied, error) {
	if s.done {
		return nil, errors.New("host switch: Applied after Restore")
	}
	want, err := s.resolve(values)
	if err != nil {
		return nil, err
	}
	if !maps.Equal(want, s.asked) {
		return nil, fmt.Errorf("host switch: Applied(%v) is not the last Set's values (%v): it reads the host back, so call it right after Set", want, s.asked)
	}
	var out []Applied
	for _, h := range s.held {
		v, ok := want[h.knob.Name]
		if !ok {
			continue
		}
		ap := Applied{Knob: h.knob.Name, Target: HostTarget, Asked: v, Before: h.original}
		after, rerr := getSysctl(s.k, nil, h.knob.Sysctl)
		if rerr == nil {
			ap.After = after
		}
		switch {
		case h.failErr != nil && h.failed == v:
			ap.Status, ap.Detail = classify(h.failErr)
		case rerr != nil:
			ap.Status, ap.Detail = StatusRefused, "set, but reading it back failed: "+rerr.Error()
		case after != v:
			ap.Status = StatusChanged
			ap.Detail = fmt.Sprintf("asked %s, the kernel reads back %s", v, after)
		default:
			ap.Status = StatusOK
		}
		if h.lost != nil {
			ap.Detail = joinDetail(ap.Detail, h.lost.Error())
		}
		out = append(out, ap)
	}
	return out, nil
}

// Restore writes every original back, in reverse catalog order, each only
// while the host still holds the switch's last value (as Apply's restore
// and Journal.RestoreStale do): one someone else changed keeps their
// value, and the error includes a *ChangedSinceError (ErrChangedSince)
// naming it, as for one Set found changed. Each sysctl then leaves the
// journal, except one whose write failed, which stays for `vethbench
// cleanup`. It is idempotent: later calls return the first call's result.
func (s *HostSwitch) Restore() error {
	if s.done {
		return s.rerr
	}
	s.done = true
	var errs []error
	for _, h := range slices.Backward(s.held) {
		if err := s.restore(h); err != nil {
			errs = append(errs, fmt.Errorf("restore %s on %s: %w", h.knob.Name, HostTarget, err))
		}
	}
	errs = append(errs, s.k.close())
	s.rerr = errors.Join(errs...)
	return s.rerr
}

func (s *HostSwitch) restore(h *switched) error {
	var kept error
	if h.lost != nil {
		kept = h.lost
	} else {
		cur, err := getSysctl(s.k, nil, h.knob.Sysctl)
		if err != nil {
			return err // the entry stays: cleanup will retry
		}
		switch cur {
		case h.original:
		case h.last: // still ours
			if err := setSysctl(s.k, nil, h.knob.Sysctl, h.original); err != nil {
				return err // the entry stays: cleanup will retry
			}
			h.last = h.original
		default:
			kept = &ChangedSinceError{Sysctl: h.knob.Sysctl, Original: h.original, Set: h.last, Found: cur}
		}
	}
	if err := s.j.release(h.knob.Sysctl); err != nil {
		return errors.Join(kept, err)
	}
	return kept
}
