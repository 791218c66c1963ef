package vbpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/kstat"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
)

// ---- without root ----

func TestReasonNames(t *testing.T) {
	e := &btf.Enum{Name: dropReasonEnum, Size: 4, Values: []btf.EnumValue{
		{Name: "SKB_NOT_DROPPED_YET", Value: 0},
		{Name: "SKB_CONSUMED", Value: 1},
		{Name: "SKB_DROP_REASON_NOT_SPECIFIED", Value: 2},
		{Name: "SKB_DROP_REASON_NO_SOCKET", Value: 3},
		{Name: "SKB_DROP_REASON_ALIAS_OF_NO_SOCKET", Value: 3},
		{Name: "SKB_DROP_REASON_CPU_BACKLOG", Value: 71},
		{Name: "SKB_DROP_REASON_MAX", Value: 128},
		{Name: "SKB_DROP_REASON_LAST_SLOT", Value: 511},
		{Name: "SKB_DROP_REASON_HUGE", Value: 600},
		{Name: "SKB_DROP_REASON_SUBSYS_MASK", Value: 0xffff0000},
	}}
	names := reasonNames(e)
	if len(names) != dropSlots {
		t.Fatalf("%d names, want %d", len(names), dropSlots)
	}
	for v, want := range map[int]string{
		0: "NOT_DROPPED_YET", 1: "CONSUMED", 2: "NOT_SPECIFIED", 3: "NO_SOCKET",
		4: "reason_4", 71: "CPU_BACKLOG", 128: "reason_128", 510: "reason_510",
		511: OverflowReason,
	} {
		if names[v] != want {
			t.Errorf("reason %d named %q, want %q", v, names[v], want)
		}
	}
	seen := map[string]int{}
	for v, n := range names {
		if w, dup := seen[n]; dup {
			t.Errorf("reasons %d and %d are both named %q", w, v, n)
		}
		seen[n] = v
	}
	if n := reasonNames(nil); n[2] != "reason_2" || n[dropSlots-1] != OverflowReason {
		t.Errorf("without an enum: %q, %q", n[2], n[dropSlots-1])
	}
}

func TestDropSnapshotSubTotal(t *testing.T) {
	prev := DropSnapshot{"NO_SOCKET": 5, "CPU_BACKLOG": 7}
	cur := DropSnapshot{"NO_SOCKET": 5, "CPU_BACKLOG": 10, "SOCKET_RCVBUFF": 4}
	d := cur.Sub(prev)
	want := DropSnapshot{"CPU_BACKLOG": 3, "SOCKET_RCVBUFF": 4}
	if len(d) != len(want) {
		t.Fatalf("Sub = %v, want %v", d, want)
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("Sub[%s] = %d, want %d", k, d[k], v)
		}
	}
	if d.Total() != 7 || cur.Total() != 19 || (DropSnapshot{}).Total() != 0 || DropSnapshot(nil).Total() != 0 {
		t.Errorf("Total: %d %d", d.Total(), cur.Total())
	}
	if n := len(cur.Sub(nil)); n != 3 {
		t.Errorf("Sub(nil) has %d reasons, want 3", n)
	}
}

// tpType builds a btf_trace_kfree_skb typedef with the given arguments
// after the tracepoint's data pointer.
func tpType(args ...btf.Type) *btf.Typedef {
	params := []btf.FuncParam{{Name: "__data", Type: &btf.Pointer{Target: &btf.Void{}}}}
	for _, a := range args {
		params = append(params, btf.FuncParam{Type: a})
	}
	return &btf.Typedef{Name: kfreeSkbTypedef, Type: &btf.Pointer{Target: &btf.FuncProto{Return: &btf.Void{}, Params: params}}}
}

func TestTracepointDropReasons(t *testing.T) {
	skb := &btf.Pointer{Target: &btf.Struct{Name: "sk_buff"}}
	sock := &btf.Pointer{Target: &btf.Struct{Name: "sock"}}
	loc := &btf.Pointer{Target: &btf.Void{}}
	reason := &btf.Enum{Name: dropReasonEnum, Size: 4, Values: []btf.EnumValue{{Name: "SKB_DROP_REASON_NO_SOCKET", Value: 3}}}
	u32 := &btf.Int{Name: "unsigned int", Size: 4}

	for _, tc := range []struct {
		name        string
		td          *btf.Typedef
		unsupported bool // error wraps ErrNotSupported
		fails       bool
	}{
		{"6.11+ (rx_sk)", tpType(skb, loc, reason, sock), false, false},
		{"5.17+", tpType(skb, loc, reason), false, false},
		{"reason behind a typedef", tpType(skb, loc, &btf.Typedef{Name: "r", Type: reason}), false, false},
		{"before 5.17: no reason", tpType(skb, loc), true, true},
		{"reason is an int", tpType(skb, loc, u32), true, true},
		{"no skb", tpType(sock, loc, reason), false, true},
		{"not a function pointer", &btf.Typedef{Name: kfreeSkbTypedef, Type: u32}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := tracepointDropReasons(tc.td)
			if tc.fails != (err != nil) {
				t.Fatalf("err = %v, want failure %v", err, tc.fails)
			}
			if errors.Is(err, ErrNotSupported) != tc.unsupported {
				t.Errorf("err = %v: wraps ErrNotSupported %v, want %v", err, errors.Is(err, ErrNotSupported), tc.unsupported)
			}
			if err == nil && e != reason {
				t.Errorf("returned enum %v, want %v", e, reason)
			}
		})
	}
}

// TestKernelDropReasons reads this kernel's BTF (world-readable: no root
// needed). A kernel with BTF and drop reasons must name the reasons the
// tests below rely on, and all of them must fit the counters.
func TestKernelDropReasons(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skipf("kernel has no BTF: %v", err)
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	e, err := kernelDropReasons(spec)
	if err != nil {
		t.Fatal(err)
	}
	names := reasonNames(e)
	byName := map[string]bool{}
	for _, n := range names {
		byName[n] = true
	}
	for _, want := range []string{"NOT_SPECIFIED", "NO_SOCKET", "SOCKET_RCVBUFF", "CPU_BACKLOG", "QDISC_DROP"} {
		if !byName[want] {
			t.Errorf("kernel names no drop reason %s", want)
		}
	}
	var max uint64
	for _, v := range e.Values {
		if v.Name == "SKB_DROP_REASON_MAX" {
			max = v.Value
		}
	}
	if max == 0 || max >= dropSlots-1 {
		t.Errorf("SKB_DROP_REASON_MAX = %d: the core reasons must fit below slot %d", max, dropSlots-1)
	}
	t.Logf("%d drop reasons, SKB_DROP_REASON_MAX = %d", len(e.Values), max)
}

func TestAttachDropsBadOptions(t *testing.T) {
	if _, err := AttachDrops(DropOptions{}); err == nil || errors.Is(err, ErrNotSupported) {
		t.Fatalf("port 0: err = %v, want a plain error", err)
	}
}

// ---- as root ----

// dropPort returns a random port for one test's drop counter. The
// tracepoint is global: a random port keeps this test's counts free of
// anybody else's vethbench traffic on the machine (other packages' tests
// use testPort or ports of their own).
func dropPort() uint16 {
	for {
		p := uint16(20000 + rand.IntN(30000))
		if p != testPort {
			return p
		}
	}
}

var dropHooks = []struct {
	hook  string
	force bool
}{{HookTPBTF, false}, {HookRawTP, true}}

// attachDrops attaches a drop counter; on this kernel both hooks must work.
func attachDrops(t *testing.T, port uint16, hook string, force bool) *Drops {
	t.Helper()
	d, err := AttachDrops(DropOptions{DstPort: port, ForceRawTracepoint: force})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	if d.Hook() != hook {
		t.Fatalf("hook %q, want %q", d.Hook(), hook)
	}
	return d
}

func dropSnap(t *testing.T, d *Drops) DropSnapshot {
	t.Helper()
	s, err := d.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// settleDrops waits until the drop counts stop moving and returns them.
func settleDrops(t *testing.T, d *Drops) DropSnapshot {
	t.Helper()
	s := dropSnap(t, d)
	stable := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(25 * time.Millisecond)
		s2 := dropSnap(t, d)
		if s2.Total() == s.Total() {
			if stable++; stable == 4 {
				return s2
			}
		} else {
			stable = 0
		}
		s = s2
	}
	t.Fatal("drop counts still moving after 10s")
	return s
}

func checkNoMisses(t *testing.T, d *Drops) {
	t.Helper()
	m, err := d.Missed()
	if err != nil {
		t.Fatal(err)
	}
	if m != 0 {
		t.Errorf("the kernel skipped the program %d times (recursion)", m)
	}
}

func checkDrops(t *testing.T, got, want DropSnapshot) {
	t.Helper()
	ok := len(got) == len(want)
	for k, v := range want {
		ok = ok && got[k] == v
	}
	if !ok {
		t.Errorf("drops %v, want %v", got, want)
	}
}

// TestDropsMatching drives the parser with crafted frames: BPF_PROG_RUN of
// a tc program builds an skb from the frame (network header set, data at
// the Ethernet header, as on the transmit path) and frees it with
// kfree_skb(NOT_SPECIFIED), which the drop counter sees.
func TestDropsMatching(t *testing.T) {
	_, probe := loadForTest(t)
	port := dropPort()
	good := payload(7, 1)
	badMagic := payload(7, 1)
	badMagic[0] = 'X'
	laterFragment := frame(frameSpec{dport: port, payload: good})
	laterFragment[14+6] = 0x00
	laterFragment[14+7] = 0x10 // fragment offset 16 (x 8 bytes)
	firstFragment := frame(frameSpec{dport: port, payload: good})
	firstFragment[14+6] = 0x20 // more fragments, offset 0
	v6ExtHeader := frame(frameSpec{v6: true, dport: port, payload: good})
	v6ExtHeader[14+6] = 0 // next header: hop-by-hop options

	cases := []struct {
		name  string
		data  []byte
		match bool
	}{
		{"ipv4 udp", frame(frameSpec{dport: port, payload: good}), true},
		{"ipv4 udp with options", frame(frameSpec{dport: port, ihl: 7, payload: good}), true},
		{"ipv4 udp with the longest options", frame(frameSpec{dport: port, ihl: 15, payload: good}), true},
		{"ipv4 udp longer payload", frame(frameSpec{dport: port, payload: append(payload(7, 1), make([]byte, 1400)...)}), true},
		{"ipv4 first fragment", firstFragment, true},
		{"ipv6 udp", frame(frameSpec{v6: true, dport: port, payload: good}), true},
		{"ipv4 later fragment", laterFragment, false},
		{"ipv6 extension header", v6ExtHeader, false},
		{"ipv4 wrong port", frame(frameSpec{dport: port + 1, payload: good}), false},
		{"ipv6 wrong port", frame(frameSpec{v6: true, dport: port - 1, payload: good}), false},
		{"ipv4 the ingress counter's port", frame(frameSpec{dport: testPort, payload: good}), false},
		{"ipv4 wrong magic", frame(frameSpec{dport: port, payload: badMagic}), false},
		{"ipv6 wrong magic", frame(frameSpec{v6: true, dport: port, payload: badMagic}), false},
		{"ipv4 truncated payload", frame(frameSpec{dport: port, payload: good[:12]}), false},
		{"ipv4 truncated payload, padded frame", frame(frameSpec{dport: port, payload: good[:12], padTo: 60}), false},
		{"ipv6 truncated payload", frame(frameSpec{v6: true, dport: port, payload: good[:12]}), false},
		{"ipv4 tcp", frame(frameSpec{proto: unix.IPPROTO_TCP, dport: port, payload: good}), false},
		{"ipv6 tcp", frame(frameSpec{v6: true, proto: unix.IPPROTO_TCP, dport: port, payload: good}), false},
		{"arp", arpFrame(), false},
		{"ipv4 udp header cut short", frame(frameSpec{dport: port, payload: good})[:14+20+4], false},
		{"ipv4 payload cut short", frame(frameSpec{dport: port, payload: good})[:14+20+8+12], false},
		{"ipv6 udp header cut short", frame(frameSpec{v6: true, dport: port, payload: good})[:14+40+4], false},
	}
	for _, h := range dropHooks {
		t.Run(h.hook, func(t *testing.T) {
			d := attachDrops(t, port, h.hook, h.force)
			checkMatchesProgRun(t, d, probe, cases[0].data)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					before := dropSnap(t, d)
					if _, err := probe.Run(&ebpf.RunOptions{Data: tc.data}); err != nil {
						t.Fatal(err)
					}
					want := DropSnapshot{}
					if tc.match {
						want["NOT_SPECIFIED"] = 1
					}
					checkDrops(t, dropSnap(t, d).Sub(before), want)
				})
			}
			checkNoMisses(t, d)
		})
	}
}

// checkMatchesProgRun fails the test unless the drop counter counts frame,
// one it must match, freed by BPF_PROG_RUN. Every kernel the drop counter
// runs on frees the test run's skb with kfree_skb (the kernel's own
// kfree_skb selftest relies on it), so a count of zero means the matcher
// or its hook is broken: a failure, never a skip, or the cases below would
// all pass by matching nothing.
func checkMatchesProgRun(t *testing.T, d *Drops, probe *ebpf.Program, frame []byte) {
	t.Helper()
	before := dropSnap(t, d)
	if _, err := probe.Run(&ebpf.RunOptions{Data: frame}); err != nil {
		t.Fatal(err)
	}
	if got := dropSnap(t, d).Sub(before); got.Total() != 1 {
		t.Fatalf("the drop counter (%s) counted %v for one matching frame freed by BPF_PROG_RUN, want 1: it matches nothing", d.Hook(), got)
	}
}

// TestDropsMatchingTCP: in TCP mode the drop counter takes TCP segments to
// or from its port, and nothing else (see TestDropsMatching for how).
func TestDropsMatchingTCP(t *testing.T) {
	_, probe := loadForTest(t)
	port := dropPort()
	data := make([]byte, 100)
	tcp := func(s frameSpec) []byte {
		s.proto = unix.IPPROTO_TCP
		return frame(s)
	}
	laterFragment := tcp(frameSpec{dport: port, payload: data})
	laterFragment[14+7] = 0x10
	ack := tcp(frameSpec{dport: port})

	cases := []struct {
		name  string
		data  []byte
		match bool
	}{
		{"ipv4 to the port", tcp(frameSpec{dport: port, payload: data}), true},
		{"ipv4 from the port", tcp(frameSpec{sport: port, dport: 40001, payload: data}), true},
		{"ipv4 ack to the port", ack, true},
		{"ipv4 ack, padded frame", tcp(frameSpec{sport: port, dport: 40001, padTo: 60}), true},
		{"ipv4 with options", tcp(frameSpec{dport: port, ihl: 15, doff: 8, payload: data}), true},
		{"ipv6 to the port", tcp(frameSpec{v6: true, dport: port, payload: data}), true},
		{"ipv6 from the port", tcp(frameSpec{v6: true, sport: port, dport: 40001}), true},
		{"ipv4 other ports", tcp(frameSpec{sport: port + 1, dport: port - 1, payload: data}), false},
		{"ipv6 other ports", tcp(frameSpec{v6: true, sport: port + 1, dport: port - 1}), false},
		{"ipv4 later fragment", laterFragment, false},
		{"ipv4 ports cut short", ack[:14+20+3], false},
		{"ipv4 udp to the port", frame(frameSpec{dport: port, payload: payload(7, 1)}), false},
		{"ipv6 udp to the port", frame(frameSpec{v6: true, dport: port, payload: payload(7, 1)}), false},
		{"arp", arpFrame(), false},
	}
	for _, h := range dropHooks {
		t.Run(h.hook, func(t *testing.T) {
			d, err := AttachDrops(DropOptions{DstPort: port, Proto: ProtoTCP, ForceRawTracepoint: h.force})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			checkMatchesProgRun(t, d, probe, cases[0].data)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					before := dropSnap(t, d)
					if _, err := probe.Run(&ebpf.RunOptions{Data: tc.data}); err != nil {
						t.Fatal(err)
					}
					want := DropSnapshot{}
					if tc.match {
						want["NOT_SPECIFIED"] = 1
					}
					checkDrops(t, dropSnap(t, d).Sub(before), want)
				})
			}
			checkNoMisses(t, d)
		})
	}
}

// udpSender is an unconnected UDP socket in the sender's namespace. (A
// connected one would fail with ECONNREFUSED once the receiver's ICMP port
// unreachable comes back.)
func udpSender(t *testing.T, topo *topology.Topology) *net.UDPConn {
	t.Helper()
	var conn *net.UDPConn
	err := topo.Sender.NS.Do(func() error {
		var err error
		conn, err = net.ListenUDP("udp", nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// sendUDP sends n datagrams with payload p(i) to the receiver's port.
func sendUDP(t *testing.T, conn *net.UDPConn, topo *topology.Topology, port uint16, n int, p func(i int) []byte) {
	t.Helper()
	to := &net.UDPAddr{IP: topo.Receiver.Addr.AsSlice(), Port: int(port)}
	for i := range n {
		if _, err := conn.WriteToUDP(p(i), to); err != nil {
			t.Fatalf("send packet %d: %v", i, err)
		}
	}
}

func vbPayload(t *testing.T) func(int) []byte {
	return func(i int) []byte { return payload(uint32(i), monotonicNow(t)) }
}

// snmpReader reads a namespace's /proc/net/snmp{,6}.
func snmpReader(t *testing.T, topo *topology.Topology, ep topology.Endpoint) func() kstat.SNMP {
	t.Helper()
	r, err := kstat.NewReader(ep.NS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return func() kstat.SNMP {
		t.Helper()
		s, err := r.SNMP()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// udpMIB names a UDP counter of the family: Udp.NoPorts or Udp6NoPorts.
func udpMIB(fam topology.Family, field string) string {
	if fam == topology.IPv6 {
		return "Udp6" + field
	}
	return "Udp." + field
}

// TestDropsNoSocket: datagrams to a port nobody listens on are dropped by
// the receiver's UDP layer; all of them are counted under NO_SOCKET, as
// many as the namespace's NoPorts counter says.
func TestDropsNoSocket(t *testing.T) {
	testenv.RequireRoot(t)
	const n = 1000
	type tcase struct {
		name    string
		fam     topology.Family
		hook    string
		force   bool
		options bool // IPv4 options: a 24-byte header
	}
	var cases []tcase
	for _, fam := range []topology.Family{topology.IPv4, topology.IPv6} {
		for _, h := range dropHooks {
			cases = append(cases, tcase{string(fam) + "/" + h.hook, fam, h.hook, h.force, false})
		}
	}
	cases = append(cases, tcase{"ipv4 options/" + HookTPBTF, topology.IPv4, HookTPBTF, false, true})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			topo := realizeVeth(t, tc.fam)
			snmp := snmpReader(t, topo, topo.Receiver)
			conn := udpSender(t, topo)
			if tc.options {
				raw, err := conn.SyscallConn()
				if err != nil {
					t.Fatal(err)
				}
				var serr error
				if err := raw.Control(func(fd uintptr) {
					// NOP, NOP, NOP, end of list: IHL 6.
					serr = unix.SetsockoptString(int(fd), unix.IPPROTO_IP, unix.IP_OPTIONS, "\x01\x01\x01\x00")
				}); err != nil || serr != nil {
					t.Fatalf("set IP_OPTIONS: %v %v", err, serr)
				}
			}
			port := dropPort()
			d := attachDrops(t, port, tc.hook, tc.force)

			s0, m0 := settleDrops(t, d), snmp()
			sendUDP(t, conn, topo, port, n, vbPayload(t))
			s1, m1 := settleDrops(t, d), snmp()
			got := s1.Sub(s0)
			mib := udpMIB(tc.fam, "NoPorts")
			noPorts := m1.Sub(m0)[mib]
			t.Logf("sent %d; drops %v; %s +%d", n, got, mib, noPorts)
			checkDrops(t, got, DropSnapshot{"NO_SOCKET": n})
			if noPorts != n {
				t.Errorf("%s grew by %d, want %d", mib, noPorts, n)
			}
			checkNoMisses(t, d)
		})
	}
}

// TestDropsRcvbuf: a bound socket with the smallest receive buffer, never
// read, takes a few datagrams and drops the rest for SOCKET_RCVBUFF; every
// datagram is either in the socket or counted, and the counts agree with
// the namespace's RcvbufErrors.
func TestDropsRcvbuf(t *testing.T) {
	testenv.RequireRoot(t)
	const n = 5000
	for _, fam := range []topology.Family{topology.IPv4, topology.IPv6} {
		t.Run(string(fam), func(t *testing.T) {
			topo := realizeVeth(t, fam)
			snmp := snmpReader(t, topo, topo.Receiver)
			conn := udpSender(t, topo)
			port := dropPort()
			var rcv *net.UDPConn
			err := topo.Receiver.NS.Do(func() error {
				var err error
				rcv, err = net.ListenUDP("udp", &net.UDPAddr{Port: int(port)})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			defer rcv.Close()
			if err := rcv.SetReadBuffer(1); err != nil { // the kernel rounds up to its minimum
				t.Fatal(err)
			}
			d := attachDrops(t, port, HookTPBTF, false)

			s0, m0 := settleDrops(t, d), snmp()
			sendUDP(t, conn, topo, port, n, vbPayload(t))
			s1, m1 := settleDrops(t, d), snmp()
			got := s1.Sub(s0)
			rcvbufErrors := m1.Sub(m0)[udpMIB(fam, "RcvbufErrors")]

			// Count what the socket holds.
			var queued uint64
			buf := make([]byte, 2048)
			for {
				if err := rcv.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
					t.Fatal(err)
				}
				m, _, err := rcv.ReadFromUDP(buf)
				if err != nil {
					break
				}
				if m < 16 || !bytes.Equal(buf[:4], []byte("VBP1")) {
					t.Fatalf("socket holds a datagram that is not ours: %q", buf[:m])
				}
				queued++
			}
			t.Logf("sent %d; in the socket %d; drops %v; %s +%d", n, queued, got, udpMIB(fam, "RcvbufErrors"), rcvbufErrors)
			if got["SOCKET_RCVBUFF"] != rcvbufErrors {
				t.Errorf("SOCKET_RCVBUFF drops %d, %s grew by %d", got["SOCKET_RCVBUFF"], udpMIB(fam, "RcvbufErrors"), rcvbufErrors)
			}
			if got["SOCKET_RCVBUFF"] == 0 || queued == 0 {
				t.Errorf("want some datagrams queued and some dropped for the receive buffer: %d queued, drops %v", queued, got)
			}
			if queued+got.Total() != n {
				t.Errorf("%d in the socket + %d dropped != %d sent", queued, got.Total(), n)
			}
			checkNoMisses(t, d)
		})
	}
}

// TestDropsOnlyOwnPackets: two counters with different ports run at once.
// Each counts the vethbench packets to its port and nothing else: not the
// other's, not datagrams to its port without the magic or too short for
// the payload header, though the kernel drops all of them.
func TestDropsOnlyOwnPackets(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realizeVeth(t, topology.IPv4)
	snmp := snmpReader(t, topo, topo.Receiver)
	conn := udpSender(t, topo)
	portA := dropPort()
	portB := portA + 1
	a := attachDrops(t, portA, HookTPBTF, false)
	b := attachDrops(t, portB, HookRawTP, true)

	a0, b0, m0 := settleDrops(t, a), settleDrops(t, b), snmp()
	sendUDP(t, conn, topo, portA, 300, vbPayload(t))
	sendUDP(t, conn, topo, portB, 200, vbPayload(t))
	sendUDP(t, conn, topo, portA, 100, func(i int) []byte {
		p := payload(uint32(i), 1)
		copy(p, "VBQ2") // not the magic ("VBP", then any tag)
		return p
	})
	sendUDP(t, conn, topo, portA, 100, func(int) []byte { return []byte("VBP1\x00\x00\x00\x00") })
	sendUDP(t, conn, topo, portA+2, 100, vbPayload(t))
	da, db, m := settleDrops(t, a).Sub(a0), settleDrops(t, b).Sub(b0), snmp().Sub(m0)
	t.Logf("port %d: %v; port %d: %v; Udp.NoPorts +%d", portA, da, portB, db, m["Udp.NoPorts"])
	checkDrops(t, da, DropSnapshot{"NO_SOCKET": 300})
	checkDrops(t, db, DropSnapshot{"NO_SOCKET": 200})
	if m["Udp.NoPorts"] != 800 {
		t.Errorf("Udp.NoPorts grew by %d, want 800: the kernel dropped them all", m["Udp.NoPorts"])
	}
}

// TestDropsWindows: a window's drops are counted by the tag its datagrams
// carry, from the moment OpenWindow gives the tag its slot; drops of
// another tag of the same slot are untagged; every drop is in Snapshot.
func TestDropsWindows(t *testing.T) {
	testenv.RequireRoot(t)
	for _, h := range dropHooks {
		t.Run(h.hook, func(t *testing.T) {
			topo := realizeVeth(t, topology.IPv4)
			conn := udpSender(t, topo)
			port := dropPort()
			d := attachDrops(t, port, h.hook, h.force)
			send := func(tag uint8, n int) {
				t.Helper()
				sendUDP(t, conn, topo, port, n, func(i int) []byte { return tagged(tag, uint32(i), monotonicNow(t)) })
			}
			read := func(f func() (DropSnapshot, error)) DropSnapshot {
				t.Helper()
				s, err := f()
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			all0 := settleDrops(t, d)
			base1 := read(func() (DropSnapshot, error) { return d.OpenWindow(1) })
			un0 := read(d.Untagged)
			send(1, 100)
			send(5, 40) // 5 % 4 == 1: tag 1's slot, another tag
			send(2, 30) // slot 2, never given: takes any tag
			all := settleDrops(t, d).Sub(all0)
			checkDrops(t, all, DropSnapshot{"NO_SOCKET": 170})
			checkDrops(t, read(func() (DropSnapshot, error) { return d.Window(1) }).Sub(base1), DropSnapshot{"NO_SOCKET": 100})
			checkDrops(t, read(d.Untagged).Sub(un0), DropSnapshot{"NO_SOCKET": 40})

			// The slot goes to tag 5: tag 1's late drops are untagged.
			base5 := read(func() (DropSnapshot, error) { return d.OpenWindow(5) })
			un0 = read(d.Untagged)
			send(1, 7)
			send(5, 9)
			settleDrops(t, d)
			checkDrops(t, read(func() (DropSnapshot, error) { return d.Window(5) }).Sub(base5), DropSnapshot{"NO_SOCKET": 9})
			checkDrops(t, read(d.Untagged).Sub(un0), DropSnapshot{"NO_SOCKET": 7})
			if _, err := d.Window(1); err == nil {
				t.Error("window 1 read after its slot went to tag 5")
			}
			checkNoMisses(t, d)
		})
	}
}

// TestDropsSenderQdisc: drops on the transmit path, before the packet
// reaches veth. A pfifo qdisc with limit 0 on the
// sender's device drops every packet; vethbench datagrams sent through a
// UDP socket and as whole frames through AF_PACKET are all counted, under
// the qdisc's reason.
func TestDropsSenderQdisc(t *testing.T) {
	testenv.RequireRoot(t)
	const nUDP, nRaw = 200, 100
	for _, fam := range []topology.Family{topology.IPv4, topology.IPv6} {
		t.Run(string(fam), func(t *testing.T) {
			topo := realizeVeth(t, fam)
			snd, rcv := topo.Sender, topo.Receiver
			sh, rh := nlHandle(t, snd.NS), nlHandle(t, rcv.NS)
			rl, err := rh.LinkByName(rcv.Ifname)
			if err != nil {
				t.Fatal(err)
			}
			sl, err := sh.LinkByName(snd.Ifname)
			if err != nil {
				t.Fatal(err)
			}
			// A permanent neighbour: no ARP or ND, which the qdisc would
			// drop, leaving the datagrams to die in the neighbour queue.
			nfam := netlink.FAMILY_V4
			if fam == topology.IPv6 {
				nfam = netlink.FAMILY_V6
			}
			if err := sh.NeighSet(&netlink.Neigh{LinkIndex: sl.Attrs().Index, Family: nfam, State: netlink.NUD_PERMANENT,
				IP: rcv.Addr.AsSlice(), HardwareAddr: rl.Attrs().HardwareAddr}); err != nil {
				t.Fatal(err)
			}
			if err := snd.NS.Do(func() error { return addPfifo0(sl.Attrs().Index) }); err != nil {
				t.Fatalf("add pfifo qdisc with limit 0: %v", err)
			}
			kr, err := kstat.NewReader(snd.NS)
			if err != nil {
				t.Fatal(err)
			}
			defer kr.Close()
			conn := udpSender(t, topo)
			var pkt int
			err = snd.NS.Do(func() error {
				pkt, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0) // 0: receives nothing
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(pkt)

			port := dropPort()
			d := attachDrops(t, port, HookTPBTF, false)
			s0 := settleDrops(t, d)
			q0, err := kr.Device(snd.Ifname)
			if err != nil {
				t.Fatal(err)
			}
			sendUDP(t, conn, topo, port, nUDP, vbPayload(t))
			f := frame(frameSpec{v6: fam == topology.IPv6, dport: port, payload: payload(1, monotonicNow(t))})
			copy(f[0:6], rl.Attrs().HardwareAddr)
			copy(f[6:12], sl.Attrs().HardwareAddr)
			to := &unix.SockaddrLinklayer{Ifindex: sl.Attrs().Index}
			for i := range nRaw {
				// The qdisc's drop comes back as ENOBUFS.
				if err := unix.Sendto(pkt, f, 0, to); err != nil && !errors.Is(err, unix.ENOBUFS) {
					t.Fatalf("AF_PACKET send %d: %v", i, err)
				}
			}
			got := settleDrops(t, d).Sub(s0)
			q1, err := kr.Device(snd.Ifname)
			if err != nil {
				t.Fatal(err)
			}
			qdrops := q1.QdiscDrops - q0.QdiscDrops
			t.Logf("sent %d + %d; drops %v; qdisc drops +%d", nUDP, nRaw, got, qdrops)
			if len(got) != 1 || got.Total() != nUDP+nRaw {
				t.Fatalf("drops %v, want %d under one reason", got, nUDP+nRaw)
			}
			for r := range got {
				if !strings.HasPrefix(r, "QDISC_") {
					t.Errorf("dropped for %s, want a QDISC_ reason", r)
				}
			}
			// The qdisc may also have dropped the host's own packets (IPv6
			// router solicitations, MLD reports).
			if qdrops < got.Total() {
				t.Errorf("the qdisc dropped %d packets, the counter saw %d of ours", qdrops, got.Total())
			}
			checkNoMisses(t, d)
		})
	}
}

// addPfifo0 adds a pfifo qdisc with limit 0 as the root qdisc of the
// device, in the calling thread's namespace: netlink.Handle cannot pass
// pfifo's options (a qdisc without them takes the device's txqueuelen, or
// 1000 if that is 0), so the request is written by hand.
func addPfifo0(ifindex int) error {
	req := nl.NewNetlinkRequest(unix.RTM_NEWQDISC, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	req.AddData(&nl.TcMsg{
		Family:  nl.FAMILY_ALL,
		Ifindex: int32(ifindex),
		Handle:  netlink.MakeHandle(1, 0),
		Parent:  netlink.HANDLE_ROOT,
	})
	req.AddData(nl.NewRtAttr(nl.TCA_KIND, nl.ZeroTerminated("pfifo")))
	req.AddData(nl.NewRtAttr(nl.TCA_OPTIONS, binary.NativeEndian.AppendUint32(nil, 0))) // struct tc_fifo_qopt
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

// TestDropsClose: Close detaches and frees everything; it is idempotent.
func TestDropsClose(t *testing.T) {
	testenv.RequireRoot(t)
	for _, h := range dropHooks {
		t.Run(h.hook, func(t *testing.T) {
			d, err := AttachDrops(DropOptions{DstPort: dropPort(), ForceRawTracepoint: h.force})
			if err != nil {
				t.Fatal(err)
			}
			// Other processes (a vethbench run) may hold drop programs of
			// their own: follow this one by its id.
			info, err := d.prog.Info()
			if err != nil {
				t.Fatal(err)
			}
			id, ok := info.ID()
			if !ok {
				t.Fatal("the kernel gave the program no id")
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if err := d.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := d.Snapshot(); !errors.Is(err, ErrClosed) {
				t.Errorf("Snapshot after Close: %v, want ErrClosed", err)
			}
			if _, err := d.Missed(); !errors.Is(err, ErrClosed) {
				t.Errorf("Missed after Close: %v, want ErrClosed", err)
			}
			// Freeing is RCU-deferred.
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				p, err := ebpf.NewProgramFromID(id)
				if err != nil {
					break
				}
				p.Close()
				if time.Now().After(deadline) {
					t.Fatalf("program %d still loaded after Close", id)
				}
			}
		})
	}
}
