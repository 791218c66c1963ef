package peers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/bench/traffic"
	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/internal/netns"
)

// Options configure Run.
type Options struct {
	Duration time.Duration // one measurement; 0: 3s
	Repeats  int           // measurements of each side, alternating; 0: 3
	Progress io.Writer     // a line per measurement; nil: none
	// Only selects the comparisons whose key (Keys) it matches; nil
	// runs them all.
	Only *regexp.Regexp
}

// Keys names the comparisons, in the order Run makes them, for
// Options.Only.
func Keys() []string {
	var keys []string
	for _, c := range (&bench{}).comparisons() {
		keys = append(keys, c.key)
	}
	return keys
}

// comparison is one or more rows measured together.
type comparison struct {
	key string
	run func(context.Context) []Row
}

func (b *bench) comparisons() []comparison {
	one := func(f func(context.Context) Row) func(context.Context) []Row {
		return func(ctx context.Context) []Row { return []Row{f(ctx)} }
	}
	return []comparison{
		{"packet", one(b.packetVsTrafgen)},
		{"udp/2", one(b.udpVsIperf3(2, 1.5))},
		{"udp/1", one(b.udpVsIperf3(1, 0))},
		{"xdp", b.xdpVsBare},
		{"rr/udp", one(b.rrVsSockperf(traffic.ProtoUDP, false))},
		{"rr/tcp", one(b.rrVsSockperf(traffic.ProtoTCP, false))},
		{"rr/udp/1cpu", one(b.rrVsSockperf(traffic.ProtoUDP, true))},
		{"rr/tcp/1cpu", one(b.rrVsSockperf(traffic.ProtoTCP, true))},
		{"tcp", one(b.tcpVsIperf3)},
	}
}

// Row is one comparison.
type Row struct {
	Name       string
	Unit       string
	Ours, Peer float64 // medians
	PeerName   string
	// Ratio is Ours/Peer, oriented so that > 1 is better for vethbench
	// (for latency: Peer/Ours).
	Ratio  float64
	Target string // e.g. ">= 1.5x"
	Met    bool
	Note   string
	Err    error
}

const (
	port     = 47999 // inside the private namespaces only
	srcPort  = 40000
	peerPort = 5201
)

// bench is one run's shared state: the pair and CPU placement.
type bench struct {
	opts   Options
	topo   *topology.Topology
	sndCPU int // the generator's CPU
	rcvCPU int // the receiving side's
}

// Run builds a veth pair, runs every comparison and returns the rows.
func Run(ctx context.Context, opts Options) ([]Row, error) {
	if opts.Duration <= 0 {
		opts.Duration = 3 * time.Second
	}
	if opts.Repeats <= 0 {
		opts.Repeats = 3
	}
	if opts.Only != nil && !slices.ContainsFunc(Keys(), opts.Only.MatchString) {
		return nil, fmt.Errorf("no comparison matches %q (keys: %s)", opts.Only, strings.Join(Keys(), " "))
	}
	topo, err := topology.Realize(ctx, topology.Spec{Kind: topology.KindVeth, Family: topology.IPv4})
	if err != nil {
		return nil, fmt.Errorf("build veth pair: %w", err)
	}
	defer topo.Close()
	b := &bench{opts: opts, topo: topo, sndCPU: 0, rcvCPU: runtime.NumCPU() - 1}
	var rows []Row
	for _, c := range b.comparisons() {
		if ctx.Err() != nil {
			return rows, ctx.Err()
		}
		if opts.Only != nil && !opts.Only.MatchString(c.key) {
			continue
		}
		rows = append(rows, c.run(ctx)...)
	}
	return rows, nil
}

func (b *bench) logf(format string, a ...any) {
	if b.opts.Progress != nil {
		fmt.Fprintf(b.opts.Progress, format+"\n", a...)
	}
}

// alternate runs ours and peer Repeats times each, alternating, and
// returns the medians of what they measured.
func (b *bench) alternate(ctx context.Context, name string, ours, peer func(context.Context) (float64, error)) (o, p float64, err error) {
	var os, ps []float64
	for i := range b.opts.Repeats {
		v, err := ours(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("vethbench: %w", err)
		}
		w, err := peer(ctx)
		if err != nil {
			return 0, 0, err
		}
		b.logf("  %s %d/%d: vethbench %.4g, peer %.4g", name, i+1, b.opts.Repeats, v, w)
		os, ps = append(os, v), append(ps, w)
	}
	return median(os), median(ps), nil
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ingressRate counts the packets reaching the receiving device's ingress
// while f runs, per second of f's own window.
func (b *bench) ingressRate(f func() (time.Duration, error)) (float64, error) {
	c, err := vbpf.AttachIngress(b.topo.Receiver.NS, b.topo.Receiver.Ifname, vbpf.Options{DstPort: port})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	s0, err := c.Snapshot()
	if err != nil {
		return 0, err
	}
	d, err := f()
	if err != nil {
		return 0, err
	}
	s1, err := c.Snapshot()
	if err != nil {
		return 0, err
	}
	return float64(s1.Sub(s0).Packets) / d.Seconds(), nil
}

// runGen runs a generator for the configured duration.
func (b *bench) runGen(ctx context.Context, g traffic.Generator) (time.Duration, error) {
	wctx, cancel := context.WithTimeout(ctx, b.opts.Duration)
	defer cancel()
	start := time.Now()
	if err := g.Run(wctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return 0, err
	}
	return time.Since(start), nil
}

// withUDPReceiver runs f with vethbench's draining UDP receiver on the
// receiving side.
func (b *bench) withUDPReceiver(ctx context.Context, f func() (float64, error)) (float64, error) {
	rx := b.topo.Receiver
	rcv, err := traffic.NewUDPReceiver(rx.NS, rx.Addr, port, 4<<20)
	if err != nil {
		return 0, err
	}
	defer rcv.Close()
	if err := rcv.PinTo(b.rcvCPU); err != nil {
		return 0, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rcv.Run(rctx) }()
	v, err := f()
	cancel()
	<-done
	return v, err
}

// timed runs a peer program inside ns and returns the time it ran. A tool
// that stops by itself (iperf3 -t, sockperf -t) gets a grace period beyond
// the configured duration for its start and its report; one that does not
// (trafgen) is interrupted after the duration.
func (b *bench) timed(ctx context.Context, ns *netns.NS, cpu int, selfStop bool, name string, args ...string) (*proc, time.Duration, error) {
	t0 := time.Now()
	p, err := start(ns, cpu, name, args...)
	if err != nil {
		return nil, 0, err
	}
	limit := b.opts.Duration
	if selfStop {
		limit += 10 * time.Second
	}
	err = p.wait(ctx, limit)
	d := time.Since(t0)
	if err != nil && (selfStop || !strings.Contains(err.Error(), "did not finish")) {
		p.close()
		return nil, 0, p.exitErr(err)
	}
	return p, d, nil
}

// frame is the 64-byte frame of vethbench's packet generator, for trafgen.
func (b *bench) frame(size int) ([]byte, error) {
	path, err := traffic.ResolveL2(b.topo.Sender.NS, b.topo.Receiver.Addr)
	if err != nil {
		return nil, err
	}
	return traffic.BuildFrame(traffic.FrameSpec{
		SrcMAC: path.SrcMAC, DstMAC: path.DstMAC,
		Src: netip.AddrPortFrom(path.Src, srcPort), Dst: netip.AddrPortFrom(b.topo.Receiver.Addr, port),
		FrameSize: size,
	})
}

func (b *bench) row(name, unit, peerName, target string, ours, peer float64, higherBetter bool, want float64, err error) Row {
	r := Row{Name: name, Unit: unit, PeerName: peerName, Target: target, Ours: ours, Peer: peer, Err: err}
	if err != nil || ours <= 0 || peer <= 0 {
		return r
	}
	r.Ratio = ours / peer
	if !higherBetter {
		r.Ratio = peer / ours
	}
	r.Met = r.Ratio >= want
	return r
}

// packetVsTrafgen: the packet generator, one sender, 64 B, against trafgen
// on one CPU sending the same frame; both into the full receive stack
// (a draining UDP socket), both bypassing the qdisc (trafgen's default).
func (b *bench) packetVsTrafgen(ctx context.Context) Row {
	const name = "packet vs trafgen (64 B, 1 CPU, pps)"
	b.logf("%s", name)
	frame, err := b.frame(64)
	if err != nil {
		return b.row(name, "pps", "trafgen", ">= 1.0x", 0, 0, true, 1, err)
	}
	cfg, err := os.CreateTemp("", "vethbench-trafgen-*.cfg")
	if err != nil {
		return b.row(name, "pps", "trafgen", ">= 1.0x", 0, 0, true, 1, err)
	}
	defer os.Remove(cfg.Name())
	if _, err := cfg.WriteString(trafgenConfig(frame)); err != nil {
		return b.row(name, "pps", "trafgen", ">= 1.0x", 0, 0, true, 1, err)
	}
	cfg.Close()
	snd := b.topo.Sender
	ours := func(ctx context.Context) (float64, error) {
		path, err := traffic.ResolveL2(snd.NS, b.topo.Receiver.Addr)
		if err != nil {
			return 0, err
		}
		g, err := traffic.NewPacketSender(snd.NS, traffic.PacketConfig{
			Path: path, Dst: b.topo.Receiver.Addr, DstPort: port, SrcPortBase: srcPort, Flows: 1,
			FrameSize: 64, Workers: 1, CPUs: []int{b.sndCPU}, QdiscBypass: true,
		})
		if err != nil {
			return 0, err
		}
		defer g.Close()
		return b.withUDPReceiver(ctx, func() (float64, error) {
			return b.ingressRate(func() (time.Duration, error) { return b.runGen(ctx, g) })
		})
	}
	peer := func(ctx context.Context) (float64, error) {
		return b.withUDPReceiver(ctx, func() (float64, error) {
			return b.ingressRate(func() (time.Duration, error) {
				// --cpus 1 forks one sender pinned to the first CPU.
				p, d, err := b.timed(ctx, snd.NS, b.sndCPU, false, "trafgen", "--dev", snd.Ifname, "--conf", cfg.Name(),
					"--cpus", "1", "--no-sock-mem", "--notouch-irq", "--no-cpu-stats")
				if err != nil {
					return 0, err
				}
				p.close()
				return d, nil
			})
		})
	}
	o, p, err := b.alternate(ctx, "packet/trafgen", ours, peer)
	return b.row(name, "pps", "trafgen", ">= 1.0x", o, p, true, 1, err)
}

// udpVsIperf3: the udp generator against iperf3 -u -l 64 -b 0, the same
// 64-byte payload (a 106-byte frame), each into its own draining receiver
// (vethbench's, iperf3's server), counted at the receiving device.
//
// The target is for the generator as users run it, with a sender per CPU
// (want > 0); with one sender, the row is for information (want 0).
func (b *bench) udpVsIperf3(senders int, want float64) func(context.Context) Row {
	return func(ctx context.Context) Row {
		senders := min(senders, runtime.NumCPU())
		return b.udpVsIperf3N(ctx, senders, want)
	}
}

func (b *bench) udpVsIperf3N(ctx context.Context, senders int, want float64) Row {
	name := fmt.Sprintf("udp, %d sender(s), vs iperf3 -u -l 64 -b 0 (pps)", senders)
	b.logf("%s", name)
	snd, rx := b.topo.Sender, b.topo.Receiver
	frame := traffic.EthHeaderLen + traffic.IPv4HeaderLen + traffic.UDPHeaderLen + 64
	ours := func(ctx context.Context) (float64, error) {
		cpus := []int{0, 1}[:senders]
		g, err := traffic.NewUDPSender(snd.NS, traffic.UDPConfig{
			Src: snd.Addr, Dst: rx.Addr, DstPort: port, SrcPortBase: srcPort, Flows: senders, Workers: senders,
			FrameSize: frame, CPUs: cpus,
		})
		if err != nil {
			return 0, err
		}
		defer g.Close()
		return b.withUDPReceiver(ctx, func() (float64, error) {
			return b.ingressRate(func() (time.Duration, error) { return b.runGen(ctx, g) })
		})
	}
	peer := func(ctx context.Context) (float64, error) {
		srv, err := start(rx.NS, b.rcvCPU, "iperf3", "-s", "-1", "-B", rx.Addr.String(), "-p", fmt.Sprint(peerPort))
		if err != nil {
			return 0, err
		}
		defer srv.close()
		time.Sleep(200 * time.Millisecond) // let it listen
		var out string
		rate, err := b.ingressRate(func() (time.Duration, error) {
			secs := fmt.Sprint(int(b.opts.Duration.Seconds()))
			p, _, err := b.timed(ctx, snd.NS, b.sndCPU, true, "iperf3", "-u", "-l", "64", "-b", "0", "-c", rx.Addr.String(),
				"-p", fmt.Sprint(peerPort), "-t", secs, "-J")
			if err != nil {
				return 0, err
			}
			out = p.output()
			p.close()
			// The packets counted per second of iperf3's own test
			// interval (its start and report are outside it).
			res, err := parseIperf3(out)
			if err != nil {
				return 0, err
			}
			return time.Duration(res.Seconds * float64(time.Second)), nil
		})
		if err != nil {
			return 0, err
		}
		return rate, nil
	}
	o, p, err := b.alternate(ctx, "udp/iperf3", ours, peer)
	target := fmt.Sprintf(">= %.1fx", want)
	if want == 0 {
		target = "(info)"
	}
	r := b.row(name, "pps", "iperf3", target, o, p, true, want, err)
	r.Note = "iperf3 sends from one thread; the same 64-byte payload (106-byte frame)"
	return r
}

// tcpVsIperf3: one bulk TCP flow each, throughput as each tool reports it.
func (b *bench) tcpVsIperf3(ctx context.Context) Row {
	const name = "tcp vs iperf3 (1 flow, Gbit/s)"
	b.logf("%s", name)
	snd, rx := b.topo.Sender, b.topo.Receiver
	ours := func(ctx context.Context) (float64, error) {
		sink, err := traffic.NewTCPSink(rx.NS, rx.Addr, port)
		if err != nil {
			return 0, err
		}
		defer sink.Close()
		if err := sink.PinTo(b.rcvCPU); err != nil {
			return 0, err
		}
		g, err := traffic.NewTCPSender(snd.NS, traffic.TCPConfig{Src: snd.Addr, Dst: rx.Addr, DstPort: port, Flows: 1, CPUs: []int{b.sndCPU}})
		if err != nil {
			return 0, err
		}
		defer g.Close()
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- sink.Run(rctx) }()
		defer func() { cancel(); <-done }()
		r0 := sink.Received()
		d, err := b.runGen(ctx, g)
		if err != nil {
			return 0, err
		}
		return 8 * float64(sink.Received()-r0) / d.Seconds() / 1e9, nil
	}
	peer := func(ctx context.Context) (float64, error) {
		srv, err := start(rx.NS, b.rcvCPU, "iperf3", "-s", "-1", "-B", rx.Addr.String(), "-p", fmt.Sprint(peerPort))
		if err != nil {
			return 0, err
		}
		defer srv.close()
		time.Sleep(200 * time.Millisecond)
		secs := fmt.Sprint(int(b.opts.Duration.Seconds()))
		p, _, err := b.timed(ctx, snd.NS, b.sndCPU, true, "iperf3", "-c", rx.Addr.String(), "-p", fmt.Sprint(peerPort), "-t", secs, "-J")
		if err != nil {
			return 0, err
		}
		defer p.close()
		res, err := parseIperf3(p.output())
		if err != nil {
			return 0, err
		}
		return res.ReceivedBits / 1e9, nil
	}
	o, p, err := b.alternate(ctx, "tcp/iperf3", ours, peer)
	return b.row(name, "Gbit/s", "iperf3", ">= 0.9x", o, p, true, 0.9, err)
}

// rrVsSockperf: closed-loop request/response, 64-byte payloads, against
// sockperf ping-pong at full speed; sockperf reports half round trips.
// vethbench's median round trip must be at most 5% above sockperf's.
// Client and server are on the first and last CPU, as the runner places
// them, or both on the first (oneCPU): a wakeup across CPUs costs some
// 20 us in this VM, and that placement shows the tools' own costs.
func (b *bench) rrVsSockperf(proto string, oneCPU bool) func(context.Context) Row {
	return func(ctx context.Context) Row {
		where := "client and server on 2 CPUs"
		b := *b
		if oneCPU {
			where, b.rcvCPU = "client and server on 1 CPU", b.sndCPU
		}
		name := fmt.Sprintf("rr %s vs sockperf ping-pong, %s (median RTT)", proto, where)
		b.logf("%s", name)
		snd, rx := b.topo.Sender, b.topo.Receiver
		var p99o, p99p []float64
		ours := func(ctx context.Context) (float64, error) {
			cfg := traffic.RRConfig{Proto: proto, Src: snd.Addr, Dst: rx.Addr, Port: port, Flows: 1, Size: 64, CPUs: []int{b.sndCPU}}
			srv, err := traffic.NewRRServer(rx.NS, cfg)
			if err != nil {
				return 0, err
			}
			defer srv.Close()
			if err := srv.PinTo(b.rcvCPU); err != nil {
				return 0, err
			}
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- srv.Run(rctx) }()
			defer func() { cancel(); <-done }()
			cli, err := traffic.NewRRClient(snd.NS, cfg)
			if err != nil {
				return 0, err
			}
			defer cli.Close()
			if _, err := b.runGen(ctx, cli); err != nil {
				return 0, err
			}
			h := cli.RTT()
			p50, _, _, ok := h.Quantile(0.5)
			p99, _, _, _ := h.Quantile(0.99)
			if !ok {
				return 0, fmt.Errorf("no responses")
			}
			p99o = append(p99o, float64(p99)/1e3)
			return float64(p50) / 1e3, nil
		}
		peer := func(ctx context.Context) (float64, error) {
			args := []string{"sr", "-i", rx.Addr.String(), "-p", fmt.Sprint(peerPort)}
			if proto == traffic.ProtoTCP {
				args = append(args, "--tcp")
			}
			srv, err := start(rx.NS, b.rcvCPU, "sockperf", args...)
			if err != nil {
				return 0, err
			}
			defer srv.close()
			time.Sleep(300 * time.Millisecond)
			secs := fmt.Sprint(int(b.opts.Duration.Seconds()))
			args = []string{"pp", "-i", rx.Addr.String(), "-p", fmt.Sprint(peerPort), "-t", secs, "--mps=max", "-m", "64"}
			if proto == traffic.ProtoTCP {
				args = append(args, "--tcp")
			}
			p, _, err := b.timed(ctx, snd.NS, b.sndCPU, true, "sockperf", args...)
			if err != nil {
				return 0, err
			}
			defer p.close()
			res, err := parseSockperf(p.output())
			if err != nil {
				return 0, p.exitErr(err)
			}
			p99p = append(p99p, 2*res.P99)
			return 2 * res.P50, nil // a round trip
		}
		o, p, err := b.alternate(ctx, "rr/sockperf", ours, peer)
		// Within 5%: sockperf's median / vethbench's >= 1/1.05 (the
		// ratio is oriented so that > 1 favours vethbench). vethbench's
		// median is read from buckets 0.78% wide (within 0.4%),
		// sockperf's from its samples.
		r := b.row(name, "us", "sockperf", ">= 0.95x", o, p, false, 1/1.05, err)
		if err == nil {
			r.Note = fmt.Sprintf("p99 RTT: vethbench %.1f us, sockperf %.1f us; vethbench's figures are within %.1f%% (its buckets)",
				median(p99o), median(p99p), 100*traffic.RTTScale.Resolution()/2)
		}
		return r
	}
}

// Write prints the rows as a table.
func Write(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "comparison\tvethbench\tpeer\tratio\ttarget\tmet\tnote")
	for _, r := range rows {
		if r.Err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\tERROR\t%v\n", r.Name, r.Target, r.Err)
			continue
		}
		met := "no"
		if r.Met {
			met = "yes"
		}
		if r.Target == "(info)" {
			met = "-"
		}
		peer := r.PeerName + " " + format(r.Peer, r.Unit)
		if r.Peer == 0 {
			peer = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fx\t%s\t%s\t%s\n", r.Name, format(r.Ours, r.Unit), peer, r.Ratio, r.Target, met, r.Note)
	}
	return tw.Flush()
}

// xdpVsBare: the xdp generator on one CPU into a veth whose peer drops the
// frames with vb_xdp_sink, against vb_xdp_bare (a program that only
// redirects) run by the same sender loop into the same pair and sink,
// alternating, counted by the sink: the generator's own cost over the
// ceiling of the path, measured in the same run. No packaged peer
// generates live XDP frames, and an absolute target would be the
// machine's, not the generator's.
//
// The generator is measured twice: reading the clock once per batch
// (XDPConfig.BatchStamp), the row with the target, and once per frame, the
// default, whose clock read is most of what it costs over the bare
// program (docs/generators.md).
func (b *bench) xdpVsBare(ctx context.Context) []Row {
	const (
		nameBatch = "xdp, stamp per batch, vs bare redirect (64 B, 1 CPU, Mpps)"
		nameFrame = "xdp, stamp per frame, vs bare redirect (64 B, 1 CPU, Mpps)"
	)
	b.logf("xdp vs bare redirect, into an XDP-drop sink")
	fail := func(err error) []Row {
		return []Row{
			b.row(nameBatch, "Mpps", "bare redirect", ">= 0.90x", 0, 0, true, 0.9, err),
			b.row(nameFrame, "Mpps", "bare redirect", "(info)", 0, 0, true, 0, err),
		}
	}
	snd, rx := b.topo.Sender, b.topo.Receiver
	sink, err := vbpf.AttachXDPSink(rx.NS, rx.Ifname, port)
	if err != nil {
		return fail(err)
	}
	defer sink.Close()
	path, err := traffic.ResolveL2(snd.NS, rx.Addr)
	if err != nil {
		return fail(err)
	}
	// run measures one variant: Mpps the sink took, and the sending
	// thread's CPU ns per frame it took (steadier on a shared machine:
	// the receive side runs on the same CPU).
	cpuNS := map[string][]float64{}
	var spread vbpf.StampSpread
	run := func(label string, bare, batchStamp bool) func(context.Context) (float64, error) {
		return func(ctx context.Context) (float64, error) {
			g, err := traffic.NewXDPSender(snd.NS, traffic.XDPConfig{
				Ifname: path.Ifname, Ifindex: path.Ifindex, SrcMAC: path.SrcMAC, DstMAC: path.DstMAC,
				Src: path.Src, Dst: rx.Addr, DstPort: port, SrcPortBase: srcPort, Flows: 1, FrameSize: 64,
				Workers: 1, CPUs: []int{b.sndCPU}, Bare: bare, BatchStamp: batchStamp,
			})
			if err != nil {
				return 0, err
			}
			defer g.Close()
			s0, err := sink.Snapshot()
			if err != nil {
				return 0, err
			}
			d, err := b.runGen(ctx, g)
			if err != nil {
				return 0, err
			}
			s1, err := sink.Snapshot()
			if err != nil {
				return 0, err
			}
			n := s1.Sub(s0).Packets
			if n == 0 {
				return 0, fmt.Errorf("the sink took no frame (sent %d in %v, errors %v)", g.Sent(), d, g.Errors())
			}
			if batchStamp {
				sp, err := g.StampSpread()
				if err != nil {
					return 0, err
				}
				spread = spread.Merge(sp)
			}
			cpuNS[label] = append(cpuNS[label], float64(g.CPUTime().Nanoseconds())/float64(n))
			return float64(n) / d.Seconds() / 1e6, nil
		}
	}
	labels := []string{"bare", "xdp/batch", "xdp/frame"}
	med, err := b.interleave(ctx, "xdp", labels, []func(context.Context) (float64, error){
		run(labels[0], true, false), run(labels[1], false, true), run(labels[2], false, false),
	})
	if err != nil {
		return fail(err)
	}
	cpu := func(label string) string {
		return fmt.Sprintf("%.0f ns (%.2fx)", median(cpuNS[label]), median(cpuNS["bare"])/median(cpuNS[label]))
	}
	rb := b.row(nameBatch, "Mpps", "bare redirect", ">= 0.90x", med[1], med[0], true, 0.9, nil)
	rb.Note = fmt.Sprintf("sender CPU per frame: %s, bare %.0f ns; a stamp served its batch of %d for %.1f us on average, %.1f us at most: latency reads high by up to that",
		cpu("xdp/batch"), median(cpuNS["bare"]), traffic.DefaultXDPBatch, spread.Mean.Seconds()*1e6, spread.Max.Seconds()*1e6)
	rf := b.row(nameFrame, "Mpps", "bare redirect", "(info)", med[2], med[0], true, 0, nil)
	rf.Note = fmt.Sprintf("sender CPU per frame: %s; the default: one clock read per frame", cpu("xdp/frame"))
	return []Row{rb, rf}
}

// interleave runs each of fs Repeats times, in turn (ABAB...), and returns
// the median of what each measured.
func (b *bench) interleave(ctx context.Context, name string, labels []string, fs []func(context.Context) (float64, error)) ([]float64, error) {
	runs := make([][]float64, len(fs))
	for i := range b.opts.Repeats {
		var line []string
		for j, f := range fs {
			v, err := f(ctx)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", labels[j], err)
			}
			runs[j] = append(runs[j], v)
			line = append(line, fmt.Sprintf("%s %.4g", labels[j], v))
		}
		b.logf("  %s %d/%d: %s", name, i+1, b.opts.Repeats, strings.Join(line, ", "))
	}
	med := make([]float64, len(fs))
	for j := range runs {
		med[j] = median(runs[j])
	}
	return med, nil
}

// format prints a figure in its unit's usual precision.
func format(v float64, unit string) string {
	switch unit {
	case "pps":
		return fmt.Sprintf("%.0fk", v/1e3)
	case "us":
		return fmt.Sprintf("%.1f us", v)
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}
