// Package spec reads sweep specs: the YAML files `vethbench sweep -f` runs,
// and the embedded default spec (Default). A spec is plain data: Parse
// checks it in full and Expand turns it into the list of cases to measure.
// Nothing here touches the kernel or needs privileges.
//
// # Format
//
// A spec is a list of questions. Each question is a group whose small grid
// of cases answers it:
//
//	name: default          # optional; letters, digits, . _ -; default: the file's base name
//	measure:               # optional; shared by all cases
//	  trials: 6            # minimum trials per case (6)
//	  max_trials: 10       # upper bound for adaptive stopping, >= trials (= trials)
//	  duration: 2s         # one trial's window, a Go duration with a unit (2s)
//	  warmup: 1s           # discarded window per case, 0s for none (1s)
//	  confidence: 0.95     # coverage of median intervals, in (0, 1) (0.95)
//	  seed: 1              # seed of the shuffled round order, any int64 (1)
//	defaults:              # optional; one value per key, for every group
//	  topology: veth
//	  pkt_size: 64
//	groups:                # required, at least one
//	  - question: Which device is fastest?      # required, unique
//	    vary:                                   # the grid: product of the lists
//	      topology: [veth, macvlan, ipvlan, bridge, loopback]
//	      pkt_size: [64, 1400]
//	  - question: Do two queues help two senders?
//	    set: {flows: 2, senders: 2}             # fixed for this group
//	    one_of:                                 # bundles of values that go together
//	      - {tx_queues: 1, rx_queues: 1}
//	      - {tx_queues: 2, rx_queues: 2}
//	    vary:
//	      gro: [off, on]
//
// The repository's examples/annotated.yaml is a commented example of every
// feature, and examples/ holds further specs to copy; default.yaml, beside
// this file, is the default spec, embedded in the binary. Top-level keys
// starting with "x-" are ignored: a place to define YAML anchors. Anchors
// and aliases work anywhere; merge keys (<<) do not.
//
// # Keys: dimensions and knobs
//
// defaults, set, vary and the entries of one_of take the same keys.
// Dimensions map to plan.Case fields:
//
//	topology        Topology.Kind: veth, bridge, router, hostnat, macvlan, ipvlan, loopback
//	mode            Topology.Mode: macvlan bridge, vepa, passthru; ipvlan l2, l3, l3s
//	family          Topology.Family: ipv4, ipv6
//	mtu             Topology.MTU (0: the kind's default)
//	tx_queues, rx_queues, peer_tx_queues, peer_rx_queues   Topology queue counts
//	pkt_size        Traffic.FrameSize, bytes without FCS
//	flows, senders, rate, batch, rcvbuf, generator         Traffic fields of the same names
//	udp_gso         Traffic.GSO: UDP GSO datagrams per send (udp generator; gso is the ethtool knob)
//	qdisc_bypass    Traffic.QdiscBypass: on or off (packet generator)
//	proto           Traffic.Proto: udp or tcp (rr generator)
//
// Every other key is a knob, looked up in the Catalog passed to Parse
// (txqueuelen, qdisc, gro, xdp, sysctl.net.core.rmem_max, ...); the catalog
// checks the value and gives its canonical form. A knob the spec does not
// mention is left alone. Traffic.Drain is left 0.
//
// YAML scalars are taken as written, with one exception: YAML 1.2 reads
// true and false as booleans, and a knob given one gets "on" or "off"
// (on, off, yes and no are plain strings, passed to the catalog as they
// are). Integer dimensions want integers (a quoted "64" is a string and an
// error); rate wants a finite number; durations want a unit.
//
// # Precedence and order
//
// Each case starts from the defaults of `vethbench run` (veth, ipv4, 64 B,
// 1 flow, 1 sender, batch 64, generator udp), then takes the spec's
// defaults, then its group's set, one_of entry and vary values. Within a
// group a key is under at most one of set, one_of and vary. A vary value
// may be a list or a single value. The grid of a group is the product of
// its one_of entries (the outer loop) and its vary lists in file order (the
// last varying fastest); Expand returns the groups' cases in that order.
//
// # Names and merging
//
// CaseSpec.Name is plan.Case.Name (with /udp_gso=, /qdisc_bypass=on,
// /generator= and /proto= when they apply), plus /batch= and /rcvbuf=
// when they differ from the defaults, plus /knob=value for every knob the
// case sets, in knob name order: "veth/pkt=64/qdisc=pfifo_fast/txqueuelen=1000".
// A knob set to the kernel's default value still differs from a knob left
// alone. Two points of one group that make the same case are an error. A
// case asked for by several groups is measured once: it appears where the
// first group puts it, and CaseSpec.Groups and Questions list every group
// that asks for it.
//
// # Limits
//
// A sweep of more than MaxCases (200) cases is refused by Check unless
// forced; more than HardMaxCases (10000) grid points is refused always, by
// Parse and Expand too, before anything is built. trials must be enough for
// the confidence asked: an interval of the median from n trials covers at
// most 1 - 2 * 0.5^n (TrialsFor: 6 for 0.95, 8 for 0.99). EstimateDuration
// gives the time a list of cases takes at the minimum number of trials.
//
// # Errors
//
// Every error is one *Error, "file:line: path: message", and wraps
// ErrInvalid (the CLI exits 2 on it). The path names the field as the file
// spells it: measure.trials, defaults.pkt_size, groups[1].set.gro,
// groups[1].vary.pkt_size, groups[2].one_of[0].tx_queues. The line is that
// of the offending value (for a vary list, of the element), or of the key
// when the key itself is wrong. The messages:
//
//   - not UTF-8 text, control character, not valid YAML, a second YAML
//     document, empty spec: the file is not one YAML document.
//   - unknown key (known: ...): a key the format does not have; for a
//     misspelt dimension, "did you mean pkt_size?". A key that is neither a
//     dimension nor a knob gets the catalog's error (unknown knob).
//   - duplicate key, listed twice: a key twice in a mapping, a value twice
//     in a vary list.
//   - want an integer / a number / a duration / a name / a mapping ..., got
//     X: the value has the wrong type.
//   - one value here, got a list: a list under defaults or set; lists
//     belong under vary.
//   - missing, empty, empty list: groups, a group's question, a vary list
//     or one_of list with nothing in it.
//   - also under set / vary: a key both fixed and varied in one group.
//   - same question as groups[i]: two groups asking one question.
//   - X out of range ..., unknown topology, has no modes, each sender needs
//     a flow of its own ...: plan.Case.Validate and topology.Spec.Validate
//     refuse a value or a combination. The error points at the most specific
//     value involved (a vary element before a set value before a default);
//     when that is not the field the message is about, the message starts
//     with the field: "groups[0].vary.mtu: pkt_size: 1400 bytes out of range
//     [58, 1294]" says that mtu 1280 is too small for 1400-byte frames.
//   - the catalog's message: a knob value the catalog refuses.
//   - max_trials below trials; N trials cannot give a C% interval.
//   - X makes the same case as Y: two grid points of one group are one case.
//   - N cases, above the limit: the grid-size limits.
package spec
