package result

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"
)

// SchemaVersion is bumped on any change that an old reader would misread.
// Readers refuse files with a newer major version. The schema is documented
// in SCHEMA.md beside this file.
const SchemaVersion = 3

// Result is one vethbench result file: one run or one sweep.
type Result struct {
	Schema     string    `json:"schema"` // "vethbench-result"
	Version    int       `json:"version"`
	Tool       Tool      `json:"tool"`
	Command    []string  `json:"command"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Host       Host      `json:"host"`
	Settings   Settings  `json:"settings"`
	Cases      []Case    `json:"cases"`
	// Interrupted is set when the run was stopped (Ctrl-C) before the end;
	// the cases present are complete, the missing ones were not run.
	Interrupted bool `json:"interrupted,omitempty"`
	// Spec is the sweep spec as given (YAML), so that a report can show it
	// and a sweep can be repeated from its result; empty for `run`.
	Spec string `json:"spec,omitempty"`
	// Host-wide values (global sysctls) as found before the run, whether or
	// not a case changed them.
	HostKnobs map[string]string `json:"host_knobs,omitempty"`
	// Questions are the sweep's questions in the spec's order, each with
	// the case its answer compares the others with. Absent for `run` and
	// in files written before it was added: a report then takes the first
	// case of each question in the file as its baseline.
	Questions []Question `json:"questions,omitempty"`
}

// Question is one question of a sweep (a group of its spec).
type Question struct {
	Text string `json:"question"` // as the cases' Questions name it
	// Baseline is the name of the case the question's answer compares
	// every other case of the question with: the one the spec's
	// `baseline:` selects, else the first case of the group's grid. It may
	// be missing from Cases when the run was interrupted.
	Baseline string `json:"baseline"`
	// Paired holds the question's interleaved measurement (Settings.Method
	// "interleaved"): every case's rate and cost in each block, and its
	// ratios to Baseline from the same blocks. Nil for rounds, for a
	// question whose cases could not be measured together, and in files
	// written before version 3.
	Paired *Paired `json:"paired,omitempty"`
}

// Paired is one question's interleaved measurement: its cases were alive at
// once and the load moved from one to the next every Slice, in blocks that
// gave each case one slice, in an order drawn from Seed. Block i of every
// case's series is the same stretch of time; warm-up blocks are not in them.
type Paired struct {
	Slice time.Duration `json:"slice_ns"`
	Seed  uint64        `json:"seed"`
	// WarmupBlocks are run and discarded at the start of every trial.
	WarmupBlocks int `json:"warmup_blocks"`
	Blocks       int `json:"blocks"` // measured blocks
	// TrialBlocks is the measured blocks of each trial, in order: every
	// trial was measured in topologies built for it, and the series hold
	// the trials' blocks one after the other.
	TrialBlocks []int `json:"trial_blocks"`
	// Stop says why the question stopped adding blocks.
	Stop  string       `json:"stop,omitempty"`
	Cases []PairedCase `json:"cases"`
}

// PairedCase is one case's series in an interleaved question.
type PairedCase struct {
	Case string `json:"case"`
	// PPS is the slice's rate per block: what the receiver took while the
	// load was on the case, over the slice's sending time (the drain
	// after it is not counted).
	PPS []float64 `json:"pps"`
	// CPUNsPerPkt is per block the CPU time of the run's threads (the
	// case's senders and its receiver, by their thread clocks) over the
	// slice and its drain, per packet received in them.
	CPUNsPerPkt []float64 `json:"cpu_ns_per_pkt"`
	// PPSRatio and CPURatio compare the case with the question's baseline
	// block by block; nil for the baseline itself and when fewer than 2
	// blocks have both.
	PPSRatio *Ratio `json:"pps_ratio,omitempty"`
	CPURatio *Ratio `json:"cpu_ratio,omitempty"`
}

// Ratio is a paired ratio: the 20%-trimmed geometric mean of per-block ratios, with
// its interval (stats.PairedRatio).
type Ratio struct {
	Ratio  float64 `json:"ratio"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	Level  float64 `json:"level"`
	Blocks int     `json:"blocks"`
	// Trials is how many trials the interval is over (one value each);
	// 0 when it is over the blocks of a single trial.
	Trials int `json:"trials,omitempty"`
	// P is the two-sided p-value of "the mean log-ratio is 0".
	P float64 `json:"p"`
	// Method names how the interval was computed.
	Method string `json:"method"`
}

// Tool identifies what produced the file.
type Tool struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
}

// Host is the machine context a figure is only meaningful in.
type Host struct {
	// Name is the host's name (uname's nodename), so that a history of
	// runs can tell machines apart (vethbench trend). Added within
	// version 3; empty in older files.
	Name     string `json:"name,omitempty"`
	Kernel   string `json:"kernel"`
	Arch     string `json:"arch"`
	CPUModel string `json:"cpu_model"`
	VCPUs    int    `json:"vcpus"`
	// StealPct is the share of CPU time the hypervisor took during the run
	// (from /proc/stat), in percent. High steal makes every figure noisier.
	StealPct float64 `json:"steal_pct"`
	// BusyPct is the host's CPU use over the run, in percent of all vCPUs.
	BusyPct float64 `json:"busy_pct"`
	// IRQTimeAccounting is "off" when a thread's CPU clock includes the
	// softirq work done on its CPU while it ran (kernels without
	// CONFIG_IRQ_TIME_ACCOUNTING), "on" when it does not, "unknown" when
	// vethbench could not tell. It says what GeneratorCPUPct,
	// ReceiverCPUPct and ThreadCPUNsPerPkt hold; CPUNsPerPkt does not
	// depend on it. Added in version 2.
	IRQTimeAccounting string `json:"irq_time_accounting,omitempty"`
}

// Settings are the measurement parameters shared by every case.
type Settings struct {
	Trials   int           `json:"trials"`
	Duration time.Duration `json:"duration_ns"`
	Warmup   time.Duration `json:"warmup_ns"`
	// Confidence is the target coverage of the median intervals (0.95).
	Confidence float64 `json:"confidence"`
	// Interleaved runs: cases ran in rounds in an order shuffled with Seed;
	// a case stopped between Trials and MaxTrials once its median pps
	// interval was within Target of the median.
	Interleaved bool    `json:"interleaved,omitempty"`
	MaxTrials   int     `json:"max_trials,omitempty"`
	Target      float64 `json:"target,omitempty"`
	Seed        uint64  `json:"seed,omitempty"`
	// Method is how a sweep compared its cases: "interleaved" (each
	// question's cases alive at once, the load moving between them every
	// Slice; Questions[i].Paired has the blocks) or "rounds" (Interleaved
	// set). Empty for a run of one case and in files before version 3.
	Method string        `json:"method,omitempty"`
	Slice  time.Duration `json:"slice_ns,omitempty"`
	// TimeLimit bounded an interleaved sweep: each question could spend
	// its share of what was left (0: no limit).
	TimeLimit time.Duration `json:"time_limit_ns,omitempty"`
}

// Case status values.
const (
	StatusOK          = "ok"
	StatusUnsupported = "unsupported"
	StatusFailed      = "failed"
)

// Case is one configuration: a topology, traffic and knob values, measured
// over several trials.
type Case struct {
	Name     string   `json:"name"` // stable identifier, e.g. "veth/pkt=64"
	Status   string   `json:"status"`
	Error    string   `json:"error,omitempty"`
	Topology Topology `json:"topology"`
	Traffic  Traffic  `json:"traffic"`
	Counter  string   `json:"counter_hook"` // "tcx" or "cls_bpf"
	// DropCounter says how drops were counted: "kfree_skb via tp_btf" (or
	// raw_tp), or "kernel counters" where the kernel gives no drop reasons.
	DropCounter string `json:"drop_counter"`
	// Knobs holds every knob read back from every device after setup, keyed
	// by device role ("sender", "receiver", ...).
	Knobs map[string]DeviceKnobs `json:"knobs"`
	// Sysctls holds the allow-listed per-namespace sysctls read back after
	// setup, by namespace name ("sender", "router", ...).
	Sysctls map[string]map[string]string `json:"sysctls,omitempty"`
	// Questions are the sweep groups this case answers.
	Questions []string `json:"questions,omitempty"`
	// Settings are the knobs the case set, one entry per knob and target,
	// with the value before and the value the kernel took.
	Settings []Setting `json:"settings,omitempty"`
	// Flags name what makes the case's figures suspect or not what was
	// asked: a knob refused or changed by the kernel, accounting not closed.
	Flags  []string `json:"flags,omitempty"`
	Trials []Trial  `json:"trials"`
	// Stop says why the case stopped adding trials (interleaved runs).
	Stop string `json:"stop,omitempty"`
	// Partial: the run was interrupted before the case finished; its
	// trials are complete, its summary is over them. Added within
	// version 3.
	Partial  bool     `json:"partial,omitempty"`
	Summary  *Summary `json:"summary,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Topology describes how the case's sender and receiver were wired. It is
// the schema's own copy of the topology spec, so that the file format does
// not change when the code's spec does.
type Topology struct {
	Kind         string `json:"kind"`
	Family       string `json:"family"`
	MTU          int    `json:"mtu"`
	TxQueues     int    `json:"tx_queues"`      // sending end of each link
	RxQueues     int    `json:"rx_queues"`      // sending end of each link
	PeerTxQueues int    `json:"peer_tx_queues"` // receiving end of each link
	PeerRxQueues int    `json:"peer_rx_queues"` // receiving end of each link
	Mode         string `json:"mode,omitempty"`
	RunID        string `json:"run_id"`
}

// Setting is one knob set on one target.
type Setting struct {
	Knob   string `json:"knob"`
	Target string `json:"target"` // device role, namespace name or "host"
	Asked  string `json:"asked"`
	Before string `json:"before"`
	After  string `json:"after"` // as read back from the kernel
	// Status: "ok", "changed" (the kernel took another value), "refused",
	// "not applicable" (the device has no such knob), "unsupported".
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Traffic describes the generator of a case.
type Traffic struct {
	// Generator is udp, packet, xdp, tcp or rr (see SCHEMA.md for what
	// each one's figures mean).
	Generator string `json:"generator"`
	// Unit is what sent and received count: "datagrams" (udp, packet,
	// xdp), "bytes" (tcp) or "requests" (rr: sent requests, received
	// responses). Empty in files before generators other than udp: datagrams.
	Unit string `json:"unit,omitempty"`
	// GSO is the UDP GSO segment count of the udp generator (0: off).
	GSO int `json:"gso_segments,omitempty"`
	// QdiscBypass: the packet generator's frames skipped the sender's qdisc.
	QdiscBypass bool `json:"qdisc_bypass,omitempty"`
	// XDPBatchStamp: the xdp generator read the clock once per batch, not
	// per frame, and StampSpread says how long a stamp served (so how much
	// one-way latencies read high). Added in version 2.
	XDPBatchStamp bool         `json:"xdp_batch_stamp,omitempty"`
	StampSpread   *StampSpread `json:"stamp_spread,omitempty"`
	// Proto is the rr generator's protocol: udp or tcp.
	Proto string `json:"proto,omitempty"`
	// CostNS is the validation knob cost_ns: the receiver's ingress
	// counter spent about this many ns more CPU on every vethbench packet
	// (0: off). Never set in a real measurement. Added within version 3.
	CostNS int `json:"cost_ns,omitempty"`
	// Bypasses names the parts of the sending path the generator skips,
	// in words, for reports: the figure does not include their cost.
	Bypasses  string  `json:"bypasses,omitempty"`
	FrameSize int     `json:"frame_size"`
	Flows     int     `json:"flows"`
	Senders   int     `json:"senders"`
	Rate      float64 `json:"rate_pps"` // 0 = unlimited
	Batch     int     `json:"batch"`
	Family    string  `json:"family"`
	DstPort   uint16  `json:"dst_port"` // reserved per case, see SCHEMA.md
	// SenderCPUs[i] is the CPU sender i was pinned to, ReceiverCPU the
	// receiving socket reader's (-1: not pinned).
	SenderCPUs  []int `json:"sender_cpus,omitempty"`
	ReceiverCPU int   `json:"receiver_cpu"`
	RcvBuf      int   `json:"receiver_rcvbuf"` // effective SO_RCVBUF, bytes
}

// StampSpread is how long the xdp generator's batch stamps served, over a
// case's windows (warm-ups included): for each batch, from the clock read
// at its first frame to its last frame, which is how much earlier than
// that frame its send time is. Earlier frames of a batch were stamped less
// early.
type StampSpread struct {
	Batches uint64  `json:"batches"` // batches measured
	MeanNs  float64 `json:"mean_ns"`
	MaxNs   float64 `json:"max_ns"`
}

// Merge adds the batches of o; either may be nil.
func (s *StampSpread) Merge(o *StampSpread) *StampSpread {
	switch {
	case s == nil:
		return o
	case o == nil:
		return s
	}
	n := s.Batches + o.Batches
	if n == 0 {
		return &StampSpread{}
	}
	return &StampSpread{
		Batches: n,
		MeanNs:  (s.MeanNs*float64(s.Batches) + o.MeanNs*float64(o.Batches)) / float64(n),
		MaxNs:   max(s.MaxNs, o.MaxNs),
	}
}

// DeviceKnobs is what one device's knobs read back as.
type DeviceKnobs struct {
	Ifname     string          `json:"ifname"`
	Kind       string          `json:"kind"`
	MTU        int             `json:"mtu"`
	TxQueueLen int             `json:"txqueuelen"`
	Qdisc      string          `json:"qdisc"`
	TxQueues   int             `json:"tx_queues"`
	RxQueues   int             `json:"rx_queues"`
	Features   map[string]bool `json:"features,omitempty"` // ethtool features: generic-receive-offload...
	XDP        string          `json:"xdp"`                // "none", or the attach mode
	// QdiscLimit is the root qdisc's limit where it has one of its own:
	// packets for pfifo, bytes for bfifo (taken from txqueuelen when the
	// qdisc was created) and tbf.
	QdiscLimit int `json:"qdisc_limit,omitempty"`
	// QdiscRateBps is a tbf root qdisc's rate (shape_mbit), bits/s.
	QdiscRateBps int64 `json:"qdisc_rate_bps,omitempty"`
	// NAPI settings from /sys/class/net/DEV: threaded ("on", "off"),
	// gro_flush_timeout in ns, napi_defer_hard_irqs.
	ThreadedNAPI      string   `json:"threaded_napi,omitempty"`
	GROFlushTimeout   int64    `json:"gro_flush_timeout_ns"`
	NAPIDeferHardIRQs int64    `json:"napi_defer_hard_irqs"`
	Errors            []string `json:"errors,omitempty"` // knobs that could not be read, and why
}

// Trial is one measurement window.
type Trial struct {
	Index    int           `json:"index"`
	Duration time.Duration `json:"duration_ns"` // how long the generator ran
	// Slices, in an interleaved sweep, is the number of the case's slices
	// the trial is made of (one per block, in consecutive blocks):
	// Duration is their sending time added up, the rates count what
	// arrived while the generator ran, and the counts and the latency
	// are of everything sent in them, drains included. Added in version 3.
	Slices int `json:"slices,omitempty"`
	// Packet counts over the window.
	Sent        uint64 `json:"sent"`         // accepted by the sender's sendmmsg
	AtDevice    uint64 `json:"at_device"`    // vethbench packets seen by the eBPF counter at the receiver's ingress
	Received    uint64 `json:"received"`     // read by the receiving socket
	DeviceRx    uint64 `json:"device_rx"`    // the receiving device's rx_packets (all packets)
	EBPFRx      uint64 `json:"ebpf_rx"`      // all packets seen by the eBPF counter
	SentBytes   uint64 `json:"sent_bytes"`   // frame bytes
	DeviceBytes uint64 `json:"device_bytes"` // receiving device's rx_bytes
	// Dropped is the number of vethbench packets the kernel dropped in the
	// window: the total of DropReasons, or KernelDropped where the kernel
	// gives no drop reasons (see Case.DropCounter).
	Dropped uint64 `json:"dropped"`
	// DropReasons counts dropped vethbench packets by the kernel's drop
	// reason (skb:kfree_skb), e.g. SOCKET_RCVBUFF, CPU_BACKLOG, QDISC_DROP.
	DropReasons map[string]uint64 `json:"drop_reasons,omitempty"`
	// DropMisses counts times the drop counter could not run (recursion);
	// non-zero means some drops may be missing.
	DropMisses uint64 `json:"drop_misses,omitempty"`
	// Drops lists the non-zero kernel drop counters by
	// "<device role or namespace>.<counter>", and KernelDropped sums those
	// that count distinct packets: a cross-check of Dropped.
	Drops         map[string]uint64 `json:"kernel_drops"`
	KernelDropped uint64            `json:"kernel_dropped"`
	SendErrs      map[string]uint64 `json:"send_errors,omitempty"`
	// SeqGaps counts packets missing from the per-flow sequence numbers the
	// receiver read: an independent count of loss, which should equal
	// sent - received.
	SeqGaps uint64 `json:"seq_gaps"`
	// Stale counts datagrams of earlier windows that arrived during this
	// one too late (TagSlots windows or more) to be counted in theirs;
	// they are in no window's figures. Added in version 2.
	Stale uint64 `json:"stale,omitempty"`
	// Accounting: sent = received + dropped, within AccountingTolerance.
	Unaccounted int64 `json:"unaccounted"`
	Closed      bool  `json:"accounting_closed"`

	PPS     float64 `json:"pps"`      // received by the socket / duration
	SentPPS float64 `json:"sent_pps"` // sent / duration
	// DevicePPS is at_device / duration: the rate the path delivered to
	// the receiving device, whether or not the receiving socket kept up.
	DevicePPS   float64 `json:"device_pps"`
	BytesPerSec float64 `json:"bytes_per_sec"` // received frame bytes / duration
	// CPUNsPerPkt is this run's CPU cost: the busy time (user, nice,
	// system, irq, softirq in /proc/stat) of the CPUs the run pinned its
	// threads to (Traffic.SenderCPUs and ReceiverCPU; every CPU when none
	// was pinned), from the window's first counter reading to its last
	// (the drain included), divided by the packets received in that span
	// (tcp: segments). Before version 2 it was every CPU's busy time over
	// the generator's run only.
	CPUNsPerPkt float64 `json:"cpu_ns_per_pkt"`
	// ThreadCPUNsPerPkt is the run's own threads' CPU clocks (generator
	// and receiver) over the same span, divided the same way: no other
	// process is in it, but softirq is only when the kernel charges it to
	// threads (Host.IRQTimeAccounting "off"). Added in version 2.
	ThreadCPUNsPerPkt float64 `json:"thread_cpu_ns_per_pkt,omitempty"`
	// CPUBusyPct and StealPct are every CPU's busy and steal time over
	// the same span, in percent of all CPU time: the host's context, not
	// the run's cost. RunCPUBusyPct is the busy share of the run's CPUs
	// (those CPUNsPerPkt charges) over it. Added in version 2.
	CPUBusyPct    float64 `json:"cpu_busy_pct"`
	StealPct      float64 `json:"steal_pct"`
	RunCPUBusyPct float64 `json:"run_cpu_busy_pct,omitempty"`
	Latency       Latency `json:"latency"`
	GeneratorLag  int64   `json:"generator_lag_ns,omitempty"`
	// Outlier marks a trial whose pps lies outside Tukey's fences (1.5 IQR)
	// among the case's trials. It is flagged, never dropped.
	Outlier bool `json:"outlier,omitempty"`

	// GeneratorCPUPct is the generator threads' CPU clocks over the
	// generator's run, in percent of one CPU per thread (100: every
	// sending thread always busy). On veth the receive path's softirq runs
	// on the sending thread's CPU; it is in the threads' clocks only on
	// kernels that charge softirq to threads (Host.IRQTimeAccounting
	// "off"). ReceiverCPUPct is the clock of the thread that reads the
	// traffic (the UDP receiver, the TCP sink, the rr server) over the
	// window's span, drain included (before version 2: over the
	// generator's run, so it could exceed 100).
	GeneratorCPUPct float64 `json:"generator_cpu_pct"`
	ReceiverCPUPct  float64 `json:"receiver_cpu_pct"`
	// SenderCPUBusyPct is the busy share of the senders' CPUs and
	// SenderSoftirqPct the share of that busy time spent in softirq, while
	// the generator ran (from /proc/stat, whatever the kernel's IRQ time
	// accounting; 0 when the senders were not pinned): on veth, softirq
	// there is the receive path of what was sent. SenderCPUBusyPct was
	// added in version 2.
	SenderCPUBusyPct float64 `json:"sender_cpu_busy_pct,omitempty"`
	SenderSoftirqPct float64 `json:"sender_softirq_pct"`
	// Segments (tcp) is the TCP segments that reached the receiving
	// device (GRO aggregates count their segments), SegmentsPerSec their
	// rate; SentSegments is the sender's TCP segments out (TSO/GSO
	// aggregates count their segments), Retransmits those retransmitted.
	Segments       uint64  `json:"segments,omitempty"`
	SegmentsPerSec float64 `json:"segments_per_sec,omitempty"`
	SentSegments   uint64  `json:"sent_segments,omitempty"`
	Retransmits    uint64  `json:"retransmits,omitempty"`
	// AtDeviceSkbs is the skbs (GSO/GRO aggregates count once) behind
	// AtDevice, where they differ.
	AtDeviceSkbs uint64 `json:"at_device_skbs,omitempty"`
	// AtDevicePayload is the UDP or TCP payload bytes of the packets in
	// at_device, every segment of an aggregate included. For tcp and rr
	// over TCP it counts what the application sent, where at_device also
	// counts pure ACKs.
	AtDevicePayload uint64 `json:"at_device_payload_bytes,omitempty"`
	// Lost (rr) is the requests never answered: still unanswered when the
	// window's final drain ended. Late is the responses whose round trip
	// exceeded the timeout; they are in the latency histogram with their
	// real round trips (before version 2: given up on, counted in Lost and
	// left out of the histogram).
	Lost uint64 `json:"lost,omitempty"`
	Late uint64 `json:"late,omitempty"`
	// Stages is where the one-way time went, stage by stage (measure
	// with stages on); nil when it was off. Added within version 3.
	Stages *Stages `json:"stages,omitempty"`
}

// The stages of a vethbench datagram's one-way trip, in path order, each
// from one boundary where eBPF stamped it to the next.
const (
	StageSender = "sender" // the send call -> net_dev_queue: the sender's socket, IP and neighbour code
	StageQdisc  = "qdisc"  // -> net_dev_start_xmit: the sending device's qdisc
	StageDevice = "device" // -> the receiving device's ingress: veth's xmit, the receiver's backlog and softirq; a bridge or router between
	StageSocket = "socket" // -> the receiving socket's reader frees it after reading (consume_skb): receive, socket buffer, the read
)

// Stages is a trial's per-stage one-way latency: every vethbench datagram
// stamped at each boundary the kernel offers (the first time it passes
// it), so that its stages add up to its trip from the send call to the
// last boundary. Added within version 3.
type Stages struct {
	// Boundaries are those stamped, in path order: "send", "queue",
	// "xmit", "ingress", and "read" (see ReadBy).
	Boundaries []string `json:"boundaries"`
	// Stages in path order, those with a count. A stage whose start
	// boundary was not seen is missing, and the next stage holds its time
	// (Stage.Merged counts the datagrams it does so for).
	Stages []Stage `json:"stages"`
	// Total is the whole trip timed: the send call to the last boundary.
	Total Stage `json:"total"`
	// Late: sightings after a datagram's first at a boundary (a bridge
	// forwarding it to another device), not timed. Restarted: datagrams
	// found without a stamp of their own after the first boundary (XDP
	// frames pass no qdisc; or their slot was taken), timed from the
	// send call. Evicted: stamps overwritten before the last boundary.
	// GSO: GSO skbs, not timed.
	Late      uint64 `json:"late,omitempty"`
	Restarted uint64 `json:"restarted,omitempty"`
	Evicted   uint64 `json:"evicted,omitempty"`
	GSO       uint64 `json:"gso,omitempty"`
	// ReadBy says who marked the read: "kernel" (consume_skb in the
	// reader's recvmsg, before 6.18) or "receiver" (vethbench's receiver
	// after its recvmmsg returned, where the kernel does not mark it);
	// "" without a read boundary. ReadUnmatched: datagrams the receiver
	// read that it could not time (their stamp gone), not in the socket
	// stage.
	ReadBy        string `json:"read_by,omitempty"`
	ReadUnmatched uint64 `json:"read_unmatched,omitempty"`
}

// Stage is one stage's times over a trial, from its eBPF histogram (the
// latency histogram's layout) and its exact sum.
type Stage struct {
	Name   string  `json:"name"`
	Count  uint64  `json:"count"`
	Merged uint64  `json:"merged,omitempty"`
	MeanNs float64 `json:"mean_ns"` // exact
	P50    float64 `json:"p50_ns"`
	P99    float64 `json:"p99_ns"`
	// Resolution is the histogram's relative bucket width.
	Resolution float64  `json:"resolution"`
	Histogram  []uint64 `json:"histogram,omitempty"`
	SubBits    int      `json:"sub_bits,omitempty"`
}

// StageSummary is one stage over a case's trials: medians with intervals.
type StageSummary struct {
	Name   string   `json:"name"`
	MeanNs Estimate `json:"mean_ns"`
	P50    Estimate `json:"p50_ns"`
	P99    Estimate `json:"p99_ns"`
}

// AccountingTolerance is the share of sent packets that may be unaccounted
// for while the accounting still counts as closed.
const AccountingTolerance = 0.001

// Latency holds one-way latency percentiles (send call to the receiver's
// ingress) from the eBPF histogram. Each is the midpoint of its bucket;
// Resolution is the bucket's relative width, the error bound. SubBits is
// the histogram's layout (see SCHEMA.md); 0, in files written before it was
// recorded, is 3.
type Latency struct {
	// Kind is "one-way" (the send call or, for packet and xdp, the frame's
	// stamp, to the receiving device's ingress, from the eBPF histogram)
	// or "round-trip" (rr: from the request's intended send time to the
	// response read by the client). Empty in older files: one-way.
	Kind       string   `json:"kind,omitempty"`
	Count      uint64   `json:"count"`
	P50        float64  `json:"p50_ns"`
	P90        float64  `json:"p90_ns"`
	P99        float64  `json:"p99_ns"`
	P999       float64  `json:"p999_ns"`
	Resolution float64  `json:"resolution"`
	Histogram  []uint64 `json:"histogram,omitempty"` // bucket counts, see SCHEMA.md
	// SubBits: the histogram splits every power of two into 2^SubBits
	// buckets. Added within version 1; absent (0) means 3.
	SubBits   int    `json:"sub_bits,omitempty"`
	BadStamps uint64 `json:"bad_timestamps,omitempty"`
	// Lost (rr) is the requests never answered. The percentiles are over
	// every request, Count answered and Lost unanswered, a lost one
	// counting as slower than every answer; a percentile that falls on a
	// lost request is known only to be at least the largest round trip
	// recorded (the lower bound of its bucket), and LowerBounds names it.
	// Added in version 2.
	Lost uint64 `json:"lost,omitempty"`
	// LowerBounds names the percentiles ("p50", "p90", "p99", "p99.9")
	// that are lower bounds, not estimates (see Lost). Added in version 2.
	LowerBounds []string `json:"lower_bounds,omitempty"`
}

// The percentiles' names in LowerBounds.
const (
	PctP50  = "p50"
	PctP90  = "p90"
	PctP99  = "p99"
	PctP999 = "p99.9"
)

// IsLowerBound reports whether percentile p (PctP50...) is a lower bound.
func (l Latency) IsLowerBound(p string) bool { return slices.Contains(l.LowerBounds, p) }

// HistogramSubBits is the histogram's SubBits, 3 where the file does not
// say (it was written before the layout was recorded).
func (l Latency) HistogramSubBits() int {
	if l.SubBits == 0 {
		return 3
	}
	return l.SubBits
}

// Estimate is a median over trials with its confidence interval.
type Estimate struct {
	Median float64 `json:"median"`
	Lo     float64 `json:"ci_lo"`
	Hi     float64 `json:"ci_hi"`
	// Level is the interval's actual coverage; below the target when there
	// are too few trials (then Lo and Hi are the extremes).
	Level float64 `json:"ci_level"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	N     int     `json:"n"`
}

// Summary condenses a case's trials.
type Summary struct {
	PPS         Estimate `json:"pps"`
	DevicePPS   Estimate `json:"device_pps"`
	BytesPerSec Estimate `json:"bytes_per_sec"`
	CPUNsPerPkt Estimate `json:"cpu_ns_per_pkt"`
	P50         Estimate `json:"latency_p50_ns"`
	P90         Estimate `json:"latency_p90_ns"`
	P99         Estimate `json:"latency_p99_ns"`
	P999        Estimate `json:"latency_p999_ns"`
	Sent        uint64   `json:"sent"`
	Received    uint64   `json:"received"`
	Dropped     uint64   `json:"dropped"`
	// DropReasons sums the trials' drops by reason.
	DropReasons map[string]uint64 `json:"drop_reasons,omitempty"`
	Closed      bool              `json:"accounting_closed"` // every trial closed
	// SentPPS is the rate the generator sent at (requests/s for rr,
	// bytes/s for tcp).
	SentPPS Estimate `json:"sent_pps"`
	// Lost and Late (rr) sum the trials'. LatencyLowerBounds names the
	// latency medians (PctP50...) that are lower bounds: a trial whose
	// percentile is a lower bound (Latency.LowerBounds) could raise them.
	// Added in version 2.
	Lost               uint64   `json:"lost,omitempty"`
	Late               uint64   `json:"late,omitempty"`
	LatencyLowerBounds []string `json:"latency_lower_bounds,omitempty"`
	// ThreadCPUNsPerPkt, GeneratorCPUPct, ReceiverCPUPct,
	// SenderCPUBusyPct and SenderSoftirqPct summarise the trials' (see
	// Trial). ThreadCPUNsPerPkt and SenderCPUBusyPct were added in
	// version 2.
	ThreadCPUNsPerPkt Estimate `json:"thread_cpu_ns_per_pkt"`
	GeneratorCPUPct   Estimate `json:"generator_cpu_pct"`
	ReceiverCPUPct    Estimate `json:"receiver_cpu_pct"`
	SenderCPUBusyPct  Estimate `json:"sender_cpu_busy_pct"`
	SenderSoftirqPct  Estimate `json:"sender_softirq_pct"`
	// Bottleneck says which side limited the figure; see Bottleneck.
	Bottleneck *Bottleneck `json:"bottleneck,omitempty"`
	// Stages summarises the trials' stages, in path order (the trip's
	// total last, named "total"); absent when stages were off. Added
	// within version 3.
	Stages []StageSummary `json:"stages,omitempty"`
}

// IsLowerBound reports whether the median of latency percentile p
// (PctP50...) is a lower bound.
func (s Summary) IsLowerBound(p string) bool { return slices.Contains(s.LatencyLowerBounds, p) }

// Bottleneck sides.
const (
	// BoundGenerator: the generator's threads were saturated and nothing
	// downstream dropped or saturated: the figure is the generator's
	// limit on this path, not the device's; a faster generator (or more
	// senders) would offer more.
	BoundGenerator = "generator"
	// BoundReceiver: the receiving thread was saturated or its socket
	// overflowed: the figure is what the receiver read, not what the
	// path can carry (device_pps shows what reached the device).
	BoundReceiver = "receiver"
	// BoundPath: packets were dropped on the path (a qdisc, a backlog, a
	// device): the path is the limit, which is what a device is measured for.
	BoundPath = "path"
	// BoundNone: a fixed rate was offered and delivered: nothing saturated.
	BoundNone = "none"
	// BoundUnknown: no side was saturated yet the offered load was not
	// met or the rate was unlimited (steal, another process...).
	BoundUnknown = "unknown"
)

// Bottleneck is which side limited a case's figure, and why.
type Bottleneck struct {
	Side   string `json:"side"`
	Detail string `json:"detail"`
}

// ErrSchema is returned for files that are not vethbench results or are of
// a newer schema than this build reads.
var ErrSchema = errors.New("not a readable vethbench result")

// NewResult returns a Result with the schema fields filled in.
func NewResult() *Result {
	return &Result{Schema: "vethbench-result", Version: SchemaVersion}
}

// Encode writes r as indented JSON.
func (r *Result) Encode(w io.Writer) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	// An interleaved sweep's series hold a number per block, thousands of
	// them: one line each made a default sweep's file 4 MB, most of it
	// indentation. Arrays of numbers go on one line.
	out := numArray.ReplaceAllFunc(b.Bytes(), func(m []byte) []byte {
		return numSep.ReplaceAll(numOpen.ReplaceAll(numClose.ReplaceAll(m, []byte("]")), []byte("[")), []byte(", "))
	})
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	return nil
}

// The layout Encode gives arrays of numbers: numArray matches one as
// json.Encoder indents it, the others the whitespace it puts around and
// between the numbers. JSON numbers never contain the brackets or the
// newlines these match, and a number inside a string is quoted.
var (
	numArray = regexp.MustCompile(`\[\n[ ]+-?[0-9][0-9.eE+-]*(?:,\n[ ]+-?[0-9][0-9.eE+-]*)*\n[ ]*\]`)
	numOpen  = regexp.MustCompile(`^\[\n[ ]+`)
	numClose = regexp.MustCompile(`\n[ ]*\]$`)
	numSep   = regexp.MustCompile(`,\n[ ]+`)
)

// WriteFile writes r to path atomically (temp file and rename), so a killed
// run never leaves a half-written result. The file is 0644, as any report:
// CreateTemp's 0600 made a sweep run with sudo unreadable to the CI user
// who runs trend on the history.
func (r *Result) WriteFile(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".vethbench-*.json")
	if err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write result: %w", err)
	}
	if err := r.Encode(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// Decode reads a result and checks its schema. It reads at most
// MaxFileSize bytes: a longer stream is an error.
func Decode(rd io.Reader) (*Result, error) {
	var r Result
	if err := json.NewDecoder(&limitReader{r: rd, n: MaxFileSize, max: MaxFileSize}).Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSchema, err)
	}
	if r.Schema != "vethbench-result" {
		return nil, fmt.Errorf("%w: schema %q", ErrSchema, r.Schema)
	}
	if r.Version > SchemaVersion {
		return nil, fmt.Errorf("%w: version %d is newer than this vethbench reads (%d)", ErrSchema, r.Version, SchemaVersion)
	}
	return &r, nil
}

// ReadFile reads a result file: ReadFileContext without a way to stop it.
func ReadFile(path string) (*Result, error) {
	return ReadFileContext(context.Background(), path)
}

// ReadFileContext reads a result file, a regular file of at most
// MaxFileSize bytes (see ReadInput), stopping when ctx is done. A path that
// is not such a file is a *FileError.
func ReadFileContext(ctx context.Context, path string) (*Result, error) {
	data, err := ReadInput(ctx, path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	r, err := Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}
