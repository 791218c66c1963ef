package spec

import (
	"math"
	"strconv"
	"strings"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/bench/traffic"
	"github.com/vethbench/vethbench/internal/field"
)

// valueKind is the YAML type a dimension takes.
type valueKind int

const (
	kindName  valueKind = iota // a non-empty string
	kindInt                    // an integer
	kindFloat                  // a finite number
	kindBool                   // on/off, true/false
)

// dimension is a key that maps to a field of plan.Case.
type dimension struct {
	key   string
	field string // the field's name in bench and topology errors
	kind  valueKind
	// check rejects a value no case could use (nil: no single-value check;
	// combinations are checked per case by plan.Case.Validate).
	check func(v string) error
	apply func(c *plan.Case, v string)
}

// Dimensions lists the keys that map to plan.Case fields, in the order
// documented. Any other key under defaults, set, vary or one_of is a knob.
var Dimensions = []string{
	"topology", "mode", "family", "mtu", "tx_queues", "rx_queues", "peer_tx_queues", "peer_rx_queues",
	"pkt_size", "flows", "senders", "rate", "batch", "rcvbuf", "generator", "udp_gso", "qdisc_bypass", "proto",
	"xdp_batch_stamp", "cost_ns",
}

func atoi(v string) int {
	n, _ := strconv.Atoi(v)
	return n
}

func atof(v string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

var dimensions = map[string]*dimension{
	"topology": {field: "topology", kind: kindName,
		check: func(v string) error { return topology.Spec{Kind: topology.Kind(v)}.Validate() },
		apply: func(c *plan.Case, v string) { c.Topology.Kind = topology.Kind(v) }},
	"mode": {field: "mode", kind: kindName,
		apply: func(c *plan.Case, v string) { c.Topology.Mode = v }},
	"family": {field: "family", kind: kindName,
		check: func(v string) error {
			return topology.Spec{Kind: topology.KindVeth, Family: topology.Family(v)}.Validate()
		},
		apply: func(c *plan.Case, v string) { c.Topology.Family = topology.Family(v) }},
	"mtu":            {field: "mtu", kind: kindInt, apply: func(c *plan.Case, v string) { c.Topology.MTU = atoi(v) }},
	"tx_queues":      {field: "tx-queues", kind: kindInt, check: queues("tx-queues"), apply: func(c *plan.Case, v string) { c.Topology.TxQueues = atoi(v) }},
	"rx_queues":      {field: "rx-queues", kind: kindInt, check: queues("rx-queues"), apply: func(c *plan.Case, v string) { c.Topology.RxQueues = atoi(v) }},
	"peer_tx_queues": {field: "peer-tx-queues", kind: kindInt, apply: func(c *plan.Case, v string) { c.Topology.PeerTxQueues = atoi(v) }},
	"peer_rx_queues": {field: "peer-rx-queues", kind: kindInt, apply: func(c *plan.Case, v string) { c.Topology.PeerRxQueues = atoi(v) }},
	"pkt_size":       {field: "pkt-size", kind: kindInt, apply: func(c *plan.Case, v string) { c.Traffic.FrameSize = atoi(v) }},
	"flows":          {field: "flows", kind: kindInt, apply: func(c *plan.Case, v string) { c.Traffic.Flows = atoi(v) }},
	"senders":        {field: "senders", kind: kindInt, apply: func(c *plan.Case, v string) { c.Traffic.Senders = atoi(v) }},
	"rate":           {field: "rate", kind: kindFloat, apply: func(c *plan.Case, v string) { c.Traffic.Rate = atof(v) }},
	"batch":          {field: "batch", kind: kindInt, apply: func(c *plan.Case, v string) { c.Traffic.Batch = atoi(v) }},
	"rcvbuf":         {field: "rcvbuf", kind: kindInt, apply: func(c *plan.Case, v string) { c.Traffic.RcvBuf = atoi(v) }},
	"generator":      {field: "generator", kind: kindName, apply: func(c *plan.Case, v string) { c.Traffic.Generator = v }},
	"udp_gso":        {field: "udp-gso", kind: kindInt, apply: func(c *plan.Case, v string) { c.Traffic.GSO = atoi(v) }},
	"qdisc_bypass":   {field: "qdisc-bypass", kind: kindBool, apply: func(c *plan.Case, v string) { c.Traffic.QdiscBypass = v == "on" }},
	"proto":          {field: "proto", kind: kindName, apply: func(c *plan.Case, v string) { c.Traffic.Proto = v }},
	"xdp_batch_stamp": {field: "xdp-batch-stamp", kind: kindBool,
		apply: func(c *plan.Case, v string) { c.Traffic.XDPBatchStamp = v == "on" }},
	"cost_ns": {field: "cost-ns", kind: kindInt, apply: func(c *plan.Case, v string) { c.Traffic.CostNS = atoi(v) }},
}

// queues refuses 0 queues: topology.Spec reads 0 as "unset" (1 queue), but
// a spec that writes 0 asked for a device without queues. (The peer keys'
// 0 means "the same as the sending end's", as in vethbench run.)
func queues(name string) func(string) error {
	return func(v string) error {
		if atoi(v) == 0 {
			return field.Errorf(topology.ErrInvalid, name, "0 out of range [1, %d]", topology.MaxQueues)
		}
		return nil
	}
}

// byField maps a field name in bench's errors to the dimension key.
var byField = map[string]string{}

func init() {
	for _, k := range Dimensions {
		dimensions[k].key = k
		byField[dimensions[k].field] = k
	}
}

// related lists, for a field plan.Case.Validate complains about, the keys
// whose values can make it fail: the error points at the most specific of
// them (see blame).
var related = map[string][]string{
	"pkt_size": {"pkt_size", "mtu", "family", "topology"},
	"senders":  {"senders", "flows"},
	"mode":     {"mode", "topology"},
}

// maxInt bounds every integer dimension: they are all C ints in the end.
const maxInt = math.MaxInt32

// builtin is every dimension's value when the spec does not give one: the
// defaults of `vethbench run`.
func builtin() plan.Case {
	return plan.Case{
		Topology: topology.Spec{Kind: topology.KindVeth, Family: topology.IPv4},
		Traffic: plan.Traffic{
			Generator: "udp", FrameSize: 64, Flows: 1, Senders: 1, Batch: traffic.DefaultBatch,
		},
	}
}

// hint suggests a dimension for a misspelt key ("pkt-size", "PKT_SIZE").
func hint(key string) string {
	k := strings.ToLower(strings.ReplaceAll(key, "-", "_"))
	if _, ok := dimensions[k]; ok && k != key {
		return k
	}
	return ""
}
