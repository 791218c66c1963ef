package vbpf

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/safchain/ethtool"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/kstat"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/netns"
	"github.com/vethbench/vethbench/internal/testenv"
)

const (
	xdpTestPort     = 47124
	xdpTestFlowBase = 30000
	xdpRedirect     = 4 // XDP_REDIRECT
	xdpDrop         = 1 // XDP_DROP
)

// xdpFrame builds a vethbench UDP frame from src to dst (IPv4 without
// options or IPv6) of size bytes; the IPv6 UDP checksum is computed, IPv4
// carries csum4 (0: none) as its UDP checksum, fixed up to be correct if
// non-zero.
func xdpFrame(src, dst netip.AddrPort, srcMAC, dstMAC net.HardwareAddr, size int, csum4 bool) []byte {
	v6 := dst.Addr().Is6()
	l3 := 14
	l4 := l3 + 20
	if v6 {
		l4 = l3 + 40
	}
	f := make([]byte, size)
	copy(f[0:6], dstMAC)
	copy(f[6:12], srcMAC)
	udpLen := size - l4
	if v6 {
		binary.BigEndian.PutUint16(f[12:], unix.ETH_P_IPV6)
		f[l3] = 6 << 4
		binary.BigEndian.PutUint16(f[l3+4:], uint16(udpLen))
		f[l3+6], f[l3+7] = unix.IPPROTO_UDP, 64
		s, d := src.Addr().As16(), dst.Addr().As16()
		copy(f[l3+8:], s[:])
		copy(f[l3+24:], d[:])
	} else {
		binary.BigEndian.PutUint16(f[12:], unix.ETH_P_IP)
		f[l3] = 0x45
		binary.BigEndian.PutUint16(f[l3+2:], uint16(size-l3))
		f[l3+8], f[l3+9] = 64, unix.IPPROTO_UDP
		s, d := src.Addr().As4(), dst.Addr().As4()
		copy(f[l3+12:], s[:])
		copy(f[l3+16:], d[:])
		binary.BigEndian.PutUint16(f[l3+10:], ^xdpFold16(xdpSum16(f[l3:l4], 0)))
	}
	binary.BigEndian.PutUint16(f[l4:], src.Port())
	binary.BigEndian.PutUint16(f[l4+2:], dst.Port())
	binary.BigEndian.PutUint16(f[l4+4:], uint16(udpLen))
	copy(f[l4+8:], "VBP1")
	if v6 || csum4 {
		binary.BigEndian.PutUint16(f[l4+6:], udpChecksum(f))
	}
	return f
}

// udpChecksum computes the UDP checksum of a frame built by xdpFrame
// (with the checksum field taken as zero).
func udpChecksum(f []byte) uint16 {
	l4, _ := udpOffset(f)
	udp := append([]byte(nil), f[l4:]...)
	udp[6], udp[7] = 0, 0
	var s uint32
	if binary.BigEndian.Uint16(f[12:]) == unix.ETH_P_IPV6 {
		s = xdpSum16(f[14+8:14+40], s)
	} else {
		s = xdpSum16(f[14+12:14+20], s)
	}
	s += uint32(len(udp)) + unix.IPPROTO_UDP
	c := ^xdpFold16(xdpSum16(udp, s))
	if c == 0 {
		c = 0xffff
	}
	return c
}

// udpChecksumOK verifies a frame's UDP checksum as a receiver does: the
// sum over pseudo-header and datagram, checksum included, is all ones.
func udpChecksumOK(f []byte) bool {
	l4, _ := udpOffset(f)
	var s uint32
	if binary.BigEndian.Uint16(f[12:]) == unix.ETH_P_IPV6 {
		s = xdpSum16(f[14+8:14+40], s)
	} else {
		s = xdpSum16(f[14+12:14+20], s)
	}
	s += uint32(len(f)-l4) + unix.IPPROTO_UDP
	return xdpFold16(xdpSum16(f[l4:], s)) == 0xffff
}

func xdpSum16(b []byte, s uint32) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func xdpFold16(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

func xdpLoadGen(t *testing.T, ifindex, flows int) *XDPGen {
	t.Helper()
	testenv.RequireRoot(t)
	g, err := LoadXDPGen(ifindex, xdpTestFlowBase, flows)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Error(err)
		}
	})
	return g
}

func xdpGenStats(t *testing.T, g *XDPGen) XDPGenStats {
	t.Helper()
	s, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	xdpMAC1 = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	xdpMAC2 = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

// xdpTopo is a veth pair with what the XDP tests need to know about it.
type xdpTopo struct {
	*topology.Topology
	sndMAC, rcvMAC net.HardwareAddr
	rcvStats       *kstat.Reader
}

func xdpVeth(t *testing.T, fam topology.Family) *xdpTopo {
	t.Helper()
	testenv.RequireRoot(t)
	topo := realizeVeth(t, fam)
	x := &xdpTopo{Topology: topo}
	x.sndMAC = xdpMACOf(t, topo.Sender)
	x.rcvMAC = xdpMACOf(t, topo.Receiver)
	var err error
	if x.rcvStats, err = kstat.NewReader(topo.Receiver.NS); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.rcvStats.Close)
	return x
}

func xdpMACOf(t *testing.T, ep topology.Endpoint) net.HardwareAddr {
	t.Helper()
	var mac net.HardwareAddr
	err := ep.NS.Do(func() error {
		iface, err := net.InterfaceByIndex(ep.Ifindex)
		if err != nil {
			return err
		}
		mac = iface.HardwareAddr
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return mac
}

// frame builds flow's frame from the sender to the receiver.
func (x *xdpTopo) frame(flow, size int) []byte {
	src := netip.AddrPortFrom(x.Sender.Addr, uint16(xdpTestFlowBase+flow))
	dst := netip.AddrPortFrom(x.Receiver.Addr, xdpTestPort)
	return xdpFrame(src, dst, x.sndMAC, x.rcvMAC, size, false)
}

// xdpSetGRO turns GRO on or off at a device inside its namespace.
func xdpSetGRO(t *testing.T, ep topology.Endpoint, on bool) {
	t.Helper()
	err := ep.NS.Do(func() error {
		e, err := ethtool.NewEthtool()
		if err != nil {
			return err
		}
		defer e.Close()
		return e.Change(ep.Ifname, map[string]bool{"rx-gro": on})
	})
	if err != nil {
		t.Fatalf("set GRO %v on %s: %v", on, ep.Ifname, err)
	}
}

// xdpGenRun runs g inside the sender's namespace.
func xdpGenRun(t *testing.T, ns *netns.NS, g *XDPGen, frame []byte, repeat, batch int) uint64 {
	t.Helper()
	var n uint64
	err := ns.Do(func() error {
		var err error
		n, err = g.Run(frame, repeat, batch)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func xdpDevStats(t *testing.T, r *kstat.Reader, ifname string) kstat.Device {
	t.Helper()
	d, err := r.Device(ifname)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// xdpSettleDev waits until a device's rx counters stop moving.
func xdpSettleDev(t *testing.T, r *kstat.Reader, ifname string) kstat.Device {
	t.Helper()
	d := xdpDevStats(t, r, ifname)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		d2 := xdpDevStats(t, r, ifname)
		if d2 == d {
			return d
		}
		d = d2
	}
	t.Fatalf("%s counters still moving after 5s", ifname)
	return d
}

// xdpStampOf reads the sequence number and send time of a frame.
func xdpStampOf(f []byte) (uint32, uint64) {
	l4, _ := udpOffset(f)
	p := f[l4+8:]
	return binary.LittleEndian.Uint32(p[4:]), binary.LittleEndian.Uint64(p[8:])
}

// xdpRunOnce runs vb_xdp_gen for flow's frame f without live frames, as
// Run would (the globals set for the call), and returns its verdict and
// the frame as the program left it.
func xdpRunOnce(t *testing.T, g *XDPGen, flow int, f []byte, repeat uint32) (uint32, []byte) {
	t.Helper()
	out := make([]byte, len(f)+256)
	ret, _, err := g.call(flow, &ebpf.RunOptions{Data: f, DataOut: out, Repeat: repeat})
	if err != nil {
		t.Fatal(err)
	}
	return ret, out[:len(f)]
}

// Without live frames the kernel runs the program repeat times over one
// buffer, which keeps every stamp: the incremental checksum update must
// stay right however many times it is applied on top of itself.
func TestXDPGenStampsAndChecksums(t *testing.T) {
	g := xdpLoadGen(t, 1, 2) // the redirect target does not matter: nothing is sent
	src6 := netip.MustParseAddrPort("[fd00::1]:30001")
	dst6 := netip.MustParseAddrPort("[fd00::2]:47124")
	src4 := netip.MustParseAddrPort("10.231.0.1:30000")
	dst4 := netip.MustParseAddrPort("10.231.0.2:47124")
	cases := []struct {
		name   string
		frame  []byte
		flow   int
		csum   bool // the frame carries a UDP checksum
		repeat uint32
	}{
		{"ipv6", xdpFrame(src6, dst6, xdpMAC1, xdpMAC2, 78, false), 1, true, 100000},
		{"ipv6 odd length", xdpFrame(src6, dst6, xdpMAC1, xdpMAC2, 1001, false), 1, true, 1000},
		{"ipv4 no checksum", xdpFrame(src4, dst4, xdpMAC1, xdpMAC2, 64, false), 0, false, 1000},
		{"ipv4 with checksum", xdpFrame(src4, dst4, xdpMAC1, xdpMAC2, 64, true), 0, true, 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seq0, err := g.NextSeq(tc.flow)
			if err != nil {
				t.Fatal(err)
			}
			st0 := xdpGenStats(t, g)
			t0 := monotonicNow(t)
			ret, out := xdpRunOnce(t, g, tc.flow, tc.frame, tc.repeat)
			t1 := monotonicNow(t)
			if ret != xdpRedirect {
				t.Fatalf("verdict %d, want XDP_REDIRECT", ret)
			}
			seq, ts := xdpStampOf(out)
			if want := uint32(seq0) + tc.repeat - 1; seq != want {
				t.Errorf("last stamp has sequence %d, want %d", seq, want)
			}
			if ts < t0 || ts > t1 {
				t.Errorf("send time %d outside the run [%d, %d]", ts, t0, t1)
			}
			l4, _ := udpOffset(out)
			if c := binary.BigEndian.Uint16(out[l4+6:]); !tc.csum && c != 0 {
				t.Errorf("checksum %#04x written into a frame without one", c)
			}
			if tc.csum && !udpChecksumOK(out) {
				t.Errorf("UDP checksum wrong after %d updates", tc.repeat)
			}
			if n, _ := g.NextSeq(tc.flow); n != seq0+uint64(tc.repeat) {
				t.Errorf("flow counter at %d, want %d", n, seq0+uint64(tc.repeat))
			}
			d := xdpGenStats(t, g).Sub(st0)
			if d.Frames != uint64(tc.repeat) || d.Bytes != uint64(tc.repeat)*uint64(len(tc.frame)) || d.Bad != 0 {
				t.Errorf("counted %+v, want %d frames of %d bytes", d, tc.repeat, len(tc.frame))
			}
		})
	}
	// Start from random stamps (a page pool page keeps whatever an earlier
	// round wrote), each with a correct checksum, so that the update meets
	// carries of every kind and its 0/0xffff corner.
	rnd := rand.New(rand.NewPCG(1, 2))
	f := xdpFrame(src6, dst6, xdpMAC1, xdpMAC2, 78, false)
	for i := range 3000 {
		l4, _ := udpOffset(f)
		for j := l4 + 12; j < l4+24; j++ {
			f[j] = byte(rnd.Uint32())
		}
		binary.BigEndian.PutUint16(f[l4+6:], udpChecksum(f))
		if _, out := xdpRunOnce(t, g, 1, f, 1); !udpChecksumOK(out) {
			t.Fatalf("round %d: checksum wrong after one update of % x", i, f[l4:])
		}
	}
}

// Frames the program cannot stamp are dropped and counted, never sent;
// Run refuses them, and frames of flows outside the generator's, first.
func TestXDPGenRefuses(t *testing.T) {
	g := xdpLoadGen(t, 1, 2)
	dst := netip.MustParseAddrPort("10.231.0.2:47124")
	good := xdpFrame(netip.MustParseAddrPort("10.231.0.1:30000"), dst, xdpMAC1, xdpMAC2, 64, false)
	badMagic := append([]byte(nil), good...)
	badMagic[14+20+8] = 'X'
	options := xdpFrame(netip.MustParseAddrPort("10.231.0.1:30000"), dst, xdpMAC1, xdpMAC2, 64, false)
	options[14] = 0x46
	for name, f := range map[string][]byte{
		"no magic":     badMagic,
		"ipv4 options": options,
		"cut short":    good[:14+20+8+8],
		"not IP":       append(append([]byte(nil), good[:12]...), 0x08, 0x06, 0, 1),
	} {
		st0 := xdpGenStats(t, g)
		ret, _ := xdpRunOnce(t, g, 0, f, 1)
		d := xdpGenStats(t, g).Sub(st0)
		if ret != xdpDrop || d.Bad != 1 || d.Frames != 0 {
			t.Errorf("%s: verdict %d, counted %+v; want XDP_DROP and one bad frame", name, ret, d)
		}
		if _, err := g.Run(f, 1, 0); err == nil {
			t.Errorf("%s: Run took a frame the program refuses", name)
		}
	}
	for name, f := range map[string][]byte{
		"flow below the range": xdpFrame(netip.MustParseAddrPort("10.231.0.1:29999"), dst, xdpMAC1, xdpMAC2, 64, false),
		"flow above the range": xdpFrame(netip.MustParseAddrPort("10.231.0.1:30002"), dst, xdpMAC1, xdpMAC2, 64, false),
	} {
		if _, err := g.Run(f, 1, 0); err == nil {
			t.Errorf("%s: Run took it", name)
		}
	}
	for _, n := range []uint64{0, 1} {
		if s, _ := g.NextSeq(int(n)); s != 0 {
			t.Errorf("flow %d advanced to %d by refused frames", n, s)
		}
	}
	if _, err := g.Run(good, 0, 0); err == nil {
		t.Error("Run with repeat 0 succeeded")
	}
	if _, err := g.Run(good, 1, MaxLiveBatch+1); err == nil {
		t.Error("Run with a batch above the kernel's limit succeeded")
	}
	if _, err := g.NextSeq(2); err == nil {
		t.Error("NextSeq of a flow out of range succeeded")
	}
	if _, err := LoadXDPGen(1, 65535, 2); err == nil {
		t.Error("LoadXDPGen with flows past port 65535 succeeded")
	}
	if _, err := LoadXDPGen(0, 30000, 1); err == nil {
		t.Error("LoadXDPGen with ifindex 0 succeeded")
	}
}

// LiveFrameMax is the kernel's own limit: one byte more is refused.
func TestLiveFrameMax(t *testing.T) {
	testenv.RequireRoot(t)
	most, err := LiveFrameMax()
	if err != nil {
		t.Fatal(err)
	}
	if most < 1514 || most >= 4096 {
		t.Fatalf("live frames of at most %d bytes: want a standard frame to fit in one page", most)
	}
	t.Logf("live frames hold at most %d bytes", most)
	g := xdpLoadGen(t, 1, 1)
	if g.MaxFrame() != most {
		t.Errorf("generator's MaxFrame %d, LiveFrameMax %d", g.MaxFrame(), most)
	}
	big := xdpFrame(netip.MustParseAddrPort("10.231.0.1:30000"), netip.MustParseAddrPort("10.231.0.2:47124"),
		xdpMAC1, xdpMAC2, most+1, false)
	if _, err := g.Run(big, 1, 0); err == nil {
		t.Errorf("Run took a %d-byte frame", len(big))
	}
	// The drop program inside LiveFrameMax sent nothing, but checks the
	// kernel itself: the frame it says fits, fits.
	_, err = g.objs.Prog.Run(&ebpf.RunOptions{Data: big[:most], Repeat: 1, Flags: unix.BPF_F_TEST_XDP_LIVE_FRAMES})
	if err != nil {
		t.Errorf("a %d-byte live frame: %v", most, err)
	}
}

// What a veth needs to take redirected frames is visible in its XDP
// features, and CheckXDPXmit follows it.
func TestCheckXDPXmit(t *testing.T) {
	x := xdpVeth(t, topology.IPv4)
	check := func(want error) {
		t.Helper()
		err := CheckXDPXmit(x.Sender.NS, x.Sender.Ifindex)
		if errors.Is(err, ErrNotSupported) {
			t.Skipf("kernel does not report XDP features: %v", err)
		}
		if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
			t.Fatalf("CheckXDPXmit: %v, want %v", err, want)
		}
	}
	check(ErrNoXDPXmit)
	xdpSetGRO(t, x.Receiver, true)
	check(nil)
	xdpSetGRO(t, x.Receiver, false)
	check(ErrNoXDPXmit)
	sink, err := AttachXDPSink(x.Receiver.NS, x.Receiver.Ifname, xdpTestPort)
	if err != nil {
		t.Fatal(err)
	}
	check(nil)
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	check(ErrNoXDPXmit)
	if err := CheckXDPXmit(x.Sender.NS, 9999); err == nil || errors.Is(err, ErrNoXDPXmit) {
		t.Errorf("CheckXDPXmit of a missing device: %v", err)
	}
}

// Live frames run in the sender's namespace reach the peer, stamped in
// order: the ingress counter matches every one, with a sane latency, and
// the per-flow counters say how many each call sent.
func TestXDPGenLive(t *testing.T) {
	x := xdpVeth(t, topology.IPv4)
	xdpSetGRO(t, x.Receiver, true)
	listen(t, x.Topology, xdpTestPort)
	c, err := AttachIngress(x.Receiver.NS, x.Receiver.Ifname, Options{DstPort: xdpTestPort})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	g := xdpLoadGen(t, x.Sender.Ifindex, 2)
	rx0 := xdpDevStats(t, x.rcvStats, x.Receiver.Ifname)
	s0 := snap(t, c)
	var sent uint64
	for flow, n := range []int{5000, 3000} {
		got := xdpGenRun(t, x.Sender.NS, g, x.frame(flow, 64), n, 0)
		if got != uint64(n) {
			t.Errorf("flow %d: Run reports %d frames, asked for %d", flow, got, n)
		}
		if seq, _ := g.NextSeq(flow); seq != uint64(n) {
			t.Errorf("flow %d: counter at %d, want %d", flow, seq, n)
		}
		sent += got
	}
	rx := xdpSettleDev(t, x.rcvStats, x.Receiver.Ifname).Sub(rx0)
	d := snap(t, c).Sub(s0)
	other := d.Packets - d.Matched
	if d.Matched != sent || rx.RxPackets != sent+other || rx.RxDropped != 0 {
		t.Errorf("sent %d; ingress matched %d (other %d), device rx %d dropped %d", sent, d.Matched, other, rx.RxPackets, rx.RxDropped)
	}
	if d.BadTimestamp != 0 || d.Latency.Total() != sent {
		t.Errorf("%d bad timestamps, %d latencies, want 0 and %d", d.BadTimestamp, d.Latency.Total(), sent)
	}
	if st := xdpGenStats(t, g); st.Frames != sent || st.Bad != 0 {
		t.Errorf("program counted %+v, sent %d", st, sent)
	}
}

// Each BPF_PROG_RUN call would otherwise install the program in the XDP
// dispatcher and remove it again, waiting for an RCU grace period each
// time (about 24 ms here). The anchor keeps calls cheap: 50 calls take
// far less than 50 grace periods.
func TestXDPGenCallsAreCheap(t *testing.T) {
	x := xdpVeth(t, topology.IPv4)
	sink, err := AttachXDPSink(x.Receiver.NS, x.Receiver.Ifname, xdpTestPort)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	g := xdpLoadGen(t, x.Sender.Ifindex, 1)
	f := x.frame(0, 64)
	var took time.Duration
	err = x.Sender.NS.Do(func() error {
		start := time.Now()
		for range 50 {
			if _, err := g.Run(f, 64, 0); err != nil {
				return err
			}
		}
		took = time.Since(start)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("50 calls of 64 frames: %v", took)
	if took > 500*time.Millisecond {
		t.Errorf("50 calls took %v: each waits for a grace period (the dispatcher anchor is not working)", took)
	}
}

// vb_xdp_sink drops and counts vethbench frames to its port, passes the
// rest, and Close detaches it.
func TestXDPSink(t *testing.T) {
	x := xdpVeth(t, topology.IPv4)
	listen(t, x.Topology, xdpTestPort+1)
	sink, err := AttachXDPSink(x.Receiver.NS, x.Receiver.Ifname, xdpTestPort)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	if sink.Mode() != XDPModeNative {
		t.Errorf("mode %s on veth, want native", sink.Mode())
	}
	g := xdpLoadGen(t, x.Sender.Ifindex, 1)
	k0, err := sink.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	xdpGenRun(t, x.Sender.NS, g, x.frame(0, 100), 4000, 0)
	other := x.frame(0, 100)
	l4, _ := udpOffset(other)
	binary.BigEndian.PutUint16(other[l4+2:], xdpTestPort+1)
	xdpGenRun(t, x.Sender.NS, g, other, 1000, 0)
	xdpSettleDev(t, x.rcvStats, x.Receiver.Ifname)
	k1, err := sink.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	d := k1.Sub(k0)
	if d.Packets != 4000 || d.Bytes != 4000*100 || d.Passed != 1000 {
		t.Errorf("sink counted %+v, want 4000 packets of 100 bytes and 1000 passed", d)
	}
	h := nlHandle(t, x.Receiver.NS)
	l, err := h.LinkByName(x.Receiver.Ifname)
	if err != nil {
		t.Fatal(err)
	}
	if xa := l.Attrs().Xdp; xa == nil || !xa.Attached {
		t.Error("no XDP program on the receiving device")
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := sink.Snapshot(); !errors.Is(err, ErrClosed) {
		t.Errorf("Snapshot after Close: %v, want ErrClosed", err)
	}
	checkNoXDP(t, h, x.Receiver.Ifname)
	if _, err := AttachXDPSink(x.Receiver.NS, "vb-missing", xdpTestPort); err == nil {
		t.Error("AttachXDPSink to a missing device succeeded")
	}
	if _, err := AttachXDPSink(x.Receiver.NS, x.Receiver.Ifname, 0); err == nil {
		t.Error("AttachXDPSink with port 0 succeeded")
	}
}

// Close waits for running calls and stops further ones.
func TestXDPGenClose(t *testing.T) {
	g := xdpLoadGen(t, 1, 1)
	f := xdpFrame(netip.MustParseAddrPort("10.231.0.1:30000"), netip.MustParseAddrPort("10.231.0.2:47124"),
		xdpMAC1, xdpMAC2, 64, false)
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := g.Run(f, 1, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
	if _, err := g.Stats(); !errors.Is(err, ErrClosed) {
		t.Errorf("Stats after Close: %v, want ErrClosed", err)
	}
}

// vb_xdp_bare redirects every frame unchanged, and run live the way the
// generator is, every frame reaches the peer's sink.
func TestXDPBare(t *testing.T) {
	x := xdpVeth(t, topology.IPv4)
	sink, err := AttachXDPSink(x.Receiver.NS, x.Receiver.Ifname, xdpTestPort)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	b, err := LoadXDPBare(x.Sender.Ifindex)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	f := x.frame(0, 100)
	out := make([]byte, len(f)+256)
	ret, err := b.prog.Run(&ebpf.RunOptions{Data: f, DataOut: out, Repeat: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ret != xdpRedirect || string(out[:len(f)]) != string(f) {
		t.Errorf("verdict %d, frame changed %v; want XDP_REDIRECT and the frame as it was", ret, string(out[:len(f)]) != string(f))
	}
	k0, err := sink.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	err = x.Sender.NS.Do(func() error {
		for _, batch := range []int{0, 16} {
			got, err := b.Run(f, 3000, batch)
			if err != nil {
				return err
			}
			n += got
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	xdpSettleDev(t, x.rcvStats, x.Receiver.Ifname)
	k1, err := sink.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// 3000 frames a call stay below what the ring drops: batches of at
	// most 64 against a ring of 256 drained by the same CPU.
	if d := k1.Sub(k0); n != 6000 || d.Packets != n || d.Bytes != n*uint64(len(f)) || d.Passed != 0 {
		t.Errorf("Run reports %d frames; sink counted %+v; want 6000 frames of %d bytes", n, d, len(f))
	}
	if b.MaxFrame() < 1514 {
		t.Errorf("MaxFrame %d", b.MaxFrame())
	}
	for name, run := range map[string]func() (uint64, error){
		"repeat 0":           func() (uint64, error) { return b.Run(f, 0, 0) },
		"batch above limit":  func() (uint64, error) { return b.Run(f, 1, MaxLiveBatch+1) },
		"frame above a page": func() (uint64, error) { return b.Run(make([]byte, b.MaxFrame()+1), 1, 0) },
	} {
		if _, err := run(); err == nil {
			t.Errorf("Run with %s succeeded", name)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.Run(f, 1, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
	if _, err := LoadXDPBare(0); err == nil {
		t.Error("LoadXDPBare with ifindex 0 succeeded")
	}
}

// xdpCapture is an AF_PACKET socket on a device that reads what arrives.
type xdpCapture struct{ fd int }

func xdpCaptureOn(t *testing.T, ep topology.Endpoint) *xdpCapture {
	t.Helper()
	proto := int(uint16(unix.ETH_P_ALL)<<8 | uint16(unix.ETH_P_ALL)>>8) // network order
	c := &xdpCapture{fd: -1}
	err := ep.NS.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return err
		}
		c.fd = fd
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20); err != nil {
			return err
		}
		tv := unix.NsecToTimeval((500 * time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ep.Ifindex})
	})
	if c.fd >= 0 {
		t.Cleanup(func() { unix.Close(c.fd) })
	}
	if err != nil {
		t.Fatalf("AF_PACKET socket on %s: %v", ep.Ifname, err)
	}
	return c
}

// stamps reads n vethbench frames to port and returns their sequence
// numbers and send times, in arrival order.
func (c *xdpCapture) stamps(t *testing.T, n int, port uint16) (seqs []uint32, times []uint64) {
	t.Helper()
	buf := make([]byte, 4096)
	for len(seqs) < n {
		m, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			t.Fatalf("captured %d of %d frames: %v", len(seqs), n, err)
		}
		f := buf[:m]
		l4, ok := udpOffset(f)
		if !ok || len(f) < l4+24 || binary.BigEndian.Uint16(f[l4+2:]) != port {
			continue
		}
		s, ts := xdpStampOf(f)
		seqs, times = append(seqs, s), append(times, ts)
	}
	return seqs, times
}

// With SetBatchStamp(true) the frames of a batch arrive with the time the
// batch began, one clock read per batch; without, each frame has its own.
func TestXDPGenBatchStamp(t *testing.T) {
	x := xdpVeth(t, topology.IPv4)
	xdpSetGRO(t, x.Receiver, true)
	capture := xdpCaptureOn(t, x.Receiver)
	g := xdpLoadGen(t, x.Sender.Ifindex, 1)
	f := x.frame(0, 64)
	const batch, batches = 16, 6
	if d, err := g.StampSpread(); err != nil || d != (StampSpread{}) {
		t.Fatalf("a fresh generator's stamp spread: %+v, %v", d, err)
	}
	// StampSpread counts since the generator was loaded: its Max is
	// bounded by the longest call so far, not by the last one (per-frame
	// stamps add nothing, and the first call may have been the slower).
	var longest time.Duration
	for _, perBatch := range []bool{true, false} {
		g.SetBatchStamp(perBatch)
		seq0, err := g.NextSeq(0)
		if err != nil {
			t.Fatal(err)
		}
		t0 := monotonicNow(t)
		xdpGenRun(t, x.Sender.NS, g, f, batch*batches, batch)
		t1 := monotonicNow(t)
		longest = max(longest, time.Duration(t1-t0))
		seqs, times := capture.stamps(t, batch*batches, xdpTestPort)
		// Each stamp served its batch for a while, within the call.
		d, err := g.StampSpread()
		if err != nil || (perBatch && (d.Batches != batches || d.Mean <= 0 || d.Mean > d.Max)) || d.Max > longest {
			t.Errorf("stamp spread %+v (%v) after %d batches, the longest call %v", d, err, batches, longest)
		}
		for i := range seqs {
			if seqs[i] != uint32(seq0)+uint32(i) {
				t.Fatalf("frame %d has sequence %d, want %d", i, seqs[i], seq0+uint64(i))
			}
			if times[i] < t0 || times[i] > t1 || (i > 0 && times[i] < times[i-1]) {
				t.Fatalf("frame %d stamped %d: outside the call [%d, %d] or before the frame ahead of it (%d)", i, times[i], t0, t1, times[max(i-1, 0)])
			}
		}
		for b := range batches {
			distinct := len(slices.Compact(slices.Clone(times[b*batch : (b+1)*batch])))
			switch {
			case perBatch && distinct != 1:
				t.Errorf("per batch: batch %d carries %d send times, want 1", b, distinct)
			case perBatch && b > 0 && times[b*batch] == times[b*batch-1]:
				t.Errorf("per batch: batch %d has the send time of the one before", b)
			case !perBatch && distinct < batch/2:
				t.Errorf("per frame: batch %d carries %d send times for %d frames", b, distinct, batch)
			}
		}
	}
}

// The generator's cost per frame, stamping once per batch, is within 10%
// of the bare redirect's on the same path: the clock read per frame is
// what it adds. Cost is the sending thread's CPU time per frame sent
// (which on veth includes the peer's receive path, run within the call;
// wall time where the kernel charges softirq work apart, with IRQ time
// accounting). The programs take turns call by call, a few milliseconds
// each, so that whatever else slows the CPU (other work on the machine)
// weighs on all of them alike.
func TestXDPGenCost(t *testing.T) {
	x := xdpVeth(t, topology.IPv4)
	sink, err := AttachXDPSink(x.Receiver.NS, x.Receiver.Ifname, xdpTestPort)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	bare, err := LoadXDPBare(x.Sender.Ifindex)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bare.Close() })
	perFrame := xdpLoadGen(t, x.Sender.Ifindex, 1)
	perBatch := xdpLoadGen(t, x.Sender.Ifindex, 1)
	perBatch.SetBatchStamp(true)
	irqTime, known := testenv.KernelConfig("CONFIG_IRQ_TIME_ACCOUNTING")
	wall := irqTime || !known
	f := x.frame(0, 64)
	progs := []interface {
		Run([]byte, int, int) (uint64, error)
	}{bare, perBatch, perFrame}
	spent := make([]time.Duration, len(progs))
	sent := make([]uint64, len(progs))
	k0, err := sink.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	err = x.Sender.NS.Do(func() error {
		var cpus unix.CPUSet
		cpus.Set(0)
		if err := unix.SchedSetaffinity(0, &cpus); err != nil {
			return err
		}
		clock := func() time.Duration {
			if wall {
				return time.Duration(monotonicNow(t))
			}
			return threadCPUTime(t)
		}
		for start := time.Now(); time.Since(start) < 3*time.Second; {
			for i, p := range progs {
				c0 := clock()
				n, err := p.Run(f, 8192, 0)
				if err != nil {
					return err
				}
				spent[i] += clock() - c0
				sent[i] += n
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	xdpSettleDev(t, x.rcvStats, x.Receiver.Ifname)
	k1, err := sink.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Frames the ring could not take cost less than delivered ones: the
	// comparison holds only if (nearly) all arrived.
	if got, total := k1.Sub(k0).Packets, sent[0]+sent[1]+sent[2]; float64(got) < 0.99*float64(total) {
		t.Fatalf("the sink took %d of %d frames", got, total)
	}
	ns := func(i int) float64 { return float64(spent[i].Nanoseconds()) / float64(sent[i]) }
	b, pb, pf := ns(0), ns(1), ns(2)
	t.Logf("ns per frame (wall %v): bare %.0f, stamp per batch %.0f (%.2fx), per frame %.0f (%.2fx)", wall, b, pb, b/pb, pf, b/pf)
	if d, err := perFrame.StampSpread(); err != nil || d != (StampSpread{}) {
		t.Errorf("per-frame stamps spread %+v (%v), want none", d, err)
	}
	if testenv.Emulated() {
		t.Skip("costs under emulation say nothing")
	}
	if b/pb < 0.9 {
		t.Errorf("stamping per batch the generator reaches %.2fx of the bare redirect, want at least 0.90x", b/pb)
	}
}

// threadCPUTime is the calling thread's CPU time.
func threadCPUTime(t *testing.T) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

// Merge weighs each side's mean by its batches.
func TestStampSpreadMerge(t *testing.T) {
	a := StampSpread{Batches: 1, Mean: 10 * time.Microsecond, Max: 10 * time.Microsecond}
	b := StampSpread{Batches: 3, Mean: 2 * time.Microsecond, Max: 5 * time.Microsecond}
	want := StampSpread{Batches: 4, Mean: 4 * time.Microsecond, Max: 10 * time.Microsecond}
	if got := a.Merge(b); got != want {
		t.Errorf("merge: %+v, want %+v", got, want)
	}
	if got := (StampSpread{}).Merge(StampSpread{}); got != (StampSpread{}) {
		t.Errorf("merge of nothing: %+v", got)
	}
	if got := (StampSpread{}).Merge(b); got != b {
		t.Errorf("merge into nothing: %+v, want %+v", got, b)
	}
}
