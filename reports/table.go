package reports

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/vethbench/vethbench/reports/result"
)

// WriteTable writes a result as aligned plain-text tables: the context, each
// case's trials and its summary.
func WriteTable(w io.Writer, r *result.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "vethbench %s  kernel %s  %s  %d vCPUs  steal %.1f%%\n",
		r.Tool.Version, r.Host.Kernel, r.Host.CPUModel, r.Host.VCPUs, r.Host.StealPct)
	fmt.Fprintf(&b, "%d trials of %v after a %v warm-up; intervals at %.0f%%\n",
		r.Settings.Trials, r.Settings.Duration, r.Settings.Warmup, 100*r.Settings.Confidence)
	if r.Interrupted {
		b.WriteString("INTERRUPTED: the run was stopped before it finished\n")
	}
	for _, c := range r.Cases {
		b.WriteString("\n")
		writeCase(&b, c)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeCase(b *strings.Builder, c result.Case) {
	fmt.Fprintf(b, "== %s  [%s]", c.Name, c.Status)
	if c.Counter != "" {
		fmt.Fprintf(b, "  counted at receiver ingress via %s", c.Counter)
	}
	b.WriteString("\n")
	if c.Error != "" {
		fmt.Fprintf(b, "%s: %s\n", c.Status, c.Error)
	}
	if len(c.Trials) > 0 {
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
		rr := c.Traffic.Generator == "rr"
		lostLate := ""
		if rr {
			lostLate = "lost\tlate\t"
		}
		fmt.Fprintf(tw, "trial\tsent\treceived\tdropped\t%s%s\tMB/s\tCPU ns/pkt\tp50 us\tp90 us\tp99 us\tp99.9 us\tgen CPU%%\trcv CPU%%\taccounting\t\n", lostLate, RateName(c.Traffic))
		for _, t := range c.Trials {
			acct := "closed"
			if !t.Closed {
				acct = fmt.Sprintf("OPEN (%+d)", t.Unaccounted)
			}
			if rr {
				lostLate = fmt.Sprintf("%d\t%d\t", t.Lost, t.Late)
			}
			lat := func(p string, v float64) string {
				switch {
				case LatencyKind(c) == "none":
					return "-"
				case t.Latency.IsLowerBound(p):
					return ">=" + us(v)
				}
				return us(v)
			}
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s%s\t%.1f\t%.0f\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%s\t\n",
				t.Index+1, t.Sent, t.Received, t.Dropped, lostLate, Thousands(t.PPS), t.BytesPerSec/1e6, t.CPUNsPerPkt,
				lat(result.PctP50, t.Latency.P50), lat(result.PctP90, t.Latency.P90), lat(result.PctP99, t.Latency.P99), lat(result.PctP999, t.Latency.P999),
				t.GeneratorCPUPct, t.ReceiverCPUPct, acct)
		}
		tw.Flush()
	}
	if s := c.Summary; s != nil {
		b.WriteString("\n")
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "metric\tmedian\tinterval (%s)\tmin .. max\n", level(s.PPS))
		row := func(name string, e result.Estimate, f func(float64) string) {
			fmt.Fprintf(tw, "%s\t%s\t%s .. %s\t%s .. %s\n", name, f(e.Median), f(e.Lo), f(e.Hi), f(e.Min), f(e.Max))
		}
		row(RateName(c.Traffic), s.PPS, Thousands)
		if c.Traffic.Generator == "tcp" {
			row("Gbit/s", s.BytesPerSec, func(v float64) string { return fmt.Sprintf("%.2f", 8*v/1e9) })
		} else {
			row("device pps", s.DevicePPS, Thousands)
			row("MB/s", s.BytesPerSec, func(v float64) string { return fmt.Sprintf("%.1f", v/1e6) })
		}
		row("CPU ns/pkt", s.CPUNsPerPkt, func(v float64) string { return fmt.Sprintf("%.0f", v) })
		if lat := LatencyKind(c); lat != "none" {
			// A median lost requests could raise is a lower bound, and
			// so are the other order statistics of its row.
			latRow := func(name, p string, e result.Estimate) {
				f := us
				if s.IsLowerBound(p) {
					f = func(v float64) string { return ">=" + us(v) }
				}
				row(name, e, f)
			}
			latRow("latency p50 us", result.PctP50, s.P50)
			latRow("latency p90 us", result.PctP90, s.P90)
			latRow("latency p99 us", result.PctP99, s.P99)
			latRow("latency p99.9 us", result.PctP999, s.P999)
		}
		pct := func(v float64) string { return fmt.Sprintf("%.0f", v) }
		row("generator CPU %", s.GeneratorCPUPct, pct)
		row("receiver CPU %", s.ReceiverCPUPct, pct)
		tw.Flush()
		acct := "closed in every trial"
		if !s.Closed {
			acct = "NOT CLOSED in some trials"
		}
		switch c.Traffic.Generator {
		case "tcp":
			fmt.Fprintf(b, "accounting: bytes written %d = bytes read %d: %s\n", s.Sent, s.Received, acct)
		case "rr":
			rt := roundTripsOf(&c)
			fmt.Fprintf(b, "accounting: requests %d = responses %d + lost %d: %s\n", s.Sent, s.Received, rt.Lost, acct)
			if rt.suspect() {
				fmt.Fprintf(b, "warning: %s\n", roundTripText(rt))
			}
		default:
			fmt.Fprintf(b, "accounting: sent %d = received %d + dropped %d: %s\n", s.Sent, s.Received, s.Dropped, acct)
		}
		if bn := s.Bottleneck; bn != nil {
			fmt.Fprintf(b, "limit: %s: %s\n", bn.Side, bn.Detail)
		}
		if len(s.DropReasons) > 0 {
			fmt.Fprintf(b, "drops by reason (%s): %s\n", c.DropCounter, reasons(s.DropReasons))
		}
		if len(c.Trials) > 0 && LatencyKind(c) != "none" {
			fmt.Fprintf(b, "latency: %s; buckets are %.1f%% wide\n", LatencyMeaning(c), 100*c.Trials[0].Latency.Resolution)
		}
		if c.Traffic.Bypasses != "" {
			fmt.Fprintf(b, "generator %s: %s\n", c.Traffic.Generator, c.Traffic.Bypasses)
		}
		writeStages(b, c)
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(b, "warning: %s\n", w)
	}
}

// writeStages says where the one-way time went, stage by stage, when the
// case was measured with stages: the medians over the trials of each
// stage's mean, p50 and p99, and its share of the trip's mean.
func writeStages(b *strings.Builder, c result.Case) {
	cs := stagesOfCase(&c)
	if cs == nil {
		return
	}
	fmt.Fprintf(b, "stages, boundaries %s (median over trials; each datagram's stages add up to its total)%s:\n", strings.Join(cs.Boundaries, ", "), cs.readNote())
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  stage\tmean us\tp50 us\tp99 us\tshare\n")
	row := func(st result.StageSummary, share string) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", st.Name, usNum(st.MeanNs.Median), usNum(st.P50.Median), usNum(st.P99.Median), share)
	}
	for _, st := range cs.Stages {
		share := "-"
		if v := cs.share(st); !math.IsNaN(v) {
			share = pctOf(v)
		}
		row(st, share)
	}
	if cs.HasTotal {
		row(cs.Total, "-")
	}
	tw.Flush()
}

func level(e result.Estimate) string {
	return fmt.Sprintf("%.1f%%", 100*e.Level)
}

func us(ns float64) string { return fmt.Sprintf("%.1f", ns/1e3) }

// Thousands formats a number with thousands separators: 1234567 -> "1,234,567".
func Thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// reasons formats drop counts by reason, largest first.
func reasons(m map[string]uint64) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// RateName names a case's main rate by what it counts.
func RateName(t result.Traffic) string {
	switch t.Generator {
	case "tcp":
		return "segments/s"
	case "rr":
		return "transactions/s"
	}
	return "pps"
}

// LatencyKind is "one-way", "round-trip" or "none" (tcp).
func LatencyKind(c result.Case) string {
	for _, t := range c.Trials {
		if t.Latency.Kind != "" {
			return t.Latency.Kind
		}
	}
	return "one-way"
}

// LatencyMeaning says in words what a case's latency measures.
func LatencyMeaning(c result.Case) string {
	switch LatencyKind(c) {
	case "round-trip":
		return "round trip, from each request's intended send time to its response read by the client"
	case "none":
		return "none (a TCP stream carries no timestamps)"
	}
	switch c.Traffic.Generator {
	case "packet", "xdp":
		return "one-way, the frame's stamp (one per send batch) to receiver ingress"
	}
	return "one-way, send call to receiver ingress"
}
