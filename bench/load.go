package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/bench/traffic"
	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/internal/histogram"
)

// Units of result.Traffic.Unit.
const (
	unitDatagrams = "datagrams"
	unitBytes     = "bytes"
	unitRequests  = "requests"
)

// server is what receives a generator's traffic: the UDP receiver, the
// TCP sink or the rr echo server. It runs for the whole case, across
// windows.
type server interface {
	Run(ctx context.Context) error
	CPUTime() time.Duration
	Close() error
}

// load is a case's generator and its receiving side, as the runner sees
// them: what to run, what to count, in which unit.
type load struct {
	gen    traffic.Generator
	server server
	unit   string // result.Traffic.Unit
	// received counts what arrived, in unit: datagrams read, bytes read,
	// responses read.
	received func() uint64
	// gaps is the receiver's count of sequence gaps (datagram generators).
	gaps func() uint64
	// rtt is the round-trip histogram (rr); nil for one-way traffic.
	rtt func() histogram.Histogram
	// lost and late count rr requests given up on and responses after it.
	lost, late func() uint64
	// tcp: the sender's segments out and retransmissions, from TCP_INFO;
	// an error when it cannot be read (the figures would miss them).
	tcpOut func() (segs, retrans uint64, err error)
	// rcvbuf is the receiving socket's effective buffer (UDP), 0 otherwise.
	rcvbuf   int
	bypasses string
}

func zero() uint64 { return 0 }

// counterProto is the transport the counters must match.
func counterProto(c plan.Case) vbpf.Proto {
	if c.Traffic.Generator == plan.GenTCP || c.Traffic.Generator == plan.GenRR && c.Traffic.RRProto() == "tcp" {
		return vbpf.ProtoTCP
	}
	return vbpf.ProtoUDP
}

// newLoad opens the receiving side in the receiver's namespace, then the
// generator in the sender's. The caller starts the server and closes both.
func newLoad(c plan.Case, topo *topology.Topology, port uint16, senderCPUs []int, receiverCPU int, onRead traffic.ReadHook) (*load, error) {
	t := c.Traffic
	snd, rx := topo.Sender, topo.Receiver
	l := &load{unit: unitDatagrams, gaps: zero, lost: zero, late: zero}
	switch t.Generator {
	case plan.GenUDP, plan.GenPacket, plan.GenXDP:
		rcv, err := traffic.NewUDPReceiver(rx.NS, rx.Addr, port, t.RcvBuf)
		if err != nil {
			return l, fmt.Errorf("receiver: %w", err)
		}
		l.server, l.received, l.gaps, l.rcvbuf = rcv, rcv.Received, rcv.SeqGaps, rcv.EffectiveRcvbuf()
		if err := rcv.PinTo(receiverCPU); err != nil {
			return l, err
		}
		if onRead != nil {
			rcv.OnRead(onRead) // the stages' read boundary
		}
	}
	var err error
	switch t.Generator {
	case plan.GenUDP:
		l.gen, err = traffic.NewUDPSender(snd.NS, traffic.UDPConfig{
			Src: snd.Addr, Dst: rx.Addr, DstPort: port, SrcPortBase: SrcPortBase,
			Flows: t.Flows, FrameSize: t.FrameSize, Rate: t.Rate, Batch: t.Batch,
			Workers: t.Senders, MTU: topo.Spec.MTU, CPUs: senderCPUs, GSO: t.GSO,
		})
	case plan.GenPacket:
		var path traffic.L2Path
		if path, err = traffic.ResolveL2(snd.NS, rx.Addr); err != nil {
			break
		}
		l.bypasses = "frames are built in user space and injected at L2 into the sender's device: the sender's IP and UDP stack is skipped"
		if t.QdiscBypass {
			l.bypasses += ", and so is its qdisc (PACKET_QDISC_BYPASS)"
		}
		l.gen, err = traffic.NewPacketSender(snd.NS, traffic.PacketConfig{
			Path: path, Dst: rx.Addr, DstPort: port, SrcPortBase: SrcPortBase,
			Flows: t.Flows, FrameSize: t.FrameSize, MTU: topo.Spec.MTU, Rate: t.Rate, Batch: t.Batch,
			Workers: t.Senders, CPUs: senderCPUs, QdiscBypass: t.QdiscBypass,
		})
	case plan.GenTCP:
		l.unit = unitBytes
		var sink *traffic.TCPSink
		if sink, err = traffic.NewTCPSink(rx.NS, rx.Addr, port); err != nil {
			return l, fmt.Errorf("tcp sink: %w", err)
		}
		l.server, l.received = sink, sink.Received
		if err := sink.PinTo(receiverCPU); err != nil {
			return l, err
		}
		var tcp *traffic.TCPSender
		tcp, err = traffic.NewTCPSender(snd.NS, traffic.TCPConfig{
			Src: snd.Addr, Dst: rx.Addr, DstPort: port, Flows: t.Flows, Workers: t.Senders, CPUs: senderCPUs,
		})
		if err == nil {
			l.gen = tcp
			l.tcpOut = func() (uint64, uint64, error) {
				st, err := tcp.TCPInfo()
				if err != nil {
					return 0, 0, fmt.Errorf("tcp sender: %w", err)
				}
				return st.DataSegsOut, st.TotalRetrans, nil
			}
		}
	case plan.GenXDP:
		if d, ok := device(topo, "sender"); !ok || d.Kind != "veth" {
			return l, &topology.UnsupportedError{Reason: fmt.Sprintf("generator xdp needs a veth as the sender's device (%s has %s): only veth takes redirected XDP frames here", topo.Spec.Kind, d.Kind)}
		}
		var path traffic.L2Path
		if path, err = traffic.ResolveL2(snd.NS, rx.Addr); err != nil {
			break
		}
		l.bypasses = "frames are made by an XDP program (BPF_PROG_RUN, live frames) and redirected into the sender's veth: the sender's socket, IP stack, qdisc and skb allocation are all skipped; the figure is the ceiling of the receive path"
		l.gen, err = traffic.NewXDPSender(snd.NS, traffic.XDPConfig{
			Ifname: path.Ifname, Ifindex: path.Ifindex, SrcMAC: path.SrcMAC, DstMAC: path.DstMAC,
			Src: path.Src, Dst: rx.Addr, DstPort: port, SrcPortBase: SrcPortBase, Flows: t.Flows,
			FrameSize: t.FrameSize, MTU: topo.Spec.MTU, Rate: t.Rate, Batch: t.Batch,
			Workers: t.Senders, CPUs: senderCPUs, BatchStamp: t.XDPBatchStamp,
		})
	case plan.GenRR:
		l.unit = unitRequests
		size, _ := traffic.PayloadLen(t.FrameSize, rx.Addr.Is6()) // checked by Validate
		cfg := traffic.RRConfig{
			Proto: t.RRProto(), Src: snd.Addr, Dst: rx.Addr, Port: port, Flows: t.Flows, Size: size,
			Rate: t.Rate, Workers: t.Senders, CPUs: senderCPUs,
			// The client's Run ends with the window's drain (0: its
			// default, 1 s as the runner's).
			Drain: t.Drain,
		}
		if cfg.Proto == traffic.ProtoUDP && snd.Addr != rx.Addr {
			// Responses then go to the run's port too, where the drop
			// counter sees them (flow 0's; flow i binds port+i). On lo
			// client and server share an address and must not share a
			// port: there the client's ports are ephemeral.
			cfg.SrcPortBase = port
		}
		var srv *traffic.RRServer
		if srv, err = traffic.NewRRServer(rx.NS, cfg); err != nil {
			return l, fmt.Errorf("rr server: %w", err)
		}
		l.server = srv
		if err := srv.PinTo(receiverCPU); err != nil {
			return l, err
		}
		var cli *traffic.RRClient
		if cli, err = traffic.NewRRClient(snd.NS, cfg); err == nil {
			l.gen, l.received, l.rtt, l.lost, l.late = cli, cli.Responses, cli.RTT, cli.Lost, cli.Late
		}
	default:
		err = fmt.Errorf("generator %q not built in", t.Generator)
	}
	if err != nil {
		l.gen = nil // not a typed nil that close would call
		return l, fmt.Errorf("generator %s: %w", t.Generator, err)
	}
	return l, nil
}

// device finds a topology's device by role.
func device(topo *topology.Topology, role string) (topology.Device, bool) {
	for _, d := range topo.Devices {
		if d.Role == role {
			return d, true
		}
	}
	return topology.Device{}, false
}

// close closes the generator and the server.
func (l *load) close() {
	if l.gen != nil {
		l.gen.Close()
	}
	if l.server != nil {
		l.server.Close()
	}
}

// placement pins sender i to allowed[i % len(allowed)] and the receiving
// thread to the last allowed CPU, so that a measurement does not depend on
// where the scheduler puts them: on veth the receive path runs in softirq
// on the sending CPU, and whether the reader shares that CPU changes the
// rate a lot. allowed is the process's affinity mask (traffic.AllowedCPUs),
// so that `taskset -c 1` or a cpuset is obeyed. When a sender must share
// the receiving thread's CPU (fewer allowed CPUs than senders + 1),
// warning says so, for the result. With no CPU known nothing is pinned.
func placement(senders int, allowed []int) (senderCPUs []int, receiverCPU int, warning string) {
	if len(allowed) == 0 {
		return nil, -1, ""
	}
	receiverCPU = allowed[len(allowed)-1]
	senderCPUs = make([]int, senders)
	var shared []string
	for i := range senderCPUs {
		senderCPUs[i] = allowed[i%len(allowed)]
		if senderCPUs[i] == receiverCPU {
			shared = append(shared, strconv.Itoa(i))
		}
	}
	if len(shared) > 0 {
		who := "sender " + shared[0] + " shares"
		if len(shared) > 1 {
			who = "senders " + strings.Join(shared, ", ") + " share"
		}
		warning = fmt.Sprintf("%s CPU %d with the receiving thread: this process may use CPUs %s (its affinity mask), fewer than the %d threads to place, so the figures include their competition for that CPU",
			who, receiverCPU, traffic.FormatCPUs(allowed), senders+1)
	}
	return senderCPUs, receiverCPU, warning
}
