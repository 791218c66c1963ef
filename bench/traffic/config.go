package traffic

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
)

// ErrInvalid is wrapped by every configuration error.
var ErrInvalid = errors.New("invalid traffic config")

// Limits of a UDPConfig.
const (
	DefaultBatch = 64
	// MaxBatch is the kernel's limit on messages per sendmmsg (UIO_MAXIOV).
	MaxBatch = 1024
	// MaxFlows bounds the number of sockets one sender opens.
	MaxFlows = 1024
	// DefaultMTU is assumed when UDPConfig.MTU is 0.
	DefaultMTU = 1500
	// MaxGSOSegments is the kernel's UDP_MAX_SEGMENTS on the oldest
	// kernel vethbench supports (6.1: 64; later kernels allow 128).
	MaxGSOSegments = 64
)

// UDPConfig describes the UDP traffic of one sender. It is plain data:
// Validate needs no privileges and touches nothing.
type UDPConfig struct {
	Src, Dst    netip.Addr
	DstPort     uint16
	SrcPortBase uint16 // flow i uses source port SrcPortBase+i
	Flows       int    // distinct 5-tuples (one socket each), >= 1
	// FrameSize counts bytes from the Ethernet header to the end of the
	// UDP payload, without FCS (see PayloadLen).
	FrameSize int
	// Rate is the total packets per second over all flows; 0 sends as
	// fast as possible.
	Rate  float64
	Batch int // packets per sendmmsg; 0 means DefaultBatch
	// Workers is the number of goroutines sending in parallel, each with
	// its own flows (worker w sends flows w, w+Workers...) and an equal
	// share of Rate; 0 means 1, at most Flows. On veth the receive path
	// runs on the sending CPU, so one worker saturates one CPU; more
	// workers use more CPUs.
	Workers int
	// CPUs pins sending goroutine w to CPUs[w % len(CPUs)]; empty pins
	// nothing.
	CPUs []int
	// MTU of the path, which bounds FrameSize (MaxFrame); 0 means
	// DefaultMTU.
	MTU int
	// GSO > 0 sends each message of a batch as GSO datagrams with
	// UDP_SEGMENT: one send of GSO payloads that the kernel segments
	// into GSO datagrams, as late as the device allows (on veth the
	// aggregate crosses the pair whole and is segmented at the receiving
	// socket). Batch then counts messages, Batch*GSO datagrams per call.
	GSO int
}

// CheckGSO says whether gso datagrams of frameSize fit one UDP GSO send:
// at most MaxGSOSegments of them (0 is off), whose payloads together fit
// one 64 KiB IP packet. The frame size itself is checked elsewhere.
func CheckGSO(gso, frameSize int, ipv6 bool) error {
	if gso < 0 || gso > MaxGSOSegments {
		return fmt.Errorf("%d out of range [0, %d] (0: off)", gso, MaxGSOSegments)
	}
	if p, _ := PayloadLen(frameSize, ipv6); gso > 1 && p*gso > maxIPPacket-UDPHeaderLen-IPv4HeaderLen {
		return fmt.Errorf("%d datagrams of %d payload bytes exceed one 64 KiB send", gso, p)
	}
	return nil
}

// IPv6 reports whether the configured traffic is IPv6.
func (c UDPConfig) IPv6() bool { return c.Dst.Unmap().Is6() }

func (c UDPConfig) withDefaults() UDPConfig {
	c.Src, c.Dst = c.Src.Unmap(), c.Dst.Unmap()
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	return c
}

// Validate checks the configuration and returns an error wrapping
// ErrInvalid that names the first bad field.
func (c UDPConfig) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	c = c.withDefaults()
	if !c.Dst.IsValid() || c.Dst.IsUnspecified() {
		return bad("Dst %v: need a destination address", c.Dst)
	}
	if !c.Src.IsValid() {
		return bad("Src: need a source address (the unspecified address lets the kernel choose)")
	}
	if c.Src.Is4() != c.Dst.Is4() {
		return bad("Src %v and Dst %v are of different IP families", c.Src, c.Dst)
	}
	if c.Dst.Zone() != "" || c.Src.Zone() != "" {
		return bad("Src %v, Dst %v: zoned (link-local) addresses are not supported", c.Src, c.Dst)
	}
	if c.DstPort == 0 {
		return bad("DstPort 0: need a destination port")
	}
	if c.Flows < 1 || c.Flows > MaxFlows {
		return bad("Flows %d out of range [1, %d]", c.Flows, MaxFlows)
	}
	if c.SrcPortBase == 0 {
		return bad("SrcPortBase 0: need a fixed source port (flow i uses SrcPortBase+i)")
	}
	if last := int(c.SrcPortBase) + c.Flows - 1; last > math.MaxUint16 {
		return bad("SrcPortBase %d + Flows %d: last source port %d above 65535", c.SrcPortBase, c.Flows, last)
	}
	if c.DstPort >= c.SrcPortBase && int(c.DstPort) < int(c.SrcPortBase)+c.Flows && c.Src == c.Dst {
		return bad("DstPort %d is one of the source ports of a sender sending to its own address", c.DstPort)
	}
	for _, cpu := range c.CPUs {
		if err := checkCPU(cpu); err != nil {
			return bad("CPUs: %v", err)
		}
	}
	minMTU := 68
	if c.IPv6() {
		minMTU = 1280
	}
	// 65536 is lo's default MTU, the largest any device has.
	if c.MTU < minMTU || c.MTU > math.MaxUint16+1 {
		return bad("MTU %d out of range [%d, 65536]", c.MTU, minMTU)
	}
	if _, err := PayloadLen(c.FrameSize, c.IPv6()); err != nil {
		return bad("FrameSize: %v", err)
	}
	if most := MaxFrame(c.MTU); c.FrameSize > most {
		return bad("FrameSize %d above the maximum %d for MTU %d (MTU + %d-byte Ethernet header)", c.FrameSize, most, c.MTU, EthHeaderLen)
	}
	if math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate < 0 {
		return bad("Rate %v: must be a finite number of packets per second >= 0 (0: as fast as possible)", c.Rate)
	}
	if c.Batch < 0 || c.Batch > MaxBatch {
		return bad("Batch %d out of range [1, %d] (0: %d)", c.Batch, MaxBatch, DefaultBatch)
	}
	if err := CheckGSO(c.GSO, c.FrameSize, c.IPv6()); err != nil {
		return bad("GSO %v", err)
	}
	if c.Workers < 0 || c.Workers > c.Flows {
		return bad("Workers %d out of range [1, Flows=%d] (0: 1)", c.Workers, c.Flows)
	}
	return nil
}
