package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vethbench/vethbench/reports/result"
)

// caveatText states a caveat about the whole result, without a final
// period: the HTML report puts a link to the flagged cases before it.
func caveatText(c caveat) string {
	n := len(c.Cases)
	switch c.Kind {
	case caveatPrecision:
		return precisionText(c)
	case caveatFlagged:
		return plural(n, "measured case is", "measured cases are") + " flagged (a knob refused or changed, accounting not closed, or rr requests lost or late)"
	case caveatOverflow:
		span := fmt.Sprintf("%.1f%%", 100*c.Lo)
		if c.Hi > c.Lo {
			span += fmt.Sprintf(" to %.1f%%", 100*c.Hi)
		}
		return fmt.Sprintf("the receiving socket overflowed in %d of %d measured cases (%s of packets sent): there pps is what the receiver read, device pps what the path delivered",
			n, c.Of, span)
	case caveatGeneratorBound:
		verb := "are"
		if n == 1 {
			verb = "is"
		}
		return fmt.Sprintf("%d of %d measured cases %s generator-bound (%s): the sending threads were saturated with nothing downstream dropping, so the figure is the generator's limit on that path, not the device's; compare cases at the same generator, and see the packet and xdp generators for what the path itself carries",
			n, c.Of, verb, strings.Join(c.Generators, ", "))
	case caveatRoundTrips:
		return fmt.Sprintf("%d of %d measured rr cases lost requests (never answered) or had responses later than the timeout: the late ones are in the round trips, the lost ones count as slower than every answer, and a percentile that falls on one is only a lower bound",
			n, c.Of)
	case caveatUnsupported:
		return plural(n, "case is", "cases are") + " unsupported on this kernel"
	case caveatFailed:
		return plural(n, "case", "cases") + " failed"
	}
	panic(fmt.Sprintf("caveat kind %d has no text", c.Kind)) // a kind added without its words
}

// precisionText states the cases that did not reach the precision target.
func precisionText(c caveat) string {
	n := len(c.Cases)
	who, verb := fmt.Sprintf("%d of %d measured cases", n, c.Of), "did not reach"
	switch {
	case n == 1 && c.Of == 1:
		who = "The case"
	case n == c.Of:
		who, verb = fmt.Sprintf("None of the %d measured cases", c.Of), "reached"
	}
	target := ""
	if c.Target > 0 {
		target = " of ±" + pct(c.Target)
	}
	m := fmt.Sprintf("%s %s the precision target%s", who, verb, target)
	if c.MaxTrials > 0 {
		m += fmt.Sprintf(" within %d trials", c.MaxTrials)
	}
	if c.Paired {
		if !math.IsInf(c.Lo, 0) {
			m += fmt.Sprintf(": their ratios' intervals to their baselines are ±%.1f%% to ±%.1f%%", 100*c.Lo, 100*c.Hi)
		}
		return m + ". Ratios closer to 1 than that cannot be told from 1"
	}
	if !math.IsInf(c.Lo, 0) {
		m += fmt.Sprintf(": their medians' intervals are ±%.1f%% to ±%.1f%%", 100*c.Lo, 100*c.Hi)
	}
	return m + ". The machine was noisy; differences smaller than that cannot be told apart"
}

// statusText is a case that did not run, as its first flag: "unsupported:
// kernel has no ipvlan support".
func statusText(c *result.Case) string { return strings.TrimSpace(c.Status + ": " + c.Error) }

// flagTexts states what makes a case's figures suspect or absent, once
// each: its status when not ok, its flags, the knobs the kernel refused or
// changed, accounting not closed.
func flagTexts(cc *caseCaveats) []string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if cc.Case.Status != result.StatusOK {
		add(statusText(cc.Case))
	}
	for _, f := range cc.Flags {
		add(f)
	}
	for _, s := range cc.Knobs {
		m := fmt.Sprintf("knob %s on %s %s: asked %s, the kernel has %s", s.Knob, s.Target, s.Status, s.Asked, s.After)
		if s.Detail != "" {
			m += " (" + s.Detail + ")"
		}
		add(m)
	}
	if cc.NotClosed {
		add("accounting did not close in every trial")
	}
	if cc.RoundTrips.suspect() {
		add(roundTripText(cc.RoundTrips))
	}
	return out
}

// roundTripText states an rr case's lost and late requests: "12 of 4,000
// rr requests lost (never answered: 0.3%), 3 responses late (answered
// after the timeout): latency p99 and p99.9 are lower bounds".
func roundTripText(rt roundTrips) string {
	var parts []string
	if rt.Lost > 0 {
		m := fmt.Sprintf("%s of %s rr requests lost (never answered", Thousands(float64(rt.Lost)), Thousands(float64(rt.Requests)))
		if rt.Requests > 0 {
			m += fmt.Sprintf(": %.2g%%", 100*float64(rt.Lost)/float64(rt.Requests))
		}
		parts = append(parts, m+")")
	}
	if rt.Late > 0 {
		parts = append(parts, plural(int(rt.Late), "response", "responses")+" late (answered after the timeout)")
	}
	m := strings.Join(parts, ", ")
	switch n := len(rt.LowerBounds); n {
	case 0:
	case 1:
		m += ": latency " + rt.LowerBounds[0] + " is a lower bound"
	default:
		m += ": latency " + strings.Join(rt.LowerBounds[:n-1], ", ") + " and " + rt.LowerBounds[n-1] + " are lower bounds"
	}
	return m
}

// noteTexts states a case's knob notes, once each: "txqueuelen=100 on
// sender: inert: the root qdisc is noqueue, which queues nothing".
func noteTexts(cc *caseCaveats) []string {
	var out []string
	for _, s := range cc.Notes {
		m := fmt.Sprintf("%s=%s on %s: %s", s.Knob, s.Asked, s.Target, cmp.Or(s.Detail, s.Status))
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}
