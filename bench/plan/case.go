package plan

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/bench/traffic"
	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/internal/field"
	"github.com/vethbench/vethbench/reports/result"
	"github.com/vethbench/vethbench/tuning"
)

// ErrInvalid is wrapped by every configuration error, each a *field.Error
// naming the field as the CLI's flags spell it.
var ErrInvalid = errors.New("invalid configuration")

// Generators lists the traffic generators, in the order help text shows
// them.
var Generators = []string{GenUDP, GenPacket, GenXDP, GenTCP, GenRR}

// Generator names.
const (
	GenUDP    = "udp"    // sendmmsg through the sender's UDP socket, optionally UDP GSO
	GenPacket = "packet" // AF_PACKET TX ring into the sender's device (what trafgen does)
	GenXDP    = "xdp"    // BPF_PROG_RUN live frames redirected into the sender's device
	GenTCP    = "tcp"    // bulk TCP
	GenRR     = "rr"     // request/response over UDP or TCP
)

// Traffic is the generator side of a case.
type Traffic struct {
	Generator string // one of Generators
	// FrameSize is the bytes on the wire without FCS (Ethernet + IP + UDP
	// + payload) of each datagram, or of each request and response (rr);
	// tcp ignores it (the stack sizes segments).
	FrameSize int
	Flows     int           // distinct source ports, or connections (tcp, rr)
	Senders   int           // sending threads (each its own sockets), at most Flows
	Rate      float64       // packets (requests) /s over all flows; 0 = as fast as possible (rr: closed loop)
	Batch     int           // packets per send call (udp: messages per sendmmsg; packet: frames per kick; xdp: live-frames batch)
	RcvBuf    int           // receiver SO_RCVBUF in bytes; 0 = kernel default
	Drain     time.Duration // longest wait for in-flight packets after a window
	// GSO (udp) sends each message as GSO datagrams with UDP_SEGMENT; 0 off.
	GSO int
	// QdiscBypass (packet) sets PACKET_QDISC_BYPASS: frames skip the
	// sender's qdisc.
	QdiscBypass bool
	// Proto (rr) is "udp" or "tcp"; empty means udp.
	Proto string
	// XDPBatchStamp (xdp) reads the send time once per batch instead of
	// once per frame: most of what the generator costs over a bare
	// redirect, for one-way latencies that read high by up to the time
	// a batch takes to make (traffic.XDPConfig.BatchStamp).
	XDPBatchStamp bool
	// CostNS is a validation knob, never for real measurements: the
	// counter at the receiver's ingress spends about this many ns more
	// CPU on every vethbench packet (vbpf.Options.CostNS), a known effect
	// with which a sweep checks its own sensitivity. 0 is off; at most
	// MaxCostNS.
	CostNS int
	// CostUnnamed leaves CostNS out of the case's name: sweep --cost-ns
	// slows every case of a sweep without renaming it, so that a history
	// of sweeps holds a known regression of the same cases (vethbench
	// trend). The result still records traffic.cost_ns.
	CostUnnamed bool
}

// MaxCostNS is the largest Traffic.CostNS.
const MaxCostNS = vbpf.MaxCostNS

// Case is one configuration to measure.
type Case struct {
	Topology topology.Spec
	Traffic  Traffic
	// Knobs are set after the topology is built and restored before it
	// is torn down.
	Knobs []tuning.Setting
	// Questions are the sweep groups the case answers (for the result).
	Questions []string
	// Replica tells apart cases that are otherwise the same, as an A/A
	// comparison needs: 2 for the second of them, 3 for the third; 0 or
	// 1 for the first. Only the name shows it: the cases are built and
	// measured alike.
	Replica int
}

// Name is the case's stable identifier in results and comparisons, in the
// grammar of result.FormatName: dimensions at their default are left out.
func (c Case) Name() string {
	s := c.Topology.WithDefaults()
	device := string(s.Kind)
	if s.Mode != "" {
		device += "-" + s.Mode
	}
	t := c.Traffic
	dims := map[string]string{
		result.DimFamily:    string(s.Family),
		result.DimMTU:       "default",
		result.DimQueues:    fmt.Sprintf("%dx%d", s.TxQueues, s.RxQueues),
		result.DimFlows:     strconv.Itoa(t.Flows),
		result.DimSenders:   strconv.Itoa(t.Senders),
		result.DimRate:      strconv.FormatFloat(t.Rate, 'g', -1, 64),
		result.DimBatch:     strconv.Itoa(t.Batch),
		result.DimRcvBuf:    strconv.Itoa(t.RcvBuf),
		result.DimUDPGSO:    strconv.Itoa(t.GSO),
		result.DimGenerator: t.Generator,
	}
	if t.Generator != GenTCP {
		dims[result.DimPkt] = strconv.Itoa(t.FrameSize)
	}
	if def := (topology.Spec{Kind: s.Kind}).WithDefaults(); s.MTU != def.MTU {
		dims[result.DimMTU] = strconv.Itoa(s.MTU)
	}
	if s.PeerTxQueues != s.TxQueues || s.PeerRxQueues != s.RxQueues {
		dims[result.DimQueues] += fmt.Sprintf(":%dx%d", s.PeerTxQueues, s.PeerRxQueues)
	}
	if t.QdiscBypass {
		dims[result.DimQdiscBypass] = "on"
	}
	if t.XDPBatchStamp {
		dims[result.DimXDPStamp] = "on"
	}
	if t.Generator == GenRR {
		dims[result.DimProto] = t.RRProto()
	}
	if t.CostNS != 0 && !t.CostUnnamed {
		dims[result.DimCostNS] = strconv.Itoa(t.CostNS)
	}
	if c.Replica > 1 {
		dims[result.DimReplica] = strconv.Itoa(c.Replica)
	}
	knobs := map[string]string{}
	for _, k := range c.Knobs {
		knobs[k.Name] = k.Value
	}
	return result.FormatName(device, dims, knobs)
}

// KnobValue is the value a case sets for a knob, or "".
func KnobValue(knobs []tuning.Setting, name string) string {
	for _, k := range knobs {
		if k.Name == name {
			return k.Value
		}
	}
	return ""
}

// RRProto is the rr protocol with its default.
func (t Traffic) RRProto() string {
	if t.Proto == "" {
		return "udp"
	}
	return t.Proto
}

// Measure is how each case is measured.
type Measure struct {
	Trials     int
	Duration   time.Duration // one trial's generator window
	Warmup     time.Duration // discarded window after each setup; 0 = none
	Confidence float64       // coverage of median intervals, e.g. 0.95
	// For interleaved runs (Run with several cases): MaxTrials bounds the
	// trials of a case (0 = Trials); a case stops adding trials once its
	// median pps interval's half-width is within Target of the median (0 =
	// always run MaxTrials). Seed fixes the shuffled order of the rounds.
	MaxTrials int
	Target    float64
	Seed      uint64
	// Method is how a sweep's cases are compared (MethodInterleaved,
	// the default when empty, or MethodRounds); a run of one case
	// measures it alone either way.
	Method string
	// Slice is how long the load stays on one case before it moves to
	// the next in an interleaved run (0 = DefaultSlice).
	Slice time.Duration
	// TimeLimit bounds an interleaved sweep (0 = none): each question may
	// spend its share of what is left, by its number of cases, and stops
	// adding trials (after Trials) when the next would go beyond it.
	TimeLimit time.Duration
	// Stages stamps vethbench's UDP datagrams with eBPF at each boundary
	// of their path the kernel offers (ebpf.LoadStages) for the
	// per-stage one-way latency (result.Trial.Stages). Off by default:
	// the stamps cost a few percent of the rate (docs/counters.md).
	Stages bool
}

// Measurement methods of a sweep (docs/method.md).
const (
	// MethodInterleaved keeps every case of a question alive at once and
	// moves the load from one to the next every slice, in blocks that
	// visit each case once; each block gives every case a ratio to the
	// question's baseline.
	MethodInterleaved = "interleaved"
	// MethodRounds measures whole trials in shuffled rounds, each trial
	// in a freshly built topology.
	MethodRounds = "rounds"
)

// Methods are the accepted values of Measure.Method.
var Methods = []string{MethodInterleaved, MethodRounds}

// DefaultSlice is an interleaved run's slice when none is given: on a
// 2-vCPU VM whose speed drifts in regimes of about a second, 10-20 ms
// slices gave block ratios with a CV of about 1%, 50 ms 2.4% (docs/method.md).
const DefaultSlice = 20 * time.Millisecond

// Slice limits: below MinSlice the switch itself (stopping the sender,
// the drain, the counters' reads) is a large part of a slice; above
// MaxSlice the machine's drift is no longer cancelled.
const (
	MinSlice = 5 * time.Millisecond
	MaxSlice = time.Second
)

// MethodOf returns m's method, MethodInterleaved when unset.
func (m Measure) MethodOf() string {
	if m.Method == "" {
		return MethodInterleaved
	}
	return m.Method
}

// SliceOf returns m's slice, DefaultSlice when unset.
func (m Measure) SliceOf() time.Duration {
	if m.Slice == 0 {
		return DefaultSlice
	}
	return m.Slice
}

// Limits on what a run may ask for.
const (
	MaxTrials   = 1000
	MaxDuration = time.Hour
	MaxFlows    = 1024
	MaxBatch    = 1024
	// MaxRcvBuf is the largest Traffic.RcvBuf. SO_RCVBUF takes a C int,
	// which the kernel doubles (for its bookkeeping) after clamping it to
	// INT_MAX/2; a value of 2^31 or more reaches it negative and becomes the
	// smallest buffer, 2304 bytes. Without CAP_NET_ADMIN it is also capped at
	// net.core.rmem_max, which the run reads back (a "changed" setting).
	MaxRcvBuf = math.MaxInt32 / 2
)

// Validate checks the case and measurement settings without privileges.
// Errors name the flag-level field.
func (c Case) Validate(m Measure) error {
	bad := func(name, format string, a ...any) error {
		return field.Errorf(ErrInvalid, name, format, a...)
	}
	if err := c.Topology.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	// NaN fails every comparison and Inf passes the upper bounds below:
	// refuse both by name before any range check, so that neither reaches
	// a generator's schedule or the statistics.
	for _, f := range []struct {
		name string
		v    float64
	}{{"rate", c.Traffic.Rate}, {"confidence", m.Confidence}, {"target", m.Target}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return bad(f.name, "%v is not a finite number", f.v)
		}
	}
	if m.Trials < 1 || m.Trials > MaxTrials {
		return bad("trials", "%d out of range [1, %d]", m.Trials, MaxTrials)
	}
	if m.Duration <= 0 || m.Duration > MaxDuration {
		return bad("duration", "%v out of range (0, %v]", m.Duration, MaxDuration)
	}
	if m.Duration < 100*time.Millisecond {
		return bad("duration", "%v is too short to measure (at least 100ms)", m.Duration)
	}
	if m.Warmup < 0 || m.Warmup > MaxDuration {
		return bad("warmup", "%v out of range [0, %v]", m.Warmup, MaxDuration)
	}
	if m.Confidence <= 0 || m.Confidence >= 1 {
		return bad("confidence", "%v out of range (0, 1)", m.Confidence)
	}
	if m.MaxTrials != 0 && m.MaxTrials < m.Trials {
		return bad("max_trials", "%d is below trials (%d): it is the upper bound of adaptive stopping", m.MaxTrials, m.Trials)
	}
	if m.MaxTrials > MaxTrials {
		return bad("max_trials", "%d out of range [trials, %d]", m.MaxTrials, MaxTrials)
	}
	if m.Target < 0 || m.Target >= 1 {
		return bad("target", "%v out of range [0, 1)", m.Target)
	}
	if m.Method != "" && !slices.Contains(Methods, m.Method) {
		return bad("method", "unknown method %q (available: %s)", m.Method, strings.Join(Methods, ", "))
	}
	if m.Slice != 0 && (m.Slice < MinSlice || m.Slice > MaxSlice) {
		return bad("slice", "%v out of range [%v, %v]", m.Slice, MinSlice, MaxSlice)
	}
	if m.TimeLimit < 0 || m.TimeLimit > 24*time.Hour {
		return bad("time_limit", "%v out of range [0, 24h]", m.TimeLimit)
	}
	t := c.Traffic
	if !slices.Contains(Generators, t.Generator) {
		return bad("generator", "unknown generator %q (available: %s)", t.Generator, strings.Join(Generators, ", "))
	}
	s := c.Topology.WithDefaults()
	ipv6 := s.Family == topology.IPv6
	lo, hi := traffic.MinFrame(ipv6), traffic.MaxFrame(s.MTU)
	if t.Generator == GenTCP {
		if t.Rate != 0 {
			return bad("rate", "%v: the tcp generator is bulk transfer and has no rate (use rr for a paced load)", t.Rate)
		}
	} else if t.FrameSize < lo || t.FrameSize > hi {
		return bad("pkt-size", "%d bytes out of range [%d, %d] (smallest %s UDP frame carrying vethbench's %d-byte header, largest MTU %d + 14)",
			t.FrameSize, lo, hi, s.Family, traffic.HeaderLen, s.MTU)
	}
	if t.Flows < 1 || t.Flows > MaxFlows {
		return bad("flows", "%d out of range [1, %d]", t.Flows, MaxFlows)
	}
	if t.Rate < 0 {
		return bad("rate", "%v is negative (0 means unlimited)", t.Rate)
	}
	if t.Senders < 1 || t.Senders > t.Flows {
		return bad("senders", "%d out of range [1, flows=%d] (each sender needs a flow of its own)", t.Senders, t.Flows)
	}
	if t.Batch < 1 || t.Batch > MaxBatch {
		return bad("batch", "%d out of range [1, %d]", t.Batch, MaxBatch)
	}
	if t.GSO != 0 && t.Generator != GenUDP {
		return bad("udp-gso", "only the udp generator uses UDP GSO (generator %s)", t.Generator)
	}
	if err := traffic.CheckGSO(t.GSO, t.FrameSize, ipv6); err != nil {
		return bad("udp-gso", "%v", err)
	}
	if t.QdiscBypass && t.Generator != GenPacket {
		return bad("qdisc-bypass", "only the packet generator can bypass the qdisc (generator %s)", t.Generator)
	}
	if t.XDPBatchStamp && t.Generator != GenXDP {
		return bad("xdp-batch-stamp", "only the xdp generator stamps frames in BPF (generator %s)", t.Generator)
	}
	if t.Proto != "" && t.Generator != GenRR {
		return bad("proto", "only the rr generator takes a protocol (generator %s)", t.Generator)
	}
	if p := t.RRProto(); t.Generator == GenRR && p != "udp" && p != "tcp" {
		return bad("proto", "%q: want udp or tcp", t.Proto)
	}
	if t.Generator == GenXDP && KnobValue(c.Knobs, "gro") == "off" && (KnobValue(c.Knobs, "xdp") == "" || KnobValue(c.Knobs, "xdp") == "off") {
		return bad("generator", "xdp needs NAPI at the sender's peer, and gro=off without an xdp program turns it off")
	}
	if t.Generator == GenXDP && s.Kind == topology.KindLoopback {
		return bad("generator", "xdp redirects into the sender's device, and lo cannot transmit XDP frames: use a veth-based topology")
	}
	if t.RcvBuf < 0 || t.RcvBuf > MaxRcvBuf {
		return bad("rcvbuf", "%d bytes out of range [0, %d] (SO_RCVBUF is an int the kernel doubles; 0 means the kernel default)", t.RcvBuf, MaxRcvBuf)
	}
	if t.Drain < 0 {
		return bad("drain", "%v is negative", t.Drain)
	}
	if t.CostNS < 0 || t.CostNS > MaxCostNS {
		return bad("cost-ns", "%d out of range [0, %d] (ns of CPU added per packet; 0 = off)", t.CostNS, MaxCostNS)
	}
	if c.Replica < 0 {
		return bad("replica", "%d is negative", c.Replica)
	}
	for _, k := range c.Knobs {
		if _, err := (tuning.Catalog{}).Parse(k.Name, k.Value); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	if err := tuning.CheckCombination(c.Knobs); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}
