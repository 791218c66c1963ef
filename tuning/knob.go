package tuning

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/field"
)

// Scope says how far a knob's value reaches.
type Scope string

const (
	// ScopeDevice: one device; set on every device of the topology at the
	// ends the knob applies to (Knob.Ends).
	ScopeDevice Scope = "device"
	// ScopeNamespace: one network namespace; set in every namespace of
	// the topology. Dies with the namespace.
	ScopeNamespace Scope = "namespace"
	// ScopeHost: the whole machine (a sysctl of the initial namespace).
	// Journaled before it is changed, always restored.
	ScopeHost Scope = "host"
)

// SysctlPrefix starts the name of every sysctl knob:
// "sysctl.net.core.netdev_max_backlog".
const SysctlPrefix = "sysctl."

// ErrInvalid is wrapped by every error about a setting itself: an unknown
// knob, a sysctl off the allow-list, a value out of range or malformed, a
// knob given twice. Such errors come before anything is touched.
var ErrInvalid = errors.New("invalid knob setting")

// ErrNotSupported is wrapped by the error of a knob the running kernel
// lacks (a qdisc it was built without, a sysctl it does not have). It is
// topology's, so one errors.Is serves a whole case.
var ErrNotSupported = topology.ErrNotSupported

// Knob is one entry of the catalog. Its exported fields describe it and
// must not be modified.
type Knob struct {
	// Name is what sweep specs and results call it: "txqueuelen", "gro",
	// "sysctl.net.core.rmem_max".
	Name string
	// Help says what it changes, in one or two sentences.
	Help  string
	Scope Scope
	// Ends lists the device ends a device knob is set on: the sending
	// ends (EndSend, EndBoth) or the receiving ends (EndReceive, EndBoth).
	// Empty for other scopes.
	Ends []topology.End
	// Values describes what Parse accepts, for help and error messages:
	// "on, off", "integer 0..1000000".
	Values string
	// Choices lists the canonical values of an enumerated knob; nil for an
	// integer knob.
	Choices []string
	// Min and Max bound an integer knob.
	Min, Max int64
	// Sysctl is the sysctl's name ("net.core.rmem_max") for sysctl knobs.
	Sysctl string

	aliases map[string]string // other spellings Parse accepts -> canonical
	dev     *deviceOps        // device knobs
	feature string            // ethtool feature knobs: the kernel's name
}

// Integer reports whether the knob takes an integer.
func (k *Knob) Integer() bool { return k.Choices == nil }

// AppliesTo reports whether a device knob is set on d: whether d is one of
// the ends the knob acts on.
func (k *Knob) AppliesTo(d topology.Device) bool {
	return k.Scope == ScopeDevice && slices.Contains(k.Ends, d.End)
}

// Parse checks value and returns its canonical spelling ("1" -> "on" for a
// switch, "+0100" -> "100" for an integer). It needs no privileges and
// touches nothing; its errors are *field.Error values for the knob, wrap
// ErrInvalid and name the allowed values.
func (k *Knob) Parse(value string) (string, error) {
	v := strings.TrimSpace(value)
	if k.Integer() {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", field.Errorf(ErrInvalid, k.Name, "%q is not an integer (want %s)", value, k.Values)
		}
		if n < k.Min || n > k.Max {
			return "", field.Errorf(ErrInvalid, k.Name, "%d out of range (want %s)", n, k.Values)
		}
		return strconv.FormatInt(n, 10), nil
	}
	v = strings.ToLower(v)
	if slices.Contains(k.Choices, v) {
		return v, nil
	}
	if c, ok := k.aliases[v]; ok {
		return c, nil
	}
	return "", field.Errorf(ErrInvalid, k.Name, "unknown value %q (want one of %s)", value, k.Values)
}

var (
	sendingEnds   = []topology.End{topology.EndSend, topology.EndBoth}
	receivingEnds = []topology.End{topology.EndReceive, topology.EndBoth}
	onOff         = []string{"on", "off"}
	onOffAliases  = map[string]string{"1": "on", "0": "off", "true": "on", "false": "off", "yes": "on", "no": "off"}
)

// Qdiscs are the root qdiscs the qdisc knob can set, without parameters.
var Qdiscs = []string{"noqueue", "pfifo_fast", "pfifo", "bfifo", "fq", "fq_codel", "sfq", "prio"}

// XDP modes of the xdp knob.
const (
	XDPOff     = "off"
	XDPNative  = "native"
	XDPGeneric = "generic"
)

func intKnob(name, help string, scope Scope, ends []topology.End, lo, hi int64, unit string) *Knob {
	values := fmt.Sprintf("integer %d..%d", lo, hi)
	if unit != "" {
		values += " " + unit
	}
	return &Knob{Name: name, Help: help, Scope: scope, Ends: ends, Values: values, Min: lo, Max: hi}
}

func enumKnob(name, help string, ends []topology.End, choices []string, aliases map[string]string) *Knob {
	return &Knob{Name: name, Help: help, Scope: ScopeDevice, Ends: ends, Values: strings.Join(choices, ", "),
		Choices: choices, aliases: aliases}
}

func featureKnob(name, feature, help string, ends []topology.End) *Knob {
	k := enumKnob(name, help+" (ethtool feature "+feature+")", ends, onOff, onOffAliases)
	k.dev = featureOps(feature)
	k.feature = feature
	return k
}

// catalog is every knob, in the order Apply sets them. txqueuelen comes
// before qdisc because pfifo and bfifo take their limit from it when they
// are created; xdp before the NAPI knobs because native XDP gives a veth
// the NAPI instances they act on.
var catalog = func() []*Knob {
	maxInt := int64(1<<31 - 1)
	ks := []*Knob{
		intKnob("txqueuelen", "The device's transmit queue length. It does nothing under noqueue "+
			"(veth's default); a queueing qdisc takes it as its limit.", ScopeDevice, sendingEnds, 0, 1_000_000, "packets"),
		enumKnob("qdisc", "The root qdisc, without parameters; pfifo and bfifo take their limit from "+
			"txqueuelen (bfifo: times the MTU, in bytes).", sendingEnds, Qdiscs, nil),
		intKnob("shape_mbit", "Shape the device to this many Mbit/s with a tbf root qdisc, as the CNI "+
			"bandwidth plugin does on a pod's veth: burst 1 ms of the rate (at least 64 KiB), and a queue "+
			"of 25 ms at the rate, which fills at saturation. 0 leaves the device unshaped. It sets the "+
			"root qdisc, so it does not combine with the qdisc knob.", ScopeDevice, sendingEnds, 0, 400_000, "Mbit/s"),
		featureKnob("gro", "rx-gro", "Generic receive offload. On veth it also gives the device NAPI "+
			"instances, so received packets are polled instead of going through the backlog.", receivingEnds),
		featureKnob("gro_list", "rx-gro-list", "Fraglist GRO: chains packets instead of merging them.", receivingEnds),
		featureKnob("udp_gro_forwarding", "rx-udp-gro-forwarding", "GRO for forwarded UDP packets.", receivingEnds),
		featureKnob("gso", "tx-generic-segmentation", "Generic segmentation offload: large sends stay one "+
			"packet until the device.", sendingEnds),
		featureKnob("tso", "tx-tcp-segmentation", "TCP segmentation offload; needs tx_checksum.", sendingEnds),
		featureKnob("udp_segmentation", "tx-udp-segmentation", "UDP segmentation offload (UDP_SEGMENT); "+
			"needs tx_checksum.", sendingEnds),
		featureKnob("tx_checksum", "tx-checksum-ip-generic", "Transmit checksum offload; off also turns "+
			"off tso and udp_segmentation.", sendingEnds),
		enumKnob("xdp", "Attach a trivial XDP_PASS program (vb_knob_xdp) in native (driver) or generic "+
			"(skb) mode. On veth, native XDP switches the receive path to NAPI: that is the point of the "+
			"knob. veth native XDP needs this end's RX queues >= its peer's TX queues.",
			receivingEnds, []string{XDPOff, XDPNative, XDPGeneric},
			map[string]string{"none": XDPOff, "driver": XDPNative, "drv": XDPNative, "skb": XDPGeneric}),
		enumKnob("threaded_napi", "Poll the device's NAPI instances in kernel threads instead of softirq "+
			"(/sys/class/net/DEV/threaded). A veth has NAPI only with gro on or native xdp.",
			receivingEnds, onOff, onOffAliases),
		intKnob("gro_flush_timeout", "How long GRO may hold packets and the device keep its interrupts "+
			"masked after a poll (/sys/class/net/DEV/gro_flush_timeout).", ScopeDevice, receivingEnds, 0, 1_000_000_000, "ns"),
		intKnob("napi_defer_hard_irqs", "How many empty polls to run before re-enabling interrupts "+
			"(/sys/class/net/DEV/napi_defer_hard_irqs); works with gro_flush_timeout.", ScopeDevice, receivingEnds, 0, maxInt, ""),
	}
	for _, k := range ks {
		switch k.Name {
		case "txqueuelen":
			k.dev = txqueuelenOps
		case "qdisc":
			k.dev = qdiscOps
		case "shape_mbit":
			k.dev = shapeOps
		case "xdp":
			k.dev = xdpOps
		case "threaded_napi", "gro_flush_timeout", "napi_defer_hard_irqs":
			k.dev = sysfsOps(k.Name)
		}
	}
	for _, s := range hostSysctls {
		ks = append(ks, sysctlKnob(s, ScopeHost))
	}
	for _, s := range namespaceSysctls {
		ks = append(ks, sysctlKnob(s, ScopeNamespace))
	}
	return ks
}()

func sysctlKnob(s sysctlDef, scope Scope) *Knob {
	k := intKnob(SysctlPrefix+s.name, s.help, scope, nil, s.min, s.max, s.unit)
	k.Sysctl = s.name
	return k
}

// Knobs returns the catalog in the order Apply sets knobs. The knobs must
// not be modified.
func Knobs() []*Knob { return slices.Clone(catalog) }

// Lookup finds a knob by name. Sysctl knobs are "sysctl." followed by a
// sysctl on the allow-list; LookupError explains a name that is not.
func Lookup(name string) (*Knob, bool) {
	for _, k := range catalog {
		if k.Name == name {
			return k, true
		}
	}
	return nil, false
}

// LookupError returns the error for a name Lookup does not know: which
// knobs exist, or for a sysctl, which sysctls are allowed: a *field.Error
// without a field (the message names the knob), wrapping ErrInvalid.
func LookupError(name string) error {
	if s, ok := strings.CutPrefix(name, SysctlPrefix); ok {
		return &field.Error{Err: ErrInvalid, Msg: fmt.Sprintf("sysctl %q is not on vethbench's allow-list; host-wide: %s; per namespace: %s",
			s, strings.Join(sysctlNames(hostSysctls), ", "), strings.Join(sysctlNames(namespaceSysctls), ", "))}
	}
	var names []string
	for _, k := range catalog {
		if k.Sysctl == "" {
			names = append(names, k.Name)
		}
	}
	return &field.Error{Err: ErrInvalid, Msg: fmt.Sprintf("unknown knob %q (knobs: %s, and %sNAME for an allowed sysctl)",
		name, strings.Join(names, ", "), SysctlPrefix)}
}

func sysctlNames(defs []sysctlDef) []string {
	var names []string
	for _, d := range defs {
		names = append(names, d.name)
	}
	return names
}

// Setting asks for a knob's value: {Name: "txqueuelen", Value: "5000"}.
type Setting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// resolved is a validated setting.
type resolved struct {
	knob  *Knob
	value string // canonical
}

// validate checks every setting and orders them as the catalog does.
func validate(settings []Setting) ([]resolved, error) {
	var errs []error
	var out []resolved
	seen := map[string]bool{}
	for _, s := range settings {
		k, ok := Lookup(s.Name)
		if !ok {
			errs = append(errs, LookupError(s.Name))
			continue
		}
		if seen[k.Name] {
			errs = append(errs, fmt.Errorf("%w: %s given twice", ErrInvalid, k.Name))
			continue
		}
		seen[k.Name] = true
		v, err := k.Parse(s.Value)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, resolved{knob: k, value: v})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := rootQdiscConflict(out); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b resolved) int {
		return slices.Index(catalog, a.knob) - slices.Index(catalog, b.knob)
	})
	return out, nil
}

// CheckCombination refuses settings that are each valid but cannot be set
// together (qdisc with shape_mbit), wrapping ErrInvalid; Apply does the
// same before touching anything. Settings that do not parse are left to
// Parse.
func CheckCombination(settings []Setting) error {
	var rs []resolved
	for _, s := range settings {
		if k, ok := Lookup(s.Name); ok {
			if v, err := k.Parse(s.Value); err == nil {
				rs = append(rs, resolved{knob: k, value: v})
			}
		}
	}
	return rootQdiscConflict(rs)
}

// rootQdiscConflict refuses qdisc with a shape_mbit other than 0: both set
// the root qdisc, and the later one would silently undo the earlier.
func rootQdiscConflict(rs []resolved) error {
	var qdisc, shape string
	for _, r := range rs {
		switch r.knob.Name {
		case "qdisc":
			qdisc = r.value
		case "shape_mbit":
			shape = r.value
		}
	}
	if qdisc == "" || shape == "" || shape == "0" {
		return nil
	}
	return field.Errorf(ErrInvalid, "shape_mbit", "%s sets the root qdisc to tbf, so it cannot be combined with qdisc %s", shape, qdisc)
}

// Catalog parses settings by knob name; it is what the sweep spec parser
// (tuning/spec.Catalog) takes.
type Catalog struct{}

// Parse returns value in canonical form for the named knob, or an error
// for an unknown knob or a bad value (wrapping ErrInvalid).
func (Catalog) Parse(knob, value string) (string, error) {
	k, ok := Lookup(knob)
	if !ok {
		return "", LookupError(knob)
	}
	return k.Parse(value)
}
