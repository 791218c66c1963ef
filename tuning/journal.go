package tuning

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultJournalDir is where the journal lives unless told otherwise.
const DefaultJournalDir = "/var/lib/vethbench"

// Journal records the original value of every host-wide sysctl this
// process changes, on disk, before changing it, so that the value can be
// put back after the process dies, even by SIGKILL.
//
// Each process writes its own file, journal-<pid>-<start>.json, where
// start is the process's start time in clock ticks since boot
// (/proc/PID/stat): a reused pid is not mistaken for the process that
// wrote the file. The file also records the boot id. A file is replaced
// atomically (written to a temporary file, fsync'd, renamed, the directory
// fsync'd), so a kill at any point leaves either the old or the new
// journal. A lock file (flock) serialises processes sharing the
// directory. A Journal is safe for concurrent use.
type Journal struct {
	dir  string
	self owner

	mu      sync.Mutex
	entries []JournalEntry
	// claimed are the sysctls Claim took for the whole run: their entries
	// stay (at the original once restored) until Unclaim.
	claimed []string
}

// ErrStateDir is wrapped by every error about the state directory itself
// or a file in it that cannot be trusted: missing permission, an owner
// other than root, write access for group or others. Nothing is read from
// or written to the directory then.
var ErrStateDir = errors.New("the journal's state directory")

// ErrBadJournal is wrapped by the error for a journal file that is not a
// vethbench journal (corrupt, truncated by hand): it blocks only a run
// that changes a host sysctl, since it might name that sysctl.
var ErrBadJournal = errors.New("unreadable journal")

// owner identifies a process across pid reuse and reboots.
type owner struct {
	PID        int    `json:"pid"`
	StartTicks uint64 `json:"start_ticks"` // field 22 of /proc/PID/stat
	BootID     string `json:"boot_id"`     // /proc/sys/kernel/random/boot_id
}

// JournalEntry is one host-wide sysctl a process changed.
type JournalEntry struct {
	Sysctl   string `json:"sysctl"`   // "net.core.netdev_max_backlog"
	Original string `json:"original"` // the value before vethbench changed it
	// Value is the value vethbench wrote; for a HostSwitch, the last new
	// value it journaled (the original until it writes one).
	Value string `json:"value"`
	// Values, for a HostSwitch, which moves a sysctl between several
	// values and back to the original, lists every value it journaled
	// before writing it, Value among them: whichever of them the sysctl
	// holds after a crash is vethbench's. Empty for Apply's entries.
	Values []string  `json:"values,omitempty"`
	Time   time.Time `json:"time"`
}

// ours reports whether v is a value vethbench wrote to the sysctl.
func (e JournalEntry) ours(v string) bool { return v == e.Value || slices.Contains(e.Values, v) }

// journalFile is the on-disk form.
type journalFile struct {
	Schema  string         `json:"schema"` // "vethbench-journal"
	Version int            `json:"version"`
	Owner   owner          `json:"owner"`
	Command []string       `json:"command,omitempty"`
	Entries []JournalEntry `json:"entries"`
}

const journalSchema = "vethbench-journal"

// OpenJournal opens the journal in dir ("" means DefaultJournalDir),
// creating the directory (mode 0700) if needed. It writes nothing until a
// host-wide knob is applied. The directory is trusted only when it is
// owned by root and not writable by group or others: whoever can write
// there could make root write host sysctls on their say. Otherwise, and
// when the directory cannot be created or read, the error wraps
// ErrStateDir and says what is wrong in the user's terms.
func OpenJournal(dir string) (*Journal, error) {
	if dir == "" {
		dir = DefaultJournalDir
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, stateDirError(dir, err)
	}
	if err := checkStateDir(dir); err != nil {
		return nil, err
	}
	self, err := ownerOf(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &Journal{dir: dir, self: self}, nil
}

// Dir is the journal's directory.
func (j *Journal) Dir() string { return j.dir }

// Path is this process's journal file; it exists only while the process
// has host-wide values changed.
func (j *Journal) Path() string { return j.pathOf(j.self) }

func (j *Journal) pathOf(o owner) string {
	return filepath.Join(j.dir, fmt.Sprintf("journal-%d-%d.json", o.PID, o.StartTicks))
}

// Entries returns this process's entries.
func (j *Journal) Entries() []JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries)
}

// ownerOf reads pid's identity.
func ownerOf(pid int) (owner, error) {
	st, err := readProcStat(pid)
	if err != nil {
		return owner{}, err
	}
	boot, err := bootID()
	if err != nil {
		return owner{}, err
	}
	return owner{PID: pid, StartTicks: st.start, BootID: boot}, nil
}

type procStat struct {
	state byte
	start uint64
}

// readProcStat parses /proc/PID/stat: the command may contain spaces and
// parentheses, so fields are counted from the last ')'.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(pid, string(b))
}

func parseProcStat(pid int, s string) (procStat, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state), so field 22 (starttime) is f[19].
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: starttime: %w", pid, err)
	}
	return procStat{state: f[0][0], start: start}, nil
}

func bootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("read boot id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// liveness of the process that wrote a journal.
type liveness int

const (
	alive        liveness = iota
	gone                  // exited (or a zombie), or its pid now belongs to another process
	previousBoot          // the machine rebooted since: the kernel reset every sysctl
)

func (o owner) liveness() liveness {
	if boot, err := bootID(); err == nil && boot != o.BootID {
		return previousBoot
	}
	st, err := readProcStat(o.PID)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return gone
	case err != nil:
		return alive // cannot tell: never restore under a live process
	case st.start != o.StartTicks || st.state == 'Z' || st.state == 'X':
		return gone
	}
	return alive
}

// stateDirError names a failure to create or open the state directory by
// what the user can do about it.
func stateDirError(dir string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w %s: permission denied: run as root (in the initial user namespace) or set VETHBENCH_STATE_DIR to a directory of your own (mode 0700)", ErrStateDir, dir)
	}
	return fmt.Errorf("%w %s: %w", ErrStateDir, dir, err)
}

// checkStateDir refuses a state directory that is not a directory owned
// by root and closed to group and others.
func checkStateDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return stateDirError(dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("%w %s: not a directory: remove it, or set VETHBENCH_STATE_DIR to another directory", ErrStateDir, dir)
	case !ok || st.Uid != 0:
		return fmt.Errorf("%w %s is owned by uid %d, not root, so its journals cannot be trusted: `chown root: %s`, or set VETHBENCH_STATE_DIR to a directory owned by root (mode 0700); under a user namespace root outside it owns it",
			ErrStateDir, dir, uidOf(st), dir)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%w %s is writable by others (mode %04o), so its journals cannot be trusted: `chmod 0700 %s`, or set VETHBENCH_STATE_DIR to a directory owned by root (mode 0700)",
			ErrStateDir, dir, fi.Mode().Perm(), dir)
	}
	return nil
}

func uidOf(st *syscall.Stat_t) int64 {
	if st == nil {
		return -1
	}
	return int64(st.Uid)
}

// checkJournalFile refuses a journal file that is not a regular file
// owned by root and closed to writes by group and others (a file planted
// by another user).
func checkJournalFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a regular file, not read: remove it", ErrStateDir, path)
	case !ok || st.Uid != 0:
		return fmt.Errorf("%w: %s is owned by uid %d, not root, not read: inspect it and remove it", ErrStateDir, path, uidOf(st))
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%w: %s is writable by others (mode %04o), not read: inspect it and remove it", ErrStateDir, path, fi.Mode().Perm())
	}
	return nil
}

// lock takes the directory's lock until unlock is called.
func (j *Journal) lock() (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(j.dir, "lock"), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, stateDirError(j.dir, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w %s: lock: %w", ErrStateDir, j.dir, err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

// others reads every journal file of the directory but this process's.
func (j *Journal) others() ([]journalFile, []string, error) {
	paths, err := filepath.Glob(filepath.Join(j.dir, "journal-*.json"))
	if err != nil {
		return nil, nil, err
	}
	var files []journalFile
	var names []string
	var errs []error
	for _, p := range paths {
		if p == j.Path() {
			continue
		}
		f, err := readJournalFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files = append(files, f)
		names = append(names, p)
	}
	return files, names, errors.Join(errs...)
}

func readJournalFile(path string) (journalFile, error) {
	var f journalFile
	if err := checkJournalFile(path); err != nil {
		return f, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("journal: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil || f.Schema != journalSchema {
		return f, fmt.Errorf("%w: %s is not a vethbench journal (inspect it, restore by hand, remove it): %v", ErrBadJournal, path, err)
	}
	return f, nil
}

// hold journals entries (their Original and Value filled in) for this
// process, after checking that no other vethbench, running or crashed,
// holds the same sysctls. Nothing is written when it fails.
func (j *Journal) hold(entries []JournalEntry) error {
	unlock, err := j.lock()
	if err != nil {
		return err
	}
	defer unlock()
	files, paths, err := j.others()
	if err != nil {
		return err
	}
	for i, f := range files {
		for _, e := range f.Entries {
			if !slices.ContainsFunc(entries, func(x JournalEntry) bool { return x.Sysctl == e.Sysctl }) {
				continue
			}
			switch f.Owner.liveness() {
			case alive:
				did := fmt.Sprintf("it changed it from %s to %s and will restore it", e.Original, e.Value)
				if !e.outstanding() {
					did = fmt.Sprintf("it claimed it for its whole run (now %s)", e.Original)
				}
				return fmt.Errorf("%s%s is held by another running vethbench (pid %d, journal %s): %s; run one at a time",
					SysctlPrefix, e.Sysctl, f.Owner.PID, paths[i], did)
			case gone:
				return fmt.Errorf("%s%s was left at %s (original %s) by a vethbench that is gone (pid %d, journal %s): run `vethbench cleanup` first",
					SysctlPrefix, e.Sysctl, e.Value, e.Original, f.Owner.PID, paths[i])
			}
			// previousBoot: the reboot reset the value; RestoreStale drops the file.
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	next := slices.Clone(j.entries)
	for _, e := range entries {
		i := slices.IndexFunc(next, func(x JournalEntry) bool { return x.Sysctl == e.Sysctl })
		switch {
		case i < 0:
			next = append(next, e)
		case slices.Contains(j.claimed, e.Sysctl) && !next[i].outstanding():
			// Claimed for the run and at its original: this Apply or
			// HostSwitch takes the entry over.
			next[i] = e
		default:
			return fmt.Errorf("%s%s is already changed by this process (an earlier Apply not restored yet)", SysctlPrefix, e.Sysctl)
		}
	}
	if err := j.write(next); err != nil {
		return err
	}
	j.entries = next
	return nil
}

// addValues records, for sysctls this process holds, values it is about
// to write (sysctl -> value), in one write of the journal and only if one
// of them is new: a HostSwitch journals a value once, before its first
// write, and moves back to it later without touching the disk.
func (j *Journal) addValues(add map[string]string) error {
	if len(add) == 0 {
		return nil
	}
	unlock, err := j.lock()
	if err != nil {
		return err
	}
	defer unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	next := slices.Clone(j.entries)
	changed := false
	for sysctl, v := range add {
		i := slices.IndexFunc(next, func(e JournalEntry) bool { return e.Sysctl == sysctl })
		if i < 0 {
			return fmt.Errorf("journal: %s%s is not held by this process", SysctlPrefix, sysctl)
		}
		if slices.Contains(next[i].Values, v) {
			continue
		}
		next[i].Values = append(slices.Clone(next[i].Values), v)
		next[i].Value = v
		next[i].Time = time.Now().UTC()
		changed = true
	}
	if !changed {
		return nil
	}
	if err := j.write(next); err != nil {
		return err
	}
	j.entries = next
	return nil
}

// outstanding reports whether the entry records a value vethbench wrote
// and has not restored.
func (e JournalEntry) outstanding() bool { return e.Value != e.Original || len(e.Values) > 0 }

// release drops this process's entry for a sysctl once it is restored; a
// claimed one stays, at its original, until Unclaim.
func (j *Journal) release(sysctl string) error {
	unlock, err := j.lock()
	if err != nil {
		return err
	}
	defer unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	var next []JournalEntry
	for _, e := range j.entries {
		switch {
		case e.Sysctl != sysctl:
			next = append(next, e)
		case slices.Contains(j.claimed, sysctl):
			next = append(next, JournalEntry{Sysctl: sysctl, Original: e.Original, Value: e.Original, Time: time.Now().UTC()})
		}
	}
	if err := j.write(next); err != nil {
		return err
	}
	j.entries = next
	return nil
}

// write replaces this process's journal file with entries, or removes it
// when there are none. Caller holds the lock and j.mu.
func (j *Journal) write(entries []JournalEntry) error {
	path := j.Path()
	if len(entries) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("journal: %w", err)
		}
		return syncDir(j.dir)
	}
	f := journalFile{Schema: journalSchema, Version: 1, Owner: j.self, Command: os.Args, Entries: entries}
	return writeAtomic(path, f)
}

// writeAtomic writes v as JSON to path so that a crash at any point leaves
// the old file or the new one, never a mix, and the new one is on disk
// when it returns.
func writeAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("journal: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("journal: sync %s: %w", dir, err)
	}
	return nil
}

// What RestoreStale did with an entry.
const (
	// RestoreWritten: the sysctl still had a value vethbench wrote (its
	// Value, or one of a HostSwitch's Values); the original was written
	// back.
	RestoreWritten = "restored"
	// RestoreAlready: the sysctl already had its original value (the
	// process died before changing it, or after restoring it).
	RestoreAlready = "already original"
	// RestoreLeft: someone changed the sysctl after vethbench did; their
	// value is left alone.
	RestoreLeft = "left: changed since by someone else"
	// RestoreRebooted: the journal is from before a reboot, which reset
	// the sysctl; nothing is written.
	RestoreRebooted = "not restored: the machine rebooted since"
)

// Restored is one journal entry of a dead process that RestoreStale
// handled.
type Restored struct {
	PID      int    `json:"pid"`
	Sysctl   string `json:"sysctl"`
	Original string `json:"original"`
	Found    string `json:"found"` // the value before RestoreStale acted
	Action   string `json:"action"`
}

// RestoreStale restores the host-wide sysctls recorded by vethbench
// processes that are gone (crashed, killed), newest first so that when
// several changed one sysctl the oldest original wins, and removes their
// journal files. Journals of running processes are left alone. Run it at
// start and from `vethbench cleanup`. An entry that cannot be restored
// stays in its file and is reported in the error.
func (j *Journal) RestoreStale() ([]Restored, error) {
	unlock, err := j.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	files, paths, readErr := j.others()
	type stale struct {
		f    journalFile
		path string
		live liveness
	}
	var todo []stale
	for i, f := range files {
		if l := f.Owner.liveness(); l != alive {
			todo = append(todo, stale{f, paths[i], l})
		}
	}
	slices.SortFunc(todo, func(a, b stale) int {
		return cmp.Compare(b.f.Owner.StartTicks, a.f.Owner.StartTicks)
	})
	var out []Restored
	errs := []error{readErr}
	for _, s := range todo {
		var failed []JournalEntry
		for _, e := range slices.Backward(s.f.Entries) {
			r, err := restoreEntry(s.f.Owner, e, s.live)
			if err != nil {
				errs = append(errs, fmt.Errorf("restore %s%s from %s: %w", SysctlPrefix, e.Sysctl, s.path, err))
				failed = append(failed, e)
				continue
			}
			out = append(out, r)
		}
		if len(failed) > 0 {
			s.f.Entries = failed
			errs = append(errs, writeAtomic(s.path, s.f))
			continue
		}
		if err := os.Remove(s.path); err != nil {
			errs = append(errs, fmt.Errorf("journal: %w", err))
		}
	}
	// Temporary files of processes that died while writing.
	tmps, _ := filepath.Glob(filepath.Join(j.dir, "journal-*.json.tmp"))
	for _, t := range tmps {
		var pid int
		var start uint64
		if _, err := fmt.Sscanf(filepath.Base(t), "journal-%d-%d.json.tmp", &pid, &start); err != nil {
			continue
		}
		if st, err := readProcStat(pid); err != nil || st.start != start {
			os.Remove(t)
		}
	}
	errs = append(errs, syncDir(j.dir))
	return out, errors.Join(errs...)
}

func restoreEntry(o owner, e JournalEntry, live liveness) (Restored, error) {
	r := Restored{PID: o.PID, Sysctl: e.Sysctl, Original: e.Original}
	if !slices.ContainsFunc(hostSysctls, func(d sysctlDef) bool { return d.name == e.Sysctl }) {
		return r, fmt.Errorf("not on the allow-list of host sysctls: not touched")
	}
	if live == previousBoot {
		r.Action = RestoreRebooted
		return r, nil
	}
	cur, err := readSysctl(e.Sysctl)
	if err != nil {
		return r, err
	}
	r.Found = cur
	switch {
	case cur == e.Original:
		r.Action = RestoreAlready
	case e.ours(cur):
		if err := writeSysctl(e.Sysctl, e.Original); err != nil {
			return r, err
		}
		r.Action = RestoreWritten
	default:
		r.Action = RestoreLeft
	}
	return r, nil
}
