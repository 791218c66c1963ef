// Package host reads the machine context every figure depends on: the
// kernel release, architecture, CPU model and vCPU count (ReadInfo), and CPU
// time from /proc/stat, in total (ReadCPU) and per CPU (ReadPerCPU). The
// runner turns the differences into CPU cost per packet, the hypervisor's
// steal time, and the softirq share of the CPUs the senders are pinned to.
// The VMs vethbench targets have no hardware performance counters, so CPU
// cost comes from /proc/stat ticks (USER_HZ, 10 ms), summed over CPUs.
//
// Privileges: none. Errors wrap the failing read or parse; a missing field
// (say, no "model name" in /proc/cpuinfo on some architectures) is left
// empty, not an error.
package host
