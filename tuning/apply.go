package tuning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/netns"
)

// Status of one applied knob on one target.
const (
	// StatusOK: the kernel reads back the value asked for.
	StatusOK = "ok"
	// StatusChanged: the kernel took the request but reads back another
	// value (a feature it keeps off because another is off, GRO that veth
	// keeps on under native XDP...). Detail says why where it is known.
	StatusChanged = "changed"
	// StatusRefused: the kernel returned an error; Detail has it.
	StatusRefused = "refused"
	// StatusNotApplicable: the knob does not exist on this target (a
	// virtual device without the operation, a fixed feature, an XDP mode
	// the device lacks). Not a failure.
	StatusNotApplicable = "not applicable"
	// StatusUnsupported: the kernel lacks what the knob needs (a qdisc it
	// was built without, a sysctl it does not have).
	StatusUnsupported = "unsupported"
)

// HostTarget is the target of host-wide knobs.
const HostTarget = "host"

// ErrRefused is wrapped by Applied.Err for a refused knob.
var ErrRefused = errors.New("refused by the kernel")

// ErrChangedSince is wrapped by the error restore returns for a host
// sysctl that someone else changed while vethbench held it: their value is
// kept, not overwritten, and the error says so (a *ChangedSinceError).
var ErrChangedSince = errors.New("changed by someone else during the run")

// ChangedSinceError is a host sysctl restore left alone because it held
// neither vethbench's value nor the original any more.
type ChangedSinceError struct {
	Sysctl   string // "net.core.netdev_max_backlog"
	Original string // the value before vethbench changed it
	Set      string // the value vethbench set
	Found    string // the value found at restore, kept
}

func (e *ChangedSinceError) Error() string {
	return fmt.Sprintf("%s%s: %s: kept at %s (vethbench set %s, the original was %s), so the trials ran under a value that changed",
		SysctlPrefix, e.Sysctl, ErrChangedSince, e.Found, e.Set, e.Original)
}

func (e *ChangedSinceError) Unwrap() error { return ErrChangedSince }

// Applied is what became of one knob on one target.
type Applied struct {
	Knob string `json:"knob"`
	// Target is a device's role ("receiver"), a namespace's name
	// ("router"), or "host" for host-wide knobs.
	Target string `json:"target"`
	// Ifname is the device's name, for device knobs.
	Ifname string `json:"ifname,omitempty"`
	Asked  string `json:"asked"`
	// Before is the value read before setting it, After the value read
	// back once every knob was set (a later knob can change an earlier
	// one's value, as tx_checksum off turns tso off). Empty when it could
	// not be read.
	Before string `json:"before"`
	After  string `json:"after"`
	Status string `json:"status"`
	// Detail explains a status other than ok, or notes what the value
	// does here ("inert: the root qdisc is noqueue").
	Detail string `json:"detail,omitempty"`
}

// Err returns an error for a refused or unsupported knob, nil otherwise.
// Unsupported ones wrap ErrNotSupported, refused ones ErrRefused.
func (a Applied) Err() error {
	switch a.Status {
	case StatusRefused:
		return fmt.Errorf("%s=%s on %s: %w: %s", a.Knob, a.Asked, a.Target, ErrRefused, a.Detail)
	case StatusUnsupported:
		return fmt.Errorf("%s=%s on %s: %w: %s", a.Knob, a.Asked, a.Target, ErrNotSupported, a.Detail)
	}
	return nil
}

// testHookBeforeHostWrite, when set by a test, runs after a host-wide
// value is journaled and just before it is written.
var testHookBeforeHostWrite func(sysctl string)

// Apply sets knobs on a realized topology and returns what each became,
// with a function that puts every original value back.
//
// Every setting is validated first (unknown knob, sysctl off the
// allow-list, bad or out-of-range value, a knob given twice: errors that
// wrap ErrInvalid, before anything is touched). Then each knob is set in
// catalog order (Knobs) on every target it applies to: device knobs on the
// devices at the ends they act on, namespace sysctls in every namespace of
// the topology, host sysctls in the initial namespace. The original value
// of every host sysctl is journaled in j, on disk, before any is written,
// and Apply refuses (before touching anything) a host sysctl that another
// vethbench process holds, naming its pid. Finally every value is read
// back: one Applied per knob and target, in order.
//
// The kernel refusing a value, a knob that does not apply to a device, a
// kernel that lacks something: these are statuses in Applied, not errors.
// Apply returns an error only when it cannot proceed (invalid settings, a
// journal or namespace failure, ctx cancelled); it has then restored what
// it changed, and restore does nothing.
//
// restore is never nil. It puts back every value in reverse order, host
// sysctls first written back and then dropped from the journal, closes
// the XDP links and the handles Apply opened (which keep the topology's
// namespaces alive until then), and is idempotent: later calls return the
// first call's result. Call it before closing the topology, and always:
// device and namespace values would die with the namespaces, host values
// would not. A host sysctl is written back only while it still holds the
// value vethbench set (as Journal.RestoreStale does after a crash): one an
// administrator changed during the run keeps their value, and restore's
// error then includes a *ChangedSinceError (ErrChangedSince) naming it.
// topo may be nil when every setting is host-wide; j may be nil when none
// is.
func Apply(ctx context.Context, topo *topology.Topology, settings []Setting, j *Journal) (applied []Applied, restore func() error, err error) {
	var t *targets
	if topo != nil {
		t = &targets{devices: topo.Devices, namespaces: topo.Namespaces()}
	}
	return apply(ctx, &sysKernel{}, t, settings, j)
}

// targets are what Apply sets knobs on: a topology's devices and
// namespaces. nil means no topology.
type targets struct {
	devices    []topology.Device
	namespaces []topology.Namespace
}

// apply is Apply through k, which the tests replace with a fake.
func apply(ctx context.Context, k kernel, t *targets, settings []Setting, j *Journal) ([]Applied, func() error, error) {
	noop := func() error { return nil }
	rs, err := validate(settings)
	if err != nil {
		return nil, noop, err
	}
	a := &applier{ctx: ctx, k: k, t: t, j: j, envs: map[topology.Device]*devEnv{}}
	applied, err := a.run(rs)
	if err != nil {
		return nil, noop, errors.Join(err, a.restore())
	}
	var once sync.Once
	var rerr error
	return applied, func() error {
		once.Do(func() { rerr = a.restore() })
		return rerr
	}, nil
}

type applier struct {
	ctx  context.Context
	k    kernel
	t    *targets
	j    *Journal
	envs map[topology.Device]*devEnv
	ops  []*op
	// held are the host ops journaled up front: restored even when Apply
	// stops before reaching them.
	held []*op
}

// op is one knob on one target.
type op struct {
	knob   *Knob
	target string
	ifname string
	env    *devEnv // device knobs
	asked  string
	before string
	err    error                  // reading before or setting failed
	get    func() (string, error) // reads the value
	undo   func() error           // nil when nothing is to be undone
}

func (a *applier) run(rs []resolved) ([]Applied, error) {
	if err := a.ctx.Err(); err != nil {
		return nil, err
	}
	var hosts []resolved
	for _, r := range rs {
		switch r.knob.Scope {
		case ScopeHost:
			hosts = append(hosts, r)
		default:
			if a.t == nil {
				return nil, fmt.Errorf("%s is set on a topology's %ss, and there is no topology", r.knob.Name, r.knob.Scope)
			}
		}
	}
	hostOps, err := a.journalHost(hosts)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		switch r.knob.Scope {
		case ScopeDevice:
			for _, d := range a.t.devices {
				if !r.knob.AppliesTo(d) {
					continue
				}
				if err := a.ctx.Err(); err != nil {
					return nil, err
				}
				if err := a.setDevice(r, d); err != nil {
					return nil, err
				}
			}
		case ScopeNamespace:
			for _, n := range a.t.namespaces {
				if err := a.ctx.Err(); err != nil {
					return nil, err
				}
				a.setNamespace(r, n)
			}
		case ScopeHost:
			if err := a.ctx.Err(); err != nil {
				return nil, err
			}
			o := hostOps[r.knob.Name]
			if o.err == nil && o.before != o.asked {
				if testHookBeforeHostWrite != nil {
					testHookBeforeHostWrite(r.knob.Sysctl)
				}
				o.err = setSysctl(a.k, nil, r.knob.Sysctl, o.asked)
			}
			a.ops = append(a.ops, o)
		}
	}
	return a.readBack(), nil
}

// journalHost reads the original of every host sysctl to be set and
// journals them all before any is written.
func (a *applier) journalHost(rs []resolved) (map[string]*op, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	if a.j == nil {
		return nil, fmt.Errorf("%s is host-wide and needs a journal", rs[0].knob.Name)
	}
	if err := a.k.checkHost(); err != nil {
		return nil, err
	}
	ops := map[string]*op{}
	var entries []JournalEntry
	for _, r := range rs {
		name := r.knob.Sysctl
		o := &op{knob: r.knob, target: HostTarget, asked: r.value,
			get: func() (string, error) { return getSysctl(a.k, nil, name) }}
		ops[r.knob.Name] = o
		a.held = append(a.held, o)
		if o.before, o.err = o.get(); o.err != nil {
			continue
		}
		entries = append(entries, JournalEntry{Sysctl: name, Original: o.before, Value: r.value, Time: time.Now().UTC()})
	}
	if len(entries) == 0 {
		return ops, nil
	}
	if err := a.j.hold(entries); err != nil {
		return nil, err
	}
	for _, e := range entries {
		e := e
		o := ops[SysctlPrefix+e.Sysctl]
		o.undo = func() error {
			cur, err := getSysctl(a.k, nil, e.Sysctl)
			if err != nil {
				return err
			}
			var kept error
			switch {
			case cur == e.Original:
			case cur == e.Value: // still ours
				if err := setSysctl(a.k, nil, e.Sysctl, e.Original); err != nil {
					return err // the entry stays: cleanup will retry
				}
			default:
				// Someone changed it while we held it: theirs stays, and
				// the journal lets go of it, as RestoreStale would.
				kept = &ChangedSinceError{Sysctl: e.Sysctl, Original: e.Original, Set: e.Value, Found: cur}
			}
			if err := a.j.release(e.Sysctl); err != nil {
				return errors.Join(kept, err)
			}
			return kept
		}
	}
	return ops, nil
}

func (a *applier) env(d topology.Device) (*devEnv, error) {
	if e, ok := a.envs[d]; ok {
		return e, nil
	}
	k, err := a.k.device(d.NS, d.Ifname)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", d.Role, d.Ifname, err)
	}
	e := &devEnv{dev: d, k: k, all: a.t.devices}
	a.envs[d] = e
	return e, nil
}

func (a *applier) setDevice(r resolved, d topology.Device) error {
	e, err := a.env(d)
	if err != nil {
		return err
	}
	ops := r.knob.dev
	o := &op{knob: r.knob, target: d.Role, ifname: d.Ifname, env: e, asked: r.value,
		get: func() (string, error) { return ops.get(e) }}
	a.ops = append(a.ops, o)
	if o.before, o.err = ops.get(e); o.err != nil {
		return nil
	}
	before := o.before
	o.undo = func() error {
		cur, err := ops.get(e)
		if err == nil && cur == before {
			return nil
		}
		if ops.restore != nil {
			return ops.restore(e, before)
		}
		return ops.set(e, before)
	}
	o.err = ops.set(e, r.value)
	return nil
}

func (a *applier) setNamespace(r resolved, n topology.Namespace) {
	name := r.knob.Sysctl
	o := &op{knob: r.knob, target: n.Name, asked: r.value,
		get: func() (string, error) { return getSysctl(a.k, n.NS, name) }}
	a.ops = append(a.ops, o)
	if o.before, o.err = o.get(); o.err != nil {
		return
	}
	before := o.before
	o.undo = func() error {
		cur, err := o.get()
		if err == nil && cur == before {
			return nil
		}
		return setSysctl(a.k, n.NS, name, before)
	}
	if o.before != o.asked {
		o.err = setSysctl(a.k, n.NS, name, o.asked)
	}
}

// readBack reads every value after all knobs are set and says what
// became of each.
func (a *applier) readBack() []Applied {
	out := make([]Applied, 0, len(a.ops))
	for _, o := range a.ops {
		ap := Applied{Knob: o.knob.Name, Target: o.target, Ifname: o.ifname, Asked: o.asked, Before: o.before}
		after, rerr := o.get()
		if rerr == nil {
			ap.After = after
		}
		switch {
		case o.err != nil:
			ap.Status, ap.Detail = classify(o.err)
		case rerr != nil:
			ap.Status, ap.Detail = StatusRefused, "set, but reading it back failed: "+rerr.Error()
		case after != o.asked:
			ap.Status = StatusChanged
			ap.Detail = fmt.Sprintf("asked %s, the kernel reads back %s", o.asked, after)
		default:
			ap.Status = StatusOK
		}
		if note := a.note(o, ap); note != "" {
			ap.Detail = joinDetail(ap.Detail, note)
		}
		out = append(out, ap)
	}
	return out
}

func classify(err error) (status, detail string) {
	var na *notApplicableError
	switch {
	case errors.As(err, &na):
		return StatusNotApplicable, na.reason
	case errors.Is(err, ErrNotSupported):
		return StatusUnsupported, strings.TrimPrefix(err.Error(), "unsupported: ")
	}
	return StatusRefused, err.Error()
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// note says what a value does on its target where that is not obvious:
// an inert knob is a finding.
func (a *applier) note(o *op, ap Applied) string {
	if o.env == nil || (ap.Status != StatusOK && ap.Status != StatusChanged) {
		return ""
	}
	e := o.env
	switch o.knob.Name {
	case "txqueuelen":
		q, err := e.k.rootQdisc()
		switch {
		case err != nil:
		case q.kind == "noqueue":
			return "inert: the root qdisc is noqueue, which queues nothing"
		case q.kind == "pfifo":
			return fmt.Sprintf("the root pfifo's limit is %d packets", q.limit)
		case q.kind == "bfifo":
			return fmt.Sprintf("the root bfifo's limit is %d bytes", q.limit)
		case q.kind == "pfifo_fast":
			return "pfifo_fast queues up to txqueuelen packets per band"
		case q.kind == "tbf":
			return "inert: shape_mbit's tbf queues up to its limit in bytes, not txqueuelen"
		}
	case "qdisc":
		q, err := e.k.rootQdisc()
		switch {
		case err != nil:
		case q.kind == "pfifo":
			return fmt.Sprintf("limit %d packets (the txqueuelen when it was created)", q.limit)
		case q.kind == "bfifo":
			return fmt.Sprintf("limit %d bytes (txqueuelen times the MTU when it was created)", q.limit)
		}
	case "shape_mbit":
		if q, err := e.k.rootQdisc(); err == nil {
			return shapeNote(q)
		}
	case "gro", "gro_list", "udp_gro_forwarding", "gso", "tso", "udp_segmentation", "tx_checksum":
		if ap.Status == StatusChanged {
			return featureHint(e, o.knob.feature, o.asked)
		}
	case "xdp":
		if ap.After == XDPNative && e.dev.Kind == "veth" {
			return "veth now receives through NAPI"
		}
	case "threaded_napi", "gro_flush_timeout", "napi_defer_hard_irqs":
		if has, ok := deviceHasNAPI(e); ok && !has {
			return "inert: this veth has no NAPI instance (it gets one with gro on or native xdp)"
		}
	}
	return ""
}

// restore undoes every op in reverse order and releases what Apply holds.
// A device whose namespace is gone has nothing left to restore.
func (a *applier) restore() error {
	var errs []error
	all := slices.Clone(a.ops)
	slices.Reverse(all)
	for _, o := range append(all, a.held...) {
		if o.undo == nil {
			continue
		}
		undo := o.undo
		o.undo = nil
		if err := undo(); err != nil && !errors.Is(err, netns.ErrClosed) {
			errs = append(errs, fmt.Errorf("restore %s on %s: %w", o.knob.Name, o.target, err))
		}
	}
	a.ops, a.held = nil, nil
	for d, e := range a.envs {
		errs = append(errs, e.k.close())
		delete(a.envs, d)
	}
	errs = append(errs, a.k.close())
	return errors.Join(errs...)
}
