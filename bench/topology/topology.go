package topology

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vethbench/vethbench/internal/netns"
)

// ErrNotSupported means the running kernel cannot build the topology.
// Errors that wrap it are *UnsupportedError, which says what is missing.
var ErrNotSupported = errors.New("not supported")

// UnsupportedError says what the kernel lacks, e.g. "kernel has no ipvlan
// support". errors.Is(err, ErrNotSupported) holds for it.
type UnsupportedError struct {
	Reason string
}

func (e *UnsupportedError) Error() string        { return "unsupported: " + e.Reason }
func (e *UnsupportedError) Is(target error) bool { return target == ErrNotSupported }

func unsupported(format string, a ...any) error {
	return &UnsupportedError{Reason: fmt.Sprintf(format, a...)}
}

// NamePrefix starts every device name vethbench creates.
const NamePrefix = "vb"

// Topology is a realized Spec. Sender and Receiver are where traffic leaves
// and arrives (the eBPF counter sits at the receiver's ingress); Devices
// lists every device made, for reading knobs back.
type Topology struct {
	Spec     Spec
	Sender   Endpoint
	Receiver Endpoint
	// SenderSeenAs is the source address the receiver sees: the sender's,
	// unless a NAT rewrites it (hostnat).
	SenderSeenAs netip.Addr
	Devices      []Device

	namespaces []Namespace // closed in reverse order
	closed     bool
}

// NewRunID returns a random run id for device names.
func NewRunID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Realize builds the topology. On error everything made so far is removed;
// an error wrapping ErrNotSupported means the kernel lacks a device kind or
// feature the topology needs.
func Realize(ctx context.Context, s Spec) (*Topology, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.WithDefaults()
	if s.RunID == "" {
		s.RunID = NewRunID()
	}
	t := &Topology{Spec: s}
	b := &builder{ctx: ctx, t: t}
	var err error
	switch s.Kind {
	case KindVeth:
		err = b.veth()
	case KindBridge:
		err = b.bridge()
	case KindRouter:
		err = b.router()
	case KindHostNAT:
		err = b.hostNAT()
	case KindMacvlan, KindIPvlan:
		err = b.lowered()
	case KindLoopback:
		err = b.loopback()
	}
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("realize %s: %w", s.Kind, err)
	}
	return t, nil
}

// Close tears the topology down: closing the namespaces destroys every
// device in them, and the netfilter state with them. It is idempotent.
func (t *Topology) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	var errs []error
	for _, n := range slices.Backward(t.namespaces) {
		errs = append(errs, n.NS.Close())
	}
	t.namespaces = nil
	return errors.Join(errs...)
}

// Namespace is a namespace of the topology with its role's name.
type Namespace struct {
	Name string // "sender", "receiver", "host", "router", "loopback"
	NS   *netns.NS
}

// Namespaces returns the namespaces the topology owns, in creation order.
func (t *Topology) Namespaces() []Namespace { return t.namespaces }

// Device returns the device with the given role.
func (t *Topology) Device(role string) (Device, bool) {
	for _, d := range t.Devices {
		if d.Role == role {
			return d, true
		}
	}
	return Device{}, false
}
