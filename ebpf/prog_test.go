package vbpf

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/internal/testenv"
)

const testPort = 47123

// passVerdict is TCX_NEXT / TC_ACT_UNSPEC (-1) as BPF_PROG_RUN reports it.
const passVerdict = math.MaxUint32

// loadForTest loads the counting program and the test-only bucket probe
// without attaching anything.
func loadForTest(t *testing.T) (*Counters, *ebpf.Program) {
	t.Helper()
	return loadForTestProto(t, ProtoUDP)
}

func loadForTestProto(t *testing.T, p Proto) (*Counters, *ebpf.Program) {
	t.Helper()
	testenv.RequireRoot(t)
	spec, err := loadSpec(Options{DstPort: testPort, Proto: p})
	if err != nil {
		t.Fatal(err)
	}
	var objs struct {
		ingressObjects
		Probe *ebpf.Program `ebpf:"vb_bucket_probe"`
	}
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		t.Fatalf("load: %v", err)
	}
	c := &Counters{objs: objs.ingressObjects}
	t.Cleanup(func() {
		objs.Probe.Close()
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c, objs.Probe
}

func monotonicNow(t *testing.T) uint64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return uint64(ts.Nano())
}

// payload is what the generator writes: magic, sequence, send time.
func payload(seq uint32, ts uint64) []byte {
	p := make([]byte, 16)
	copy(p, "VBP1")
	binary.LittleEndian.PutUint32(p[4:], seq)
	binary.LittleEndian.PutUint64(p[8:], ts)
	return p
}

type frameSpec struct {
	v6      bool
	proto   byte // 17 (UDP) unless set
	sport   uint16
	dport   uint16
	ihl     int // IPv4 header length in words; 5 unless set
	doff    int // TCP header length in words; 5 unless set
	payload []byte
	padTo   int // pad the frame with zeros to this length (short Ethernet frames)
}

// frame builds an Ethernet frame carrying IPv4 or IPv6 and a UDP (or, with
// proto, a TCP) header. Checksums are left zero: the program reads none.
func frame(s frameSpec) []byte {
	if s.proto == 0 {
		s.proto = unix.IPPROTO_UDP
	}
	if s.ihl == 0 {
		s.ihl = 5
	}
	if s.doff == 0 {
		s.doff = 5
	}
	if s.sport == 0 {
		s.sport = 40000
	}
	var l4 []byte
	switch s.proto {
	case unix.IPPROTO_UDP:
		l4 = make([]byte, 8)
		binary.BigEndian.PutUint16(l4[0:], s.sport)
		binary.BigEndian.PutUint16(l4[2:], s.dport)
		binary.BigEndian.PutUint16(l4[4:], uint16(8+len(s.payload)))
	case unix.IPPROTO_TCP:
		l4 = make([]byte, max(s.doff, 5)*4)
		binary.BigEndian.PutUint16(l4[0:], s.sport)
		binary.BigEndian.PutUint16(l4[2:], s.dport)
		l4[12] = byte(s.doff) << 4
		l4[13] = 0x10 // ACK
		for i := 20; i < len(l4); i++ {
			l4[i] = 1 // NOP options
		}
	}
	l4 = append(l4, s.payload...)

	f := []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1}
	if s.v6 {
		f = binary.BigEndian.AppendUint16(f, unix.ETH_P_IPV6)
		ip := make([]byte, 40)
		ip[0] = 6 << 4
		binary.BigEndian.PutUint16(ip[4:], uint16(len(l4)))
		ip[6] = s.proto
		ip[7] = 64
		ip[23], ip[39] = 1, 2
		f = append(f, ip...)
	} else {
		f = binary.BigEndian.AppendUint16(f, unix.ETH_P_IP)
		ip := make([]byte, s.ihl*4)
		ip[0] = 4<<4 | byte(s.ihl)
		binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+len(l4)))
		ip[8] = 64
		ip[9] = s.proto
		copy(ip[12:], []byte{10, 231, 0, 1, 10, 231, 0, 2})
		for i := 20; i < len(ip); i++ {
			ip[i] = 1 // NOP options
		}
		f = append(f, ip...)
	}
	f = append(f, l4...)
	for len(f) < s.padTo {
		f = append(f, 0)
	}
	return f
}

func arpFrame() []byte {
	f := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06}
	arp := make([]byte, 28)
	binary.BigEndian.PutUint16(arp[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(arp[2:], 0x0800) // IPv4
	arp[4], arp[5] = 6, 4
	binary.BigEndian.PutUint16(arp[6:], 1) // request
	return append(f, arp...)
}

func run(t *testing.T, p *ebpf.Program, data []byte) {
	t.Helper()
	runGSO(t, p, data, 0)
}

// skbCtxSize is the size of struct __sk_buff (include/vb_types.h); the
// fields a test run may set are at these offsets.
const (
	skbCtxSize     = 192
	skbCtxGSOSegs  = 164
	skbCtxGSOSize  = 176
	testRunGSOSize = 1000
)

// runGSO runs the program on data as an skb whose skb_shared_info says it
// carries gsoSegs segments (none if 0), as a GSO or GRO skb would.
func runGSO(t *testing.T, p *ebpf.Program, data []byte, gsoSegs uint32) {
	t.Helper()
	opts := &ebpf.RunOptions{Data: data}
	if gsoSegs != 0 {
		ctx := make([]byte, skbCtxSize)
		binary.NativeEndian.PutUint32(ctx[skbCtxGSOSegs:], gsoSegs)
		binary.NativeEndian.PutUint32(ctx[skbCtxGSOSize:], testRunGSOSize)
		opts.Context = ctx
	}
	ret, err := p.Run(opts)
	if err != nil {
		t.Fatalf("BPF_PROG_RUN: %v", err)
	}
	if ret != passVerdict {
		t.Fatalf("program returned %d, want %d (TCX_NEXT / TC_ACT_UNSPEC)", int32(ret), int32(-1))
	}
}

func snap(t *testing.T, c *Counters) Snapshot {
	t.Helper()
	s, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestProgramMatching(t *testing.T) {
	c, _ := loadForTest(t)
	good := payload(7, 1) // timestamp 1 ns: valid, long ago
	truncated := payload(7, 1)[:12]
	badMagic := payload(7, 1)
	badMagic[2] = 'Q' // "VBQ"; the fourth byte is the window tag, any value
	tcpPayload := payload(7, 1)

	cases := []struct {
		name  string
		data  []byte
		match bool
	}{
		{"ipv4 udp", frame(frameSpec{dport: testPort, payload: good}), true},
		{"ipv4 udp, padded frame", frame(frameSpec{dport: testPort, payload: good, padTo: 80}), true},
		{"ipv4 udp with options", frame(frameSpec{dport: testPort, ihl: 7, payload: good}), true},
		{"ipv4 udp longer payload", frame(frameSpec{dport: testPort, payload: append(payload(7, 1), make([]byte, 1400)...)}), true},
		{"ipv6 udp", frame(frameSpec{v6: true, dport: testPort, payload: good}), true},
		{"ipv4 udp tag 0", frame(frameSpec{dport: testPort, payload: tagged(0, 7, 1)}), true},
		{"ipv6 udp tag 255", frame(frameSpec{v6: true, dport: testPort, payload: tagged(255, 7, 1)}), true},
		{"ipv4 wrong port", frame(frameSpec{dport: testPort + 1, payload: good}), false},
		{"ipv6 wrong port", frame(frameSpec{v6: true, dport: testPort - 1, payload: good}), false},
		{"ipv4 wrong magic", frame(frameSpec{dport: testPort, payload: badMagic}), false},
		{"ipv6 wrong magic", frame(frameSpec{v6: true, dport: testPort, payload: badMagic}), false},
		{"ipv4 truncated payload", frame(frameSpec{dport: testPort, payload: truncated}), false},
		{"ipv4 truncated payload, padded frame", frame(frameSpec{dport: testPort, payload: truncated, padTo: 60}), false},
		{"ipv6 truncated payload", frame(frameSpec{v6: true, dport: testPort, payload: truncated}), false},
		{"ipv4 tcp", frame(frameSpec{proto: unix.IPPROTO_TCP, dport: testPort, payload: tcpPayload}), false},
		{"ipv6 tcp", frame(frameSpec{v6: true, proto: unix.IPPROTO_TCP, dport: testPort, payload: tcpPayload}), false},
		{"arp", arpFrame(), false},
		{"ipv4 udp header cut short", frame(frameSpec{dport: testPort, payload: good})[:14+20+4], false},
		{"ipv6 udp header cut short", frame(frameSpec{v6: true, dport: testPort, payload: good})[:14+40+4], false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snap(t, c)
			run(t, c.objs.Prog, tc.data)
			d := snap(t, c).Sub(before)
			var m uint64
			if tc.match {
				m = 1
			}
			if d.Packets != 1 || d.Bytes != uint64(len(tc.data)) {
				t.Errorf("packets +%d bytes +%d, want +1 and +%d", d.Packets, d.Bytes, len(tc.data))
			}
			if d.Matched != m || d.MatchedBytes != m*uint64(len(tc.data)) {
				t.Errorf("matched +%d (%d bytes), want +%d", d.Matched, d.MatchedBytes, m)
			}
			if d.BadTimestamp != 0 || d.Latency.Total() != m {
				t.Errorf("bad timestamps +%d, latency values +%d, want 0 and %d", d.BadTimestamp, d.Latency.Total(), m)
			}
			if d.Segs != m || d.PayloadBytes != m*uint64(udpPayloadLen(tc.data)) {
				t.Errorf("segs +%d, payload +%d B; want +%d and +%d", d.Segs, d.PayloadBytes, m, m*uint64(udpPayloadLen(tc.data)))
			}
		})
	}
}

// udpPayloadLen is the payload length a frame's UDP header gives.
func udpPayloadLen(f []byte) int {
	off := 14 + 40
	if binary.BigEndian.Uint16(f[12:]) == unix.ETH_P_IP {
		off = 14 + int(f[14]&0xf)*4
	}
	if len(f) < off+8 {
		return 0
	}
	return int(binary.BigEndian.Uint16(f[off+4:])) - 8
}

// TestProgramSegments: a GSO or GRO skb counts as one matched skb carrying
// gso_segs datagrams or segments, with one latency value (UDP).
func TestProgramSegments(t *testing.T) {
	for _, p := range []Proto{ProtoUDP, ProtoTCP} {
		t.Run(p.String(), func(t *testing.T) {
			c, _ := loadForTestProto(t, p)
			for _, v6 := range []bool{false, true} {
				f := frameSpec{v6: v6, dport: testPort, payload: append(payload(1, 1), make([]byte, 3*testRunGSOSize-16)...)}
				if p == ProtoTCP {
					f.proto, f.doff = unix.IPPROTO_TCP, 8
				}
				data := frame(f)
				before := snap(t, c)
				runGSO(t, c.objs.Prog, data, 3)
				d := snap(t, c).Sub(before)
				var lat uint64
				if p == ProtoUDP {
					lat = 1
				}
				if d.Matched != 1 || d.MatchedBytes != uint64(len(data)) || d.Segs != 3 || d.PayloadBytes != 3*testRunGSOSize || d.Latency.Total() != lat {
					t.Errorf("ipv6 %v: matched %d (%d B), segs %d, payload %d B, latency values %d; want 1 (%d B), 3, %d B, %d",
						v6, d.Matched, d.MatchedBytes, d.Segs, d.PayloadBytes, d.Latency.Total(), len(data), 3*testRunGSOSize, lat)
				}
			}
		})
	}
}

// TestProgramMatchingTCP: in TCP mode, TCP segments to the port match,
// whatever their options, with or without payload; nothing else does, and
// no latency is recorded.
func TestProgramMatchingTCP(t *testing.T) {
	c, _ := loadForTestProto(t, ProtoTCP)
	data := make([]byte, 1000)
	tcp := func(s frameSpec) []byte {
		s.proto = unix.IPPROTO_TCP
		return frame(s)
	}
	laterFragment := tcp(frameSpec{dport: testPort, payload: data})
	laterFragment[14+7] = 0x10
	cut := tcp(frameSpec{dport: testPort})

	cases := []struct {
		name    string
		data    []byte
		payload int // -1: no match
	}{
		{"ipv4 data", tcp(frameSpec{dport: testPort, payload: data}), 1000},
		{"ipv4 data, timestamps", tcp(frameSpec{dport: testPort, doff: 8, payload: data}), 1000},
		{"ipv4 data, longest options", tcp(frameSpec{dport: testPort, doff: 15, payload: data}), 1000},
		{"ipv4 options", tcp(frameSpec{dport: testPort, ihl: 6, doff: 8, payload: data}), 1000},
		{"ipv4 ack", tcp(frameSpec{dport: testPort}), 0},
		{"ipv4 ack, padded frame", tcp(frameSpec{dport: testPort, padTo: 60}), 0},
		{"ipv4 1 byte, padded frame", tcp(frameSpec{dport: testPort, payload: []byte{1}, padTo: 60}), 1},
		{"ipv4 vethbench payload", tcp(frameSpec{dport: testPort, payload: payload(1, 1)}), 16},
		{"ipv6 data", tcp(frameSpec{v6: true, dport: testPort, payload: data}), 1000},
		{"ipv6 data, timestamps", tcp(frameSpec{v6: true, dport: testPort, doff: 8, payload: data}), 1000},
		{"ipv6 ack", tcp(frameSpec{v6: true, dport: testPort}), 0},
		{"ipv4 from the port", tcp(frameSpec{sport: testPort, dport: 40001, payload: data}), -1},
		{"ipv6 from the port", tcp(frameSpec{v6: true, sport: testPort, dport: 40001}), -1},
		{"ipv4 wrong port", tcp(frameSpec{dport: testPort + 1, payload: data}), -1},
		{"ipv6 wrong port", tcp(frameSpec{v6: true, dport: testPort - 1}), -1},
		{"ipv4 bad data offset", tcp(frameSpec{dport: testPort, doff: 4}), -1},
		{"ipv4 later fragment", laterFragment, -1},
		{"ipv4 header cut short", cut[:len(cut)-1], -1},
		{"ipv4 udp", frame(frameSpec{dport: testPort, payload: payload(1, 1)}), -1},
		{"ipv6 udp", frame(frameSpec{v6: true, dport: testPort, payload: payload(1, 1)}), -1},
		{"arp", arpFrame(), -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snap(t, c)
			run(t, c.objs.Prog, tc.data)
			d := snap(t, c).Sub(before)
			var m, p uint64
			if tc.payload >= 0 {
				m, p = 1, uint64(tc.payload)
			}
			if d.Packets != 1 || d.Bytes != uint64(len(tc.data)) {
				t.Errorf("packets +%d bytes +%d, want +1 and +%d", d.Packets, d.Bytes, len(tc.data))
			}
			if d.Matched != m || d.MatchedBytes != m*uint64(len(tc.data)) || d.Segs != m || d.PayloadBytes != p {
				t.Errorf("matched +%d (%d B), segs +%d, payload +%d B; want +%d, +%d, +%d B", d.Matched, d.MatchedBytes, d.Segs, d.PayloadBytes, m, m, p)
			}
			if d.BadTimestamp != 0 || d.Latency.Total() != 0 {
				t.Errorf("bad timestamps +%d, latency values +%d; TCP records none", d.BadTimestamp, d.Latency.Total())
			}
		})
	}
}

func TestProgramLatency(t *testing.T) {
	c, _ := loadForTest(t)
	const age = 50_000 // ns

	before := snap(t, c)
	ts := monotonicNow(t) - age
	run(t, c.objs.Prog, frame(frameSpec{dport: testPort, payload: payload(1, ts)}))
	elapsed := monotonicNow(t) - ts // >= the latency the program saw
	d := snap(t, c).Sub(before)
	if d.Matched != 1 || d.BadTimestamp != 0 || d.Latency.Total() != 1 {
		t.Fatalf("matched %d, bad %d, latency values %d; want 1, 0, 1", d.Matched, d.BadTimestamp, d.Latency.Total())
	}
	est, lo, hi, _ := d.Latency.Quantile(0.5)
	// The program's latency lies in [age, elapsed]: its bucket must meet that range.
	if hi < age || lo > elapsed {
		t.Fatalf("latency counted in bucket [%d, %d], but it was between %d and %d ns", lo, hi, age, elapsed)
	}
	if elapsed-age < 1000 && LatencyScale.BucketOf(age) != LatencyScale.BucketOf(est) {
		t.Errorf("latency in bucket %d, Go's LatencyScale.BucketOf(%d) = %d", LatencyScale.BucketOf(est), age, LatencyScale.BucketOf(age))
	}
	t.Logf("now-%dus: bucket [%d, %d] ns, run took %d ns", age/1000, lo, hi, elapsed-age)

	for _, tc := range []struct {
		name string
		ts   uint64
	}{
		{"future", monotonicNow(t) + 1_000_000_000},
		{"zero", 0},
	} {
		before := snap(t, c)
		run(t, c.objs.Prog, frame(frameSpec{v6: true, dport: testPort, payload: payload(2, tc.ts)}))
		d := snap(t, c).Sub(before)
		if d.Matched != 1 || d.BadTimestamp != 1 || d.Latency.Total() != 0 {
			t.Errorf("%s timestamp: matched %d, bad %d, latency values %d; want 1, 1, 0",
				tc.name, d.Matched, d.BadTimestamp, d.Latency.Total())
		}
	}
}

// tagged is the payload of a datagram of window tag.
func tagged(tag uint8, seq uint32, ts uint64) []byte {
	p := payload(seq, ts)
	p[3] = tag
	return p
}

// A window's slot counts its tag's datagrams alone (segments and payload,
// bad stamps, latency), from the moment OpenWindow gives it the slot;
// datagrams of another tag of the same slot count as stale; a slot never
// given counts every tag.
func TestProgramWindows(t *testing.T) {
	c, _ := loadForTest(t)
	send := func(tag uint8, n int, ts uint64) {
		t.Helper()
		for i := range n {
			runGSO(t, c.objs.Prog, frame(frameSpec{dport: testPort, payload: tagged(tag, uint32(i), ts)}), 2)
		}
	}
	now := monotonicNow(t)
	// Before any window: every tag counts.
	s0 := snap(t, c)
	send(9, 2, now)
	if d := snap(t, c).Sub(s0); d.Matched != 2 || d.Stale != 0 || d.Latency.Total() != 2 {
		t.Fatalf("without windows: matched %d, stale %d, latency values %d; want 2, 0, 2", d.Matched, d.Stale, d.Latency.Total())
	}

	base1, err := c.OpenWindow(1)
	if err != nil {
		t.Fatal(err)
	}
	s1 := snap(t, c)
	send(1, 3, now)
	send(1, 1, 0)   // a bad stamp: counted, no latency
	send(5, 4, now) // 5 % 4 == 1: another tag in window 1's slot
	send(2, 1, now) // slot 2, never given: counted
	w, err := c.Window(1)
	if err != nil {
		t.Fatal(err)
	}
	w = w.Sub(base1)
	payload := uint64(len(tagged(0, 0, 0)))
	if w.Matched != 4 || w.Segs != 8 || w.PayloadBytes != 4*payload || w.BadTimestamp != 1 || w.Latency.Total() != 3 {
		t.Errorf("window 1: %d skbs, %d datagrams, %d B, %d bad, %d latency values; want 4, 8, %d, 1, 3",
			w.Matched, w.Segs, w.PayloadBytes, w.BadTimestamp, w.Latency.Total(), 4*payload)
	}
	d := snap(t, c).Sub(s1)
	if d.Matched != 9 || d.Stale != 4 || d.BadTimestamp != 1 || d.Latency.Total() != 4 {
		t.Errorf("totals: matched %d, stale %d, bad %d, latency values %d; want 9, 4, 1, 4", d.Matched, d.Stale, d.BadTimestamp, d.Latency.Total())
	}

	// Giving the slot to tag 5 closes window 1: its late datagrams are
	// stale, and reading it fails.
	base5, err := c.OpenWindow(5)
	if err != nil {
		t.Fatal(err)
	}
	s5 := snap(t, c)
	send(1, 2, now)
	send(5, 1, now)
	if _, err := c.Window(1); err == nil {
		t.Error("window 1 read after its slot went to tag 5")
	}
	w, err = c.Window(5)
	if err != nil {
		t.Fatal(err)
	}
	if w = w.Sub(base5); w.Matched != 1 || w.Latency.Total() != 1 {
		t.Errorf("window 5: %d skbs, %d latency values; want 1, 1", w.Matched, w.Latency.Total())
	}
	if d := snap(t, c).Sub(s5); d.Stale != 2 || d.Matched != 3 {
		t.Errorf("after the slot changed hands: stale %d, matched %d; want 2, 3", d.Stale, d.Matched)
	}
}

// TestBucketOfMatchesC runs counter.c's vb_bucket_of (through the test-only
// program vb_bucket_probe) and LatencyScale.BucketOf on the same values:
// both bounds of every bucket, their neighbours, and random values.
func TestBucketOfMatchesC(t *testing.T) {
	_, probe := loadForTest(t)
	values := []uint64{math.MaxUint64, 1<<40 - 1, 1 << 40, 1<<40 + 1}
	n := LatencyScale.NumBuckets()
	for i := range n {
		lo, hi := LatencyScale.BucketBounds(i)
		values = append(values, lo, hi, hi+1)
		if lo > 0 {
			values = append(values, lo-1)
		}
	}
	for e := 3; e < 64; e++ {
		p := uint64(1) << e
		values = append(values, p-1, p, p+1, p|p>>1, p|p>>3, p|p>>4, p+p/2-1)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		values = append(values, r.Uint64()>>r.IntN(64))
	}
	data := make([]byte, 14+8)
	binary.BigEndian.PutUint16(data[12:], 0x88b5) // IEEE local experimental ethertype
	seen := make([]bool, n)
	for _, v := range values {
		binary.LittleEndian.PutUint64(data[14:], v)
		ret, err := probe.Run(&ebpf.RunOptions{Data: data})
		if err != nil {
			t.Fatalf("BPF_PROG_RUN: %v", err)
		}
		want := LatencyScale.BucketOf(v)
		if int(int32(ret)) != want {
			t.Fatalf("value %d: C bucket %d, Go LatencyScale.BucketOf %d", v, int32(ret), want)
		}
		seen[want] = true
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("bucket %d of %d never compared", i, n)
		}
	}
	t.Logf("C and Go agree on %d values, every one of the %d buckets", len(values), n)
}

func TestProtoString(t *testing.T) {
	for p, want := range map[Proto]string{ProtoUDP: "udp", ProtoTCP: "tcp", 7: "proto(7)"} {
		if p.String() != want {
			t.Errorf("Proto(%d).String() = %q, want %q", p, p.String(), want)
		}
	}
	if _, err := loadSpec(Options{DstPort: testPort, Proto: 7}); err == nil {
		t.Error("an unknown protocol accepted")
	}
	if _, err := AttachDrops(DropOptions{DstPort: testPort, Proto: 7}); err == nil || errors.Is(err, ErrNotSupported) {
		t.Errorf("AttachDrops with an unknown protocol: err = %v, want a plain error", err)
	}
}

func TestLoadRejectsPortZero(t *testing.T) {
	if _, err := loadSpec(Options{Proto: ProtoUDP}); err == nil {
		t.Fatal("port 0 accepted")
	}
	if _, err := AttachIngress(nil, "x", Options{DstPort: 1}); err == nil {
		t.Fatal("nil namespace accepted")
	}
}

func TestErrNotSupportedWrapsCilium(t *testing.T) {
	if !errors.Is(ErrNotSupported, ebpf.ErrNotSupported) {
		t.Fatal("ErrNotSupported does not wrap ebpf.ErrNotSupported")
	}
}
