package kstat

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestParseSNMP(t *testing.T) {
	in := []byte("Ip: Forwarding DefaultTTL InDiscards\nIp: 2 64 7\nUdp: InDatagrams NoPorts InErrors RcvbufErrors\nUdp: 100 3 5 4\n")
	s, err := parseSNMP(in)
	if err != nil {
		t.Fatal(err)
	}
	if s["Udp.RcvbufErrors"] != 4 || s["Ip.InDiscards"] != 7 || s["Udp.NoPorts"] != 3 {
		t.Fatalf("parsed %v", s)
	}
	if _, err := parseSNMP([]byte("Ip: A B\nIp: 1\n")); err == nil {
		t.Error("mismatched lines parsed")
	}
	if err := parseSNMP6([]byte("Udp6InErrors                    	9\nUdp6NoPorts 2\n"), s); err != nil {
		t.Fatal(err)
	}
	if s["Udp6InErrors"] != 9 || s["Udp6NoPorts"] != 2 {
		t.Fatalf("parsed %v", s)
	}
	d := SNMP{"a": 10, "b": 5}.Sub(SNMP{"a": 4})
	if d["a"] != 6 || d["b"] != 5 {
		t.Fatalf("Sub = %v", d)
	}
}

// A datagram to a port nobody listens on shows up as Udp.NoPorts in the
// receiving namespace only, and the device counters move.
func TestCountersInNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	tp, err := topology.Realize(context.Background(), topology.Spec{Kind: topology.KindVeth})
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	rr, err := NewReader(tp.Receiver.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	sr, err := NewReader(tp.Sender.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()

	snmp0, err := rr.SNMP()
	if err != nil {
		t.Fatal(err)
	}
	dev0, err := rr.Device(tp.Receiver.Ifname)
	if err != nil {
		t.Fatal(err)
	}
	var c *net.UDPConn
	if err := tp.Sender.NS.Do(func() error {
		c, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(tp.Receiver.Addr, 4)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Every other write reports the ICMP error of the previous datagram
	// (ECONNREFUSED) instead of sending: count the ones that went out.
	var n uint64
	for range 20 {
		if _, err := c.Write(make([]byte, 22)); err == nil {
			n++
		}
	}
	c.Close()
	snmp1, err := rr.SNMP()
	if err != nil {
		t.Fatal(err)
	}
	dev1, err := rr.Device(tp.Receiver.Ifname)
	if err != nil {
		t.Fatal(err)
	}
	if got := snmp1.Sub(snmp0)["Udp.NoPorts"]; got != n {
		t.Errorf("Udp.NoPorts grew by %d, want %d", got, n)
	}
	d := dev1.Sub(dev0)
	if d.RxPackets != n || d.RxBytes != n*64 {
		t.Errorf("receiver device counted %d packets, %d bytes; want %d and %d", d.RxPackets, d.RxBytes, n, n*64)
	}
	hostSNMP, err := sr.SNMP()
	if err != nil {
		t.Fatal(err)
	}
	if hostSNMP["Udp.NoPorts"] != 0 {
		t.Errorf("the sender's namespace saw NoPorts %d: counters are not per namespace", hostSNMP["Udp.NoPorts"])
	}
}
