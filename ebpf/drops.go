package vbpf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
)

// The hooks Drops.Hook reports.
const (
	HookTPBTF = "tp_btf" // a BTF-typed tracepoint program (tp_btf/kfree_skb)
	HookRawTP = "raw_tp" // a raw tracepoint program (raw_tp/kfree_skb)
)

// The names of the drop-counting programs, as bpftool and the test leak
// checker see them: DropProgramName on HookTPBTF, DropRawProgramName on
// HookRawTP.
const (
	DropProgramName    = "vb_drop"
	DropRawProgramName = "vb_drop_raw"
)

// dropSlots is the number of per-reason counters, VB_DROP_SLOTS in drops.c.
// Reasons of dropSlots-1 and more share the last one, OverflowReason.
const dropSlots = 512

// OverflowReason names the counter shared by every drop reason value of 511
// and more: the kernel's subsystem reasons (values with bits in
// SKB_DROP_REASON_SUBSYS_MASK, e.g. mac80211 or openvswitch) and any
// future core reason that large.
const OverflowReason = "reason_511_or_more"

// kfreeSkbTracepoint is the tracepoint both programs attach to, and
// kfreeSkbTypedef the type the kernel's BTF gives its arguments.
const (
	kfreeSkbTracepoint = "kfree_skb"
	kfreeSkbTypedef    = "btf_trace_kfree_skb"
	dropReasonEnum     = "skb_drop_reason"
)

// DropOptions configure AttachDrops.
type DropOptions struct {
	// DstPort is the port that marks vethbench traffic; pick one per run.
	// With ProtoUDP, datagrams to it are counted; with ProtoTCP,
	// segments to it and from it (data and ACKs, both directions).
	DstPort            uint16
	Proto              Proto // what vethbench traffic is; ProtoUDP if unset
	ForceRawTracepoint bool  // attach raw_tp/kfree_skb even where tp_btf works (tests)
}

// DropSnapshot maps the name of a drop reason ("NO_SOCKET", "SOCKET_RCVBUFF",
// "CPU_BACKLOG", "QDISC_DROP", "NOT_SPECIFIED"...: the kernel's enum
// skb_drop_reason without its SKB_DROP_REASON_ prefix) to the number of
// vethbench packets dropped for it: datagrams (UDP) or segments (TCP), a
// dropped GSO or GRO skb counting all it carries. A value the running
// kernel's enum does not name is "reason_<n>"; see also OverflowReason.
// Reasons with no drop are absent.
type DropSnapshot map[string]uint64

// Sub returns s minus prev, an earlier snapshot of the same Drops, keeping
// only the reasons whose count changed.
func (s DropSnapshot) Sub(prev DropSnapshot) DropSnapshot {
	d := make(DropSnapshot, len(s))
	for k, v := range s {
		if n := v - prev[k]; n != 0 {
			d[k] = n
		}
	}
	return d
}

// Total is the number of dropped packets over all reasons.
func (s DropSnapshot) Total() uint64 {
	var t uint64
	for _, v := range s {
		t += v
	}
	return t
}

// The entries of drops.c's vb_drops (VB_DROPS_*): every drop; UDP drops
// of no window; the drops of each window slot's tag.
const (
	dropsAll      = 0
	dropsUntagged = 1
	dropsWindow   = 2
)

// Drops is the drop-counting program attached to skb:kfree_skb.
type Drops struct {
	mu     sync.Mutex
	prog   *ebpf.Program
	counts *ebpf.Map
	tags   *ebpf.Map // window slot -> tagSet | tag (counter.c's vb_tags)
	link   link.Link
	hook   string
	names  []string // reason value (slot) -> name; len dropSlots
	closed bool
}

// AttachDrops loads the drop counter with opts.DstPort and opts.Proto baked
// in and attaches it to the skb:kfree_skb tracepoint: as tp_btf where the
// kernel allows it, else (or with opts.ForceRawTracepoint) as a raw
// tracepoint. The tracepoint is global, so the counter sees drops in every
// namespace, of every process; only vethbench's packets are counted: UDP
// datagrams to opts.DstPort carrying its magic, or TCP segments to or from
// opts.DstPort (see DropOptions). It needs the kernel's BTF (for the reason names and the sk_buff
// layout) and a kfree_skb tracepoint with a reason argument (5.17+);
// without them it returns an error wrapping ErrNotSupported. The caller
// must Close the result.
func AttachDrops(opts DropOptions) (*Drops, error) {
	if opts.DstPort == 0 {
		return nil, errors.New("bpf drops: destination port 0")
	}
	if _, err := opts.Proto.ipProto(); err != nil {
		return nil, err
	}
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: drop reasons need the kernel's BTF (CONFIG_DEBUG_INFO_BTF): %w", ErrNotSupported, err)
		}
		return nil, fmt.Errorf("load kernel BTF: %w", err)
	}
	enum, err := kernelDropReasons(kernel)
	if err != nil {
		return nil, err
	}
	spec, err := loadDrops()
	if err != nil {
		return nil, err
	}
	if err := setVars(spec, dropsVarDstPort, dropsVarProto, opts.DstPort, opts.Proto); err != nil {
		return nil, err
	}

	d := &Drops{names: reasonNames(enum)}
	var tpErr error
	if !opts.ForceRawTracepoint {
		tpErr = d.attach(spec, kernel, HookTPBTF)
		if tpErr == nil {
			return d, nil
		}
		if !errors.Is(tpErr, ebpf.ErrNotSupported) {
			return nil, tpErr
		}
	}
	if err := d.attach(spec, kernel, HookRawTP); err != nil {
		if tpErr != nil && errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: kernel can attach neither tp_btf nor raw_tp to %s: %v; %w",
				ErrNotSupported, kfreeSkbTracepoint, tpErr, err)
		}
		return nil, err
	}
	return d, nil
}

// attach loads the program of hook and the map, and attaches the program.
// On error nothing stays loaded; an error wraps ErrNotSupported where
// cilium/ebpf says the kernel lacks a feature.
func (d *Drops) attach(spec *ebpf.CollectionSpec, kernel *btf.Spec, hook string) error {
	// The kernel BTF already loaded for the reason names serves the CO-RE
	// relocations too.
	opts := &ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: kernel}}
	var (
		prog         *ebpf.Program
		counts, tags *ebpf.Map
		name         string
		err          error
	)
	// LoadAndAssign loads only what the struct names, so each hook loads
	// its own program and not the other.
	switch hook {
	case HookTPBTF:
		var o struct {
			Prog   *ebpf.Program `ebpf:"vb_drop"`
			Counts *ebpf.Map     `ebpf:"vb_drops"`
			Tags   *ebpf.Map     `ebpf:"vb_drop_tags"`
		}
		name = DropProgramName
		err = spec.LoadAndAssign(&o, opts)
		prog, counts, tags = o.Prog, o.Counts, o.Tags
	case HookRawTP:
		var o struct {
			Prog   *ebpf.Program `ebpf:"vb_drop_raw"`
			Counts *ebpf.Map     `ebpf:"vb_drops"`
			Tags   *ebpf.Map     `ebpf:"vb_drop_tags"`
		}
		name = DropRawProgramName
		err = spec.LoadAndAssign(&o, opts)
		prog, counts, tags = o.Prog, o.Counts, o.Tags
	default:
		return fmt.Errorf("bpf drops: unknown hook %q", hook)
	}
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return fmt.Errorf("%w: load %s: %w", ErrNotSupported, name, err)
		}
		// %+v would print the whole verifier log; %v keeps the end of it.
		return fmt.Errorf("load %s: %w", name, err)
	}

	var l link.Link
	if hook == HookTPBTF {
		l, err = link.AttachTracing(link.TracingOptions{Program: prog, AttachType: ebpf.AttachTraceRawTp})
	} else {
		l, err = link.AttachRawTracepoint(link.RawTracepointOptions{Name: kfreeSkbTracepoint, Program: prog})
	}
	if err != nil {
		prog.Close()
		counts.Close()
		tags.Close()
		if errors.Is(err, ebpf.ErrNotSupported) {
			return fmt.Errorf("%w: attach %s to %s/%s: %w", ErrNotSupported, name, hook, kfreeSkbTracepoint, err)
		}
		return fmt.Errorf("attach %s to %s/%s: %w", name, hook, kfreeSkbTracepoint, err)
	}
	d.prog, d.counts, d.tags, d.link, d.hook = prog, counts, tags, l, hook
	return nil
}

// Hook reports how the program is attached: HookTPBTF or HookRawTP.
func (d *Drops) Hook() string { return d.hook }

// Snapshot reads the per-reason counts, summed over CPUs, since AttachDrops.
func (d *Drops) Snapshot() (DropSnapshot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	return d.read(dropsAll)
}

// read reads one entry of vb_drops, summed over CPUs. The caller holds mu.
func (d *Drops) read(entry uint32) (DropSnapshot, error) {
	var perCPU []dropsVbDropCounts
	if err := d.counts.Lookup(entry, &perCPU); err != nil {
		return nil, fmt.Errorf("read drop counters: %w", err)
	}
	s := DropSnapshot{}
	for _, c := range perCPU {
		for reason, n := range c.Reasons {
			if n != 0 {
				s[d.names[reason]] += n
			}
		}
	}
	return s, nil
}

// OpenWindow gives tag its window slot (tag % TagSlots), as
// Counters.OpenWindow does at the ingress: from now on the slot counts the
// drops of UDP datagrams carrying tag, by reason, and the drops of the
// slot's previous tag count as Untagged. It returns the slot's counts at
// that moment, which Window's later readings are taken from. Only UDP
// datagrams carry tags; TCP drops are in Snapshot only.
func (d *Drops) OpenWindow(tag uint8) (DropSnapshot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	slot := uint32(tag) % TagSlots
	if err := d.tags.Update(slot, uint32(tagSet|uint32(tag)), ebpf.UpdateAny); err != nil {
		return nil, fmt.Errorf("give drop window slot %d to tag %d: %w", slot, tag, err)
	}
	return d.read(dropsWindow + slot)
}

// Window reads the drops of tag's datagrams, by reason, since AttachDrops;
// those of tag's window are this minus what OpenWindow returned. It fails
// if the slot was given to another tag since.
func (d *Drops) Window(tag uint8) (DropSnapshot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	slot := uint32(tag) % TagSlots
	var owner uint32
	if err := d.tags.Lookup(slot, &owner); err != nil {
		return nil, fmt.Errorf("read drop window slot %d's tag: %w", slot, err)
	}
	if owner != tagSet|uint32(tag) {
		return nil, fmt.Errorf("drop window slot %d holds tag %#x, not tag %d", slot, owner, tag)
	}
	return d.read(dropsWindow + slot)
}

// Untagged reads, since AttachDrops, the UDP drops counted in no window:
// datagrams whose tag the program could not read (a payload in page
// fragments: UDP GSO) and those of a tag whose slot had gone to a later
// tag.
func (d *Drops) Untagged() (DropSnapshot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	return d.read(dropsUntagged)
}

// Missed reports how many times the kernel skipped the program because it
// was already running on that CPU (a packet dropped in an interrupt that
// came while the program ran for another drop): drops that may be missing
// from the counts. It needs kernel 5.12 or later; it is 0 on a healthy run.
func (d *Drops) Missed() (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, ErrClosed
	}
	st, err := d.prog.Stats()
	if err != nil {
		return 0, fmt.Errorf("read %s stats: %w", d.prog, err)
	}
	return st.RecursionMisses, nil
}

// Close detaches the program and frees it and its map. It is idempotent.
func (d *Drops) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	if d.link != nil {
		if err := d.link.Close(); err != nil {
			errs = append(errs, fmt.Errorf("detach %s: %w", d.hook, err))
		}
		d.link = nil
	}
	for _, c := range []interface{ Close() error }{d.prog, d.counts, d.tags} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	d.prog, d.counts, d.tags = nil, nil, nil
	return errors.Join(errs...)
}

// kernelDropReasons returns the kernel's enum skb_drop_reason, after
// checking that the kfree_skb tracepoint passes it (as its third argument).
func kernelDropReasons(kernel *btf.Spec) (*btf.Enum, error) {
	var td *btf.Typedef
	if err := kernel.TypeByName(kfreeSkbTypedef, &td); err != nil {
		return nil, fmt.Errorf("%w: kernel BTF has no %s, so no skb:kfree_skb tracepoint: %w",
			ErrNotSupported, kfreeSkbTypedef, err)
	}
	return tracepointDropReasons(td)
}

// tracepointDropReasons checks the type of the kfree_skb tracepoint's
// probe, btf_trace_kfree_skb, a pointer to
//
//	void (void *data, struct sk_buff *skb, void *location,
//	      enum skb_drop_reason reason, struct sock *rx_sk)
//
// (rx_sk since 6.11; reason since 5.17), and returns the reason's enum.
func tracepointDropReasons(td *btf.Typedef) (*btf.Enum, error) {
	ptr, ok := td.Type.(*btf.Pointer)
	if !ok {
		return nil, fmt.Errorf("bpf drops: %s is %v, want a pointer to a function", td.Name, td.Type)
	}
	fp, ok := ptr.Target.(*btf.FuncProto)
	if !ok {
		return nil, fmt.Errorf("bpf drops: %s points to %v, want a function", td.Name, ptr.Target)
	}
	// Params[0] is the tracepoint's private data; the arguments follow.
	if len(fp.Params) < 2 || !isStructPtr(fp.Params[1].Type, "sk_buff") {
		return nil, fmt.Errorf("bpf drops: %s: first argument is not a struct sk_buff *", td.Name)
	}
	if len(fp.Params) < 4 {
		return nil, fmt.Errorf("%w: skb:kfree_skb has no drop reason argument (kernel before 5.17)", ErrNotSupported)
	}
	e, ok := btf.UnderlyingType(fp.Params[3].Type).(*btf.Enum)
	if !ok || e.Name != dropReasonEnum {
		return nil, fmt.Errorf("%w: skb:kfree_skb's third argument is %v, not enum %s",
			ErrNotSupported, fp.Params[3].Type, dropReasonEnum)
	}
	return e, nil
}

func isStructPtr(t btf.Type, name string) bool {
	p, ok := btf.UnderlyingType(t).(*btf.Pointer)
	if !ok {
		return false
	}
	s, ok := btf.UnderlyingType(p.Target).(*btf.Struct)
	return ok && s.Name == name
}

// reasonNames maps every counter slot to a name: the enum's name for the
// value without its SKB_DROP_REASON_ (or SKB_) prefix, "reason_<n>" for
// values the enum does not name, OverflowReason for the last slot. The
// enum's bounds SKB_DROP_REASON_MAX and SKB_DROP_REASON_SUBSYS_MASK are not
// reasons and name nothing; of two names for one value the first wins.
func reasonNames(e *btf.Enum) []string {
	names := make([]string, dropSlots)
	if e != nil {
		for _, v := range e.Values {
			if v.Value >= dropSlots-1 || names[v.Value] != "" {
				continue
			}
			switch v.Name {
			case "SKB_DROP_REASON_MAX", "SKB_DROP_REASON_SUBSYS_MASK":
				continue
			}
			n, ok := strings.CutPrefix(v.Name, "SKB_DROP_REASON_")
			if !ok {
				n = strings.TrimPrefix(v.Name, "SKB_") // SKB_NOT_DROPPED_YET, SKB_CONSUMED
			}
			names[v.Value] = n
		}
	}
	for i := range names {
		if names[i] == "" {
			names[i] = "reason_" + strconv.Itoa(i)
		}
	}
	names[dropSlots-1] = OverflowReason
	return names
}
