package reports

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vethbench/vethbench/reports/result"
)

// WriteSummary writes one line per case: what a sweep prints at its end.
func WriteSummary(w io.Writer, r *result.Result) error {
	var b strings.Builder
	if r.Interrupted {
		b.WriteString("INTERRUPTED: the cases below finished; the rest did not run\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tstatus\tpps (median)\tinterval\tdevice pps\tCPU ns/pkt\tp99 us\tdropped\tnotes")
	for _, c := range r.Cases {
		notes := strings.Join(c.Flags, "; ")
		if c.Status != result.StatusOK {
			notes = c.Error
		}
		if s := c.Summary; s != nil {
			p99 := us(s.P99.Median)
			if s.IsLowerBound(result.PctP99) {
				p99 = ">=" + p99 // lost rr requests: at least this
			}
			if rt := roundTripsOf(&c); c.Traffic.Generator == "rr" && rt.suspect() {
				notes = strings.TrimPrefix(notes+"; "+roundTripText(rt), "; ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s .. %s (%.0f%%)\t%s\t%.0f\t%s\t%d\t%s\n", c.Name, c.Status,
				Thousands(s.PPS.Median), Thousands(s.PPS.Lo), Thousands(s.PPS.Hi), 100*s.PPS.Level,
				Thousands(s.DevicePPS.Median), s.CPUNsPerPkt.Median, p99, s.Dropped, notes)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t%s\n", c.Name, c.Status, notes)
		}
	}
	tw.Flush()
	writePairedSummary(&b, r)
	writeStagesSummary(&b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeStagesSummary says, for each question whose cases were stamped by
// stage (measure.stages), which stage each case changed against its
// baseline: the sentences of the report's "Where the time goes".
func writeStagesSummary(b *strings.Builder, r *result.Result) {
	if !anyStages(r) {
		return
	}
	for _, q := range analyze(r).stageQuestions() {
		if len(q.Change) == 0 {
			continue
		}
		fmt.Fprintf(b, "\nWhere the time goes: %s\n", questionText(q.g))
		for _, ch := range q.Change {
			fmt.Fprintf(b, "  %s\n", ch.sentence().Plain())
		}
	}
}

// writePairedSummary lists, for each interleaved question, every case's
// paired ratios to the question's baseline, block by block: the figures
// the answers are made of (the report compares each case with the
// baseline of its own context, packet size and the like).
func writePairedSummary(b *strings.Builder, r *result.Result) {
	for _, q := range r.Questions {
		p := q.Paired
		if p == nil || len(p.Cases) < 2 {
			continue
		}
		fmt.Fprintf(b, "\n%s\n  against %s, %d blocks of %v slices; %s\n", q.Text, q.Baseline, p.Blocks, p.Slice, p.Stop)
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  case\tpps ratio\tinterval\tCPU/pkt ratio\tinterval")
		for _, c := range p.Cases {
			if c.Case == q.Baseline {
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Case, summaryRatio(c.PPSRatio), summaryInterval(c.PPSRatio), summaryRatio(c.CPURatio), summaryInterval(c.CPURatio))
		}
		tw.Flush()
	}
}

func summaryRatio(r *result.Ratio) string {
	if r == nil || !finiteAll(r.Ratio) {
		return notApplicable
	}
	return fmt.Sprintf("%.3fx", r.Ratio)
}

func summaryInterval(r *result.Ratio) string {
	if r == nil {
		return ""
	}
	if !finiteAll(r.Lo, r.Hi) {
		return notApplicable
	}
	return fmt.Sprintf("%.3f-%.3f (%.0f%%)", r.Lo, r.Hi, 100*r.Level)
}
