package reports

import (
	"cmp"
	"fmt"
	"io"
	"maps"
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
		fmt.Fprintln(tw, "trial\tsent\treceived\tdropped\tpps\tMB/s\tCPU ns/pkt\tp50 us\tp90 us\tp99 us\tp99.9 us\taccounting\t")
		for _, t := range c.Trials {
			acct := "closed"
			if !t.Closed {
				acct = fmt.Sprintf("OPEN (%+d)", t.Unaccounted)
			}
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t%.1f\t%.0f\t%s\t%s\t%s\t%s\t%s\t\n",
				t.Index+1, t.Sent, t.Received, t.Dropped, Thousands(t.PPS), t.BytesPerSec/1e6, t.CPUNsPerPkt,
				us(t.Latency.P50), us(t.Latency.P90), us(t.Latency.P99), us(t.Latency.P999), acct)
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
		row("pps", s.PPS, Thousands)
		row("device pps", s.DevicePPS, Thousands)
		row("MB/s", s.BytesPerSec, func(v float64) string { return fmt.Sprintf("%.1f", v/1e6) })
		row("CPU ns/pkt", s.CPUNsPerPkt, func(v float64) string { return fmt.Sprintf("%.0f", v) })
		row("latency p50 us", s.P50, us)
		row("latency p90 us", s.P90, us)
		row("latency p99 us", s.P99, us)
		row("latency p99.9 us", s.P999, us)
		tw.Flush()
		acct := "closed in every trial"
		if !s.Closed {
			acct = "NOT CLOSED in some trials"
		}
		fmt.Fprintf(b, "accounting: sent %d = received %d + dropped %d: %s\n", s.Sent, s.Received, s.Dropped, acct)
		if len(s.DropReasons) > 0 {
			fmt.Fprintf(b, "drops by reason (%s): %s\n", c.DropCounter, reasons(s.DropReasons))
		}
		if len(c.Trials) > 0 {
			fmt.Fprintf(b, "latency: one-way, send call to receiver ingress; buckets are %.1f%% wide\n", 100*c.Trials[0].Latency.Resolution)
		}
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(b, "warning: %s\n", w)
	}
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
