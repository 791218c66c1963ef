// Package host reads the machine context every figure depends on: the
// kernel release, architecture, CPU model and vCPU count (ReadInfo), CPU
// time from /proc/stat, in total (ReadCPU), per CPU (ReadPerCPU) or both
// from one read (ReadStat), and options of the kernel's build
// configuration (KernelConfig). The runner turns the differences of CPU
// times into CPU cost per packet (the busy time of the CPUs the run pinned),
// the hypervisor's steal time, and the busy and softirq shares of the CPUs
// the senders are pinned to. The VMs vethbench targets have no hardware
// performance counters, so CPU cost comes from /proc/stat ticks (USER_HZ,
// 10 ms).
//
// Privileges: none. Errors wrap the failing read or parse; a missing field
// (say, no "model name" in /proc/cpuinfo on some architectures) is left
// empty, not an error. KernelConfig returns ErrNoConfig when the kernel's
// configuration is in neither /proc/config.gz nor /boot.
package host
