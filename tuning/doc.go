// Package tuning owns the knobs vethbench reads, sets and restores (device,
// namespace and host-wide ones) and the journal that puts host-wide values
// back after a crash. docs/tuning.md lists the knobs and says why Apply
// works in the order it does, what each status means, how the journal
// survives a SIGKILL and how the host switch moves host sysctls between
// cases.
//
// The catalog (Knobs, Lookup, Catalog) and Knob.Parse are plain data: they
// check a setting without privileges. Apply validates every setting before
// touching anything, sets them in catalog order, reads every value back
// once all are set, and returns one Applied per knob and target with a
// restore function that undoes them in reverse order. ReadDevice,
// ReadNamespace and ReadHost read every knob, swept or not, for the result
// file. Every call into the kernel goes through one small interface
// (kernel.go), so these rules are tested with a fake without root, and
// against the kernel in namespaces of the tests' own.
//
// An interleaved run keeps every case of a question alive at once while
// the host holds one value of each host sysctl. SplitHost takes a case's
// host-wide settings apart: the rest go to Apply per case, and a
// HostSwitch holds the host-wide ones for the whole run. Its Set, before
// each slice, makes the host hold that case's values and the original of
// every other sysctl it holds, writing only what changes; Applied gives a
// case's records; Restore puts the originals back. A HostSwitch is for one
// goroutine.
//
// The journal (Journal) records every host sysctl's original before it
// changes; Claim takes a run's host sysctls at plan time, so a second
// vethbench is refused at its start rather than between two cases, and
// Unclaim lets go at the end. The state directory and its journal files
// are trusted only when owned by root and closed to others' writes.
//
// Privileges: setting knobs needs CAP_NET_ADMIN and CAP_SYS_ADMIN (netlink
// and ethtool inside the topology's namespaces, a private sysfs mount for
// the NAPI knobs, host sysctls from the initial namespace), and CAP_BPF for
// the xdp knob. ReadDevice and ReadNamespace enter a namespace
// (CAP_SYS_ADMIN); ReadHost and the catalog need none.
//
// Errors: what the kernel does with a value is a status in Applied, not an
// error. "refused" and "unsupported" come with Applied.Err, wrapping
// ErrRefused or ErrNotSupported (topology's, so one errors.Is serves a
// whole case); "changed" and "not applicable" are findings, not failures.
// Apply returns an error only when it cannot go on: invalid settings
// (wrapping ErrInvalid, before anything is touched), a host sysctl another
// vethbench holds or left behind, a journal or namespace failure, a
// cancelled context; it has then put back what it changed. Its restore
// writes a host sysctl back only while it still holds vethbench's value:
// one changed by someone else during the run is kept, and restore's error
// wraps ErrChangedSince (a *ChangedSinceError naming it). NewHostSwitch
// fails as Apply does for its host sysctls, and for one the kernel lacks
// (ErrNotSupported). Set's error says a value is invalid (ErrInvalid,
// before anything is touched), the journal cannot be written (nothing
// written), the kernel refused a write, or someone else changed a sysctl
// (a *ChangedSinceError: the switch leaves it alone from then on);
// Restore follows restore's rule. ReadDevice fails only when the device
// cannot be found, and lists a knob it cannot read in DeviceKnobs.Errors;
// ReadNamespace leaves out a sysctl the kernel lacks and returns any other
// failure along with what it read. OpenJournal, and every journal call, fail
// with ErrStateDir for a state directory or journal file that cannot be
// trusted or opened (the message says how to fix it), and with
// ErrBadJournal for a file that is not a vethbench journal; Claim fails as
// Apply does when another vethbench holds or left a sysctl.
package tuning
