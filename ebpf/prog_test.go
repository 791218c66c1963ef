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
	testenv.RequireRoot(t)
	spec, err := loadSpec(testPort)
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
	dport   uint16
	ihl     int // IPv4 header length in words; 5 unless set
	payload []byte
	padTo   int // pad the frame with zeros to this length (short Ethernet frames)
}

// frame builds an Ethernet frame carrying IPv4 or IPv6 and a UDP (or, with
// proto, another) header. Checksums are left zero: the program reads none.
func frame(s frameSpec) []byte {
	if s.proto == 0 {
		s.proto = unix.IPPROTO_UDP
	}
	if s.ihl == 0 {
		s.ihl = 5
	}
	var l4 []byte
	switch s.proto {
	case unix.IPPROTO_UDP:
		l4 = make([]byte, 8)
		binary.BigEndian.PutUint16(l4[0:], 40000)
		binary.BigEndian.PutUint16(l4[2:], s.dport)
		binary.BigEndian.PutUint16(l4[4:], uint16(8+len(s.payload)))
	case unix.IPPROTO_TCP:
		l4 = make([]byte, 20)
		binary.BigEndian.PutUint16(l4[0:], 40000)
		binary.BigEndian.PutUint16(l4[2:], s.dport)
		l4[12] = 5 << 4
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
	ret, err := p.Run(&ebpf.RunOptions{Data: data})
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
	badMagic[3] = '2'
	tcpPayload := payload(7, 1)

	cases := []struct {
		name  string
		data  []byte
		match bool
	}{
		{"ipv4 udp", frame(frameSpec{dport: testPort, payload: good}), true},
		{"ipv4 udp with options", frame(frameSpec{dport: testPort, ihl: 7, payload: good}), true},
		{"ipv4 udp longer payload", frame(frameSpec{dport: testPort, payload: append(payload(7, 1), make([]byte, 1400)...)}), true},
		{"ipv6 udp", frame(frameSpec{v6: true, dport: testPort, payload: good}), true},
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
	if elapsed-age < 1000 && BucketOf(age) != BucketOf(est) {
		t.Errorf("latency in bucket %d, Go's BucketOf(%d) = %d", BucketOf(est), age, BucketOf(age))
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

// TestBucketOfMatchesC runs counter.c's vb_bucket_of (through the test-only
// program vb_bucket_probe) and BucketOf on the same values.
func TestBucketOfMatchesC(t *testing.T) {
	_, probe := loadForTest(t)
	values := []uint64{math.MaxUint64, 1<<40 - 1, 1 << 40, 1<<40 + 1}
	for v := range uint64(2100) {
		values = append(values, v)
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
	for _, v := range values {
		binary.LittleEndian.PutUint64(data[14:], v)
		ret, err := probe.Run(&ebpf.RunOptions{Data: data})
		if err != nil {
			t.Fatalf("BPF_PROG_RUN: %v", err)
		}
		if int(int32(ret)) != BucketOf(v) {
			t.Fatalf("value %d: C bucket %d, Go BucketOf %d", v, int32(ret), BucketOf(v))
		}
	}
	t.Logf("C and Go agree on %d values", len(values))
}

func TestLoadRejectsPortZero(t *testing.T) {
	if _, err := loadSpec(0); err == nil {
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
