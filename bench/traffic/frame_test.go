package traffic

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"
)

// udpChecksumOK verifies a frame's UDP checksum from scratch, and its IPv4
// header checksum.
func udpChecksumOK(t *testing.T, f []byte, l FrameLayout) {
	t.Helper()
	udp := f[l.L4:]
	if !l.IPv6 {
		if got := fold(sum16(f[l.L3:l.L4], 0)); got != 0xffff {
			t.Fatalf("IPv4 header checksum does not verify: sum %#x", got)
		}
		if c := binary.BigEndian.Uint16(udp[6:8]); c != 0 {
			t.Fatalf("IPv4 UDP checksum %#x, want 0 (none)", c)
		}
		return
	}
	s := sum16(f[l.L3+8:l.L3+40], 0) + uint32(len(udp)) + 17
	s = sum16(udp, s)
	if got := fold(s); got != 0xffff {
		t.Fatalf("IPv6 UDP checksum does not verify: sum %#x", got)
	}
}

func TestBuildAndStampFrame(t *testing.T) {
	mac1 := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	mac2 := net.HardwareAddr{2, 0, 0, 0, 0, 2}
	for _, tc := range []struct {
		src, dst string
		size     int
	}{
		{"10.0.0.1:40000", "10.0.0.2:47000", 64},
		{"10.0.0.1:40000", "10.0.0.2:47000", 1514},
		{"10.0.0.1:40000", "10.0.0.2:47000", 59}, // odd payload
		{"[fd00::1]:40000", "[fd00::2]:47000", 78},
		{"[fd00::1]:40000", "[fd00::2]:47000", 1514},
		{"[fd00::1]:40000", "[fd00::2]:47000", 99},
	} {
		spec := FrameSpec{SrcMAC: mac1, DstMAC: mac2, Src: netip.MustParseAddrPort(tc.src), Dst: netip.MustParseAddrPort(tc.dst), FrameSize: tc.size}
		f, err := BuildFrame(spec)
		if err != nil {
			t.Fatalf("%v: %v", tc, err)
		}
		if len(f) != tc.size {
			t.Fatalf("%v: frame of %d bytes", tc, len(f))
		}
		l := Layout(spec.Dst.Addr().Is6())
		udpChecksumOK(t, f, l)
		h, err := Decode(f[l.Payload:])
		if err != nil || h != (Header{}) {
			t.Fatalf("%v: header %+v, %v", tc, h, err)
		}
		for _, st := range []Header{{1, 1, 2}, {255, 0xffffffff, 0xffffffffffffffff}, {7, 12345, 987654321012}, {0, 0, 0}} {
			StampFrame(f, l, st.Tag, st.Seq, st.SendTime)
			udpChecksumOK(t, f, l)
			if h, _ := Decode(f[l.Payload:]); h != st {
				t.Fatalf("%v: stamped %+v, read %+v", tc, st, h)
			}
		}
	}
	if _, err := BuildFrame(FrameSpec{SrcMAC: mac1, DstMAC: mac2, Src: netip.MustParseAddrPort("10.0.0.1:1"), Dst: netip.MustParseAddrPort("[fd00::2]:2"), FrameSize: 100}); err == nil {
		t.Fatal("mixed families accepted")
	}
	if _, err := BuildFrame(FrameSpec{SrcMAC: mac1, DstMAC: mac2, Src: netip.MustParseAddrPort("10.0.0.1:1"), Dst: netip.MustParseAddrPort("10.0.0.2:2"), FrameSize: 40}); err == nil {
		t.Fatal("frame below the minimum accepted")
	}
}

func TestCPUMeter(t *testing.T) {
	var m cpuMeter
	unpin, err := pin(-1)
	if err != nil {
		t.Fatal(err)
	}
	defer unpin()
	m.begin()
	spin := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); {
		}
	}
	spin(30 * time.Millisecond)
	mid := m.total() // read through the thread's clock id
	if mid <= 0 || mid > time.Second {
		t.Fatalf("CPU time while running %v, want a positive time below the 30ms spun", mid)
	}
	spin(20 * time.Millisecond)
	m.end()
	if got := m.total(); got < mid || got > time.Second {
		t.Fatalf("CPU time after the run %v, want more than %v", got, mid)
	}
}
