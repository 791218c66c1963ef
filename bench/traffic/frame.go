package traffic

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// FrameSpec describes the complete Ethernet frames that the generators
// working below the socket layer (packet, xdp) build themselves: one UDP
// flow, every frame FrameSize bytes, the payload starting with the
// vethbench header.
type FrameSpec struct {
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.AddrPort
	FrameSize      int // Ethernet header to the end of the UDP payload, no FCS
}

// Offsets into a frame built by BuildFrame.
type FrameLayout struct {
	IPv6    bool
	L3, L4  int // offsets of the IP and UDP headers
	Payload int // offset of the vethbench header
	Csum    int // offset of the UDP checksum
}

// Layout returns where the headers of an IPv4 or IPv6 frame are.
func Layout(ipv6 bool) FrameLayout {
	l := FrameLayout{IPv6: ipv6, L3: EthHeaderLen}
	l.L4 = l.L3 + ipHeaderLen(ipv6)
	l.Payload = l.L4 + UDPHeaderLen
	l.Csum = l.L4 + 6
	return l
}

// BuildFrame returns a frame for spec with the vethbench header (sequence
// 0, time 0) and correct checksums: the IPv4 header checksum; the UDP
// checksum for IPv6, where it is mandatory. IPv4 frames carry UDP checksum
// 0 ("none"), as the kernel allows, so that stamping a sequence number and
// a time needs no checksum update; IPv6 frames need StampFrame's
// incremental update.
func BuildFrame(spec FrameSpec) ([]byte, error) {
	src, dst := spec.Src.Addr().Unmap(), spec.Dst.Addr().Unmap()
	if src.Is4() != dst.Is4() {
		return nil, fmt.Errorf("frame: %v and %v are of different families", src, dst)
	}
	if len(spec.SrcMAC) != 6 || len(spec.DstMAC) != 6 {
		return nil, fmt.Errorf("frame: need 6-byte MAC addresses, have %v and %v", spec.SrcMAC, spec.DstMAC)
	}
	ipv6 := dst.Is6()
	payload, err := PayloadLen(spec.FrameSize, ipv6)
	if err != nil {
		return nil, fmt.Errorf("frame: %w", err)
	}
	l := Layout(ipv6)
	f := make([]byte, spec.FrameSize)
	copy(f[0:6], spec.DstMAC)
	copy(f[6:12], spec.SrcMAC)
	udpLen := UDPHeaderLen + payload
	if ipv6 {
		binary.BigEndian.PutUint16(f[12:14], 0x86dd)
		ip := f[l.L3:l.L4]
		ip[0] = 6 << 4
		binary.BigEndian.PutUint16(ip[4:6], uint16(udpLen))
		ip[6] = 17 // UDP
		ip[7] = 64 // hop limit
		s, d := src.As16(), dst.As16()
		copy(ip[8:24], s[:])
		copy(ip[24:40], d[:])
	} else {
		binary.BigEndian.PutUint16(f[12:14], 0x0800)
		ip := f[l.L3:l.L4]
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:4], uint16(IPv4HeaderLen+udpLen))
		binary.BigEndian.PutUint16(ip[6:8], 0x4000) // DF: never fragmented
		ip[8] = 64                                  // TTL
		ip[9] = 17                                  // UDP
		s, d := src.As4(), dst.As4()
		copy(ip[12:16], s[:])
		copy(ip[16:20], d[:])
		binary.BigEndian.PutUint16(ip[10:12], ^fold(sum16(ip, 0)))
	}
	udp := f[l.L4:]
	binary.BigEndian.PutUint16(udp[0:2], spec.Src.Port())
	binary.BigEndian.PutUint16(udp[2:4], spec.Dst.Port())
	binary.BigEndian.PutUint16(udp[4:6], uint16(udpLen))
	Encode(f[l.Payload:], Header{})
	if ipv6 {
		// Pseudo-header: addresses, upper-layer length, next header.
		var s uint32
		s = sum16(f[l.L3+8:l.L3+40], s)
		s += uint32(udpLen) + 17
		s = sum16(udp, s)
		c := ^fold(s)
		if c == 0 {
			c = 0xffff // 0 means "no checksum", forbidden for IPv6
		}
		binary.BigEndian.PutUint16(udp[6:8], c)
	}
	return f, nil
}

// StampFrame writes the window tag, seq and the send time into a frame
// built by BuildFrame (whatever its current stamp) and, for IPv6, updates
// the UDP checksum incrementally (RFC 1624), so the cost does not grow with
// the frame size.
func StampFrame(f []byte, l FrameLayout, tag uint8, seq uint32, ts uint64) {
	if !l.IPv6 {
		f[l.Payload+3] = tag
		h := f[l.Payload+4 : l.Payload+16]
		binary.LittleEndian.PutUint32(h[0:4], seq)
		binary.LittleEndian.PutUint64(h[4:12], ts)
		return
	}
	// HC' = ~(~HC + ~m + m'), with m and m' the sums of the 14 bytes from
	// the magic's last byte and the tag on, before and after (they sit at
	// an even offset from the UDP header).
	h := f[l.Payload+2 : l.Payload+16]
	c := f[l.Csum : l.Csum+2]
	old := fold(sum16(h, 0))
	h[1] = tag
	binary.LittleEndian.PutUint32(h[2:6], seq)
	binary.LittleEndian.PutUint64(h[6:14], ts)
	s := uint32(^binary.BigEndian.Uint16(c)) + uint32(^old) + uint32(fold(sum16(h, 0)))
	n := ^fold(s)
	if n == 0 {
		n = 0xffff
	}
	binary.BigEndian.PutUint16(c, n)
}

// sum16 adds b as big-endian 16-bit words (an odd last byte padded with a
// zero) to s, the one's complement sum so far, unfolded.
func sum16(b []byte, s uint32) uint32 {
	i := 0
	for ; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if i < len(b) {
		s += uint32(b[i]) << 8
	}
	return s
}

// fold folds a 32-bit one's complement sum into 16 bits.
func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
