package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vethbench/vethbench/bench/probe"
)

func newDoctorCmd(stdout, stderr io.Writer) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Report what this kernel supports of what vethbench uses, by probing it",
		Long: `doctor finds out what the running kernel supports by trying each thing, never
by reading its version, and prints one line per item: yes, no (the kernel
lacks it; the detail says how the kernel said so), unknown (a measurement
could not tell) or error (the probe itself failed). Everything is made in
fresh anonymous network namespaces and removed again; no interface of the
host is touched, no packet leaves those namespaces and no setting is
changed. It takes one to two seconds.

What is probed, and why it matters to vethbench:

  device kinds   veth, macvlan and ipvlan (on one end of a veth pair), bridge,
                 netkit, dummy, vxlan. A topology needing a kind the kernel
                 lacks is reported unsupported (exit code 3), not attempted.
  XDP            native (driver) and generic (skb) mode on veth, macvlan,
                 ipvlan and bridge. XDP on a veth switches its receive path to
                 NAPI and so changes what is measured: vethbench counts with
                 TC or tracepoints unless XDP is itself the knob.
  TC             TCX (6.6+) and cls_bpf at ingress: where the packet counters
                 attach. TCX is a BPF link; cls_bpf the fallback on older
                 kernels.
  qdiscs         each one added as a veth's root qdisc and deleted. veth
                 defaults to noqueue, where txqueuelen does nothing until a
                 queueing qdisc is attached.
  BPF            BTF (/sys/kernel/btf/vmlinux), the JIT, fentry, kprobes, and
                 the tracepoints skb:kfree_skb (drop reasons),
                 net:netif_receive_skb and napi:napi_poll as tp_btf and raw_tp.
  sysctls        net.core.rmem_max, wmem_max, rmem_default, wmem_default,
                 netdev_max_backlog, netdev_budget, busy_poll, busy_read: global
                 knobs that only the initial namespace can set. Writability is
                 tested by opening the file for writing, never by writing.
  CPU            vCPUs, model and steal time over the probing window: the
                 context every figure depends on. IRQ time accounting: whether
                 a thread's CPU clock excludes the softirq work run while it
                 ran (yes: CONFIG_IRQ_TIME_ACCOUNTING, enabled) or includes it
                 (no). On veth the receive path runs in softirq on the sending
                 CPU, so the generator's CPU % means different things on the
                 two kinds of kernel; CPU ns/pkt, from the pinned CPUs'
                 /proc/stat, does not. A build without the option settles it;
                 otherwise a thread pinned to one CPU sends UDP GSO datagrams
                 to itself over a scratch namespace's loopback and its clock
                 is compared with the CPU's softirq time.

Most of it needs root (namespaces, devices, BPF). Without root it still
reports what needs none (kernel, CPU, the sysctls' values) and marks the
rest "needs root". Exit code 0 even when items are unsupported or need
root: it is a report.`,
		Example: `  sudo vethbench doctor
  sudo vethbench doctor --format json | jq '.items[] | select(.status != "yes")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageErr(fmt.Errorf("--format: unknown format %q (table or json)", format))
			}
			r, err := probe.Run(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(r)
			} else {
				err = probe.WriteTable(stdout, r)
			}
			if n := len(r.With(probe.Error)); n > 0 && err == nil {
				// Still exit 0: the report is the product, and it says what failed.
				fmt.Fprintf(stderr, "vethbench doctor: %d probes failed (status \"error\"); their detail says why\n", n)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "what goes to stdout: table|json")
	return cmd
}
