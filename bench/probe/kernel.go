package probe

import (
	"fmt"
	"strconv"
	"time"

	"github.com/vethbench/vethbench/bench/host"
)

// kernel reports the release and architecture.
func (p *prober) kernel() {
	info, err := host.ReadInfo()
	if err != nil {
		p.fail(GroupKernel, "release", err)
		return
	}
	p.yes(GroupKernel, "release", info.Kernel)
	p.yes(GroupKernel, "arch", info.Arch)
}

// cpu reports vCPUs, the CPU model and the steal time between cpu0 (read
// when Run started) and now.
func (p *prober) cpu(cpu0 host.CPUTimes, cpu0Err error) {
	info, err := host.ReadInfo()
	if err != nil {
		p.fail(GroupCPU, "vcpus", err)
	} else {
		p.yes(GroupCPU, "vcpus", strconv.Itoa(info.VCPUs))
		if info.CPUModel == "" {
			p.no(GroupCPU, "model", "no \"model name\" in /proc/cpuinfo")
		} else {
			p.yes(GroupCPU, "model", info.CPUModel)
		}
	}
	if cpu0Err != nil {
		p.fail(GroupCPU, "steal", cpu0Err)
		return
	}
	cpu1, err := host.ReadCPU()
	if err != nil {
		p.fail(GroupCPU, "steal", err)
		return
	}
	d := cpu1.Sub(cpu0)
	// Total is summed over all CPUs; per CPU it is the wall-clock window.
	window := d.Total()
	if info.VCPUs > 0 {
		window /= time.Duration(info.VCPUs)
	}
	p.yes(GroupCPU, "steal", fmt.Sprintf("%.1f%% of CPU time over %v (from /proc/stat, 10 ms ticks)",
		d.Pct(d.Steal), window.Round(10*time.Millisecond)))
}
