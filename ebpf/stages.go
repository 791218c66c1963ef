package vbpf

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/internal/netns"
)

// Boundary is a point of a vethbench UDP datagram's path where stages.c
// stamps it, the first time the datagram is seen there (stages.c's VB_B_*).
type Boundary uint8

// The boundaries, in path order.
const (
	BoundarySend    Boundary = iota // the send time the generator wrote into the payload
	BoundaryQueue                   // tp_btf/net_dev_queue: dev_queue_xmit, before the sender device's qdisc
	BoundaryXmit                    // tp_btf/net_dev_start_xmit: the driver takes the skb, after the qdisc
	BoundaryIngress                 // the receiving device's ingress (TCX or cls_bpf), as the ingress counter
	BoundaryRead                    // tp_btf/consume_skb: the receiving socket's recvmsg frees the skb it copied (kernels before 6.18)
	numBoundaries
)

var boundaryNames = [numBoundaries]string{"send", "queue", "xmit", "ingress", "read"}

// String returns the boundary's name: "send", "queue", "xmit", "ingress" or
// "read".
func (b Boundary) String() string {
	if b < numBoundaries {
		return boundaryNames[b]
	}
	return fmt.Sprintf("boundary(%d)", uint8(b))
}

// Stage is the part of the trip between a boundary and the next one:
// Stage s runs from Boundary(s) to Boundary(s+1).
type Stage uint8

// The stages, in path order.
const (
	StageSender Stage = iota // send -> queue: the sender's socket, IP and neighbour code
	StageQdisc               // queue -> xmit: the sender device's qdisc
	StageDevice              // xmit -> ingress: the device hop (veth's xmit, backlog, softirq; a bridge or router between)
	StageSocket              // ingress -> read: IP/UDP receive, the wait in the socket buffer, the application's read
	NumStages
)

var stageNames = [NumStages]string{"sender", "qdisc", "device", "socket"}

// String returns the stage's name: "sender", "qdisc", "device" or "socket".
func (s Stage) String() string {
	if s < NumStages {
		return stageNames[s]
	}
	return fmt.Sprintf("stage(%d)", uint8(s))
}

// From and To are the boundaries the stage runs between.
func (s Stage) From() Boundary { return Boundary(s) }

// To is the boundary that ends the stage.
func (s Stage) To() Boundary { return Boundary(s) + 1 }

// The stage programs' names, as bpftool and the leak checker see them.
const (
	StageQueueProgram   = "vb_stage_queue"
	StageXmitProgram    = "vb_stage_xmit"
	StageIngressProgram = "vb_stage_ingress"
	StageReadProgram    = "vb_stage_read"
)

// The tracepoints of the tracing boundaries.
var stageTracepoints = map[Boundary]struct{ prog, tp string }{
	BoundaryQueue: {StageQueueProgram, "net_dev_queue"},
	BoundaryXmit:  {StageXmitProgram, "net_dev_start_xmit"},
	BoundaryRead:  {StageReadProgram, "consume_skb"},
}

// stageSlots is VB_STAGE_SLOTS in stages.c: datagrams in flight at once
// without evicting one another.
const stageSlots = 65536

// StagesOptions configure LoadStages.
type StagesOptions struct {
	// DstPort is the port of the case's vethbench datagrams; one Stages
	// per case (the tracepoints are global: concurrent runs need
	// different ports).
	DstPort uint16
	// IngressNS and IngressIfname name the receiving device whose
	// ingress is BoundaryIngress: where the runner attaches the ingress
	// counter. Without IngressNS there is no ingress boundary, and the
	// device and socket stages merge.
	IngressNS     *netns.NS
	IngressIfname string
	// ForceClsBPF attaches the ingress stamp as a cls_bpf filter even
	// where TCX exists (tests, old kernels).
	ForceClsBPF bool
	// Skip names boundaries not to attach, as if the kernel lacked them
	// (tests): their stage merges into the next.
	Skip []Boundary
	// ForceRead attaches BoundaryRead even on a kernel where consume_skb
	// does not mark the read (tests: readDeferredFrom).
	ForceRead bool
}

// StageHistogram is one stage's times, or the whole trip's.
type StageHistogram struct {
	Count   uint64              `json:"count"`   // datagrams whose time is counted here
	SumNS   uint64              `json:"sum_ns"`  // the exact sum of their times, ns
	Merged  uint64              `json:"merged"`  // of Count: timed from a boundary before the stage's own first one (it was skipped)
	Latency histogram.Histogram `json:"latency"` // their times, ns, at LatencyScale
}

// Sub returns h minus prev.
func (h StageHistogram) Sub(prev StageHistogram) StageHistogram {
	return StageHistogram{
		Count:   h.Count - prev.Count,
		SumNS:   h.SumNS - prev.SumNS,
		Merged:  h.Merged - prev.Merged,
		Latency: h.Latency.Sub(prev.Latency),
	}
}

// MeanNS is SumNS/Count, 0 when empty.
func (h StageHistogram) MeanNS() float64 {
	if h.Count == 0 {
		return 0
	}
	return float64(h.SumNS) / float64(h.Count)
}

// StageSnapshot holds the stage programs' counts summed over CPUs, since
// they were loaded. Use Sub for the deltas between two readings.
//
// A datagram that reached the last boundary present through every one
// before it, and whose slot was not taken by another, has its stages'
// times add up exactly to its Total time: then the Stages' SumNS add up to
// Total.SumNS. A datagram lost on the way (dropped, never read) has its
// first stages counted and no Total.
type StageSnapshot struct {
	// Boundaries present (attached), in path order; BoundarySend always.
	Boundaries []Boundary `json:"boundaries"`
	// Stages, indexed by Stage. A stage whose end boundary is absent is
	// empty; its time is in the next stage, as Merged.
	Stages [NumStages]StageHistogram `json:"stages"`
	// Total is the whole trip timed: send -> the last boundary present
	// (read; ingress on a kernel without the read boundary, where it is
	// the ingress counter's one-way latency), for the datagrams stamped
	// there.
	Total StageHistogram `json:"total"`
	// Seen counts the vethbench datagrams seen at each boundary, every
	// sighting; Late those ignored because the datagram had been stamped
	// there or further on already (a bridge forwarding it to another
	// veth, a clone freed).
	Seen [numBoundaries]uint64 `json:"seen"`
	Late [numBoundaries]uint64 `json:"late"`
	// Restarted counts datagrams found without a stamp of their own at a
	// boundary after the first one present, and timed from their send
	// time there: either they did not pass the earlier boundaries
	// (traffic injected with XDP passes no queue or xmit: every datagram,
	// its time merged into the stage) or another datagram took their slot
	// (their earlier stages then count twice; Evicted says so too).
	// Evicted counts slots taken from a datagram that had not reached the
	// last boundary (lost, or more than 65536 in flight).
	Restarted uint64 `json:"restarted"`
	Evicted   uint64 `json:"evicted"`
	// BadTimestamp counts sightings with a zero or future send time, or
	// a clock behind the previous stamp: not timed.
	BadTimestamp uint64 `json:"bad_timestamp"`
	// GSO counts GSO skbs (gso_segs > 1) to the port: not timed.
	GSO uint64 `json:"gso"`
}

// Sub returns s minus prev, an earlier snapshot of the same Stages.
func (s StageSnapshot) Sub(prev StageSnapshot) StageSnapshot {
	d := StageSnapshot{
		Boundaries:   slices.Clone(s.Boundaries),
		Total:        s.Total.Sub(prev.Total),
		Restarted:    s.Restarted - prev.Restarted,
		Evicted:      s.Evicted - prev.Evicted,
		BadTimestamp: s.BadTimestamp - prev.BadTimestamp,
		GSO:          s.GSO - prev.GSO,
	}
	for i := range s.Stages {
		d.Stages[i] = s.Stages[i].Sub(prev.Stages[i])
	}
	for i := range s.Seen {
		d.Seen[i] = s.Seen[i] - prev.Seen[i]
		d.Late[i] = s.Late[i] - prev.Late[i]
	}
	return d
}

// Stages is the stage programs, loaded and attached.
type Stages struct {
	mu      sync.Mutex
	slots   *ebpf.Map
	hists   *ebpf.Map
	counts  *ebpf.Map
	progs   map[Boundary]*ebpf.Program // tracing boundaries attached
	links   map[Boundary]link.Link
	ingress *Counters // the ingress stamp, attached as the counter is (its objs hold only the program)
	present []Boundary
	missing map[Boundary]error
	closed  bool
}

// LoadStages loads the stage programs for opts.DstPort and attaches each
// boundary the kernel offers: the tracepoints as tp_btf, and the ingress
// stamp at opts.IngressIfname's ingress with TCX or cls_bpf, as
// AttachIngress does (attach it after the counter: with TCX it goes first
// in the chain). Attach before the traffic starts. A boundary the kernel
// lacks (no such tracepoint in its BTF; for BoundaryRead, a kernel whose
// UDP does not free a read datagram in the reader's recvmsg, see
// readDeferredFrom) does not fail the whole: Missing says why each absent
// boundary is absent, with an error wrapping ErrNotSupported for what the
// kernel lacks. Any other failure (a verifier rejection, no such device)
// fails it. The caller must Close the result.
func LoadStages(opts StagesOptions) (*Stages, error) {
	if opts.DstPort == 0 {
		return nil, errors.New("bpf stages: destination port 0")
	}
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: stages need the kernel's BTF (CONFIG_DEBUG_INFO_BTF): %w", ErrNotSupported, err)
		}
		return nil, fmt.Errorf("load kernel BTF: %w", err)
	}
	st := &Stages{
		progs:   map[Boundary]*ebpf.Program{},
		links:   map[Boundary]link.Link{},
		present: []Boundary{BoundarySend},
		missing: map[Boundary]error{},
	}
	// Which boundaries there will be, before loading: each program is
	// told the first and the last (first_boundary, last_boundary).
	for b := BoundaryQueue; b < numBoundaries; b++ {
		if err := stageAvailable(b, kernel, opts); err != nil {
			st.missing[b] = err
			continue
		}
		st.present = append(st.present, b)
	}
	if len(st.present) == 1 {
		return nil, fmt.Errorf("%w: no stage boundary available: %v", ErrNotSupported, st.missing)
	}
	spec, err := loadStages()
	if err != nil {
		return nil, err
	}
	for _, v := range []struct {
		name string
		val  any
	}{
		{stagesVarDstPort, opts.DstPort},
		{stagesVarFirstBoundary, uint8(st.present[1])},
		{stagesVarLastBoundary, uint8(st.present[len(st.present)-1])},
	} {
		if err := spec.Variables[v.name].Set(v.val); err != nil {
			return nil, fmt.Errorf("set %s: %w", v.name, err)
		}
	}
	// The maps first, then each program alone with them as replacements.
	var maps struct {
		Slots  *ebpf.Map `ebpf:"vb_stage_slots"`
		Hists  *ebpf.Map `ebpf:"vb_stage_hists"`
		Counts *ebpf.Map `ebpf:"vb_stage_cnt"`
	}
	if err := spec.LoadAndAssign(&maps, nil); err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: load stage maps: %w", ErrNotSupported, err)
		}
		return nil, fmt.Errorf("load stage maps: %w", err)
	}
	st.slots, st.hists, st.counts = maps.Slots, maps.Hists, maps.Counts
	copts := &ebpf.CollectionOptions{
		Programs: ebpf.ProgramOptions{KernelTypes: kernel},
		MapReplacements: map[string]*ebpf.Map{
			stagesMapVbStageSlots: st.slots,
			stagesMapVbStageHists: st.hists,
			stagesMapVbStageCnt:   st.counts,
		},
	}
	for _, b := range st.present[1:] {
		if b == BoundaryIngress {
			err = st.attachIngress(spec, copts, opts)
		} else {
			err = st.attachTracepoint(spec, copts, b)
		}
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// readDeferredFrom is the first kernel version known to free a read UDP
// skb with skb_attempt_defer_free (6.18 here: the free, and consume_skb,
// comes later on the CPU that allocated the skb, or never fires), where
// consume_skb is not the read. Before it skb_consume_udp ends in
// __consume_stateless_skb, which fires consume_skb in the reader's recvmsg
// (6.1's source). A version between, if the change came earlier, is not
// known here: the tests check it (TestStagesReadBoundary).
var readDeferredFrom = [2]int{6, 18}

// stageAvailable returns why boundary b cannot be attached, nil if it can.
func stageAvailable(b Boundary, kernel *btf.Spec, opts StagesOptions) error {
	if slices.Contains(opts.Skip, b) {
		return errors.New("skipped (StagesOptions.Skip)")
	}
	if b == BoundaryIngress {
		if opts.IngressNS == nil {
			return errors.New("no receiving device given (StagesOptions.IngressNS)")
		}
		return nil
	}
	tp := stageTracepoints[b]
	var td *btf.Typedef
	if err := kernel.TypeByName("btf_trace_"+tp.tp, &td); err != nil {
		if errors.Is(err, btf.ErrNotFound) {
			return fmt.Errorf("%w: kernel has no tracepoint %s", ErrNotSupported, tp.tp)
		}
		return fmt.Errorf("look up tracepoint %s: %w", tp.tp, err)
	}
	if b == BoundaryRead && !opts.ForceRead {
		rel, ok := kernelRelease()
		if !ok || !versionBefore(rel, readDeferredFrom) {
			return fmt.Errorf("%w: kernel %d.%d frees a read UDP datagram deferred (skb_attempt_defer_free): tracepoint %s does not mark the read",
				ErrNotSupported, rel[0], rel[1], tp.tp)
		}
	}
	return nil
}

// kernelRelease returns the running kernel's major and minor version.
func kernelRelease() ([2]int, bool) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return [2]int{}, false
	}
	var v [2]int
	if n, _ := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &v[0], &v[1]); n != 2 {
		return [2]int{}, false
	}
	return v, true
}

func versionBefore(v, w [2]int) bool {
	return v[0] < w[0] || v[0] == w[0] && v[1] < w[1]
}

func (st *Stages) attachTracepoint(spec *ebpf.CollectionSpec, copts *ebpf.CollectionOptions, b Boundary) error {
	tp := stageTracepoints[b]
	prog, err := loadStageProgram(spec, copts, tp.prog)
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return fmt.Errorf("%w: tracepoint %s: %w", ErrNotSupported, tp.tp, err)
		}
		return fmt.Errorf("tracepoint %s: %w", tp.tp, err)
	}
	l, err := link.AttachTracing(link.TracingOptions{Program: prog, AttachType: ebpf.AttachTraceRawTp})
	if err != nil {
		prog.Close()
		if errors.Is(err, ebpf.ErrNotSupported) {
			return fmt.Errorf("%w: attach %s to tp_btf/%s: %w", ErrNotSupported, tp.prog, tp.tp, err)
		}
		return fmt.Errorf("attach %s to tp_btf/%s: %w", tp.prog, tp.tp, err)
	}
	st.progs[b], st.links[b] = prog, l
	return nil
}

// loadStageProgram loads one program of spec, with the maps copts
// replaces: a collection of that program alone, so that a program the
// kernel refuses (a tracepoint it lacks) does not take the others down.
func loadStageProgram(spec *ebpf.CollectionSpec, copts *ebpf.CollectionOptions, name string) (*ebpf.Program, error) {
	ps := spec.Copy()
	for n := range ps.Programs {
		if n != name {
			delete(ps.Programs, n)
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(ps, *copts)
	if err != nil {
		// %+v would print the whole verifier log; %v keeps the end of it.
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	prog := coll.DetachProgram(name)
	// The shared maps belong to Stages; the program holds its own
	// reference to the .rodata it was loaded with.
	coll.Close()
	return prog, nil
}

func (st *Stages) attachIngress(spec *ebpf.CollectionSpec, copts *ebpf.CollectionOptions, opts StagesOptions) error {
	prog, err := loadStageProgram(spec, copts, StageIngressProgram)
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return fmt.Errorf("%w: stage ingress: %w", ErrNotSupported, err)
		}
		return fmt.Errorf("stage ingress: %w", err)
	}
	// The counter's attach code, with this program: the same hook at the
	// same device, and Close removes exactly what it added.
	c := &Counters{objs: ingressObjects{Prog: prog}}
	var tcxErr error
	if !opts.ForceClsBPF {
		tcxErr = c.attachTCX(opts.IngressNS, opts.IngressIfname)
		if tcxErr == nil {
			st.ingress = c
			return nil
		}
		if !errors.Is(tcxErr, ebpf.ErrNotSupported) {
			prog.Close()
			return fmt.Errorf("stage ingress: %w", tcxErr)
		}
	}
	if err := c.attachClsBPF(opts.IngressNS, opts.IngressIfname); err != nil {
		prog.Close()
		if tcxErr != nil && errors.Is(err, ErrNotSupported) {
			return fmt.Errorf("%w: stage ingress: kernel has neither TCX nor cls_bpf: %v; %w", ErrNotSupported, tcxErr, err)
		}
		return fmt.Errorf("stage ingress: %w", err)
	}
	st.ingress = c
	return nil
}

// Boundaries returns the boundaries present, in path order.
func (st *Stages) Boundaries() []Boundary { return slices.Clone(st.present) }

// Missing returns, for each absent boundary, why: an error wrapping
// ErrNotSupported where the kernel lacks it.
func (st *Stages) Missing() map[Boundary]error {
	m := make(map[Boundary]error, len(st.missing))
	for b, err := range st.missing {
		m[b] = err
	}
	return m
}

// IngressHook reports how the ingress stamp is attached (HookTCX or
// HookClsBPF), "" without one.
func (st *Stages) IngressHook() string {
	if st.ingress == nil {
		return ""
	}
	return st.ingress.hook
}

// Missed reports how many times the kernel skipped a tracing stage program
// because it was already running on that CPU: sightings missing from the
// counts (a boundary skipped for that datagram). 0 on a healthy run.
func (st *Stages) Missed() (uint64, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return 0, ErrClosed
	}
	var n uint64
	for _, p := range st.progs {
		s, err := p.Stats()
		if err != nil {
			return 0, fmt.Errorf("read %s stats: %w", p, err)
		}
		n += s.RecursionMisses
	}
	return n, nil
}

// Snapshot reads the stage histograms and counts, summed over CPUs.
func (st *Stages) Snapshot() (StageSnapshot, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return StageSnapshot{}, ErrClosed
	}
	s := StageSnapshot{Boundaries: slices.Clone(st.present)}
	for e := range uint32(NumStages + 1) {
		var per []stagesVbStageHist
		if err := st.hists.Lookup(e, &per); err != nil {
			return StageSnapshot{}, fmt.Errorf("read stage histogram %d: %w", e, err)
		}
		h := StageHistogram{Latency: histogram.New(LatencyScale)}
		for _, v := range per {
			h.Count += v.Count
			h.SumNS += v.Sum
			h.Merged += v.Merged
			for i, n := range v.Buckets {
				h.Latency.Counts[i] += n
			}
		}
		if e < uint32(NumStages) {
			s.Stages[e] = h
		} else {
			s.Total = h
		}
	}
	var per []stagesVbStageCounts
	if err := st.counts.Lookup(uint32(0), &per); err != nil {
		return StageSnapshot{}, fmt.Errorf("read stage counts: %w", err)
	}
	for _, v := range per {
		for i := range s.Seen {
			s.Seen[i] += v.Seen[i]
			s.Late[i] += v.Late[i]
		}
		s.Restarted += v.Restarted
		s.Evicted += v.Evicted
		s.BadTimestamp += v.BadTs
		s.GSO += v.Gso
	}
	return s, nil
}

// Close detaches every stage program and frees them and their maps. It is
// idempotent.
func (st *Stages) Close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil
	}
	st.closed = true
	var errs []error
	for b, l := range st.links {
		if err := l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("detach %s: %w", stageTracepoints[b].prog, err))
		}
	}
	for _, p := range st.progs {
		errs = append(errs, p.Close())
	}
	if st.ingress != nil {
		errs = append(errs, st.ingress.Close())
	}
	for _, m := range []*ebpf.Map{st.slots, st.hists, st.counts} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	st.links, st.progs, st.ingress = nil, nil, nil
	st.slots, st.hists, st.counts = nil, nil, nil
	return errors.Join(errs...)
}
