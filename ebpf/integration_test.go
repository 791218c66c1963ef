package vbpf

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"fmt"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/netns"
	"github.com/vethbench/vethbench/internal/testenv"
)

func realizeVeth(t *testing.T, fam topology.Family) *topology.Topology {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topo, err := topology.Realize(ctx, topology.Spec{Kind: topology.KindVeth, Family: fam})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Error(err)
		}
	})
	return topo
}

func nlHandle(t *testing.T, ns *netns.NS) *netlink.Handle {
	t.Helper()
	h, err := ns.NetlinkHandle()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

type rxStats struct{ packets, bytes uint64 }

func readRx(t *testing.T, h *netlink.Handle, ifname string) rxStats {
	t.Helper()
	l, err := h.LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	st := l.Attrs().Statistics
	return rxStats{st.RxPackets, st.RxBytes}
}

// settle waits until neither the BPF counters nor the device's rx counters
// move any more, and returns both.
func settle(t *testing.T, c *Counters, h *netlink.Handle, ifname string) (Snapshot, rxStats) {
	t.Helper()
	s, rx := snap(t, c), readRx(t, h, ifname)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(25 * time.Millisecond)
		s2, rx2 := snap(t, c), readRx(t, h, ifname)
		if s2.Packets == s.Packets && s2.Matched == s.Matched && rx2 == rx {
			return s2, rx2
		}
		s, rx = s2, rx2
	}
	t.Fatal("counters still moving after 10s")
	return s, rx
}

func progID(t *testing.T, c *Counters) ebpf.ProgramID {
	t.Helper()
	info, err := c.objs.Prog.Info()
	if err != nil {
		t.Fatal(err)
	}
	id, ok := info.ID()
	if !ok {
		t.Fatal("no program id")
	}
	return id
}

// waitProgGone fails unless the program id disappears (freeing is RCU-deferred).
func waitProgGone(t *testing.T, id ebpf.ProgramID) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		p, err := ebpf.NewProgramFromID(id)
		if errors.Is(err, unix.ENOENT) {
			return
		}
		if err == nil {
			p.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("program %s (id %d) still loaded after Close", ProgramName, id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasClsact(t *testing.T, h *netlink.Handle, ifname string) bool {
	t.Helper()
	l, err := h.LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := h.QdiscList(l)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if q.Type() == "clsact" {
			return true
		}
	}
	return false
}

func checkNoXDP(t *testing.T, h *netlink.Handle, ifname string) {
	t.Helper()
	l, err := h.LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	if x := l.Attrs().Xdp; x != nil && (x.Attached || x.ProgId != 0) {
		t.Errorf("XDP program %d attached to %s: the counter must not change veth's datapath", x.ProgId, ifname)
	}
}

// send sends n vethbench packets from the sender's namespace to port.
func send(t *testing.T, topo *topology.Topology, port, n int) {
	t.Helper()
	var conn *net.UDPConn
	err := topo.Sender.NS.Do(func() error {
		var err error
		conn, err = net.DialUDP("udp", nil, &net.UDPAddr{IP: topo.Receiver.Addr.AsSlice(), Port: port})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range n {
		if _, err := conn.Write(payload(uint32(i), monotonicNow(t))); err != nil {
			t.Fatalf("send packet %d: %v", i, err)
		}
	}
}

// listen binds a UDP socket in the receiver's namespace so the packets are
// delivered (not answered with ICMP port unreachable).
func listen(t *testing.T, topo *topology.Topology, port int) {
	t.Helper()
	var conn *net.UDPConn
	err := topo.Receiver.NS.Do(func() error {
		var err error
		conn, err = net.ListenUDP("udp", &net.UDPAddr{Port: port})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
}

func TestIntegrationVeth(t *testing.T) {
	testenv.RequireRoot(t)
	for _, tc := range []struct {
		name   string
		fam    topology.Family
		forced bool
		hook   string
	}{
		{"ipv4/tcx", topology.IPv4, false, HookTCX},
		{"ipv4/cls_bpf", topology.IPv4, true, HookClsBPF},
		{"ipv6/tcx", topology.IPv6, false, HookTCX},
		{"ipv6/cls_bpf", topology.IPv6, true, HookClsBPF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 10000
			topo := realizeVeth(t, tc.fam)
			rcv := topo.Receiver
			rh := nlHandle(t, rcv.NS)
			sh := nlHandle(t, topo.Sender.NS)
			listen(t, topo, testPort)

			c, err := AttachIngress(rcv.NS, rcv.Ifname, Options{DstPort: testPort, ForceClsBPF: tc.forced})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// On a kernel with TCX (6.6 and later) falling back would be a
			// bug, not a skip; older kernels must take cls_bpf.
			want := tc.hook
			if !kernelAtLeast(t, 6, 6) {
				want = HookClsBPF
			}
			if c.Hook() != want {
				t.Fatalf("hook %q, want %q", c.Hook(), want)
			}
			if tc.hook == HookClsBPF && !hasClsact(t, rh, rcv.Ifname) {
				t.Fatal("no clsact qdisc after attaching with cls_bpf")
			}
			id := progID(t, c)

			s0, rx0 := settle(t, c, rh, rcv.Ifname)
			send(t, topo, testPort, n)
			s1, rx1 := settle(t, c, rh, rcv.Ifname)
			d := s1.Sub(s0)
			t.Logf("%s: packets %d bytes %d matched %d bad ts %d; rx_packets +%d rx_bytes +%d",
				c.Hook(), d.Packets, d.Bytes, d.Matched, d.BadTimestamp, rx1.packets-rx0.packets, rx1.bytes-rx0.bytes)

			if d.Packets != rx1.packets-rx0.packets {
				t.Errorf("counted %d packets, the device received %d", d.Packets, rx1.packets-rx0.packets)
			}
			if d.Bytes != rx1.bytes-rx0.bytes {
				t.Errorf("counted %d bytes, the device received %d", d.Bytes, rx1.bytes-rx0.bytes)
			}
			if d.Matched != n {
				t.Errorf("matched %d packets, sent %d", d.Matched, n)
			}
			// Plain datagrams: one each, a 16-byte payload each.
			if d.Segs != n || d.PayloadBytes != 16*n {
				t.Errorf("segs %d, payload %d B; want %d and %d B", d.Segs, d.PayloadBytes, n, 16*n)
			}
			if d.BadTimestamp != 0 {
				t.Errorf("%d packets with a bad timestamp", d.BadTimestamp)
			}
			if d.Latency.Total() != n {
				t.Errorf("latency histogram holds %d values, want %d", d.Latency.Total(), n)
			}
			var prev uint64
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
				est, lo, hi, ok := d.Latency.Quantile(q)
				if !ok || est == 0 {
					t.Fatalf("p%g: %d ok=%v, want a positive latency", q*100, est, ok)
				}
				if est < prev {
					t.Errorf("p%g = %d ns < a lower quantile %d ns", q*100, est, prev)
				}
				prev = est
				t.Logf("p%g = %d ns [%d, %d]", q*100, est, lo, hi)
			}
			checkNoXDP(t, rh, rcv.Ifname)
			checkNoXDP(t, sh, topo.Sender.Ifname)

			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := c.Snapshot(); !errors.Is(err, ErrClosed) {
				t.Errorf("Snapshot after Close: %v, want ErrClosed", err)
			}
			waitProgGone(t, id)
			if hasClsact(t, rh, rcv.Ifname) {
				t.Error("clsact qdisc left behind after Close")
			}
		})
	}
}

// TestClsBPFKeepsForeignQdisc: a clsact qdisc that was there before stays.
func TestClsBPFKeepsForeignQdisc(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realizeVeth(t, topology.IPv4)
	rcv := topo.Receiver
	rh := nlHandle(t, rcv.NS)
	l, err := rh.LinkByName(rcv.Ifname)
	if err != nil {
		t.Fatal(err)
	}
	if err := rh.QdiscAdd(clsactOf(l)); err != nil {
		t.Fatal(err)
	}
	c, err := AttachIngress(rcv.NS, rcv.Ifname, Options{DstPort: testPort, ForceClsBPF: true})
	if err != nil {
		t.Fatal(err)
	}
	id := progID(t, c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitProgGone(t, id)
	if !hasClsact(t, rh, rcv.Ifname) {
		t.Fatal("Close removed a clsact qdisc it did not create")
	}
	fs, err := rh.FilterList(l, netlink.HANDLE_MIN_INGRESS)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 0 {
		t.Fatalf("%d ingress filters left after Close: %v", len(fs), fs)
	}
}

// TestTwoCountersOneDevice: both hooks at once on one device see the same
// packets, and closing one leaves the other working.
func TestTwoCountersOneDevice(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realizeVeth(t, topology.IPv4)
	rcv := topo.Receiver
	listen(t, topo, testPort)
	var cs []*Counters
	for _, forced := range []bool{false, true, true} {
		c, err := AttachIngress(rcv.NS, rcv.Ifname, Options{DstPort: testPort, ForceClsBPF: forced})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cs = append(cs, c)
	}
	send(t, topo, testPort, 100)
	// The first cls_bpf counter created the qdisc; closing it must not
	// take the second one's filter away.
	if err := cs[1].Close(); err != nil {
		t.Fatal(err)
	}
	send(t, topo, testPort, 100)
	time.Sleep(100 * time.Millisecond)
	for i, want := range map[int]uint64{0: 200, 2: 200} {
		if got := snap(t, cs[i]).Matched; got != want {
			t.Errorf("counter %d (%s) matched %d, want %d", i, cs[i].Hook(), got, want)
		}
	}
}

func TestAttachErrors(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realizeVeth(t, topology.IPv4)
	for _, forced := range []bool{false, true} {
		_, err := AttachIngress(topo.Receiver.NS, "vbnosuchdev", Options{DstPort: testPort, ForceClsBPF: forced})
		if err == nil {
			t.Fatalf("attach to a missing device (cls_bpf %v) succeeded", forced)
		}
		if errors.Is(err, ErrNotSupported) {
			t.Errorf("a missing device is reported as unsupported: %v", err)
		}
	}
	// The device exists in the receiver's namespace only.
	if _, err := AttachIngress(topo.Sender.NS, topo.Receiver.Ifname, Options{DstPort: testPort}); err == nil {
		t.Fatal("attach resolved a device of another namespace")
	}
}

// kernelAtLeast reports whether the running kernel's release is at least
// major.minor.
func kernelAtLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); err != nil {
		t.Fatalf("parse kernel release: %v", err)
	}
	return ma > major || ma == major && mi >= minor
}
