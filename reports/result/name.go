package result

import (
	"fmt"
	"slices"
	"strings"
)

// A case name is the case's stable identifier: the device ("veth",
// "ipvlan-l2"), then one "/"-separated segment per dimension whose value is
// not its default, in the order of NameDims, then one segment per knob the
// case set, sorted by knob name:
//
//	veth/pkt=64
//	veth/pkt=1400/ipv6/queues=2x2/flows=2/senders=2/gro=on
//	bridge/generator=tcp
//
// The family is a bare segment ("ipv6"); every other segment is key=value.
// The runner writes names with FormatName and reports read them back with
// ParseName, both from the one table below, so the two cannot disagree on
// a key or a default.

// Name dimensions: the keys of NameDims.
const (
	DimPkt         = "pkt"             // frame size in bytes; absent for tcp
	DimFamily      = "family"          // ipv4 or ipv6, written bare
	DimMTU         = "mtu"             // "default" (the kind's) or bytes
	DimQueues      = "queues"          // "TXxRX" of the sending ends, ":TXxRX" of the receiving ends when they differ
	DimFlows       = "flows"           //
	DimSenders     = "senders"         //
	DimRate        = "rate"            // packets or requests per second, 0 = unlimited
	DimBatch       = "batch"           // packets per send call
	DimRcvBuf      = "rcvbuf"          // bytes, 0 = the kernel's default
	DimUDPGSO      = "udp_gso"         // UDP GSO segments per message, 0 = off
	DimQdiscBypass = "qdisc_bypass"    // on or off
	DimXDPStamp    = "xdp_batch_stamp" // on or off: the xdp generator's send time read once per batch
	DimGenerator   = "generator"       // udp, packet, xdp, tcp, rr
	DimProto       = "proto"           // rr's protocol; empty for other generators
	DimCostNS      = "cost_ns"         // validation knob: ns of CPU the receiver's counter adds per packet, 0 = off
	DimReplica     = "replica"         // 2, 3...: a repeat of an otherwise identical case (A/A), 1 = the first
)

// Dim is one dimension of a case name.
type Dim struct {
	Key string
	// Default is the value of a name that leaves the dimension out. A
	// dimension whose value equals it is not written.
	Default string
}

// NameDims lists the name's dimensions in the order names write them.
var NameDims = []Dim{
	{DimPkt, ""},
	{DimFamily, "ipv4"},
	{DimMTU, "default"},
	{DimQueues, "1x1"},
	{DimFlows, "1"},
	{DimSenders, "1"},
	{DimRate, "0"},
	{DimBatch, "64"},
	{DimRcvBuf, "0"},
	{DimUDPGSO, "0"},
	{DimQdiscBypass, "off"},
	{DimXDPStamp, "off"},
	{DimGenerator, "udp"},
	{DimProto, ""},
	{DimCostNS, "0"},
	{DimReplica, "1"},
}

// IsNameDim reports whether key is a dimension of NameDims, not a knob.
func IsNameDim(key string) bool {
	return slices.ContainsFunc(NameDims, func(d Dim) bool { return d.Key == key })
}

// CaseName is a case name taken apart.
type CaseName struct {
	Device string // kind, and "-mode" for kinds with modes
	// Dims has a value for every key of NameDims: the name's, or the
	// default where the name leaves it out.
	Dims map[string]string
	// Knobs are the knobs the case set, by name.
	Knobs map[string]string
}

// FormatName writes the name of a case on device with the given dimension
// values (keys of NameDims; missing ones are at their default) and knobs.
func FormatName(device string, dims, knobs map[string]string) string {
	var b strings.Builder
	b.WriteString(device)
	for _, d := range NameDims {
		v, ok := dims[d.Key]
		if !ok || v == d.Default {
			continue
		}
		b.WriteByte('/')
		if d.Key != DimFamily {
			b.WriteString(d.Key + "=")
		}
		b.WriteString(v)
	}
	names := make([]string, 0, len(knobs))
	for k := range knobs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		b.WriteString("/" + k + "=" + knobs[k])
	}
	return b.String()
}

// String is the name n stands for: FormatName of its parts.
func (n CaseName) String() string { return FormatName(n.Device, n.Dims, n.Knobs) }

// ParseName takes a case name apart. Dimensions the name leaves out get
// their default; every key=value that is not a dimension is a knob.
func ParseName(name string) (CaseName, error) {
	segs := strings.Split(name, "/")
	n := CaseName{Device: segs[0], Dims: map[string]string{}, Knobs: map[string]string{}}
	if n.Device == "" {
		return CaseName{}, fmt.Errorf("case name %q: no device", name)
	}
	for _, d := range NameDims {
		n.Dims[d.Key] = d.Default
	}
	seen := map[string]bool{}
	for _, s := range segs[1:] {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			k, v = DimFamily, s
		}
		if k == "" || v == "" {
			return CaseName{}, fmt.Errorf("case name %q: bad segment %q", name, s)
		}
		if seen[k] {
			return CaseName{}, fmt.Errorf("case name %q: %s given twice", name, k)
		}
		seen[k] = true
		if IsNameDim(k) {
			n.Dims[k] = v
		} else {
			n.Knobs[k] = v
		}
	}
	return n, nil
}
