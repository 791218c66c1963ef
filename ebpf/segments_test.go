package vbpf

// Tests of the counters with the traffic of the newer generators: UDP GSO
// (one skb, many datagrams), bulk TCP, and UDP request/response.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/safchain/ethtool"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/netns"
	"github.com/vethbench/vethbench/internal/testenv"
)

var families = []topology.Family{topology.IPv4, topology.IPv6}

func sockaddr(a netip.Addr, port int) unix.Sockaddr {
	if a.Is4() {
		return &unix.SockaddrInet4{Addr: a.As4(), Port: port}
	}
	return &unix.SockaddrInet6{Addr: a.As16(), Port: port}
}

// setRxGRO turns GRO of a device on or off (veth: on switches its receive
// path to NAPI).
func setRxGRO(t *testing.T, ns *netns.NS, ifname string, on bool) {
	t.Helper()
	err := ns.Do(func() error {
		e, err := ethtool.NewEthtool()
		if err != nil {
			return err
		}
		defer e.Close()
		if err := e.Change(ifname, map[string]bool{"rx-gro": on}); err != nil {
			return err
		}
		fs, err := e.Features(ifname)
		if err != nil {
			return err
		}
		if fs["rx-gro"] != on {
			return fmt.Errorf("rx-gro is %v after setting it %v", fs["rx-gro"], on)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("set GRO of %s: %v", ifname, err)
	}
}

// gsoSender is a UDP socket in the sender's namespace whose every send is
// one GSO skb of gsoSize-byte datagrams (UDP_SEGMENT).
type gsoSender struct {
	fd      int
	to      unix.Sockaddr
	gsoSize int
	seq     uint32
}

func newGSOSender(t *testing.T, topo *topology.Topology, port uint16, gsoSize int) *gsoSender {
	t.Helper()
	dom := unix.AF_INET
	if topo.Receiver.Addr.Is6() {
		dom = unix.AF_INET6
	}
	var fd int
	err := topo.Sender.NS.Do(func() error {
		var err error
		fd, err = unix.Socket(dom, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.SetsockoptInt(fd, unix.SOL_UDP, unix.UDP_SEGMENT, gsoSize); err != nil {
		t.Fatalf("setsockopt UDP_SEGMENT: %v", err)
	}
	return &gsoSender{fd: fd, to: sockaddr(topo.Receiver.Addr, int(port)), gsoSize: gsoSize}
}

// send sends k datagrams in one sendmsg, each starting with vethbench's
// payload header.
func (g *gsoSender) send(t *testing.T, k int) {
	t.Helper()
	buf := make([]byte, 0, k*g.gsoSize)
	for range k {
		p := payload(g.seq, monotonicNow(t))
		g.seq++
		buf = append(buf, p...)
		buf = append(buf, make([]byte, g.gsoSize-len(p))...)
	}
	if err := unix.Sendto(g.fd, buf, 0, g.to); err != nil {
		t.Fatalf("send %d datagrams with UDP_SEGMENT %d: %v", k, g.gsoSize, err)
	}
}

// listenUDP binds a UDP socket to port in the namespace.
func listenUDP(t *testing.T, ns *netns.NS, port uint16) *net.UDPConn {
	t.Helper()
	var conn *net.UDPConn
	err := ns.Do(func() error {
		var err error
		conn, err = net.ListenUDP("udp", &net.UDPAddr{Port: int(port)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readVB reads datagrams until none comes for wait, checking that each is
// vethbench's, and returns how many and their bytes.
func readVB(t *testing.T, conn *net.UDPConn, max int, wait time.Duration) (n, nbytes uint64) {
	t.Helper()
	buf := make([]byte, 65536)
	for n < uint64(max) {
		if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
			t.Fatal(err)
		}
		m, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			t.Fatal(err)
		}
		if m < 16 || !bytes.Equal(buf[:4], []byte("VBP1")) {
			t.Fatalf("received a datagram that is not vethbench's: %q", buf[:min(m, 32)])
		}
		n++
		nbytes += uint64(m)
	}
	return n, nbytes
}

// TestIngressUDPGSO: a UDP_SEGMENT send of k datagrams crosses the veth
// pair as one skb. The counter counts it as one matched skb (one
// rx_packet, one latency value) carrying k datagrams (Segs), whose
// payload is what the receiving socket reads; with GRO on the receiver
// (veth's NAPI path) too.
func TestIngressUDPGSO(t *testing.T) {
	testenv.RequireRoot(t)
	const (
		sends   = 50
		k       = 20
		gsoSize = 1000
	)
	for _, fam := range families {
		for _, gro := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/gro=%v", fam, gro), func(t *testing.T) {
				topo := realizeVeth(t, fam)
				rcv := topo.Receiver
				rh := nlHandle(t, rcv.NS)
				snmp := snmpReader(t, topo, rcv)
				if gro {
					setRxGRO(t, rcv.NS, rcv.Ifname, true)
				}
				conn := listenUDP(t, rcv.NS, testPort)
				c, err := AttachIngress(rcv.NS, rcv.Ifname, Options{DstPort: testPort})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				g := newGSOSender(t, topo, testPort, gsoSize)

				s0, rx0 := settle(t, c, rh, rcv.Ifname)
				m0 := snmp()
				var got, gotBytes uint64
				for range sends {
					g.send(t, k)
					n, b := readVB(t, conn, k, 2*time.Second)
					got, gotBytes = got+n, gotBytes+b
				}
				s1, rx1 := settle(t, c, rh, rcv.Ifname)
				d, m := s1.Sub(s0), snmp().Sub(m0)
				rxp := rx1.packets - rx0.packets
				t.Logf("sent %d x %d datagrams of %d B; read %d (%d B); matched %d skbs, segs %d, payload %d B, latency values %d; rx_packets +%d; %s +%d, %s +%d",
					sends, k, gsoSize, got, gotBytes, d.Matched, d.Segs, d.PayloadBytes, d.Latency.Total(), rxp,
					udpMIB(fam, "InDatagrams"), m[udpMIB(fam, "InDatagrams")], udpMIB(fam, "RcvbufErrors"), m[udpMIB(fam, "RcvbufErrors")])

				if got != sends*k {
					t.Fatalf("the socket read %d datagrams, %d were sent", got, sends*k)
				}
				if d.Segs != got {
					t.Errorf("segs %d, the socket read %d datagrams", d.Segs, got)
				}
				if d.PayloadBytes != gotBytes {
					t.Errorf("payload %d B, the socket read %d B", d.PayloadBytes, gotBytes)
				}
				// veth takes UDP GSO skbs whole (NETIF_F_GSO_UDP_L4): one
				// skb per send reaches the peer, with or without GRO, and
				// is one rx_packet. (The device may also have received
				// some IPv6 chatter, not matched.)
				if d.Matched != sends {
					t.Errorf("matched %d skbs, want %d (one per send)", d.Matched, sends)
				}
				if d.Packets != rxp {
					t.Errorf("counted %d packets, the device received %d", d.Packets, rxp)
				}
				if d.Latency.Total() != sends || d.BadTimestamp != 0 {
					t.Errorf("latency values %d, bad timestamps %d; want one value per skb (%d)", d.Latency.Total(), d.BadTimestamp, sends)
				}
				if want := uint64(sends) * (k*gsoSize + 8 + ipHeaderLen(fam) + 14); d.MatchedBytes != want {
					t.Errorf("matched bytes %d, want %d", d.MatchedBytes, want)
				}
			})
		}
	}
}

func ipHeaderLen(fam topology.Family) uint64 {
	if fam == topology.IPv6 {
		return 40
	}
	return 20
}

// TestDropsUDPGSO: drops of UDP GSO traffic count datagrams. A GSO skb to
// a closed port is dropped whole (NO_SOCKET, one Udp NoPorts) and counts
// all its datagrams; a full receive buffer drops the datagrams the kernel
// segmented the skb into one by one, their payload header in page
// fragments, each counted.
func TestDropsUDPGSO(t *testing.T) {
	testenv.RequireRoot(t)
	const (
		sends   = 30
		k       = 16
		gsoSize = 1200
	)
	for _, fam := range families {
		for _, h := range dropHooks {
			t.Run(string(fam)+"/"+h.hook+"/no socket", func(t *testing.T) {
				topo := realizeVeth(t, fam)
				snmp := snmpReader(t, topo, topo.Receiver)
				port := dropPort()
				d := attachDrops(t, port, h.hook, h.force)
				g := newGSOSender(t, topo, port, gsoSize)
				s0, m0 := settleDrops(t, d), snmp()
				for range sends {
					g.send(t, k)
				}
				got, m := settleDrops(t, d).Sub(s0), snmp().Sub(m0)
				t.Logf("sent %d x %d datagrams; drops %v; %s +%d", sends, k, got, udpMIB(fam, "NoPorts"), m[udpMIB(fam, "NoPorts")])
				checkDrops(t, got, DropSnapshot{"NO_SOCKET": sends * k})
				// The kernel counts the GSO skb once.
				if n := m[udpMIB(fam, "NoPorts")]; n != sends {
					t.Errorf("%s grew by %d, want %d (one per skb)", udpMIB(fam, "NoPorts"), n, sends)
				}
				checkNoMisses(t, d)
			})
		}
		t.Run(string(fam)+"/rcvbuf", func(t *testing.T) {
			topo := realizeVeth(t, fam)
			snmp := snmpReader(t, topo, topo.Receiver)
			port := dropPort()
			conn := listenUDP(t, topo.Receiver.NS, port)
			if err := conn.SetReadBuffer(1); err != nil { // the kernel rounds up to its minimum
				t.Fatal(err)
			}
			d := attachDrops(t, port, HookTPBTF, false)
			g := newGSOSender(t, topo, port, gsoSize)
			s0, m0 := settleDrops(t, d), snmp()
			for range sends {
				g.send(t, k)
			}
			got, m := settleDrops(t, d).Sub(s0), snmp().Sub(m0)
			queued, _ := readVB(t, conn, sends*k, 200*time.Millisecond)
			rcvbuf := m[udpMIB(fam, "RcvbufErrors")]
			t.Logf("sent %d x %d datagrams; in the socket %d; drops %v; %s +%d", sends, k, queued, got, udpMIB(fam, "RcvbufErrors"), rcvbuf)
			if got["SOCKET_RCVBUFF"] == 0 || got["SOCKET_RCVBUFF"] != rcvbuf {
				t.Errorf("SOCKET_RCVBUFF drops %d, %s grew by %d; want equal and not 0", got["SOCKET_RCVBUFF"], udpMIB(fam, "RcvbufErrors"), rcvbuf)
			}
			if queued+got.Total() != sends*k {
				t.Errorf("%d in the socket + %d dropped != %d sent", queued, got.Total(), sends*k)
			}
			checkNoMisses(t, d)
		})
	}
}

// tcpPair is a TCP connection from the sender's namespace to a listener in
// the receiver's.
type tcpPair struct {
	client, server *net.TCPConn
}

func dialTCP(t *testing.T, topo *topology.Topology, port uint16) tcpPair {
	t.Helper()
	var ln *net.TCPListener
	err := topo.Receiver.NS.Do(func() error {
		var err error
		ln, err = net.ListenTCP("tcp", &net.TCPAddr{Port: int(port)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var p tcpPair
	err = topo.Sender.NS.Do(func() error {
		var err error
		p.client, err = net.DialTCP("tcp", nil, &net.TCPAddr{IP: topo.Receiver.Addr.AsSlice(), Port: int(port)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.client.Close() })
	if err := ln.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if p.server, err = ln.AcceptTCP(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.server.Close() })
	return p
}

func tcpInfo(t *testing.T, c *net.TCPConn) *unix.TCPInfo {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		t.Fatal(err)
	}
	if ierr != nil {
		t.Fatalf("TCP_INFO: %v", ierr)
	}
	return info
}

// TestIngressTCP: a bulk TCP transfer of n bytes from the sender to the
// receiver, counted in TCP mode at the receiver's ingress: the matched
// skbs are every TCP skb the receiver got (the handshake, the data, the
// FIN and ACKs, all to the server's port; on IPv4, every skb the device
// received); the payload is n bytes plus what was retransmitted; the
// segments are what the sender's TCP sent (Tcp OutSegs and RetransSegs
// count TSO segments); no latency.
func TestIngressTCP(t *testing.T) {
	testenv.RequireRoot(t)
	const n = 8 << 20
	for _, fam := range families {
		for _, gro := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/gro=%v", fam, gro), func(t *testing.T) {
				topo := realizeVeth(t, fam)
				rcv := topo.Receiver
				rh := nlHandle(t, rcv.NS)
				rsnmp, ssnmp := snmpReader(t, topo, rcv), snmpReader(t, topo, topo.Sender)
				if gro {
					setRxGRO(t, rcv.NS, rcv.Ifname, true)
				}
				c, err := AttachIngress(rcv.NS, rcv.Ifname, Options{DstPort: testPort, Proto: ProtoTCP})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()

				s0, rx0 := settle(t, c, rh, rcv.Ifname)
				r0, w0 := rsnmp(), ssnmp()
				p := dialTCP(t, topo, testPort)
				werr := make(chan error, 1)
				go func() {
					buf := make([]byte, 256<<10)
					for i := range buf {
						buf[i] = byte(i)
					}
					left := n
					for left > 0 {
						m, err := p.client.Write(buf[:min(left, len(buf))])
						if err != nil {
							werr <- err
							return
						}
						left -= m
					}
					werr <- p.client.CloseWrite()
				}()
				if err := p.server.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
					t.Fatal(err)
				}
				got, err := io.Copy(io.Discard, p.server)
				if err != nil {
					t.Fatal(err)
				}
				if err := <-werr; err != nil {
					t.Fatal(err)
				}
				if got != n {
					t.Fatalf("the server read %d bytes, the client sent %d", got, n)
				}
				ci, si := tcpInfo(t, p.client), tcpInfo(t, p.server)
				// The server closes, the client reads its FIN and closes:
				// the connection ends in TIME_WAIT on the client.
				if err := p.server.Close(); err != nil {
					t.Fatal(err)
				}
				if err := p.client.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
					t.Fatal(err)
				}
				if m, err := p.client.Read(make([]byte, 1)); err != io.EOF {
					t.Fatalf("client read %d, %v; want EOF", m, err)
				}
				if err := p.client.Close(); err != nil {
					t.Fatal(err)
				}
				s1, rx1 := settle(t, c, rh, rcv.Ifname)
				d, r, w := s1.Sub(s0), rsnmp().Sub(r0), ssnmp().Sub(w0)
				rxp := rx1.packets - rx0.packets
				t.Logf("sent %d B; matched %d skbs (%d B), segs %d, payload %d B, latency values %d; rx_packets +%d", n, d.Matched, d.MatchedBytes, d.Segs, d.PayloadBytes, d.Latency.Total(), rxp)
				t.Logf("receiver Tcp.InSegs +%d, server tcpi_segs_in %d; sender Tcp.OutSegs +%d Tcp.RetransSegs +%d, client tcpi_segs_out %d tcpi_bytes_retrans %d",
					r["Tcp.InSegs"], si.Segs_in, w["Tcp.OutSegs"], w["Tcp.RetransSegs"], ci.Segs_out, ci.Bytes_retrans)

				if d.PayloadBytes != n+ci.Bytes_retrans {
					t.Errorf("payload %d B, want %d sent + %d retransmitted", d.PayloadBytes, n, ci.Bytes_retrans)
				}
				if d.Packets != rxp {
					t.Errorf("counted %d packets, the device received %d", d.Packets, rxp)
				}
				// An IPv4 topology carries nothing else; IPv6 may carry
				// neighbour discovery or MLD, which is not TCP.
				if fam == topology.IPv4 && d.Matched != rxp {
					t.Errorf("matched %d skbs, the device received %d", d.Matched, rxp)
				}
				// Tcp.OutSegs counts every segment sent, a TSO skb's one
				// by one, except retransmissions (tail loss probes too),
				// which are in Tcp.RetransSegs.
				if sent := w["Tcp.OutSegs"] + w["Tcp.RetransSegs"]; d.Segs != sent {
					t.Errorf("segs %d, the sender's TCP sent %d segments (Tcp.OutSegs + Tcp.RetransSegs)", d.Segs, sent)
				}
				if d.Segs <= d.Matched {
					t.Errorf("segs %d <= matched skbs %d: no TSO aggregate reached the receiver whole", d.Segs, d.Matched)
				}
				if d.Latency.Total() != 0 || d.BadTimestamp != 0 {
					t.Errorf("TCP mode recorded %d latency values, %d bad timestamps; want none", d.Latency.Total(), d.BadTimestamp)
				}
				// Every TCP skb the receiver's namespace got is this
				// connection's, all to the port, and Tcp.InSegs counts one
				// per skb that reaches TCP, an aggregate too (tcp_v4_rcv
				// and tcp_v6_rcv add 1; tcpi_segs_in adds gso_segs).
				// What else the device received (IPv6 chatter) is not TCP.
				if r["Tcp.InSegs"] != d.Matched {
					t.Errorf("receiver's Tcp.InSegs grew by %d, the counter matched %d skbs", r["Tcp.InSegs"], d.Matched)
				}
			})
		}
	}
}

// nftDrop adds, in the namespace, a table "vbtest" with an input chain
// dropping TCP segments to (dport) or from (sport) port, and returns a
// function that reads the rule's packet counter.
func nftDrop(t *testing.T, ns *netns.NS, port uint16, dport bool) func() uint64 {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(ns.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	table := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: "vbtest"})
	policy := nftables.ChainPolicyAccept
	chain := c.AddChain(&nftables.Chain{
		Name: "input", Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &policy,
	})
	var off uint32 // source port
	if dport {
		off = 2
	}
	c.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}})
	if err := c.Flush(); err != nil {
		t.Fatalf("add nftables drop rule: %v", err)
	}
	return func() uint64 {
		t.Helper()
		rules, err := c.GetRules(table, chain)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			for _, e := range r.Exprs {
				if ctr, ok := e.(*expr.Counter); ok {
					return ctr.Packets
				}
			}
		}
		t.Fatal("nftables rule has no counter")
		return 0
	}
}

// TestDropsTCP: in TCP mode the drop counter counts segments to and from
// the port. A connection is set up, then an nftables rule in each
// namespace drops everything it receives of the connection (the receiver
// what goes to the port, the sender what comes from it), and each end
// writes some data, which TCP sends and keeps retransmitting: every
// segment either end sends (tcpi_segs_out, TSO segments counted one by
// one) is dropped as NETFILTER_DROP and counted, the first transmissions
// as TSO aggregates (fewer skbs than segments in the rules' counters).
func TestDropsTCP(t *testing.T) {
	testenv.RequireRoot(t)
	for _, fam := range families {
		for _, h := range dropHooks {
			t.Run(string(fam)+"/"+h.hook, func(t *testing.T) {
				topo := realizeVeth(t, fam)
				port := dropPort()
				p := dialTCP(t, topo, port)
				d, err := AttachDrops(DropOptions{DstPort: port, Proto: ProtoTCP, ForceRawTracepoint: h.force})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				if d.Hook() != h.hook {
					t.Fatalf("hook %q, want %q", d.Hook(), h.hook)
				}
				toPort := nftDrop(t, topo.Receiver.NS, port, true)
				fromPort := nftDrop(t, topo.Sender.NS, port, false)

				// segsOut reads both ends' segment counts, and the drops
				// once they have settled, until no end sent anything while
				// the drops were read.
				segsOut := func() (uint64, DropSnapshot) {
					t.Helper()
					for range 20 {
						a := uint64(tcpInfo(t, p.client).Segs_out) + uint64(tcpInfo(t, p.server).Segs_out)
						s := settleDrops(t, d)
						b := uint64(tcpInfo(t, p.client).Segs_out) + uint64(tcpInfo(t, p.server).Segs_out)
						if a == b {
							return a, s
						}
					}
					t.Fatal("TCP kept sending while the drops were read")
					return 0, nil
				}
				out0, s0 := segsOut()
				n0, f0 := toPort(), fromPort()
				for _, c := range []*net.TCPConn{p.client, p.server} {
					if _, err := c.Write(make([]byte, 10000)); err != nil {
						t.Fatal(err)
					}
				}
				time.Sleep(700 * time.Millisecond) // the first retransmissions
				out1, s1 := segsOut()
				got, sent := s1.Sub(s0), out1-out0
				skbs := toPort() - n0 + fromPort() - f0
				t.Logf("segments sent by both ends %d; drops %v; skbs dropped by the rules %d", sent, got, skbs)
				checkDrops(t, got, DropSnapshot{"NETFILTER_DROP": sent})
				if skbs >= sent {
					t.Errorf("the rules dropped %d skbs for %d segments: want TSO aggregates, fewer skbs", skbs, sent)
				}
				checkNoMisses(t, d)
			})
		}
	}
}

// TestDropsTCPNoSocket: connecting to a port nobody listens on: the
// receiver answers each SYN with a RST and drops it (NO_SOCKET, to the
// port); the connection is refused. A drop counter in UDP mode on the same
// port counts none of it.
func TestDropsTCPNoSocket(t *testing.T) {
	testenv.RequireRoot(t)
	const n = 20
	for _, fam := range families {
		for _, h := range dropHooks {
			t.Run(string(fam)+"/"+h.hook, func(t *testing.T) {
				topo := realizeVeth(t, fam)
				snmp := snmpReader(t, topo, topo.Receiver)
				port := dropPort()
				d, err := AttachDrops(DropOptions{DstPort: port, Proto: ProtoTCP, ForceRawTracepoint: h.force})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				u := attachDrops(t, port, HookTPBTF, false) // UDP mode
				s0, u0, m0 := settleDrops(t, d), settleDrops(t, u), snmp()
				for i := range n {
					err := topo.Sender.NS.Do(func() error {
						c, err := net.DialTCP("tcp", nil, &net.TCPAddr{IP: topo.Receiver.Addr.AsSlice(), Port: int(port)})
						if err == nil {
							c.Close()
						}
						return err
					})
					if !errors.Is(err, unix.ECONNREFUSED) {
						t.Fatalf("connect %d: %v, want ECONNREFUSED", i, err)
					}
				}
				got, m := settleDrops(t, d).Sub(s0), snmp().Sub(m0)
				t.Logf("%d refused connections; drops %v; receiver Tcp.OutRsts +%d", n, got, m["Tcp.OutRsts"])
				checkDrops(t, got, DropSnapshot{"NO_SOCKET": n})
				if m["Tcp.OutRsts"] != n {
					t.Errorf("Tcp.OutRsts grew by %d, want %d", m["Tcp.OutRsts"], n)
				}
				if ud := settleDrops(t, u).Sub(u0); len(ud) != 0 {
					t.Errorf("a drop counter in UDP mode counted %v", ud)
				}
				checkNoMisses(t, d)
			})
		}
	}
}

// TestUDPRequestResponse: request/response over UDP with the client bound
// to the server's port number (in its own namespace), as the rr generator
// does: requests and responses are both vethbench datagrams to the port,
// so a counter at each end's ingress counts one direction each, with
// latencies, and the drop counter counts drops in both directions, with
// nothing in the programs specific to rr.
func TestUDPRequestResponse(t *testing.T) {
	testenv.RequireRoot(t)
	const n, lost = 500, 50
	for _, fam := range families {
		t.Run(string(fam), func(t *testing.T) {
			topo := realizeVeth(t, fam)
			snd, rcv := topo.Sender, topo.Receiver
			port := dropPort()
			server := listenUDP(t, rcv.NS, port)
			client := listenUDP(t, snd.NS, port)
			var cs []*Counters
			for _, ep := range []topology.Endpoint{rcv, snd} {
				c, err := AttachIngress(ep.NS, ep.Ifname, Options{DstPort: port})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				cs = append(cs, c)
			}
			d := attachDrops(t, port, HookTPBTF, false)
			s0 := []Snapshot{snap(t, cs[0]), snap(t, cs[1])}
			d0 := settleDrops(t, d)

			toServer := &net.UDPAddr{IP: rcv.Addr.AsSlice(), Port: int(port)}
			toClient := &net.UDPAddr{IP: topo.SenderSeenAs.AsSlice(), Port: int(port)}
			buf := make([]byte, 2048)
			for i := range n {
				if _, err := client.WriteToUDP(payload(uint32(i), monotonicNow(t)), toServer); err != nil {
					t.Fatal(err)
				}
				for _, c := range []*net.UDPConn{server, client} {
					if err := c.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
						t.Fatal(err)
					}
					if _, _, err := c.ReadFromUDP(buf); err != nil {
						t.Fatalf("exchange %d: %v", i, err)
					}
					if c == server {
						if _, err := server.WriteToUDP(payload(uint32(i), monotonicNow(t)), toClient); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			// Responses to a client that is gone: dropped in the
			// sender's namespace, NO_SOCKET.
			client.Close()
			for i := range lost {
				if _, err := server.WriteToUDP(payload(uint32(i), monotonicNow(t)), toClient); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(100 * time.Millisecond)
			drops := settleDrops(t, d).Sub(d0)
			for i, name := range []string{"requests at the server", "responses at the client"} {
				want := uint64(n)
				if i == 1 {
					want += lost
				}
				ds := snap(t, cs[i]).Sub(s0[i])
				t.Logf("%s: matched %d, segs %d, latency values %d", name, ds.Matched, ds.Segs, ds.Latency.Total())
				if ds.Matched != want || ds.Segs != want || ds.Latency.Total() != want {
					t.Errorf("%s: matched %d, segs %d, latency values %d; want %d", name, ds.Matched, ds.Segs, ds.Latency.Total(), want)
				}
			}
			t.Logf("drops %v", drops)
			checkDrops(t, drops, DropSnapshot{"NO_SOCKET": lost})
		})
	}
}

// TestSnapshotSegsJSON: Sub takes the new counters' deltas too, and the
// JSON names stay snake_case.
func TestSnapshotSegsJSON(t *testing.T) {
	prev := Snapshot{Matched: 2, Segs: 40, PayloadBytes: 40000}
	cur := Snapshot{Matched: 5, Segs: 100, PayloadBytes: 100000}
	if d := cur.Sub(prev); d.Matched != 3 || d.Segs != 60 || d.PayloadBytes != 60000 {
		t.Fatalf("Sub = %+v", d)
	}
	b, err := json.Marshal(cur)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"matched":5`, `"segs":100`, `"payload_bytes":100000`, `"matched_bytes":0`, `"bad_timestamp":0`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
}
