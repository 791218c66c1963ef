package traffic

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Sizes of the headers that make up a frame as the kernel counts it in a
// device's rx_bytes: Ethernet (without FCS), IP without options or
// extension headers, UDP.
const (
	EthHeaderLen  = 14
	IPv4HeaderLen = 20
	IPv6HeaderLen = 40
	UDPHeaderLen  = 8
)

// HeaderLen is the length of the vethbench header at the start of every UDP
// payload, and so the smallest payload the generator sends.
const HeaderLen = 16

// Magic starts every vethbench payload; the window tag follows it.
var Magic = [3]byte{'V', 'B', 'P'}

// maxIPPacket bounds an IPv4 packet and an IPv6 payload (no jumbograms).
const maxIPPacket = 65535

// ErrNotVethbench is returned by Decode for a datagram that does not carry
// the vethbench header.
var ErrNotVethbench = errors.New("not a vethbench packet")

// Header is the vethbench header: the first HeaderLen bytes of the UDP
// payload, little-endian:
//
//	0..2   magic "VBP"
//	3      window tag: the measurement window the datagram was sent in
//	4..7   sequence number, per flow and tag, starting at 0
//	8..15  send time, nanoseconds of CLOCK_MONOTONIC (bpf_ktime_get_ns)
//
// The runner gives every window (warm-up and trials) a tag of its own and
// the generators stamp the current one (see Tagger), so that the BPF
// counter and the receiver count each window's datagrams apart, however
// late they arrive. Each flow's sequence numbers start again at 0 with
// every tag.
type Header struct {
	Tag      uint8
	Seq      uint32
	SendTime uint64
}

// Encode writes h, with the magic, into the first HeaderLen bytes of b. It
// panics if b is shorter than HeaderLen, like binary.LittleEndian.PutUint64.
func Encode(b []byte, h Header) {
	_ = b[HeaderLen-1] // one bounds check
	copy(b[0:3], Magic[:])
	b[3] = h.Tag
	binary.LittleEndian.PutUint32(b[4:8], h.Seq)
	binary.LittleEndian.PutUint64(b[8:16], h.SendTime)
}

// Decode reads the header at the start of a UDP payload. It returns an
// error wrapping ErrNotVethbench if the payload is too short or lacks the
// magic.
func Decode(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("%w: payload of %d bytes, want at least %d", ErrNotVethbench, len(b), HeaderLen)
	}
	if !hasMagic(b) {
		return Header{}, fmt.Errorf("%w: magic %q", ErrNotVethbench, b[0:3])
	}
	return Header{
		Tag:      b[3],
		Seq:      binary.LittleEndian.Uint32(b[4:8]),
		SendTime: binary.LittleEndian.Uint64(b[8:16]),
	}, nil
}

// hasMagic is Decode's test without the error value, for the receive loop.
func hasMagic(b []byte) bool {
	return len(b) >= HeaderLen && b[0] == 'V' && b[1] == 'B' && b[2] == 'P'
}

func ipHeaderLen(ipv6 bool) int {
	if ipv6 {
		return IPv6HeaderLen
	}
	return IPv4HeaderLen
}

// MinFrame is the smallest frame the generator can send: headers plus a
// HeaderLen payload. 58 bytes for IPv4, 78 for IPv6.
func MinFrame(ipv6 bool) int {
	return EthHeaderLen + ipHeaderLen(ipv6) + UDPHeaderLen + HeaderLen
}

// MaxFrame is the largest frame that crosses a device of the given MTU
// without fragmentation: the MTU plus the Ethernet header.
func MaxFrame(mtu int) int {
	return mtu + EthHeaderLen
}

// PayloadLen converts a frame size (Ethernet header to the end of the UDP
// payload, without FCS, as pktgen and trafgen count it and as a veth counts
// it in rx_bytes) into a UDP payload length. It fails if the frame cannot
// hold the vethbench header or the payload exceeds what one IP packet can
// carry; the caller checks the frame against the MTU with MaxFrame.
func PayloadLen(frame int, ipv6 bool) (int, error) {
	if least := MinFrame(ipv6); frame < least {
		return 0, fmt.Errorf("frame size %d below the minimum %d (Ethernet %d + IP %d + UDP %d + vethbench header %d)",
			frame, least, EthHeaderLen, ipHeaderLen(ipv6), UDPHeaderLen, HeaderLen)
	}
	p := frame - EthHeaderLen - ipHeaderLen(ipv6) - UDPHeaderLen
	most := maxIPPacket - UDPHeaderLen
	if !ipv6 {
		most -= IPv4HeaderLen // IPv4's total length includes its own header
	}
	if p > most {
		return 0, fmt.Errorf("frame size %d gives a UDP payload of %d bytes, above the maximum %d", frame, p, most)
	}
	return p, nil
}
