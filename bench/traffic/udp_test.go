package traffic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
	"runtime"
)

// rxCounters reads the kernel's receive counters of the receiving device,
// through a netlink handle opened inside its namespace.
func rxCounters(t testing.TB, ep topology.Endpoint) (packets, bytes uint64) {
	t.Helper()
	h, err := ep.NS.NetlinkHandle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(ep.Ifname)
	if err != nil {
		t.Fatalf("find %s: %v", ep.Ifname, err)
	}
	s := l.Attrs().Statistics
	if s == nil {
		t.Fatalf("%s has no statistics", ep.Ifname)
	}
	return s.RxPackets, s.RxBytes
}

// dropReport says where datagrams may have been lost: the devices' drop
// counters and the receiving namespace's UDP error counters.
func dropReport(t testing.TB, topo *topology.Topology) string {
	var out []string
	for _, ep := range []topology.Endpoint{topo.Sender, topo.Receiver} {
		h, err := ep.NS.NetlinkHandle()
		if err != nil {
			return err.Error()
		}
		l, err := h.LinkByName(ep.Ifname)
		h.Close()
		if err != nil {
			return err.Error()
		}
		s := l.Attrs().Statistics
		out = append(out, fmt.Sprintf("%s: tx %d tx_dropped %d rx %d rx_dropped %d", ep.Ifname, s.TxPackets, s.TxDropped, s.RxPackets, s.RxDropped))
	}
	snmp, err := topo.Receiver.NS.ReadFile("/proc/thread-self/net/snmp")
	if err != nil {
		return err.Error()
	}
	for _, line := range strings.Split(string(snmp), "\n") {
		if strings.HasPrefix(line, "Udp:") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "; ")
}

func TestFixedRate(t *testing.T) {
	testenv.RequireRoot(t)
	for _, spec := range []topology.Spec{
		{Kind: topology.KindVeth, Family: topology.IPv4},
		{Kind: topology.KindVeth, Family: topology.IPv6},
		{Kind: topology.KindLoopback, Family: topology.IPv4},
		{Kind: topology.KindLoopback, Family: topology.IPv6},
	} {
		t.Run(fmt.Sprintf("%s-%s", spec.Kind, spec.Family), func(t *testing.T) {
			topo := realize(t, spec)
			const rate = 20000
			cfg := UDPConfig{Flows: 1, FrameSize: 128, Rate: rate}
			pkts0, bytes0 := rxCounters(t, topo.Receiver)
			r := runPair(t, topo, cfg, time.Second)
			pkts1, bytes1 := rxCounters(t, topo.Receiver)
			if r.sndErr != nil || r.rcvErr != nil {
				t.Fatalf("sender: %v, receiver: %v", r.sndErr, r.rcvErr)
			}
			sent, got := r.snd.Sent(), r.rcv.Received()
			achieved := float64(sent) / r.elapsed.Seconds()
			t.Logf("sent %d in %v (%.0f pps), received %d, gaps %d, max lag %v, send errors %v",
				sent, r.elapsed.Round(time.Millisecond), achieved, got, r.rcv.SeqGaps(), r.snd.MaxLag(), r.snd.Errors())
			if got != sent || r.rcv.SeqGaps() != 0 || r.rcv.Invalid() != 0 {
				t.Errorf("received %d (gaps %d, invalid %d), sent %d: want every datagram; drops: %s",
					got, r.rcv.SeqGaps(), r.rcv.Invalid(), sent, dropReport(t, topo))
			}
			if want := uint64(r.snd.PayloadLen()) * sent; r.rcv.Bytes() != want {
				t.Errorf("receiver counted %d payload bytes, want %d", r.rcv.Bytes(), want)
			}
			if math.Abs(achieved-rate)/rate > 0.05 {
				t.Errorf("achieved %.0f pps, want %d +- 5%%", achieved, rate)
			}
			if d := pkts1 - pkts0; d < sent {
				t.Errorf("%s rx_packets grew by %d, less than the %d datagrams sent", topo.Receiver.Ifname, d, sent)
			}
			if spec.Kind == topology.KindVeth {
				// The frame size is what the device counts.
				if d := bytes1 - bytes0; d < r.snd.SentBytes() {
					t.Errorf("%s rx_bytes grew by %d, less than SentBytes %d", topo.Receiver.Ifname, d, r.snd.SentBytes())
				}
			}
			if r.snd.MaxLag() > 50*time.Millisecond {
				t.Errorf("max lag %v at only %d pps", r.snd.MaxLag(), rate)
			}
		})
	}
}

// The frame bytes the device counts are exactly FrameSize per datagram.
func TestFrameSizeOnTheWire(t *testing.T) {
	testenv.RequireRoot(t)
	for _, fam := range []topology.Family{topology.IPv4, topology.IPv6} {
		t.Run(string(fam), func(t *testing.T) {
			topo := realize(t, topology.Spec{Kind: topology.KindVeth, Family: fam})
			frame := MinFrame(fam == topology.IPv6)
			_, bytes0 := rxCounters(t, topo.Receiver)
			r := runPair(t, topo, UDPConfig{Flows: 1, FrameSize: frame, Rate: 10000}, 200*time.Millisecond)
			_, bytes1 := rxCounters(t, topo.Receiver)
			if r.sndErr != nil || r.rcvErr != nil {
				t.Fatalf("sender: %v, receiver: %v", r.sndErr, r.rcvErr)
			}
			// IPv6 may add a few neighbour or MLD messages: allow 1%.
			got, want := bytes1-bytes0, r.snd.SentBytes()
			if got < want || float64(got-want) > 0.01*float64(want) {
				t.Errorf("rx_bytes grew by %d, want %d (%d frames of %d B)", got, want, r.snd.Sent(), frame)
			}
		})
	}
}

func TestUnlimitedRate(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	r := runPair(t, topo, UDPConfig{Flows: 1, FrameSize: 64}, time.Second)
	if r.sndErr != nil || r.rcvErr != nil {
		t.Fatalf("sender: %v, receiver: %v", r.sndErr, r.rcvErr)
	}
	pps := float64(r.snd.Sent()) / r.elapsed.Seconds()
	t.Logf("sent %d (%.0f pps), received %d, gaps %d, errors %v", r.snd.Sent(), pps, r.rcv.Received(), r.rcv.SeqGaps(), r.snd.Errors())
	if pps < 100000 {
		t.Errorf("unlimited rate %.0f pps, want > 100000", pps)
	}
	if r.snd.MaxLag() != 0 {
		t.Errorf("MaxLag %v for an unlimited sender", r.snd.MaxLag())
	}
	// The sending time is inside the Run and most of it.
	if st := r.snd.SendTime(); st <= r.elapsed/2 || st > r.elapsed {
		t.Errorf("SendTime %v for a Run of %v", st, r.elapsed)
	}
	if r.rcv.Received()+r.rcv.SeqGaps() != r.snd.Sent() {
		t.Errorf("received %d + gaps %d != sent %d", r.rcv.Received(), r.rcv.SeqGaps(), r.snd.Sent())
	}
}

func TestFlowsUseDistinctPorts(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			const flows = 5
			r := runPair(t, topo, UDPConfig{Flows: flows, Workers: workers, FrameSize: 64, Rate: 10000}, 300*time.Millisecond)
			if r.sndErr != nil || r.rcvErr != nil {
				t.Fatalf("sender: %v, receiver: %v", r.sndErr, r.rcvErr)
			}
			per, err := r.rcv.PerFlow()
			if err != nil {
				t.Fatal(err)
			}
			if len(per) != flows {
				t.Fatalf("receiver saw source ports %v, want %d flows", per, flows)
			}
			var total uint64
			for i := range flows {
				port := uint16(testSrcPortBase + i)
				if per[port] == 0 {
					t.Errorf("no datagram from source port %d", port)
				}
				total += per[port]
			}
			if total != r.snd.Sent() || r.rcv.SeqGaps() != 0 {
				t.Errorf("received %d over the flows (gaps %d), sent %d", total, r.rcv.SeqGaps(), r.snd.Sent())
			}
		})
	}
}

// Cancelling the context stops both Runs within 200 ms, whether they are
// busy (unlimited traffic), asleep in the rate limiter or idle.
func TestCancelIsPrompt(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	for _, c := range []struct {
		name string
		rate float64
	}{{"unlimited", 0}, {"slow", 10}} {
		t.Run(c.name, func(t *testing.T) {
			rcv, err := NewUDPReceiver(topo.Receiver.NS, topo.Receiver.Addr, testDstPort, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer rcv.Close()
			snd, err := NewUDPSender(topo.Sender.NS, UDPConfig{
				Src: topo.Sender.Addr, Dst: topo.Receiver.Addr, DstPort: testDstPort,
				SrcPortBase: testSrcPortBase, Flows: 2, Workers: 2, FrameSize: 64, Rate: c.rate,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer snd.Close()
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var sndDone, rcvDone time.Time
			var sndErr, rcvErr error
			wg.Go(func() { rcvErr = rcv.Run(ctx); rcvDone = time.Now() })
			wg.Go(func() { sndErr = snd.Run(ctx); sndDone = time.Now() })
			time.Sleep(300 * time.Millisecond)
			start := time.Now()
			cancel()
			wg.Wait()
			if sndErr != nil || rcvErr != nil {
				t.Fatalf("sender: %v, receiver: %v", sndErr, rcvErr)
			}
			t.Logf("stopped after %v (sender) and %v (receiver)", sndDone.Sub(start), rcvDone.Sub(start))
			if d := sndDone.Sub(start); d > 200*time.Millisecond {
				t.Errorf("sender took %v to stop", d)
			}
			if d := rcvDone.Sub(start); d > 200*time.Millisecond {
				t.Errorf("receiver took %v to stop", d)
			}
		})
	}
	t.Run("idle receiver", func(t *testing.T) {
		rcv, err := NewUDPReceiver(topo.Receiver.NS, topo.Receiver.Addr, testDstPort, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer rcv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan time.Time, 1)
		go func() { rcv.Run(ctx); done <- time.Now() }()
		time.Sleep(100 * time.Millisecond)
		start := time.Now()
		cancel()
		if d := (<-done).Sub(start); d > 200*time.Millisecond {
			t.Errorf("idle receiver took %v to stop", d)
		}
	})
}

func TestCloseStopsRun(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	rcv, err := NewUDPReceiver(topo.Receiver.NS, topo.Receiver.Addr, testDstPort, 0)
	if err != nil {
		t.Fatal(err)
	}
	snd, err := NewUDPSender(topo.Sender.NS, UDPConfig{
		Src: topo.Sender.Addr, Dst: topo.Receiver.Addr, DstPort: testDstPort,
		SrcPortBase: testSrcPortBase, Flows: 1, FrameSize: 64,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sndErr, rcvErr := make(chan error, 1), make(chan error, 1)
	go func() { rcvErr <- rcv.Run(ctx) }()
	go func() { sndErr <- snd.Run(ctx) }()
	time.Sleep(100 * time.Millisecond)
	if err := snd.Run(ctx); !errors.Is(err, ErrRunning) {
		t.Errorf("second concurrent Run: %v, want ErrRunning", err)
	}
	for _, c := range []interface{ Close() error }{snd, rcv} {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	for name, ch := range map[string]chan error{"sender": sndErr, "receiver": rcvErr} {
		select {
		case err := <-ch:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s Run after Close: %v, want ErrClosed", name, err)
			}
		case <-time.After(time.Second):
			t.Fatalf("%s Run did not return after Close", name)
		}
	}
	if err := snd.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := rcv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := snd.Run(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
	if err := rcv.Run(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
}

// Without a receiver the kernel answers with ICMP port unreachable; the
// sender counts ECONNREFUSED and goes on.
func TestConnRefusedIsCounted(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	snd, err := NewUDPSender(topo.Sender.NS, UDPConfig{
		Src: topo.Sender.Addr, Dst: topo.Receiver.Addr, DstPort: testDstPort,
		SrcPortBase: testSrcPortBase, Flows: 1, FrameSize: 64, Rate: 5000,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := snd.Run(ctx); err != nil {
		t.Fatal(err)
	}
	errs := snd.Errors()
	t.Logf("sent %d, errors %v", snd.Sent(), errs)
	if errs["ECONNREFUSED"] == 0 || snd.Sent() < 1000 {
		t.Errorf("sent %d with errors %v: want ECONNREFUSED counted and sending to go on", snd.Sent(), errs)
	}
}

func TestReceiverCountsInvalid(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindLoopback})
	rcv, err := NewUDPReceiver(topo.Receiver.NS, topo.Receiver.Addr, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	if rcv.Addr().Port() == 0 || rcv.EffectiveRcvbuf() <= 0 {
		t.Fatalf("receiver bound to %v with rcvbuf %d", rcv.Addr(), rcv.EffectiveRcvbuf())
	}
	fd := -1
	if err := topo.Sender.NS.Do(func() error {
		var err error
		fd, err = udpSocket(netip.AddrPortFrom(topo.Sender.Addr, 0), rcv.Addr())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	good := make([]byte, 30)
	Encode(good, Header{Seq: 0})
	for _, p := range [][]byte{[]byte("hello"), make([]byte, 100), good} {
		if _, err := unix.Write(fd, p); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := rcv.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if rcv.Invalid() != 2 || rcv.Received() != 1 || rcv.Bytes() != 30 {
		t.Errorf("invalid %d, received %d, bytes %d; want 2, 1, 30", rcv.Invalid(), rcv.Received(), rcv.Bytes())
	}
}

// accounter is a UDPReceiver without a socket, for feeding account.
func accounter() *UDPReceiver {
	return &UDPReceiver{
		flows: make([][tagSlots]flowState, 1<<16), perFlow: make([]uint64, 1<<16),
		buf: make([]byte, recvBatch*recvBufLen), names: make([]unix.RawSockaddrInet6, recvBatch), msgs: make([]unix.Mmsghdr, recvBatch),
	}
}

// feed makes r account for datagrams of one flow and tag, as if one
// recvmmsg had returned them.
func feed(r *UDPReceiver, port uint16, tag uint8, seqs ...uint32) {
	for i, s := range seqs {
		Encode(r.buf[i*recvBufLen:], Header{Tag: tag, Seq: s})
		r.msgs[i].Len = 30
		setPort(&r.names[i], port)
	}
	r.account(len(seqs))
}

// Sequence accounting: gaps, late datagrams, wrap-around.
func TestSeqAccounting(t *testing.T) {
	r := accounter()
	feed(r, 1000, 0, 0, 1, 2, 5, 6) // 3 and 4 missing
	feed(r, 1001, 0, 2, 3)          // a flow first seen at 2: 0 and 1 missing
	feed(r, 1000, 0, 3)             // late: fills one gap
	if got := r.SeqGaps(); got != 3 {
		t.Errorf("SeqGaps = %d, want 3 (lost 4 on flow 1000, 0 and 1 on 1001)", got)
	}
	if r.Late() != 1 || r.Received() != 8 {
		t.Errorf("late %d, received %d; want 1, 8", r.Late(), r.Received())
	}
	r2 := accounter()
	r2.flows[7][0] = flowState{next: math.MaxUint32 - 1, used: true}
	feed(r2, 7, 0, math.MaxUint32-1, math.MaxUint32, 0, 1, 3)
	if r2.SeqGaps() != 1 || r2.Late() != 0 {
		t.Errorf("across the wrap: gaps %d, late %d; want 1, 0", r2.SeqGaps(), r2.Late())
	}
}

// Each tag is counted apart, every flow's sequence starting at 0 under
// it, and with the generator's count of a tag the gaps include what was
// lost after each flow's last datagram: gaps = sent - received exactly.
// A datagram more than tagSlots-1 tags late is stale.
func TestSeqAccountingTagged(t *testing.T) {
	r := accounter()
	// Tag 1: flow 1000 sent 0..5 and lost 2 and 5 (the tail), flow
	// 1001 sent 0..2 and lost all, flow 1002 sent 0..3, all arrived.
	feed(r, 1000, 1, 0, 1)
	feed(r, 1002, 1, 0, 1)
	// Tag 2 begins while tag 1's last datagrams are still arriving.
	feed(r, 1000, 2, 0, 1, 2)
	feed(r, 1000, 1, 3, 4)
	feed(r, 1002, 1, 2, 3)
	feed(r, 1002, 2, 1) // tag 2, flow 1002: 0 lost
	sent1, sent2 := uint64(6+3+4), uint64(3+2)
	c1, c2 := r.Tagged(1), r.Tagged(2)
	if c1.Received != 8 || c1.Bytes != 8*30 || c1.Gaps(sent1) != sent1-c1.Received {
		t.Errorf("tag 1: received %d (%d B), gaps %d; want 8 (240 B) and %d (%+v)", c1.Received, c1.Bytes, c1.Gaps(sent1), sent1-8, c1)
	}
	if c2.Received != 4 || c2.Gaps(sent2) != 1 {
		t.Errorf("tag 2: received %d, gaps %d; want 4, 1 (%+v)", c2.Received, c2.Gaps(sent2), c2)
	}
	if r.Received() != 12 || r.Stale() != 0 {
		t.Errorf("received %d, stale %d; want 12, 0", r.Received(), r.Stale())
	}
	// A later reading, minus an earlier one, is what came in between.
	feed(r, 1000, 2, 3)
	if d := r.Tagged(2).Sub(c2); d.Received != 1 || d.Next != 1 || d.Jumps != 0 {
		t.Errorf("tag 2 since the first reading: %+v, want one datagram in sequence", d)
	}
	// Tag 5 takes tag 1's slot; a datagram of tag 1 after it is stale,
	// counted as received for its tag but in no sequence.
	feed(r, 1000, 5, 0)
	feed(r, 1000, 1, 6)
	if c := r.Tagged(1); r.Stale() != 1 || c.Received != 9 || c.Jumps != c1.Jumps || c.Next != c1.Next {
		t.Errorf("a datagram of tag 1 after tag 5: stale %d, tag 1 %+v (before %+v)", r.Stale(), c, c1)
	}
	// Tags wrap: 0 follows 255 and is newer.
	feed(r, 1003, 255, 0)
	feed(r, 1003, 3, 0)
	if r.Stale() != 1 || r.Tagged(3).Received != 1 {
		t.Errorf("tag 3 after 255: stale %d, received %d", r.Stale(), r.Tagged(3).Received)
	}
}

// setPort stores port in network byte order, as the kernel fills msg_name.
func setPort(sa *unix.RawSockaddrInet6, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(&sa.Port))
	b[0], b[1] = byte(port>>8), byte(port)
}

// A pinned sender and receiver run on the CPUs asked for, and put their
// threads back afterwards.
func TestPinnedRun(t *testing.T) {
	testenv.RequireRoot(t)
	if runtime.NumCPU() < 2 {
		t.Skip("pinning needs at least 2 CPUs")
	}
	unpin, err := pin(1)
	if err != nil {
		t.Fatal(err)
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() != 1 || !set.IsSet(1) {
		t.Errorf("after pin(1) the thread may run on %d CPUs (err %v)", set.Count(), err)
	}
	unpin()
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() != runtime.NumCPU() {
		t.Errorf("after unpin the thread may run on %d of %d CPUs", set.Count(), runtime.NumCPU())
	}
	if (UDPConfig{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), DstPort: 9, SrcPortBase: 1000,
		Flows: 1, FrameSize: 64, CPUs: []int{runtime.NumCPU()}}).Validate() == nil {
		t.Error("a CPU beyond the machine's was accepted")
	}
}

// OnRead's hook sees every datagram read, once, with the fields that name
// it and its send time, after that send time, in calls whose read times do
// not go back.
func TestOnRead(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth, Family: topology.IPv4})
	type key struct {
		port uint16
		seq  uint32
	}
	seen := map[key]int{}
	var calls, bad int
	var last int64
	cfg := UDPConfig{Flows: 2, FrameSize: 64, Rate: 20000}
	r := runPairWith(t, topo, cfg, 500*time.Millisecond, func(rcv *UDPReceiver) {
		rcv.OnRead(func(readNS int64, ds []ReadDatagram) {
			calls++
			if readNS < last {
				bad++
			}
			last = readNS
			for _, d := range ds {
				seen[key{d.SrcPort, d.Seq}]++
				if age := readNS - int64(d.SendTime); age <= 0 || age > int64(time.Second) {
					bad++
				}
			}
		})
	})
	if r.sndErr != nil || r.rcvErr != nil {
		t.Fatalf("sender: %v, receiver: %v", r.sndErr, r.rcvErr)
	}
	got := r.rcv.Received()
	t.Logf("sent %d, received %d, %d hook calls, %d distinct datagrams", r.snd.Sent(), got, calls, len(seen))
	if got == 0 || uint64(len(seen)) != got {
		t.Errorf("the hook saw %d distinct datagrams, the receiver counted %d", len(seen), got)
	}
	for k, n := range seen {
		if n != 1 || k.port < testSrcPortBase || k.port >= testSrcPortBase+2 {
			t.Errorf("datagram %+v seen %d times", k, n)
			break
		}
	}
	if bad != 0 {
		t.Errorf("%d read times before their send time, more than 1 s after it, or going back", bad)
	}
}
