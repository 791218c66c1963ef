package topology

import (
	"errors"
	"net/netip"
	"regexp"
	"slices"

	"github.com/vethbench/vethbench/internal/field"
	"github.com/vethbench/vethbench/internal/netns"
)

// Kind names a way of wiring a sender to a receiver.
type Kind string

// The topology kinds.
const (
	KindVeth     Kind = "veth"     // two namespaces joined by one veth pair
	KindBridge   Kind = "bridge"   // two namespaces, each veth'd to a Linux bridge in a host namespace
	KindRouter   Kind = "router"   // ns1 - router namespace - ns2 on two subnets
	KindHostNAT  Kind = "hostnat"  // container - host namespace masquerading - outside namespace
	KindMacvlan  Kind = "macvlan"  // two macvlan devices on one lower device
	KindIPvlan   Kind = "ipvlan"   // two ipvlan devices on one lower device
	KindLoopback Kind = "loopback" // sender and receiver in one namespace over lo
)

// Kinds lists every kind, in the order help text and reports show them.
var Kinds = []Kind{KindVeth, KindBridge, KindRouter, KindHostNAT, KindMacvlan, KindIPvlan, KindLoopback}

// Family is the IP family of the traffic.
type Family string

const (
	IPv4 Family = "ipv4"
	IPv6 Family = "ipv6"
)

// Spec describes a topology. It is plain data: validating it needs no
// privileges and touches nothing; Realize builds it.
type Spec struct {
	Kind   Kind   `json:"kind"`
	Family Family `json:"family"`
	// MTU of every device on the path; 0 keeps the kernel's default (1500).
	MTU int `json:"mtu,omitempty"`
	// TxQueues and RxQueues set numtxqueues/numrxqueues, when it is
	// created, of the sending end of every link on the path (the end
	// traffic leaves by: the sender's device, a router's outgoing device, a
	// bridge port toward the receiver...); 0 means 1. PeerTxQueues and
	// PeerRxQueues do the same for the receiving ends; 0 means the same as
	// the sending end. (XDP on veth needs the sending end's TX queues not
	// to exceed the receiving end's RX queues.)
	TxQueues     int `json:"tx_queues,omitempty"`
	RxQueues     int `json:"rx_queues,omitempty"`
	PeerTxQueues int `json:"peer_tx_queues,omitempty"`
	PeerRxQueues int `json:"peer_rx_queues,omitempty"`
	// Mode is the macvlan or ipvlan mode; empty means the kind's default.
	Mode string `json:"mode,omitempty"`
	// RunID is put into every device name so that concurrent runs do not
	// collide and leftovers can be attributed; random when empty.
	RunID string `json:"run_id,omitempty"`
}

// loopbackMTU is lo's own default MTU.
const loopbackMTU = 65536

// MaxQueues bounds the queue counts a spec may ask for.
const MaxQueues = 64

var runIDRe = regexp.MustCompile(`^[0-9a-f]{1,6}$`)

// ErrInvalid is wrapped by every validation error, each a *field.Error
// naming the field as the CLI spells it.
var ErrInvalid = errors.New("invalid topology spec")

// Validate checks the spec without touching the kernel.
func (s Spec) Validate() error {
	// Messages start with the field's name as the CLI spells it.
	bad := func(name, format string, a ...any) error {
		return field.Errorf(ErrInvalid, name, format, a...)
	}
	if !slices.Contains(Kinds, s.Kind) {
		return bad("topology", "unknown topology %q (known: %v)", s.Kind, Kinds)
	}
	switch s.Family {
	case "", IPv4, IPv6:
	default:
		return bad("family", "unknown family %q (ipv4 or ipv6)", s.Family)
	}
	if s.MTU != 0 && (s.MTU < 1280 || s.MTU > 65535) {
		// 1280 is IPv6's minimum; below it IPv6 cannot run at all.
		return bad("mtu", "%d out of range [1280, 65535]", s.MTU)
	}
	if s.TxQueues < 0 || s.TxQueues > MaxQueues {
		return bad("tx-queues", "%d out of range [1, %d]", s.TxQueues, MaxQueues)
	}
	if s.RxQueues < 0 || s.RxQueues > MaxQueues {
		return bad("rx-queues", "%d out of range [1, %d]", s.RxQueues, MaxQueues)
	}
	if s.PeerTxQueues < 0 || s.PeerTxQueues > MaxQueues {
		return bad("peer-tx-queues", "%d out of range [1, %d]", s.PeerTxQueues, MaxQueues)
	}
	if s.PeerRxQueues < 0 || s.PeerRxQueues > MaxQueues {
		return bad("peer-rx-queues", "%d out of range [1, %d]", s.PeerRxQueues, MaxQueues)
	}
	switch {
	case s.Kind == KindMacvlan && s.Mode == "private":
		return bad("mode", "macvlan private forbids traffic between macvlan devices on one lower device, which is what vethbench measures (modes: %v)", MacvlanModes)
	case s.Kind == KindMacvlan && s.Mode != "" && !slices.Contains(MacvlanModes, s.Mode):
		return bad("mode", "unknown macvlan mode %q (modes: %v)", s.Mode, MacvlanModes)
	case s.Kind == KindIPvlan && s.Mode != "" && !slices.Contains(IPvlanModes, s.Mode):
		return bad("mode", "unknown ipvlan mode %q (modes: %v)", s.Mode, IPvlanModes)
	case s.Kind != KindMacvlan && s.Kind != KindIPvlan && s.Mode != "":
		return bad("mode", "%s has no modes (only macvlan and ipvlan do)", s.Kind)
	}
	if s.RunID != "" && !runIDRe.MatchString(s.RunID) {
		return bad("run-id", "%q must be 1-6 lowercase hex digits", s.RunID)
	}
	return nil
}

// WithDefaults returns the spec with empty fields filled in.
func (s Spec) WithDefaults() Spec {
	if s.Family == "" {
		s.Family = IPv4
	}
	if s.MTU == 0 {
		s.MTU = 1500
		if s.Kind == KindLoopback {
			s.MTU = loopbackMTU
		}
	}
	if s.TxQueues == 0 {
		s.TxQueues = 1
	}
	if s.Mode == "" {
		switch s.Kind {
		case KindMacvlan:
			s.Mode = MacvlanModes[0]
		case KindIPvlan:
			s.Mode = IPvlanModes[0]
		}
	}
	if s.RxQueues == 0 {
		s.RxQueues = 1
	}
	if s.PeerTxQueues == 0 {
		s.PeerTxQueues = s.TxQueues
	}
	if s.PeerRxQueues == 0 {
		s.PeerRxQueues = s.RxQueues
	}
	return s
}

// Endpoint is one end of the measured path: where traffic is sent from or
// received at.
type Endpoint struct {
	NS      *netns.NS  `json:"-"`
	Ifname  string     `json:"ifname"`
	Ifindex int        `json:"ifindex"`
	Addr    netip.Addr `json:"addr"`
}

// Device is a device vethbench created, recorded so knobs can be read back
// from every device on the path.
type Device struct {
	Role   string    `json:"role"` // e.g. "sender", "receiver", "bridge"
	Ifname string    `json:"ifname"`
	Kind   string    `json:"kind"` // netlink kind: veth, bridge, macvlan, ...
	NS     *netns.NS `json:"-"`
	End    End       `json:"end"`
}

// End says which way traffic crosses a device: out of it (the sending end of
// a link: its qdisc, GSO and TSO matter) or into it (the receiving end: its
// GRO, XDP and NAPI settings matter).
type End string

const (
	EndSend    End = "send"
	EndReceive End = "receive"
	EndBoth    End = "both" // lo: out and back in
	EndNone    End = ""     // a bridge: traffic only passes between its ports
)
