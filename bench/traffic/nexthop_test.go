package traffic

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
)

// ResolveL2 on a veth pair finds the peer, on a router topology the
// router; without a route, for the namespace's own address and without a
// neighbour entry it fails with ErrNoL2Path.
func TestResolveL2(t *testing.T) {
	testenv.RequireRoot(t)
	for _, fam := range []topology.Family{topology.IPv4, topology.IPv6} {
		t.Run("veth-"+string(fam), func(t *testing.T) {
			topo := realize(t, topology.Spec{Kind: topology.KindVeth, Family: fam})
			p, err := ResolveL2(topo.Sender.NS, topo.Receiver.Addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("path: %v", p)
			if p.Ifname != topo.Sender.Ifname || p.Ifindex != topo.Sender.Ifindex {
				t.Errorf("device %s/%d, want %s/%d", p.Ifname, p.Ifindex, topo.Sender.Ifname, topo.Sender.Ifindex)
			}
			if p.Src != topo.Sender.Addr || p.NextHop != topo.Receiver.Addr {
				t.Errorf("source %v, next hop %v; want %v, %v", p.Src, p.NextHop, topo.Sender.Addr, topo.Receiver.Addr)
			}
			if want := macOf(t, topo.Sender); p.SrcMAC.String() != want.String() {
				t.Errorf("source MAC %v, want %v", p.SrcMAC, want)
			}
			if want := macOf(t, topo.Receiver); p.DstMAC.String() != want.String() {
				t.Errorf("destination MAC %v, want the receiver's %v", p.DstMAC, want)
			}

			// Errors: an address with no route, the namespace's own
			// address, a next hop without a neighbour entry.
			nowhere := netip.MustParseAddr("192.0.2.1")
			if fam == topology.IPv6 {
				nowhere = netip.MustParseAddr("2001:db8::1")
			}
			_, err = ResolveL2(topo.Sender.NS, nowhere)
			if !errors.Is(err, ErrNoL2Path) || !errors.Is(err, unix.ENETUNREACH) {
				t.Errorf("no route: %v, want ErrNoL2Path and ENETUNREACH", err)
			}
			t.Logf("no route: %v", err)
			if _, err := ResolveL2(topo.Sender.NS, topo.Sender.Addr); !errors.Is(err, ErrNoL2Path) {
				t.Errorf("own address: %v, want ErrNoL2Path", err)
			}
			h, err := topo.Sender.NS.NetlinkHandle()
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			neighs, err := h.NeighList(topo.Sender.Ifindex, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range neighs {
				if a, _ := netip.AddrFromSlice(n.IP); a.Unmap() == topo.Receiver.Addr {
					if err := h.NeighDel(&n); err != nil {
						t.Fatal(err)
					}
				}
			}
			_, err = ResolveL2(topo.Sender.NS, topo.Receiver.Addr)
			if !errors.Is(err, ErrNoL2Path) || !strings.Contains(err.Error(), "neighbour") {
				t.Errorf("without a neighbour entry: %v, want ErrNoL2Path about the neighbour", err)
			}
			t.Logf("no neighbour: %v", err)
		})
	}
	for _, fam := range []topology.Family{topology.IPv4, topology.IPv6} {
		t.Run("router-"+string(fam), func(t *testing.T) {
			topo := realize(t, topology.Spec{Kind: topology.KindRouter, Family: fam})
			p, err := ResolveL2(topo.Sender.NS, topo.Receiver.Addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("path: %v", p)
			rt, ok := topo.Device("router-in")
			if !ok {
				t.Fatal("router topology without a router-in device")
			}
			h, err := rt.NS.NetlinkHandle()
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			l, err := h.LinkByName(rt.Ifname)
			if err != nil {
				t.Fatal(err)
			}
			if p.DstMAC.String() != l.Attrs().HardwareAddr.String() {
				t.Errorf("destination MAC %v, want the router's %v", p.DstMAC, l.Attrs().HardwareAddr)
			}
			if p.NextHop == topo.Receiver.Addr || p.Src != topo.Sender.Addr || p.Ifname != topo.Sender.Ifname {
				t.Errorf("next hop %v, source %v, device %s: want the router, %v, %s", p.NextHop, p.Src, p.Ifname, topo.Sender.Addr, topo.Sender.Ifname)
			}
		})
	}
}

func macOf(t *testing.T, ep topology.Endpoint) net.HardwareAddr {
	t.Helper()
	h, err := ep.NS.NetlinkHandle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByIndex(ep.Ifindex)
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().HardwareAddr
}
