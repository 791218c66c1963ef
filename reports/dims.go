package reports

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vethbench/vethbench/reports/result"
)

// Dimension names of the reports. They are the case-name grammar's keys
// (result.NameDims) with two additions: the device, which a name holds as
// its first segment, and pkt_size, the reports' name for result.DimPkt
// (table heads and questions say pkt_size). Every other key of a name is a
// knob.
const (
	dimDevice = "device"
	dimPkt    = "pkt_size"
	dimFamily = result.DimFamily
	dimQueues = result.DimQueues
)

// caseDims reads a case's dimensions from its name with the runner's own
// grammar (result.ParseName): the device, every dimension of
// result.NameDims (the name's value or its default) and every knob the case
// set. A name without a device takes the case's topology; a tcp name has no
// packet size and takes the traffic's frame size. A dimension without a
// value ("proto" outside rr, the packet size of tcp) is "default", as is a
// knob a case of the same group leaves out (see analyzeGroup).
func caseDims(c *result.Case) map[string]string {
	name := c.Name
	if dev, _, _ := strings.Cut(name, "/"); dev == "" {
		dev = c.Topology.Kind
		if c.Topology.Mode != "" {
			dev += "-" + c.Topology.Mode
		}
		name = dev + name
	}
	n, err := result.ParseName(name)
	if err != nil {
		// Not the runner's grammar (a hand-made file): the whole name is the
		// device and every dimension is at its default, so the case still
		// shows, under its own name.
		n = result.CaseName{Device: name, Dims: map[string]string{}}
		for _, dim := range result.NameDims {
			n.Dims[dim.Key] = dim.Default
		}
	}
	d := map[string]string{}
	for k, v := range n.Dims {
		if k == result.DimPkt {
			k = dimPkt
			if v == "" && c.Traffic.FrameSize > 0 {
				v = strconv.Itoa(c.Traffic.FrameSize)
			}
		}
		d[k] = cmp.Or(v, "default")
	}
	for k, v := range n.Knobs {
		d[k] = v
	}
	d[dimDevice] = n.Device
	return d
}

// isKnob reports whether a dimension is a knob the case set, not one of
// the topology or the traffic.
func isKnob(dim string) bool {
	return dim != dimDevice && dim != dimPkt && !result.IsNameDim(dim)
}

// dimOrder orders dimension names as names write them: the device, the
// name's dimensions in the order of result.NameDims, then the knobs by name.
func dimOrder(x, y string) int {
	rank := func(d string) int {
		switch {
		case d == dimDevice:
			return -1
		case d == dimPkt:
			return 0
		case isKnob(d):
			return len(result.NameDims)
		}
		return slices.IndexFunc(result.NameDims, func(n result.Dim) bool { return n.Key == d })
	}
	return cmp.Or(cmp.Compare(rank(x), rank(y)), cmp.Compare(x, y))
}

// dimRank orders dimensions for comparison when the question names none:
// the device first, then knobs, then the topology's and traffic's shape,
// the packet size last (it is nearly always context).
func dimRank(d string) int {
	switch {
	case d == dimDevice:
		return 0
	case isKnob(d):
		return 1
	case d == dimQueues || d == result.DimMTU:
		return 2
	case d == dimPkt:
		return 9
	case d == dimFamily || d == result.DimFlows || d == result.DimSenders:
		return 8
	}
	return 5
}

// mentionWords are the words by which a question names a dimension; other
// dimensions are named by their key, with or without its underscores.
var mentionWords = map[string][]string{
	dimDevice: {"device", "devices", "topology", "topologies", "kind", "kinds"},
	dimPkt:    {"packet size", "packet sizes", "pkt_size", "frame size", "frame sizes"},
	dimQueues: {"queue", "queues"},
	dimFamily: {"family", "ipv4", "ipv6"},
}

// chooseCompare picks the dimension a question asks about: among the varying
// ones, the first the question names, else the first by dimRank. Context
// dimensions (packet size, family, flows) are compared only when nothing
// else varies.
func chooseCompare(question string, varying []string) string {
	if len(varying) == 0 {
		return ""
	}
	q := strings.ToLower(question)
	best, bestAt := "", len(q)+1
	for _, d := range varying {
		words := mentionWords[d]
		if words == nil {
			words = []string{d, strings.ReplaceAll(d, "_", " ")}
		}
		for _, w := range words {
			loc := regexp.MustCompile(`\b` + regexp.QuoteMeta(w) + `\b`).FindStringIndex(q)
			if loc != nil && loc[0] < bestAt && (dimRank(d) < 8 || allContext(varying)) {
				best, bestAt = d, loc[0]
			}
		}
	}
	if best != "" {
		return best
	}
	return varying[0] // sorted by dimRank
}

func allContext(varying []string) bool {
	for _, d := range varying {
		if dimRank(d) < 8 {
			return false
		}
	}
	return true
}

// collapseModes names a device by its kind alone ("macvlan", not
// "macvlan-bridge") when the group has one mode of that kind.
func collapseModes(pts []point) {
	modes := map[string]map[string]bool{}
	for _, p := range pts {
		kind, _, _ := strings.Cut(p.dims[dimDevice], "-")
		if modes[kind] == nil {
			modes[kind] = map[string]bool{}
		}
		modes[kind][p.dims[dimDevice]] = true
	}
	for _, p := range pts {
		kind, _, _ := strings.Cut(p.dims[dimDevice], "-")
		if len(modes[kind]) == 1 {
			p.dims[dimDevice] = kind
		}
	}
}

// sortNumeric sorts values numerically when every one is a number, and
// leaves them in the order of the spec otherwise.
func sortNumeric(vals []string) {
	for _, v := range vals {
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return
		}
	}
	slices.SortStableFunc(vals, func(x, y string) int {
		a, _ := strconv.ParseFloat(x, 64)
		b, _ := strconv.ParseFloat(y, 64)
		return cmp.Compare(a, b)
	})
}
