package reports

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vethbench/vethbench/reports/result"
)

// Dimension names that are not knobs.
const (
	dimDevice = "device"
	dimPkt    = "pkt_size"
	dimFamily = "family"
	dimQueues = "queues"
)

// dimDefaults is the value a dimension has in a case whose name omits it
// (case names leave out default values).
var dimDefaults = map[string]string{
	dimFamily:   "ipv4",
	dimQueues:   "1x1",
	"flows":     "1",
	"senders":   "1",
	"rate":      "0",
	"batch":     "64",
	"rcvbuf":    "0",
	"mtu":       "default",
	"generator": "udp",
}

// nonKnobs are the name keys that are dimensions of the topology or the
// traffic, not knobs.
var nonKnobs = map[string]bool{
	dimDevice: true, dimPkt: true, dimFamily: true, dimQueues: true, "mtu": true,
	"flows": true, "senders": true, "rate": true, "batch": true, "rcvbuf": true, "generator": true,
}

// caseDims reads a case's dimensions from its name: "veth/pkt=64/gro=on" is
// device veth, pkt_size 64, gro on; a segment without "=" is the family.
func caseDims(c *result.Case) map[string]string {
	d := map[string]string{}
	segs := strings.Split(c.Name, "/")
	dev := segs[0]
	if dev == "" {
		dev = c.Topology.Kind
		if c.Topology.Mode != "" {
			dev += "-" + c.Topology.Mode
		}
	}
	d[dimDevice] = dev
	for _, s := range segs[1:] {
		k, v, ok := strings.Cut(s, "=")
		switch {
		case !ok:
			d[dimFamily] = s
		case k == "pkt":
			d[dimPkt] = v
		default:
			d[k] = v
		}
	}
	if _, ok := d[dimPkt]; !ok && c.Traffic.FrameSize > 0 {
		d[dimPkt] = strconv.Itoa(c.Traffic.FrameSize)
	}
	return d
}

// dimRank orders dimensions for comparison when the question names none:
// the device first, then knobs, then the topology's and traffic's shape,
// the packet size last (it is nearly always context).
func dimRank(d string) int {
	switch {
	case d == dimDevice:
		return 0
	case !nonKnobs[d]:
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
