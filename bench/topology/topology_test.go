package topology

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/vethbench/vethbench/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestValidate(t *testing.T) {
	good := []Spec{
		{Kind: KindVeth},
		{Kind: KindVeth, Family: IPv6, MTU: 9000, TxQueues: 4, RxQueues: 4, RunID: "abc123"},
		{Kind: KindLoopback},
		{Kind: KindMacvlan, Mode: "vepa"},
		{Kind: KindIPvlan, Mode: "l3s"},
	}
	for _, s := range good {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	bad := map[string]Spec{
		"unknown topology":      {Kind: "wireguard"},
		"unknown topology \"\"": {},
		"unknown family":        {Kind: KindVeth, Family: "ipx"},
		"mtu: 100 out of":       {Kind: KindVeth, MTU: 100},
		"mtu: 70000 out of":     {Kind: KindVeth, MTU: 70000},
		"tx-queues: -1":         {Kind: KindVeth, TxQueues: -1},
		"rx-queues: 65":         {Kind: KindVeth, RxQueues: 65},
		"run-id: \"XYZ\"":       {Kind: KindVeth, RunID: "XYZ"},
		"run-id: \"1234567\"":   {Kind: KindVeth, RunID: "1234567"},
	}
	for want, s := range bad {
		err := s.Validate()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: error %v, want one containing %q", s, err, want)
		}
	}
}

func TestDeviceNamesFit(t *testing.T) {
	b := &builder{t: &Topology{Spec: Spec{RunID: "abcdef"}}}
	for _, role := range []string{"s", "r", "br", "hs", "longrolename"} {
		if n := b.name(role); len(n) > 15 || !strings.HasPrefix(n, NamePrefix+"abcdef") {
			t.Errorf("name(%q) = %q", role, n)
		}
	}
}

// udpPass sends one datagram from the sender to the receiver and reads it.
func udpPass(t *testing.T, tp *Topology) {
	t.Helper()
	var rc, sc *net.UDPConn
	err := tp.Receiver.NS.Do(func() error {
		var err error
		rc, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(tp.Receiver.Addr, 9999)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	err = tp.Sender.NS.Do(func() error {
		var err error
		sc, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(tp.Receiver.Addr, 9999)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := sc.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	rc.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 64)
	n, from, err := rc.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no datagram arrived: %v", err)
	}
	if string(buf[:n]) != "hello" || from.Addr().Unmap() != tp.SenderSeenAs {
		t.Fatalf("got %q from %v, want hello from %v", buf[:n], from, tp.SenderSeenAs)
	}
}

// realizable lists every kind and mode vethbench builds, in both families.
func realizable() []Spec {
	var specs []Spec
	for _, fam := range []Family{IPv4, IPv6} {
		for _, k := range Kinds {
			modes := []string{""}
			switch k {
			case KindMacvlan:
				modes = MacvlanModes
			case KindIPvlan:
				modes = IPvlanModes
			}
			for _, m := range modes {
				specs = append(specs, Spec{Kind: k, Family: fam, Mode: m})
			}
		}
	}
	return append(specs, Spec{Kind: KindVeth, MTU: 9000, TxQueues: 2, RxQueues: 2},
		Spec{Kind: KindBridge, MTU: 9000, TxQueues: 2, RxQueues: 2},
		Spec{Kind: KindRouter, TxQueues: 4, RxQueues: 1, PeerTxQueues: 1, PeerRxQueues: 4})
}

// Every kind this kernel supports is realized and passes a datagram; a kind
// it lacks is ErrNotSupported, and that is only accepted when the kernel's
// config confirms the lack.
func TestRealize(t *testing.T) {
	testenv.RequireRoot(t)
	for _, s := range realizable() {
		name := fmt.Sprintf("%s/%s/%s/mtu=%d", s.Kind, s.WithDefaults().Family, s.WithDefaults().Mode, s.MTU)
		t.Run(name, func(t *testing.T) {
			tp, err := Realize(context.Background(), s)
			if errors.Is(err, ErrNotSupported) {
				has, ok := testenv.KernelConfig(string(s.Kind))
				if !ok || has {
					t.Fatalf("%v, but the kernel config says it has %s (or cannot be read)", err, s.Kind)
				}
				if !strings.Contains(err.Error(), "kernel has no "+string(s.Kind)) {
					t.Fatalf("unsupported error does not say what is missing: %v", err)
				}
				t.Skipf("kernel lacks %s: %v", s.Kind, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tp.Close()
			udpPass(t, tp)
			for _, d := range tp.Devices {
				if len(d.Ifname) > 15 {
					t.Errorf("device name %q too long", d.Ifname)
				}
			}
			for _, role := range []string{"sender", "receiver"} {
				if _, ok := tp.Device(role); !ok && s.Kind != KindLoopback {
					t.Errorf("no device with role %s", role)
				}
			}
			if err := tp.Close(); err != nil {
				t.Fatal(err)
			}
			if err := tp.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
		})
	}
}

// Devices are never created in the initial namespace, even for a moment,
// and two realizations at once do not collide.
func TestRealizeConcurrentNothingInHost(t *testing.T) {
	testenv.RequireRoot(t)
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	if err := netlink.LinkSubscribe(ch, done); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			tp, err := Realize(context.Background(), Spec{Kind: KindVeth})
			if err != nil {
				errs <- err
				return
			}
			tp.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	time.Sleep(100 * time.Millisecond)
	close(done)
	for u := range ch {
		if strings.HasPrefix(u.Attrs().Name, NamePrefix) {
			t.Errorf("link %q appeared in the initial namespace", u.Attrs().Name)
		}
	}
}

func TestRealizeCancelled(t *testing.T) {
	testenv.RequireRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Realize(ctx, Spec{Kind: KindVeth}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Realize with a cancelled context: %v", err)
	}
}

// Queue counts are set per end: the sending end of every link gets
// TxQueues/RxQueues and the receiving end PeerTxQueues/PeerRxQueues.
func TestQueuesPerEnd(t *testing.T) {
	testenv.RequireRoot(t)
	for _, k := range []Kind{KindVeth, KindBridge, KindRouter, KindMacvlan} {
		tp, err := Realize(context.Background(), Spec{Kind: k, TxQueues: 4, RxQueues: 1, PeerTxQueues: 1, PeerRxQueues: 3})
		if err != nil {
			t.Fatal(err)
		}
		for role, want := range map[string][2]int{"sender": {4, 1}, "receiver": {1, 3}} {
			d, _ := tp.Device(role)
			h, err := d.NS.NetlinkHandle()
			if err != nil {
				t.Fatal(err)
			}
			l, err := h.LinkByName(d.Ifname)
			h.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got := [2]int{l.Attrs().NumTxQueues, l.Attrs().NumRxQueues}; got != want {
				t.Errorf("%s %s: tx/rx queues %v, want %v", k, role, got, want)
			}
		}
		tp.Close()
	}
}

// Every link has a sending and a receiving end, and the measured endpoints
// are the sending end of the first link and the receiving end of the last.
func TestDeviceEnds(t *testing.T) {
	testenv.RequireRoot(t)
	for _, k := range []Kind{KindVeth, KindBridge, KindRouter, KindHostNAT, KindMacvlan, KindLoopback} {
		tp, err := Realize(context.Background(), Spec{Kind: k})
		if err != nil {
			t.Fatal(err)
		}
		var send, recv int
		for _, d := range tp.Devices {
			switch d.End {
			case EndSend:
				send++
			case EndReceive:
				recv++
			}
			if d.Ifname == tp.Sender.Ifname && d.NS == tp.Sender.NS && d.End != EndSend && d.End != EndBoth {
				t.Errorf("%s: the sender's device %s is %q", k, d.Ifname, d.End)
			}
			if d.Ifname == tp.Receiver.Ifname && d.NS == tp.Receiver.NS && d.End != EndReceive && d.End != EndBoth {
				t.Errorf("%s: the receiver's device %s is %q", k, d.Ifname, d.End)
			}
		}
		if send != recv {
			t.Errorf("%s: %d sending ends, %d receiving ends", k, send, recv)
		}
		tp.Close()
	}
}
