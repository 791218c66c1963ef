// Package host reads the machine context that every figure depends on:
// kernel release, CPU model, vCPU count, and CPU time from /proc/stat, which
// gives CPU cost per packet and the hypervisor's steal time. Hardware
// performance counters do not exist on the VMs vethbench targets, so CPU
// cost comes from /proc/stat ticks (USER_HZ, 10 ms), summed over all CPUs.
//
// Privileges: none. Errors wrap the failing read; a missing field (say, no
// "model name" in /proc/cpuinfo on some architectures) is left empty, not an
// error.
package host
