package reports

// Caveats qualify a result's figures. caveatsOf computes them once, as
// values; the HTML and the Markdown report render the same values
// (caveattext.go has their words).

import (
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/vethbench/vethbench/reports/result"
)

// caveats are a result's caveats: those about the whole result, and each
// case's.
type caveats struct {
	// Result lists the caveats about the whole result that hold, in the
	// order the reports list them.
	Result []caveat
	// Cases has one entry per case of the result, in its order.
	Cases  []caseCaveats
	byCase map[*result.Case]*caseCaveats
}

// of returns the caveats of c, a case of the result.
func (cv *caveats) of(c *result.Case) *caseCaveats { return cv.byCase[c] }

// find returns the result's caveat of a kind, if it holds.
func (cv *caveats) find(k caveatKind) (caveat, bool) {
	i := slices.IndexFunc(cv.Result, func(c caveat) bool { return c.Kind == k })
	if i < 0 {
		return caveat{}, false
	}
	return cv.Result[i], true
}

type caveatKind int

const (
	// Cases that stopped before their median's interval reached the
	// precision target.
	caveatPrecision caveatKind = iota
	// Measured cases that are flagged (caseCaveats.flagged).
	caveatFlagged
	// Measured cases whose receiving socket dropped more than
	// overflowShare of the packets sent.
	caveatOverflow
	// Measured cases whose figure is their generator's limit
	// (result.BoundGenerator), not the device's.
	caveatGeneratorBound
	// Measured rr cases with requests never answered or responses
	// slower than the timeout.
	caveatRoundTrips
	// Cases unsupported on this kernel.
	caveatUnsupported
	// Cases that failed.
	caveatFailed
)

// caveat is a caveat about the whole result: some of its cases share a
// condition.
type caveat struct {
	Kind caveatKind
	// Cases are the cases concerned, by name, in the result's order.
	Cases []string
	// Of is how many cases could have been concerned: those measured
	// (status ok, with a summary; for caveatOverflow with packets sent;
	// for caveatRoundTrips of the rr generator); for caveatFlagged,
	// caveatUnsupported and caveatFailed every case.
	Of int
	// Lo and Hi span a figure over Cases: for caveatOverflow the share of
	// packets sent the socket dropped, for caveatPrecision the medians'
	// relative half-widths (both infinite when no case has a median).
	Lo, Hi float64
	// Generators are, for caveatGeneratorBound, the generators concerned,
	// sorted.
	Generators []string
	// Target and MaxTrials are, for caveatPrecision, the sweep's precision
	// target and trial limit (0: none).
	Target    float64
	MaxTrials int
	// Paired is set, for caveatPrecision, when the target was one of the
	// paired ratios' intervals (an interleaved sweep): Lo and Hi span
	// those.
	Paired bool
}

// overflowShare is the share of packets sent dropped as SOCKET_RCVBUFF
// above which the receiving socket counts as overflowed, as bench warns.
const overflowShare = 0.01

// caseCaveats is what qualifies one case's figures.
type caseCaveats struct {
	Case *result.Case
	// Flags are the case's own flags (result.Case.Flags).
	Flags []string
	// Knobs are the settings the kernel refused, changed or does not
	// support.
	Knobs []result.Setting
	// NotClosed is set when a measured case's accounting did not close in
	// every trial.
	NotClosed bool
	// Warnings are the case's warnings but its stop reason, which the
	// precision caveat sums up over all cases.
	Warnings []string
	// Notes are knob findings that are no flag: a knob not applicable to
	// the device, or one the kernel took but reports a detail of (inert).
	Notes []result.Setting
	// Overflow is the share of packets sent that the receiving socket
	// dropped, when over overflowShare; else 0.
	Overflow float64
	// Imprecise is set when the case stopped without reaching the
	// precision target (its stop reason is also a warning).
	Imprecise bool
	// GeneratorBound is set when a measured case's figure is its
	// generator's limit.
	GeneratorBound bool
	// RoundTrips is, for a measured rr case, what its trials say about
	// requests never answered and responses slower than the timeout.
	RoundTrips roundTrips
}

// roundTrips sums an rr case's trials: requests sent, lost (never
// answered) and late (answered after the timeout), and names the latency
// medians that lost requests make lower bounds.
type roundTrips struct {
	Requests, Lost, Late uint64
	LowerBounds          []string // result.Summary.LatencyLowerBounds
}

// roundTripsOf sums c's trials, as old files have no sums in the summary.
func roundTripsOf(c *result.Case) roundTrips {
	var rt roundTrips
	for _, t := range c.Trials {
		rt.Requests += t.Sent
		rt.Lost += t.Lost
		rt.Late += t.Late
	}
	rt.LowerBounds = c.Summary.LatencyLowerBounds
	return rt
}

// suspect reports whether requests were lost or late.
func (rt roundTrips) suspect() bool { return rt.Lost > 0 || rt.Late > 0 }

// flagged reports whether a case's figures are suspect or absent: it did
// not run, has a flag, a knob did not take its value, its accounting did
// not close, or it is rr with requests lost or late.
func (cc *caseCaveats) flagged() bool {
	return cc.Case.Status != result.StatusOK || len(cc.Flags) > 0 || len(cc.Knobs) > 0 || cc.NotClosed || cc.RoundTrips.suspect()
}

// measured reports whether a case ran and has figures.
func measured(c *result.Case) bool { return c.Status == result.StatusOK && c.Summary != nil }

func caveatsOf(r *result.Result) caveats {
	cv := caveats{byCase: map[*result.Case]*caseCaveats{}}
	for i := range r.Cases {
		cv.Cases = append(cv.Cases, caseCaveatsOf(&r.Cases[i]))
	}
	for i := range cv.Cases {
		cv.byCase[cv.Cases[i].Case] = &cv.Cases[i]
	}
	precision := caveat{Kind: caveatPrecision, Lo: math.Inf(1), Hi: math.Inf(-1), Target: r.Settings.Target, MaxTrials: r.Settings.MaxTrials}
	flagged := caveat{Kind: caveatFlagged, Of: len(r.Cases)}
	overflow := caveat{Kind: caveatOverflow, Lo: math.Inf(1), Hi: math.Inf(-1)}
	bound := caveat{Kind: caveatGeneratorBound}
	roundTrips := caveat{Kind: caveatRoundTrips}
	unsupported := caveat{Kind: caveatUnsupported, Of: len(r.Cases)}
	failed := caveat{Kind: caveatFailed, Of: len(r.Cases)}
	gens := map[string]bool{}
	// An interleaved sweep's precision is its ratios': each case's widest
	// pps or CPU ratio interval over the questions that compare it.
	ratioHW := map[string]float64{}
	for _, q := range r.Questions {
		if q.Paired == nil {
			continue
		}
		precision.Paired = true
		for _, pc := range q.Paired.Cases {
			for _, x := range []*result.Ratio{pc.PPSRatio, pc.CPURatio} {
				if x != nil && x.Ratio > 0 {
					ratioHW[pc.Case] = math.Max(ratioHW[pc.Case], (x.Hi-x.Lo)/2/x.Ratio)
				}
			}
		}
	}
	for i := range cv.Cases {
		cc := &cv.Cases[i]
		c := cc.Case
		switch c.Status {
		case result.StatusUnsupported:
			unsupported.Cases = append(unsupported.Cases, c.Name)
		case result.StatusFailed:
			failed.Cases = append(failed.Cases, c.Name)
		case result.StatusOK:
			if cc.flagged() {
				flagged.Cases = append(flagged.Cases, c.Name)
			}
		}
		if !measured(c) {
			continue
		}
		precision.Of++
		bound.Of++
		if hw, ok := ratioHW[c.Name]; ok {
			// Interleaved: the target was the ratios' intervals.
			if precision.Target > 0 && hw > precision.Target {
				cc.Imprecise = true
				precision.Cases = append(precision.Cases, c.Name)
				precision.Lo, precision.Hi = math.Min(precision.Lo, hw), math.Max(precision.Hi, hw)
			}
		} else if cc.Imprecise {
			precision.Cases = append(precision.Cases, c.Name)
			if e := c.Summary.PPS; e.Median > 0 {
				hw := math.Max(e.Hi-e.Median, e.Median-e.Lo) / e.Median
				precision.Lo, precision.Hi = math.Min(precision.Lo, hw), math.Max(precision.Hi, hw)
			}
		}
		if cc.GeneratorBound {
			bound.Cases = append(bound.Cases, c.Name)
			gens[c.Traffic.Generator] = true
		}
		if c.Traffic.Generator == "rr" {
			roundTrips.Of++
			if cc.RoundTrips.suspect() {
				roundTrips.Cases = append(roundTrips.Cases, c.Name)
			}
		}
		if c.Summary.Sent == 0 {
			continue
		}
		overflow.Of++
		if cc.Overflow > 0 {
			overflow.Cases = append(overflow.Cases, c.Name)
			overflow.Lo, overflow.Hi = math.Min(overflow.Lo, cc.Overflow), math.Max(overflow.Hi, cc.Overflow)
		}
	}
	bound.Generators = slices.Sorted(maps.Keys(gens))
	for _, c := range []caveat{precision, flagged, overflow, bound, roundTrips, unsupported, failed} {
		if len(c.Cases) > 0 {
			cv.Result = append(cv.Result, c)
		}
	}
	return cv
}

func caseCaveatsOf(c *result.Case) caseCaveats {
	cc := caseCaveats{Case: c, Imprecise: c.Stop != "" && slices.Contains(c.Warnings, c.Stop)}
	for _, f := range c.Flags {
		if f != "" {
			cc.Flags = append(cc.Flags, f)
		}
	}
	for _, s := range c.Settings {
		switch {
		case s.Status == "refused" || s.Status == "changed" || s.Status == "unsupported":
			cc.Knobs = append(cc.Knobs, s)
		case s.Status == "not applicable" || s.Detail != "" && (s.Status == "ok" || s.Status == ""):
			cc.Notes = append(cc.Notes, s)
		}
	}
	for _, w := range c.Warnings {
		if w != c.Stop && !slices.Contains(cc.Warnings, w) {
			cc.Warnings = append(cc.Warnings, w)
		}
	}
	s := c.Summary
	if s == nil {
		return cc
	}
	cc.NotClosed = !s.Closed && c.Status == result.StatusOK
	cc.GeneratorBound = c.Status == result.StatusOK && s.Bottleneck != nil && s.Bottleneck.Side == result.BoundGenerator
	if c.Status == result.StatusOK && c.Traffic.Generator == "rr" {
		cc.RoundTrips = roundTripsOf(c)
	}
	if s.Sent > 0 {
		if share := float64(s.DropReasons[socketRcvBuff]) / float64(s.Sent); share > overflowShare {
			cc.Overflow = share
		}
	}
	return cc
}

// socketRcvBuff is the kernel's drop reason of a full receiving socket.
const socketRcvBuff = "SOCKET_RCVBUFF"

// Prefixes of bench's warnings that a caveat of its own already states.
const (
	warnGeneratorBound = "generator-bound: "
	warnOverflow       = "the receiving socket overflowed"
)

// restated reports whether a warning says what a caveat already states
// (generator-bound, socket overflow), and which.
func restated(w string) (caveatKind, bool) {
	switch {
	case strings.HasPrefix(w, warnGeneratorBound):
		return caveatGeneratorBound, true
	case strings.HasPrefix(w, warnOverflow):
		return caveatOverflow, true
	}
	return 0, false
}
