package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vethbench/vethbench/bench"
	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/field"
	"github.com/vethbench/vethbench/reports"
	"github.com/vethbench/vethbench/reports/benchfmt"
	"github.com/vethbench/vethbench/reports/result"
)

type runFlags struct {
	topology     string
	mode         string
	family       string
	mtu          int
	txQueues     int
	rxQueues     int
	peerTxQueues int
	peerRxQueues int
	generator    string
	gso          int
	qdiscBypass  bool
	xdpStamp     bool
	costNS       int
	stages       bool
	proto        string
	pktSize      int
	flows        int
	senders      int
	rate         float64
	batch        int
	rcvbuf       int
	duration     time.Duration
	warmup       time.Duration
	trials       int
	confidence   float64
	format       string
	output       string
	quiet        bool
}

func kindNames() string {
	var s []string
	for _, k := range topology.Kinds {
		s = append(s, string(k))
	}
	return strings.Join(s, "|")
}

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Measure one configuration end to end and print it",
		Long: `run builds one topology in fresh network namespaces, attaches eBPF counters at
the receiving device's ingress (TCX, or cls_bpf on older kernels), starts a
draining UDP receiver and the in-process UDP generator, runs a discarded
warm-up window and then --trials windows of --duration each, and prints per
trial and summarised: packets sent, received and dropped; packets/s; bytes/s;
CPU ns per packet; one-way latency percentiles from the eBPF histogram; and
whether the accounting closed (sent = received + dropped, the drops read from
the kernel's own counters).

CPU ns per packet is the run's cost, not the machine's: the busy time of the
CPUs the run pinned its senders and receiver to (per-CPU /proc/stat, softirq
included, so on veth the receive path is in it on every kernel), over exactly
the span of the packet counts, / packets received. Another process on those
CPUs is charged too; the JSON's thread_cpu_ns_per_pkt charges only the run's
threads' clocks, and cpu_busy_pct is every CPU's busy share, the host's
context.

Packet size is the Ethernet frame without FCS, as pktgen and trafgen count
it: 64 means 14 (Ethernet) + 20 (IPv4) + 8 (UDP) + 22 bytes of payload.

Generators (--generator), each counted by the same eBPF counters:
  udp     sendmmsg through the sender's UDP socket: the whole sending stack.
          --udp-gso N sends each message as N datagrams with UDP GSO (UDP_SEGMENT).
  packet  complete frames from an AF_PACKET TX ring into the sender's device,
          skipping its IP/UDP stack (what trafgen does); --qdisc-bypass also
          skips its qdisc.
  xdp     BPF_PROG_RUN live frames redirected into the sender's veth (what
          xdp-trafficgen does): the ceiling of the receive path. It bypasses
          the sender's qdisc and skb path entirely, needs a veth as the
          sender's device and NAPI at its peer (vethbench turns GRO on there
          unless the case sets gro or xdp). It stamps each frame's send time
          in BPF; --xdp-batch-stamp reads the clock once per batch instead,
          most of the generator's own cost, and the result says how much
          earlier than their frames the stamps were (latency reads high by
          up to that).
  tcp     bulk TCP, --flows connections: bits/s and segments/s, for GRO, GSO
          and TSO effects; --pkt-size and --rate do not apply.
  rr      request/response over --proto udp|tcp: round-trip percentiles.
          --rate R is an open loop timed from each request's intended send
          time (no coordinated omission); --rate 0 is a closed loop (one
          request in flight per flow, like sockperf ping-pong).

Every result says which side limited it: the generator (its threads
saturated: the figure is the generator's limit, not the device's), the
receiver, the path (drops on the way) or none (a fixed rate was met).

--cost-ns N is a validation knob, never for real measurements: the counter
at the receiver's ingress spends N ns more CPU on every vethbench packet, a
known effect with which vethbench checks its own sensitivity
(examples/sensitivity.yaml, make sensitivity).`,
		Example: `  vethbench run --topology veth --pkt-size 64 --duration 5s --trials 5
  vethbench run --topology loopback --pkt-size 1400 --format json -o lo.json
  vethbench run --rate 100000 --trials 10   # open-loop, fixed rate
  vethbench run --generator packet --qdisc-bypass
  vethbench run --generator rr --proto tcp --rate 10000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRun(cmd, f, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&f.topology, "topology", "veth", "how sender and receiver are wired: "+kindNames())
	fl.StringVar(&f.mode, "mode", "", "macvlan mode ("+strings.Join(topology.MacvlanModes, "|")+", default bridge) or ipvlan mode ("+strings.Join(topology.IPvlanModes, "|")+", default l2)")
	fl.StringVar(&f.family, "family", "ipv4", "IP family of the traffic: ipv4|ipv6")
	fl.IntVar(&f.mtu, "mtu", 0, "MTU of every device on the path, bytes [1280, 65535]; 0 = the kind's default (1500; lo 65536)")
	fl.IntVar(&f.txQueues, "tx-queues", 1, "TX queues of the sending end of every link (the sender's device, a router's outgoing device...)")
	fl.IntVar(&f.rxQueues, "rx-queues", 1, "RX queues of the sending end of every link")
	fl.IntVar(&f.peerTxQueues, "peer-tx-queues", 0, "TX queues of the receiving end of every link; 0 = same as --tx-queues")
	fl.IntVar(&f.peerRxQueues, "peer-rx-queues", 0, "RX queues of the receiving end of every link; 0 = same as --rx-queues")
	fl.StringVar(&f.generator, "generator", "udp", "traffic generator: "+strings.Join(plan.Generators, "|")+" (see above)")
	fl.IntVar(&f.gso, "udp-gso", 0, "udp: datagrams per UDP GSO send (UDP_SEGMENT), at most 64; 0 = off")
	fl.BoolVar(&f.qdiscBypass, "qdisc-bypass", false, "packet: set PACKET_QDISC_BYPASS, frames skip the sender's qdisc")
	fl.BoolVar(&f.xdpStamp, "xdp-batch-stamp", false, "xdp: read the send time once per batch, not per frame (cheaper; latency reads high by up to a batch's making, which the result states)")
	fl.StringVar(&f.proto, "proto", "", "rr: udp|tcp (default udp)")
	fl.IntVar(&f.costNS, "cost-ns", 0, fmt.Sprintf("validation knob, never for real measurements: add N ns of CPU per packet at the receiver's ingress, at most %d; 0 = off", plan.MaxCostNS))
	fl.IntVar(&f.pktSize, "pkt-size", 64, "frame size in bytes without FCS (IPv4: 58 to MTU+14; IPv6: 78 to MTU+14)")
	fl.IntVar(&f.flows, "flows", 1, "number of flows (distinct UDP source ports)")
	fl.IntVar(&f.senders, "senders", 1, "sending goroutines, each with its own flows and sockets (at most --flows); on veth each sender's CPU also runs the receive path")
	fl.Float64Var(&f.rate, "rate", 0, "packets per second over all flows, sent open-loop on a fixed schedule; 0 = as fast as possible")
	fl.IntVar(&f.batch, "batch", 64, "packets per send call: sendmmsg messages (udp), frames per ring kick (packet), live-frames batch (xdp)")
	fl.IntVar(&f.rcvbuf, "rcvbuf", 0, "receiver socket buffer (SO_RCVBUF) in bytes; 0 = the kernel default")
	fl.DurationVar(&f.duration, "duration", 5*time.Second, "length of one trial's sending window (at least 100ms)")
	fl.DurationVar(&f.warmup, "warmup", time.Second, "discarded window before the first trial; 0 to skip")
	fl.IntVar(&f.trials, "trials", 5, "measured trials; 6 or more give a 95% interval for the median")
	fl.Float64Var(&f.confidence, "confidence", 0.95, "coverage of the median's interval, in (0, 1)")
	fl.StringVar(&f.format, "format", "table", "what goes to stdout: table|json|benchfmt (the Go benchmark format, for benchstat and vethbench compare)")
	fl.StringVarP(&f.output, "output", "o", "", "also write the JSON result file here (checked before anything is measured)")
	fl.BoolVar(&f.stages, "stages", false, "stamp each datagram with eBPF at every boundary of its path the kernel offers (before and after the sender's qdisc, the receiving device's ingress, the read: the kernel's where it marks it, else the receiver's) for where the one-way time goes, stage by stage; costs 3-16% of a saturated veth pair's rate, the cases of a sweep sharing the stamps (docs/counters.md)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress lines on stderr")
	return cmd
}

func runRun(cmd *cobra.Command, f runFlags, stdout, stderr io.Writer) error {
	c := plan.Case{
		Topology: topology.Spec{
			Kind: topology.Kind(f.topology), Mode: f.mode, Family: topology.Family(f.family),
			MTU: f.mtu, TxQueues: f.txQueues, RxQueues: f.rxQueues,
			PeerTxQueues: f.peerTxQueues, PeerRxQueues: f.peerRxQueues,
		},
		Traffic: plan.Traffic{
			Generator: f.generator, FrameSize: f.pktSize, Flows: f.flows, Senders: f.senders,
			Rate: f.rate, Batch: f.batch, RcvBuf: f.rcvbuf,
			GSO: f.gso, QdiscBypass: f.qdiscBypass, Proto: f.proto, XDPBatchStamp: f.xdpStamp,
			CostNS: f.costNS,
		},
	}
	m := plan.Measure{Trials: f.trials, Duration: f.duration, Warmup: f.warmup, Confidence: f.confidence, Stages: f.stages}
	if !slices.Contains(outputFormats, f.format) {
		return usageErr(fmt.Errorf("--format: unknown format %q (%s)", f.format, strings.Join(outputFormats, ", ")))
	}
	// The topology takes 0 for "unset" (1 queue); a user who types 0
	// asked for a device without queues.
	for _, q := range []struct {
		name string
		n    int
	}{{"tx-queues", f.txQueues}, {"rx-queues", f.rxQueues}} {
		if q.n == 0 {
			return badInput(field.Errorf(topology.ErrInvalid, q.name, "0 out of range [1, %d]", topology.MaxQueues))
		}
	}
	if err := c.Validate(m); err != nil {
		return badInput(err)
	}
	if !isRoot() {
		return needsRoot("run", "network namespaces, devices and BPF")
	}
	if f.output != "" {
		if err := checkOutputFile("-o", f.output); err != nil {
			return err
		}
	}
	if _, err := openJournal(stderr); err != nil {
		return err
	}
	progress := bench.Progress(nil)
	if !f.quiet {
		progress = newProgressLine(stderr, m, 1).event
	}
	res, err := measure(cmd.Context(), []plan.Case{c}, m, bench.Options{
		Progress: progress, Command: append([]string{"vethbench"}, os.Args[1:]...),
	})
	if res == nil {
		return err
	}
	if f.output != "" {
		if werr := res.WriteFile(f.output); werr != nil {
			return errors.Join(err, werr)
		}
	}
	if err != nil {
		return err
	}
	if err := writeFormat(stdout, f.format, res, reports.WriteTable); err != nil {
		return err
	}
	return caseOutcome(res.Cases)
}

// outputFormats are what run and sweep can write to stdout.
var outputFormats = []string{"table", "json", "benchfmt"}

// writeFormat writes a result in one of outputFormats; table is the
// command's own text rendering.
func writeFormat(w io.Writer, format string, res *result.Result, table func(io.Writer, *result.Result) error) error {
	switch format {
	case "json":
		return res.Encode(w)
	case "benchfmt":
		return benchfmt.Write(w, res)
	default:
		return table(w, res)
	}
}

// caseOutcome turns case statuses into the exit status: unsupported is 3,
// failed is 1.
func caseOutcome(cases []result.Case) error {
	for _, c := range cases {
		switch c.Status {
		case result.StatusUnsupported:
			what := c.Topology.Kind
			if c.Topology.Mode != "" {
				what += " " + c.Topology.Mode
			}
			return &exitError{code: exitUnsupported, err: fmt.Errorf("unsupported: %s (%s)", what, c.Error)}
		case result.StatusFailed:
			return fmt.Errorf("%s failed: %s", c.Name, c.Error)
		}
	}
	return nil
}
