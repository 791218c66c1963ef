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
// without evicting one another, over every case.
const stageSlots = 65536

// stageCases is VB_STAGE_CASES in stages.c: Stages alive at once in a
// process.
const stageCases = 256

// StagesOptions configure LoadStages.
type StagesOptions struct {
	// DstPort is the port of the case's vethbench datagrams: the
	// tracing programs, shared by every Stages of the process, tell the
	// cases apart by it. Two live Stages on one port is an error;
	// another process's stages on the same port would count each
	// other's datagrams (the tracepoints are global: concurrent runs
	// need different ports).
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
	// ReadByReceiver takes BoundaryRead from the receiving application
	// where the kernel does not mark the read: the caller then gives Read
	// every datagram its receiver reads (see stages_read.go). It needs
	// the ingress boundary; without either, the trip ends at the last
	// boundary stamped.
	ReadByReceiver bool
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
	// ReadUnmatched counts, where the read is the receiver's
	// (ReadByReceiver), datagrams read whose slot no longer named them
	// (taken by another) or that were not stamped at the last boundary
	// before the read: not timed at the read.
	ReadUnmatched uint64 `json:"read_unmatched,omitempty"`
	// ReadByReceiver: BoundaryRead is the receiver's (after its
	// recvmmsg returned), not the kernel's consume_skb.
	ReadByReceiver bool `json:"read_by_receiver,omitempty"`
}

// Sub returns s minus prev, an earlier snapshot of the same Stages.
func (s StageSnapshot) Sub(prev StageSnapshot) StageSnapshot {
	d := StageSnapshot{
		Boundaries:     slices.Clone(s.Boundaries),
		Total:          s.Total.Sub(prev.Total),
		Restarted:      s.Restarted - prev.Restarted,
		Evicted:        s.Evicted - prev.Evicted,
		BadTimestamp:   s.BadTimestamp - prev.BadTimestamp,
		GSO:            s.GSO - prev.GSO,
		ReadUnmatched:  s.ReadUnmatched - prev.ReadUnmatched,
		ReadByReceiver: s.ReadByReceiver,
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

// Stages is one case's stage stamps: its config in the shared programs'
// maps, its own histograms and counts, and its ingress stamp.
type Stages struct {
	mu      sync.Mutex
	port    uint16
	index   uint32                     // in the arrays of per-case maps
	hists   *ebpf.Map                  // the case's histograms (vb_stage_hists' inner map)
	counts  *ebpf.Map                  // the case's counts (vb_stage_cnt's inner map)
	progs   map[Boundary]*ebpf.Program // the shared tracing programs of its boundaries (not its own)
	ingress *Counters                  // the ingress stamp, attached as the counter is (its objs hold only the program)
	present []Boundary                 // stamped in BPF
	missing map[Boundary]error
	rread   *receiverRead // the read boundary from the receiver, or nil
	closed  bool
}

// stagesShared is what every live Stages of the process shares. The
// tracepoints see every packet of the machine: a copy of their programs
// per case would run N times per packet with N cases alive (a 3-case
// interleaved sweep lost 24% of veth's rate so). So each tracing program
// is loaded and attached once, while a live case has its boundary, and
// finds a datagram's case by its destination port in vb_stage_cases.
type stagesShared struct {
	spec   *ebpf.CollectionSpec // the stage objects, without the inner map templates
	copts  *ebpf.CollectionOptions
	slots  *ebpf.Map // vb_stage_slots: every case's datagrams in flight
	cases  *ebpf.Map // vb_stage_cases: port -> case config
	hists  *ebpf.Map // vb_stage_hists: index -> the case's histograms
	counts *ebpf.Map // vb_stage_cnt: index -> the case's counts
	tps    map[Boundary]*stageTracepoint
	ports  map[uint16]uint32 // the live cases' ports and indexes
	used   [stageCases]bool
	next   uint32 // where the next index is looked for
}

// stageTracepoint is a tracing program attached for the live cases that
// have its boundary.
type stageTracepoint struct {
	prog  *ebpf.Program
	link  link.Link
	users int
}

// stagesState holds the shared state while a Stages is alive; its mutex
// orders every LoadStages and Close of the process (and is taken before a
// Stages' own).
var stagesState struct {
	mu sync.Mutex
	sh *stagesShared
}

// LoadStages attaches the stage stamps for opts.DstPort's datagrams: each
// boundary the kernel offers, the tracepoints as tp_btf, and the ingress
// stamp at opts.IngressIfname's ingress with TCX or cls_bpf, as
// AttachIngress does (attach it after the counter: with TCX it goes first
// in the chain). Attach before the traffic starts. The tracing programs
// are shared by every Stages of the process: the first one that needs a
// tracepoint attaches it, the last one to close detaches it; a case is
// stamped at exactly its own boundaries, whatever the others attached. A
// boundary the kernel lacks (no such tracepoint in its BTF; for
// BoundaryRead, a kernel whose UDP does not free a read datagram in the
// reader's recvmsg, see readDeferredFrom) does not fail the whole: Missing
// says why each absent boundary is absent, with an error wrapping
// ErrNotSupported for what the kernel lacks. Any other failure (a verifier
// rejection, no such device, a live Stages on the same port) fails it,
// leaving nothing behind. The caller must Close the result.
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
		port:    opts.DstPort,
		progs:   map[Boundary]*ebpf.Program{},
		present: []Boundary{BoundarySend},
		missing: map[Boundary]error{},
	}
	// Which boundaries the case has: its config tells the programs the
	// first, the last and which are present.
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
	stagesState.mu.Lock()
	defer stagesState.mu.Unlock()
	sh := stagesState.sh
	if sh != nil {
		if _, dup := sh.ports[opts.DstPort]; dup {
			return nil, fmt.Errorf("bpf stages: port %d already has live stage stamps (one Stages per case and port)", opts.DstPort)
		}
	} else {
		if sh, err = newStagesShared(kernel); err != nil {
			return nil, err
		}
		stagesState.sh = sh
	}
	if err := st.register(sh, opts); err != nil {
		// Undo exactly what register did; the shared state goes with
		// its last case.
		st.unregister(sh)
		return nil, err
	}
	if opts.ReadByReceiver && errors.Is(st.missing[BoundaryRead], ErrNotSupported) && slices.Contains(st.present, BoundaryIngress) {
		if st.rread, err = newReceiverRead(sh.slots); err != nil {
			st.unregister(sh)
			return nil, fmt.Errorf("map the stage slots for the receiver's read: %w", err)
		}
		delete(st.missing, BoundaryRead)
	}
	return st, nil
}

// newStagesShared loads the shared maps; the tracing programs come with
// the cases that need them.
func newStagesShared(kernel *btf.Spec) (*stagesShared, error) {
	spec, err := loadStages()
	if err != nil {
		return nil, err
	}
	// The inner map templates are only the inner maps' shape, which
	// the outer maps' specs hold too (InnerMap): never created.
	delete(spec.Maps, stagesMapVbStageHistsInner)
	delete(spec.Maps, stagesMapVbStageCntInner)
	var maps struct {
		Slots  *ebpf.Map `ebpf:"vb_stage_slots"`
		Cases  *ebpf.Map `ebpf:"vb_stage_cases"`
		Hists  *ebpf.Map `ebpf:"vb_stage_hists"`
		Counts *ebpf.Map `ebpf:"vb_stage_cnt"`
	}
	if err := spec.LoadAndAssign(&maps, nil); err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: load stage maps: %w", ErrNotSupported, err)
		}
		return nil, fmt.Errorf("load stage maps: %w", err)
	}
	return &stagesShared{
		spec: spec,
		copts: &ebpf.CollectionOptions{
			Programs: ebpf.ProgramOptions{KernelTypes: kernel},
			MapReplacements: map[string]*ebpf.Map{
				stagesMapVbStageSlots: maps.Slots,
				stagesMapVbStageCases: maps.Cases,
				stagesMapVbStageHists: maps.Hists,
				stagesMapVbStageCnt:   maps.Counts,
			},
		},
		slots: maps.Slots, cases: maps.Cases, hists: maps.Hists, counts: maps.Counts,
		tps:   map[Boundary]*stageTracepoint{},
		ports: map[uint16]uint32{},
	}, nil
}

// close frees the shared maps; every case is gone.
func (sh *stagesShared) close() error {
	var errs []error
	for _, m := range []*ebpf.Map{sh.slots, sh.cases, sh.hists, sh.counts} {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}

// register makes st one of sh's cases (under stagesState.mu): its index,
// its maps, the tracepoints of its boundaries, its ingress stamp, and,
// last, its config, from which on the programs stamp its datagrams at
// every boundary at once. On an error, unregister undoes what was done.
func (st *Stages) register(sh *stagesShared, opts StagesOptions) error {
	index, ok := sh.allocIndex()
	if !ok {
		return fmt.Errorf("bpf stages: %d stage stamps alive at once, the most there can be", stageCases)
	}
	st.index = index
	sh.ports[st.port] = index
	var err error
	if st.hists, err = newInnerMap(sh.spec.Maps[stagesMapVbStageHists], sh.hists, index); err != nil {
		return fmt.Errorf("stage histograms: %w", err)
	}
	if st.counts, err = newInnerMap(sh.spec.Maps[stagesMapVbStageCnt], sh.counts, index); err != nil {
		return fmt.Errorf("stage counts: %w", err)
	}
	cfg := stagesVbStageCase{
		Index: index,
		First: uint8(st.present[1]),
		Last:  uint8(st.present[len(st.present)-1]),
	}
	for _, b := range st.present[1:] {
		cfg.Present |= 1 << b
		if b == BoundaryIngress {
			err = st.attachIngress(sh, opts)
		} else {
			err = st.acquireTracepoint(sh, b)
		}
		if err != nil {
			return err
		}
	}
	if err := sh.cases.Update(uint32(st.port), cfg, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("register stage port %d: %w", st.port, err)
	}
	return nil
}

// allocIndex gives out a free case index, round robin: a closed case's
// index is the last one taken again, so a program that found the closed
// case's config just before it went cannot count into a new case's maps.
func (sh *stagesShared) allocIndex() (uint32, bool) {
	for range stageCases {
		i := sh.next
		sh.next = (sh.next + 1) % stageCases
		if !sh.used[i] {
			sh.used[i] = true
			return i, true
		}
	}
	return 0, false
}

// newInnerMap creates a case's map, of the inner kind of outerSpec, and
// puts it at index in outer.
func newInnerMap(outerSpec *ebpf.MapSpec, outer *ebpf.Map, index uint32) (*ebpf.Map, error) {
	m, err := ebpf.NewMap(outerSpec.InnerMap.Copy())
	if err != nil {
		return nil, err
	}
	if err := outer.Put(index, m); err != nil {
		m.Close()
		return nil, fmt.Errorf("put at %d: %w", index, err)
	}
	return m, nil
}

// unregister undoes register, as far as it got (under stagesState.mu):
// the config first, so that no program stamps the case any more, then its
// hooks and maps; the shared state goes with the last case.
func (st *Stages) unregister(sh *stagesShared) error {
	var errs []error
	if err := sh.cases.Update(uint32(st.port), stagesVbStageCase{}, ebpf.UpdateAny); err != nil {
		errs = append(errs, fmt.Errorf("unregister stage port %d: %w", st.port, err))
	}
	if st.ingress != nil {
		errs = append(errs, st.ingress.Close())
	}
	for b := range st.progs {
		errs = append(errs, sh.releaseTracepoint(b))
	}
	for _, m := range []struct{ outer, inner *ebpf.Map }{{sh.hists, st.hists}, {sh.counts, st.counts}} {
		if m.inner == nil {
			continue
		}
		if err := m.outer.Delete(st.index); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("remove case %d's map: %w", st.index, err))
		}
		errs = append(errs, m.inner.Close())
	}
	if idx, ok := sh.ports[st.port]; ok && idx == st.index {
		delete(sh.ports, st.port)
		sh.used[st.index] = false
	}
	if len(sh.ports) == 0 {
		errs = append(errs, sh.close())
		stagesState.sh = nil
	}
	st.progs, st.ingress, st.hists, st.counts = nil, nil, nil, nil
	return errors.Join(errs...)
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

// acquireTracepoint gives st boundary b's shared tracing program, loading
// and attaching it if no live case has it yet.
func (st *Stages) acquireTracepoint(sh *stagesShared, b Boundary) error {
	if t, ok := sh.tps[b]; ok {
		t.users++
		st.progs[b] = t.prog
		return nil
	}
	tp := stageTracepoints[b]
	prog, err := loadStageProgram(sh.spec, sh.copts, tp.prog, 0)
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
	sh.tps[b] = &stageTracepoint{prog: prog, link: l, users: 1}
	st.progs[b] = prog
	return nil
}

// releaseTracepoint gives back a case's use of boundary b's program: the
// last user detaches and frees it.
func (sh *stagesShared) releaseTracepoint(b Boundary) error {
	t, ok := sh.tps[b]
	if !ok {
		return nil
	}
	if t.users--; t.users > 0 {
		return nil
	}
	delete(sh.tps, b)
	var errs []error
	if err := t.link.Close(); err != nil {
		errs = append(errs, fmt.Errorf("detach %s: %w", stageTracepoints[b].prog, err))
	}
	errs = append(errs, t.prog.Close())
	return errors.Join(errs...)
}

// loadStageProgram loads one program of spec, with the maps copts
// replaces (and, for the ingress stamp, its case's port): a collection of
// that program alone, so that a program the kernel refuses (a tracepoint
// it lacks) does not take the others down.
func loadStageProgram(spec *ebpf.CollectionSpec, copts *ebpf.CollectionOptions, name string, ingressPort uint16) (*ebpf.Program, error) {
	ps := spec.Copy()
	for n := range ps.Programs {
		if n != name {
			delete(ps.Programs, n)
		}
	}
	if ingressPort != 0 {
		if err := ps.Variables[stagesVarIngressPort].Set(ingressPort); err != nil {
			return nil, fmt.Errorf("set %s: %w", stagesVarIngressPort, err)
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(ps, *copts)
	if err != nil {
		// %+v would print the whole verifier log; %v keeps the end of it.
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	prog := coll.DetachProgram(name)
	// The shared maps belong to the shared state; the program holds its
	// own reference to the .rodata it was loaded with.
	coll.Close()
	return prog, nil
}

func (st *Stages) attachIngress(sh *stagesShared, opts StagesOptions) error {
	prog, err := loadStageProgram(sh.spec, sh.copts, StageIngressProgram, opts.DstPort)
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
func (st *Stages) Boundaries() []Boundary {
	b := slices.Clone(st.present)
	if st.rread != nil {
		b = append(b, BoundaryRead)
	}
	return b
}

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
// of st's boundaries because it was already running on that CPU:
// sightings missing from the counts (a boundary skipped for that
// datagram). 0 on a healthy run. The tracing programs are shared by every
// Stages of the process, so this is process-wide: the misses of any
// case's datagrams, and of other packets, since the programs were
// attached (by the first live case that needed them).
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
	if st.rread != nil {
		st.rread.into(&s)
	}
	return s, nil
}

// Close unregisters the case: its datagrams are no longer stamped; it
// detaches its ingress stamp, frees its maps and, if it was the last live
// Stages using them, detaches and frees the tracing programs and the
// shared maps. It is idempotent.
func (st *Stages) Close() error {
	stagesState.mu.Lock()
	defer stagesState.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil
	}
	st.closed = true
	return st.unregister(stagesState.sh)
}
