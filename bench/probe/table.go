package probe

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// groupTitles head the groups in the table.
var groupTitles = map[string]string{
	GroupKernel:      "kernel",
	GroupDevice:      "device kinds (created in a scratch namespace)",
	GroupXDP:         "XDP (trivial XDP_PASS program attached and detached)",
	GroupTC:          "TC ingress attachment",
	GroupQdisc:       "qdiscs (added as root on a veth, then deleted)",
	GroupBPF:         "BPF",
	GroupTracepoint:  "tracepoints vethbench hooks",
	GroupSysctl:      "global sysctls, writable from the initial namespace (opened for writing, never written)",
	GroupSysctlChild: "the same sysctls, writable from a child namespace",
	GroupCPU:         "CPU",
}

// WriteTable writes the report grouped by Group, one aligned row per item
// (name, status, detail), and a closing summary line.
func WriteTable(w io.Writer, r Report) error {
	bw := bufio.NewWriter(w)
	nameW, statusW := 0, len(Error)
	for _, it := range r.Items {
		nameW = max(nameW, len(it.Name))
		statusW = max(statusW, len(it.Status))
	}
	for i, g := range r.Groups() {
		if i > 0 {
			fmt.Fprintln(bw)
		}
		title := groupTitles[g]
		if title == "" {
			title = g
		}
		fmt.Fprintln(bw, title)
		for _, it := range r.Items {
			if it.Group != g {
				continue
			}
			line := fmt.Sprintf("  %-*s  %-*s  %s", nameW, it.Name, statusW, it.Status, it.Detail)
			fmt.Fprintln(bw, strings.TrimRight(line, " "))
		}
	}
	if len(r.Items) > 0 {
		fmt.Fprintln(bw)
	}
	fmt.Fprintln(bw, Summary(r))
	return bw.Flush()
}

// Summary is one line: the counts, then the unsupported items by group,
// the items that could not be told and the probes that failed.
func Summary(r Report) string {
	no, unknown, failed := r.With(No), r.With(Unknown), r.With(Error)
	errs := "errors"
	if len(failed) == 1 {
		errs = "error"
	}
	s := fmt.Sprintf("%d items: %d yes, %d unsupported, ", len(r.Items), len(r.With(Yes)), len(no))
	if len(unknown) > 0 {
		s += fmt.Sprintf("%d unknown, ", len(unknown))
	}
	root := r.With(NeedsRoot)
	if len(root) > 0 {
		s += fmt.Sprintf("%d need root, ", len(root))
	}
	s += fmt.Sprintf("%d %s", len(failed), errs)
	if len(no) > 0 {
		s += ". Unsupported: " + byGroup(r, no)
	}
	if len(unknown) > 0 {
		s += ". Unknown: " + byGroup(r, unknown)
	}
	if len(failed) > 0 {
		s += ". Errors: " + byGroup(r, failed)
	}
	if len(root) > 0 {
		s += ". Needs root: " + byGroup(r, root) + " (run it as root to probe them)"
	}
	return s
}

// byGroup renders "device ipvlan, netkit; qdisc fq, sfq", or "sysctl-child
// all 8" when every item of a group is listed.
func byGroup(r Report, items []Item) string {
	var parts []string
	for _, g := range (Report{Items: items}).Groups() {
		var names []string
		for _, it := range items {
			if it.Group == g {
				names = append(names, it.Name)
			}
		}
		total := 0
		for _, it := range r.Items {
			if it.Group == g {
				total++
			}
		}
		if total == len(names) && total > 2 {
			parts = append(parts, fmt.Sprintf("%s all %d", g, total))
		} else {
			parts = append(parts, g+" "+strings.Join(names, ", "))
		}
	}
	return strings.Join(parts, "; ")
}
