package traffic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"

	"github.com/vethbench/vethbench/bench/kstat"
	"github.com/vethbench/vethbench/bench/topology"
	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/internal/testenv"
)

// ---- without root ----

func TestPacketConfigValidate(t *testing.T) {
	path := L2Path{
		Ifname: "vbx-s", Ifindex: 2,
		SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
		Src: netip.MustParseAddr("10.0.0.1"),
	}
	good := PacketConfig{
		Path: path, Dst: netip.MustParseAddr("10.0.0.2"), DstPort: 9000, SrcPortBase: 20000,
		Flows: 4, Workers: 2, FrameSize: 64,
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	v6 := good
	v6.Path.Src, v6.Dst, v6.FrameSize = netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2"), 78
	if err := v6.Validate(); err != nil {
		t.Fatalf("valid IPv6 config: %v", err)
	}
	for _, c := range []struct {
		field string
		edit  func(*PacketConfig)
	}{
		{"Path", func(c *PacketConfig) { c.Path.Ifindex = 0 }},
		{"Path", func(c *PacketConfig) { c.Path.Ifname = "" }},
		{"Path", func(c *PacketConfig) { c.Path.DstMAC = nil }},
		{"Path", func(c *PacketConfig) { c.Path.SrcMAC = net.HardwareAddr{1, 2, 3} }},
		{"Path.Src", func(c *PacketConfig) { c.Path.Src = netip.Addr{} }},
		{"Path.Src", func(c *PacketConfig) { c.Path.Src = netip.IPv4Unspecified() }},
		{"different IP families", func(c *PacketConfig) { c.Dst = netip.MustParseAddr("fd00::2") }},
		{"Dst", func(c *PacketConfig) { c.Dst = netip.Addr{} }},
		{"DstPort", func(c *PacketConfig) { c.DstPort = 0 }},
		{"SrcPortBase", func(c *PacketConfig) { c.SrcPortBase = 0 }},
		{"SrcPortBase", func(c *PacketConfig) { c.SrcPortBase = 65535 }},
		{"Flows", func(c *PacketConfig) { c.Flows = 0 }},
		{"Flows", func(c *PacketConfig) { c.Flows = MaxFlows + 1 }},
		{"FrameSize", func(c *PacketConfig) { c.FrameSize = 57 }},
		{"FrameSize", func(c *PacketConfig) { c.FrameSize = 1515 }},
		{"MTU", func(c *PacketConfig) { c.MTU = 10 }},
		{"Rate", func(c *PacketConfig) { c.Rate = -1 }},
		{"Rate", func(c *PacketConfig) { c.Rate = math.NaN() }},
		{"Batch", func(c *PacketConfig) { c.Batch = MaxBatch + 1 }},
		{"Batch", func(c *PacketConfig) { c.Batch = -1 }},
		{"Workers", func(c *PacketConfig) { c.Workers = 5 }},
		{"CPUs", func(c *PacketConfig) { c.CPUs = []int{runtime.NumCPU()} }},
		{"FrameSize", func(c *PacketConfig) { c.MTU, c.FrameSize = 65536, 65540 }},
	} {
		c2 := good
		c.edit(&c2)
		err := c2.Validate()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: Validate() = %v, want ErrInvalid naming %s", c.field, err, c.field)
		}
	}
	big := good
	big.MTU, big.FrameSize = 9000, 9014
	if err := big.Validate(); err != nil {
		t.Errorf("jumbo frame within MTU 9000: %v", err)
	}
}

func TestRingGeometry(t *testing.T) {
	page := os.Getpagesize()
	for _, c := range []struct{ frame, batch int }{{64, 64}, {78, 1}, {1514, 64}, {9014, 1024}, {65550, 8}} {
		slot, slots, block := ringGeometry(c.frame, c.batch)
		fpb := block / slot
		if slot&(slot-1) != 0 || slots&(slots-1) != 0 || slot < frameOff+c.frame || slots < 2*c.batch ||
			block%page != 0 || block%slot != 0 || slots%fpb != 0 {
			t.Errorf("frame %d batch %d: slot %d, %d slots, block %d", c.frame, c.batch, slot, slots, block)
		}
	}
}

// ---- with root ----

// packetConfig fills in what cfg leaves zero: the path from the sender to
// the receiver, the destination and the ports.
func packetConfig(t testing.TB, topo *topology.Topology, cfg PacketConfig) PacketConfig {
	t.Helper()
	if !cfg.Dst.IsValid() {
		cfg.Dst = topo.Receiver.Addr
	}
	if cfg.Path.Ifindex == 0 {
		p, err := ResolveL2(topo.Sender.NS, cfg.Dst)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Path = p
	}
	if cfg.DstPort == 0 {
		cfg.DstPort = testDstPort
	}
	if cfg.SrcPortBase == 0 {
		cfg.SrcPortBase = testSrcPortBase
	}
	return cfg
}

// packetRun is what one packet sender / receiver run measured; the
// counters are deltas over the run.
type packetRun struct {
	snd            *PacketSender
	rcv            *UDPReceiver
	elapsed        time.Duration
	sndErr, rcvErr error
	bpf            vbpf.Snapshot
	sndDev, rcvDev kstat.Device
	snmp           kstat.SNMP // the receiver's namespace
}

// counters reads a topology's counters around a run.
type counters struct {
	topo       *topology.Topology
	sndR, rcvR *kstat.Reader
	bpf        *vbpf.Counters
}

func newCounters(t testing.TB, topo *topology.Topology, port uint16) *counters {
	t.Helper()
	c := &counters{topo: topo}
	var err error
	if c.sndR, err = kstat.NewReader(topo.Sender.NS); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.sndR.Close)
	if c.rcvR, err = kstat.NewReader(topo.Receiver.NS); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.rcvR.Close)
	if c.bpf, err = vbpf.AttachIngress(topo.Receiver.NS, topo.Receiver.Ifname, vbpf.Options{DstPort: port}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.bpf.Close() })
	return c
}

type countersSnap struct {
	bpf            vbpf.Snapshot
	sndDev, rcvDev kstat.Device
	snmp           kstat.SNMP
}

func (c *counters) read(t testing.TB) countersSnap {
	t.Helper()
	var s countersSnap
	var err error
	if s.sndDev, err = c.sndR.Device(c.topo.Sender.Ifname); err != nil {
		t.Fatal(err)
	}
	if s.bpf, err = c.bpf.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if s.snmp, err = c.rcvR.SNMP(); err != nil {
		t.Fatal(err)
	}
	if s.rcvDev, err = c.rcvR.Device(c.topo.Receiver.Ifname); err != nil {
		t.Fatal(err)
	}
	return s
}

// runPacketPair starts a receiver (SO_RCVBUF rcvbuf, pinned to rcvCPU
// unless it is -1) on topo.Receiver, then a packet sender for d, lets the
// receiver drain and stops it.
func runPacketPair(t testing.TB, topo *topology.Topology, cfg PacketConfig, rcvbuf, rcvCPU int, d time.Duration) packetRun {
	t.Helper()
	cfg = packetConfig(t, topo, cfg)
	cnt := newCounters(t, topo, cfg.DstPort)
	rcv, err := NewUDPReceiver(topo.Receiver.NS, cfg.Dst, cfg.DstPort, rcvbuf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	if err := rcv.PinTo(rcvCPU); err != nil {
		t.Fatal(err)
	}
	snd, err := NewPacketSender(topo.Sender.NS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snd.Close() })

	res := packetRun{snd: snd, rcv: rcv}
	before := cnt.read(t)
	rctx, rcancel := context.WithCancel(context.Background())
	defer rcancel()
	var wg sync.WaitGroup
	wg.Go(func() { res.rcvErr = rcv.Run(rctx) })
	sctx, scancel := context.WithTimeout(context.Background(), d)
	defer scancel()
	start := time.Now()
	res.sndErr = snd.Run(sctx)
	res.elapsed = time.Since(start)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		n := rcv.Received() + rcv.Invalid()
		time.Sleep(20 * time.Millisecond)
		if rcv.Received() >= snd.Sent() || rcv.Received()+rcv.Invalid() == n {
			break
		}
	}
	rcancel()
	wg.Wait()
	after := cnt.read(t)
	res.bpf = after.bpf.Sub(before.bpf)
	res.sndDev = after.sndDev.Sub(before.sndDev)
	res.rcvDev = after.rcvDev.Sub(before.rcvDev)
	res.snmp = after.snmp.Sub(before.snmp)
	if err := snd.Close(); err != nil {
		t.Errorf("close sender: %v", err)
	}
	if err := rcv.Close(); err != nil {
		t.Errorf("close receiver: %v", err)
	}
	return res
}

// stackDrops is the number of datagrams the receiving namespace's IP and
// UDP layers dropped, of the traffic's family. Udp InErrors includes
// RcvbufErrors (a full receive buffer).
func (r packetRun) stackDrops(ipv6 bool) uint64 {
	keys := []string{"Ip.InDiscards", "Ip.InHdrErrors", "Ip.InAddrErrors", "Udp.InErrors", "Udp.NoPorts"}
	if ipv6 {
		keys = []string{"Ip6InDiscards", "Ip6InHdrErrors", "Ip6InAddrErrors", "Udp6InErrors", "Udp6NoPorts"}
	}
	var n uint64
	for _, k := range keys {
		n += r.snmp[k]
	}
	return n
}

func (r packetRun) String() string {
	return fmt.Sprintf("sent %d in %v (%.0f pps), received %d (gaps %d, late %d, invalid %d), bpf packets %d matched %d, "+
		"sender dev %+v, receiver dev %+v, Udp(6) InErrors %d/%d, errors %v, max lag %v, cpu %v",
		r.snd.Sent(), r.elapsed.Round(time.Millisecond), float64(r.snd.Sent())/r.elapsed.Seconds(),
		r.rcv.Received(), r.rcv.SeqGaps(), r.rcv.Late(), r.rcv.Invalid(), r.bpf.Packets, r.bpf.Matched,
		r.sndDev, r.rcvDev, r.snmp["Udp.InErrors"], r.snmp["Udp6InErrors"], r.snd.Errors(), r.snd.MaxLag(), r.snd.CPUTime())
}

// At a fixed rate without loss every frame is counted once everywhere:
// by the receiving socket, by the BPF counter at the receiver's ingress
// and by the receiving device, in every flow, without sequence gaps.
func TestPacketFixedRate(t *testing.T) {
	testenv.RequireRoot(t)
	for _, fam := range []topology.Family{topology.IPv4, topology.IPv6} {
		topo := realize(t, topology.Spec{Kind: topology.KindVeth, Family: fam})
		small := 64
		if fam == topology.IPv6 {
			small = MinFrame(true)
		}
		for _, c := range []struct {
			frame  int
			bypass bool
		}{{small, false}, {small, true}, {1514, false}, {1514, true}} {
			t.Run(fmt.Sprintf("%s/frame=%d/bypass=%v", fam, c.frame, c.bypass), func(t *testing.T) {
				const rate, flows = 20000, 3
				cfg := PacketConfig{Flows: flows, Workers: 2, FrameSize: c.frame, Rate: rate, QdiscBypass: c.bypass}
				r := runPacketPair(t, topo, cfg, 4<<20, -1, 300*time.Millisecond)
				if r.sndErr != nil || r.rcvErr != nil {
					t.Fatalf("sender: %v, receiver: %v", r.sndErr, r.rcvErr)
				}
				t.Log(r)
				sent := r.snd.Sent()
				if sent < 1000 || len(r.snd.Errors()) != 0 {
					t.Fatalf("sent %d, errors %v", sent, r.snd.Errors())
				}
				if got := r.rcv.Received(); got != sent || r.rcv.SeqGaps() != 0 || r.rcv.Late() != 0 || r.rcv.Invalid() != 0 {
					t.Errorf("received %d (gaps %d, late %d, invalid %d), sent %d", got, r.rcv.SeqGaps(), r.rcv.Late(), r.rcv.Invalid(), sent)
				}
				if want := uint64(c.frame-EthHeaderLen-ipHeaderLen(fam == topology.IPv6)-UDPHeaderLen) * sent; r.rcv.Bytes() != want {
					t.Errorf("receiver counted %d payload bytes, want %d", r.rcv.Bytes(), want)
				}
				if r.bpf.Matched != sent || r.bpf.MatchedBytes != r.snd.SentBytes() || r.bpf.BadTimestamp != 0 {
					t.Errorf("BPF matched %d packets, %d bytes (%d bad timestamps); sent %d, %d bytes",
						r.bpf.Matched, r.bpf.MatchedBytes, r.bpf.BadTimestamp, sent, r.snd.SentBytes())
				}
				// Packets other than ours (IPv6 neighbour and multicast
				// chatter) are in both the device's and the BPF count.
				if other := r.bpf.Packets - r.bpf.Matched; r.rcvDev.RxPackets-other != sent {
					t.Errorf("%s rx_packets grew by %d, %d of them not ours; sent %d", topo.Receiver.Ifname, r.rcvDev.RxPackets, other, sent)
				}
				per, err := r.rcv.PerFlow()
				if err != nil {
					t.Fatal(err)
				}
				var total uint64
				for i := range flows {
					n := per[uint16(testSrcPortBase+i)]
					if n == 0 {
						t.Errorf("flow %d: nothing received", i)
					}
					total += n
				}
				if total != sent || len(per) != flows {
					t.Errorf("per flow %v: %d in all, sent %d", per, total, sent)
				}
				if achieved := float64(sent) / r.elapsed.Seconds(); math.Abs(achieved-rate)/rate > 0.1 {
					t.Errorf("achieved %.0f pps, want %d +- 10%%", achieved, rate)
				}
				if r.snd.MaxLag() > 50*time.Millisecond {
					t.Errorf("max lag %v at only %d pps", r.snd.MaxLag(), rate)
				}
			})
		}
	}
}

// As fast as possible into a small receive buffer, frames are lost; every
// one is accounted for by the kernel's counters: sent = received + the
// sending device's drops + the receiving stack's. (A veth that cannot hand
// a frame to its peer counts it as its own tx_dropped and as the peer's
// rx_dropped: only the first is added, as in bench's accounting.)
func TestPacketUnlimitedAccounting(t *testing.T) {
	testenv.RequireRoot(t)
	for _, fam := range []topology.Family{topology.IPv4, topology.IPv6} {
		t.Run(string(fam), func(t *testing.T) {
			topo := realize(t, topology.Spec{Kind: topology.KindVeth, Family: fam})
			ipv6 := fam == topology.IPv6
			r := runPacketPair(t, topo, PacketConfig{Flows: 2, Workers: 1, FrameSize: MinFrame(ipv6)}, 64<<10, -1, 400*time.Millisecond)
			if r.sndErr != nil || r.rcvErr != nil {
				t.Fatalf("sender: %v, receiver: %v", r.sndErr, r.rcvErr)
			}
			t.Log(r)
			sent, got := r.snd.Sent(), r.rcv.Received()
			devDrops := r.sndDev.TxDropped + r.sndDev.QdiscDrops
			stackDrops := r.stackDrops(ipv6)
			if got+devDrops+stackDrops != sent {
				t.Errorf("received %d + device drops %d + IP/UDP drops %d = %d, sent %d",
					got, devDrops, stackDrops, got+devDrops+stackDrops, sent)
			}
			// Losses at the end of a flow leave no gap behind them.
			if got+r.rcv.SeqGaps() > sent || r.rcv.Late() != 0 {
				t.Errorf("received %d + gaps %d > sent %d (late %d)", got, r.rcv.SeqGaps(), sent, r.rcv.Late())
			}
			if r.bpf.Matched+r.sndDev.TxDropped != sent {
				t.Errorf("BPF matched %d + sender tx_dropped %d != sent %d", r.bpf.Matched, r.sndDev.TxDropped, sent)
			}
			if r.snd.MaxLag() != 0 || r.snd.CPUTime() <= 0 || r.snd.Threads() != 1 {
				t.Errorf("max lag %v, CPU time %v, threads %d", r.snd.MaxLag(), r.snd.CPUTime(), r.snd.Threads())
			}
			if stackDrops == 0 {
				t.Logf("no drops this time: the receiver kept up")
			}
		})
	}
}

// tcEgressDrop attaches a TCX program that drops everything leaving the
// device: the frames reach the device's transmit path and are dropped
// there, which AF_PACKET reports as ENOBUFS and offers the slot again.
func tcEgressDrop(t *testing.T, ep topology.Endpoint) {
	t.Helper()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: testenv.BPFProgPrefix + "shot", Type: ebpf.SchedCLS, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2 /* TC_ACT_SHOT */), asm.Return()},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	var l link.Link
	err = ep.NS.Do(func() error {
		var err error
		l, err = link.AttachTCX(link.TCXOptions{Interface: ep.Ifindex, Program: prog, Attach: ebpf.AttachTCXEgress})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
}

// A frame dropped in the device's transmit path was sent: it is counted
// once (ENOBUFS in Errors), the drop tracepoint counts it once, and its
// sequence number is not reused.
func TestPacketTransmitDrops(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	port := uint16(30000 + rand.IntN(20000)) // the drop counter sees every namespace
	drops, err := vbpf.AttachDrops(vbpf.DropOptions{DstPort: port})
	if err != nil {
		t.Fatal(err)
	}
	defer drops.Close()
	tcEgressDrop(t, topo.Sender)
	cfg := packetConfig(t, topo, PacketConfig{DstPort: port, Flows: 1, FrameSize: 64, Rate: 20000, Batch: 8})
	snd, err := NewPacketSender(topo.Sender.NS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	d0, err := drops.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := snd.Run(ctx); err != nil {
		t.Fatal(err)
	}
	d1, err := drops.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	d := d1.Sub(d0)
	sent := snd.Sent()
	t.Logf("sent %d, errors %v, drops %v", sent, snd.Errors(), d)
	if sent < 100 || snd.Errors()["ENOBUFS"] != sent || d.Total() != sent {
		t.Errorf("sent %d, ENOBUFS %d, dropped %d: want all equal", sent, snd.Errors()["ENOBUFS"], d.Total())
	}
	if k := snd.workers[0]; k.seq[0] != uint32(sent) || k.head != k.tail {
		t.Errorf("next sequence number %d after %d sent; ring head %d tail %d", k.seq[0], sent, k.head, k.tail)
	}
}

// Behind a slow qdisc (tbf) the ring fills with frames in flight: Run still
// stops promptly, a rate-limited sender reports how far behind it fell,
// and once the queue has drained every frame counted as sent was received.
func TestPacketSlowQueue(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	h, err := topo.Sender.NS.NetlinkHandle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	const bytesPerSec = 128000 // 2000 frames of 64 bytes a second
	err = h.QdiscAdd(&netlink.Tbf{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: topo.Sender.Ifindex, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT},
		Rate:       bytesPerSec, Limit: 64 * 1000, Buffer: netlink.Xmittime(bytesPerSec, 1600),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, rate := range []float64{0, 20000} {
		t.Run(fmt.Sprintf("rate=%v", rate), func(t *testing.T) {
			cfg := packetConfig(t, topo, PacketConfig{Flows: 1, FrameSize: 64, Rate: rate})
			rcv, err := NewUDPReceiver(topo.Receiver.NS, cfg.Dst, cfg.DstPort, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer rcv.Close()
			snd, err := NewPacketSender(topo.Sender.NS, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer snd.Close()
			rctx, rcancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- rcv.Run(rctx) }()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			if err := snd.Run(ctx); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 300*time.Millisecond {
				t.Errorf("a 200 ms Run took %v behind a slow queue", d)
			}
			k := snd.workers[0]
			t.Logf("sent %d, %d in flight at the end, max lag %v, errors %v", snd.Sent(), k.head-k.tail, snd.MaxLag(), snd.Errors())
			if k.head-k.tail == 0 {
				t.Errorf("no frames in flight behind a queue of %d frames/s", bytesPerSec/64)
			}
			if rate > 0 && snd.MaxLag() < 50*time.Millisecond {
				t.Errorf("max lag %v at %v frames/s into a queue of %d frames/s", snd.MaxLag(), rate, bytesPerSec/64)
			}
			for deadline := time.Now().Add(time.Second); rcv.Received() < snd.Sent() && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			rcancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if rcv.Received() != snd.Sent() || rcv.SeqGaps() != 0 {
				t.Errorf("received %d (gaps %d), sent %d", rcv.Received(), rcv.SeqGaps(), snd.Sent())
			}
		})
	}
}

// A frame the kernel refuses is not sent: not counted, its sequence
// number used by the next frame.
func TestPacketRefusedFrame(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	cfg := packetConfig(t, topo, PacketConfig{Flows: 1, FrameSize: 64, Batch: 4})
	rcv, err := NewUDPReceiver(topo.Receiver.NS, cfg.Dst, cfg.DstPort, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	snd, err := NewPacketSender(topo.Sender.NS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	k := snd.workers[0]
	k.clock = newMonoClock()
	lenOf := func(i uint32) []byte { at := int(i&k.mask) * k.slot; return k.ring[at+tpLenOff : at+tpLenOff+4] }
	if _, _, err := k.kick(0, 4); err != nil {
		t.Fatal(err)
	}
	// Make the third frame of the next kick longer than a slot.
	bad := lenOf(k.head + 2)
	saved := [4]byte(bad)
	bad[0], bad[1], bad[2], bad[3] = 0, 0, 1, 0
	if _, _, err := k.kick(0, 4); err != nil {
		t.Fatal(err)
	}
	if snd.Sent() != 6 || k.seq[0] != 6 || snd.Errors()["EMSGSIZE"] != 1 {
		t.Errorf("after a refused frame: sent %d, next sequence number %d, errors %v; want 6, 6, one EMSGSIZE",
			snd.Sent(), k.seq[0], snd.Errors())
	}
	copy(bad, saved[:])
	for range 3 {
		if _, _, err := k.kick(0, 4); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := rcv.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if snd.Sent() != 18 || rcv.Received() != 18 || rcv.SeqGaps() != 0 || rcv.Late() != 0 {
		t.Errorf("sent %d, received %d (gaps %d, late %d); want 18 without gaps", snd.Sent(), rcv.Received(), rcv.SeqGaps(), rcv.Late())
	}
}

func TestPacketCloseAndCancel(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	for _, rate := range []float64{0, 10} {
		t.Run(fmt.Sprintf("rate=%v", rate), func(t *testing.T) {
			cfg := packetConfig(t, topo, PacketConfig{Flows: 2, Workers: 2, FrameSize: 64, Rate: rate})
			snd, err := NewPacketSender(topo.Sender.NS, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer snd.Close()
			// Cancellation stops Run promptly, and Run may run again.
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- snd.Run(ctx) }()
			time.Sleep(100 * time.Millisecond)
			if err := snd.Run(context.Background()); !errors.Is(err, ErrRunning) {
				t.Errorf("second concurrent Run: %v, want ErrRunning", err)
			}
			start := time.Now()
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run after cancel: %v", err)
			}
			if d := time.Since(start); d > 200*time.Millisecond {
				t.Errorf("Run took %v to stop after cancel", d)
			}
			// Close stops a running Run, which returns ErrClosed.
			go func() { done <- snd.Run(context.Background()) }()
			time.Sleep(100 * time.Millisecond)
			start = time.Now()
			if err := snd.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("Run stopped by Close: %v, want ErrClosed", err)
				}
			case <-time.After(time.Second):
				t.Fatal("Run did not return after Close")
			}
			if d := time.Since(start); d > 200*time.Millisecond {
				t.Errorf("Close took %v", d)
			}
			if err := snd.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if err := snd.Run(context.Background()); !errors.Is(err, ErrClosed) {
				t.Errorf("Run after Close: %v, want ErrClosed", err)
			}
			if rate == 0 && snd.Sent() == 0 {
				t.Error("nothing sent")
			}
		})
	}
}

// A frame larger than the device's MTU is refused before anything opens.
func TestPacketFrameAboveDeviceMTU(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth, MTU: 1280})
	cfg := packetConfig(t, topo, PacketConfig{Flows: 1, FrameSize: 1514})
	if _, err := NewPacketSender(topo.Sender.NS, cfg); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "MTU 1280") {
		t.Errorf("1514-byte frames on MTU 1280: %v, want ErrInvalid naming the device's MTU", err)
	}
}

func TestPacketKickDoesNotAllocate(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth, Family: topology.IPv6})
	cfg := packetConfig(t, topo, PacketConfig{Flows: 2, FrameSize: 78})
	snd, err := NewPacketSender(topo.Sender.NS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	k := snd.workers[0]
	k.clock = newMonoClock()
	flow := 0
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := k.kick(flow, snd.cfg.Batch); err != nil {
			t.Fatal(err)
		}
		flow ^= 1
	}); n != 0 {
		t.Errorf("kick: %v allocations", n)
	}
	if snd.Sent() == 0 {
		t.Error("nothing sent")
	}
}

// BenchmarkPacketVeth64 sends 64-byte frames as fast as possible through one
// veth pair to a draining UDP receiver (the full receive stack), one
// worker, and reports the sender's and the receiver's packets per second.
// Each iteration is a 2 s window.
func BenchmarkPacketVeth64(b *testing.B) {
	benchmarkPacketVeth(b, false)
}

// BenchmarkPacketVeth64Bypass is BenchmarkPacketVeth64 with
// PACKET_QDISC_BYPASS, as trafgen sends by default.
func BenchmarkPacketVeth64Bypass(b *testing.B) {
	benchmarkPacketVeth(b, true)
}

func benchmarkPacketVeth(b *testing.B, bypass bool) {
	testenv.RequireRoot(b)
	topo := realize(b, topology.Spec{Kind: topology.KindVeth})
	const window = 2 * time.Second
	var sent, recv uint64
	var elapsed, cpu time.Duration
	for b.Loop() {
		r := runPacketPair(b, topo, PacketConfig{Flows: 1, FrameSize: 64, QdiscBypass: bypass, CPUs: []int{0}},
			4<<20, runtime.NumCPU()-1, window)
		if r.sndErr != nil || r.rcvErr != nil {
			b.Fatalf("sender: %v, receiver: %v", r.sndErr, r.rcvErr)
		}
		b.Log(r)
		sent += r.snd.Sent()
		recv += r.rcv.Received()
		elapsed += r.elapsed
		cpu += r.snd.CPUTime()
	}
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "pps")
	b.ReportMetric(float64(recv)/elapsed.Seconds(), "rx-pps")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(sent), "cpu-ns/pkt")
	b.ReportMetric(0, "ns/op") // meaningless: each iteration is one window
}

// BenchmarkTrafgenVeth64 runs netsniff-ng's trafgen (when installed) on the
// path of BenchmarkPacketVeth64, one process, with the same frame and
// receiver, for comparison. trafgen bypasses the qdisc by default
// (BenchmarkPacketVeth64Bypass is the like-for-like figure). Its rate is
// the receiving device's rx_packets over a window while it runs; its CPU
// time, from /proc, includes the softirq work done on its thread, as the
// packet sender's does.
func BenchmarkTrafgenVeth64(b *testing.B) {
	testenv.RequireRoot(b)
	bin, err := exec.LookPath("trafgen")
	if err != nil {
		b.Skip("trafgen not installed (apt-get install netsniff-ng)")
	}
	topo := realize(b, topology.Spec{Kind: topology.KindVeth})
	cfg := packetConfig(b, topo, PacketConfig{Flows: 1, FrameSize: 64})
	frame, err := BuildFrame(FrameSpec{
		SrcMAC: cfg.Path.SrcMAC, DstMAC: cfg.Path.DstMAC, FrameSize: 64,
		Src: netip.AddrPortFrom(cfg.Path.Src, cfg.SrcPortBase), Dst: netip.AddrPortFrom(cfg.Dst, cfg.DstPort),
	})
	if err != nil {
		b.Fatal(err)
	}
	var conf strings.Builder
	conf.WriteString("{ ")
	for i, c := range frame {
		if i > 0 {
			conf.WriteString(", ")
		}
		fmt.Fprintf(&conf, "%#02x", c)
	}
	conf.WriteString(" }\n")
	confPath := filepath.Join(b.TempDir(), "frame.cfg")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	rcv, err := NewUDPReceiver(topo.Receiver.NS, cfg.Dst, cfg.DstPort, 4<<20)
	if err != nil {
		b.Fatal(err)
	}
	defer rcv.Close()
	if err := rcv.PinTo(runtime.NumCPU() - 1); err != nil {
		b.Fatal(err)
	}
	// The same BPF counter at the receiver's ingress as the other
	// benchmarks carry.
	rd := newCounters(b, topo, cfg.DstPort).rcvR
	var pkts, got uint64
	var elapsed, cpu time.Duration
	for b.Loop() {
		w := trafgenWindow(b, bin, confPath, topo, cfg.Path.Ifname, rcv, rd)
		pkts += w.pkts
		got += w.got
		cpu += w.cpu
		elapsed += w.elapsed
	}
	b.ReportMetric(float64(pkts)/elapsed.Seconds(), "pps")
	b.ReportMetric(float64(got)/elapsed.Seconds(), "rx-pps")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(pkts), "cpu-ns/pkt")
	b.ReportMetric(0, "ns/op")
}

type trafgenResult struct {
	pkts, got    uint64 // the receiving device's rx_packets, the receiver's count
	cpu, elapsed time.Duration
}

// trafgenWindow runs trafgen from the sender's namespace, with the receiver
// draining, and measures a 2 s window after its start-up.
func trafgenWindow(b *testing.B, bin, confPath string, topo *topology.Topology, dev string, rcv *UDPReceiver, rd *kstat.Reader) trafgenResult {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rcv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	// --no-sock-mem and --notouch-irq: leave the host's socket memory
	// sysctls and IRQ affinities alone. -n bounds its life should the
	// signal below be lost.
	cmd := exec.Command(bin, "--dev", dev, "--conf", confPath, "--cpus", "1",
		"--no-sock-mem", "--notouch-irq", "--no-cpu-stats", "-n", "50000000")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// Its own process group: trafgen sends from a forked child, which a
	// signal to the parent alone does not stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The child inherits the namespace of the thread that forks it.
	if err := topo.Sender.NS.Do(cmd.Start); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
			b.Error(err)
		}
		cmd.Wait()
	}()
	time.Sleep(300 * time.Millisecond) // trafgen's start-up
	d0, err := rd.Device(topo.Receiver.Ifname)
	if err != nil {
		b.Fatal(err)
	}
	r0, c0, t0 := rcv.Received(), processTreeCPU(b, cmd.Process.Pid), time.Now()
	time.Sleep(2 * time.Second)
	d1, err := rd.Device(topo.Receiver.Ifname)
	if err != nil {
		b.Fatal(err)
	}
	r1, c1, t1 := rcv.Received(), processTreeCPU(b, cmd.Process.Pid), time.Now()
	return trafgenResult{pkts: d1.RxPackets - d0.RxPackets, got: r1 - r0, cpu: c1 - c0, elapsed: t1.Sub(t0)}
}

// processTreeCPU is the CPU time (user+system) used so far by a process and
// its children that still run, from /proc (in clock ticks, 10 ms).
func processTreeCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	var ticks uint64
	for _, x := range f[11:13] {
		var n uint64
		fmt.Sscan(x, &n)
		ticks += n
	}
	d := time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100 on Linux
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range strings.Fields(string(children)) {
		var child int
		fmt.Sscan(c, &child)
		d += processTreeCPU(b, child)
	}
	return d
}
