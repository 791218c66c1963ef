package bench

// Ports of the measured flows, inside the private namespaces. The
// destination port differs per run (see dstPort) because the drop counter
// watches every namespace of the host and must not count another vethbench
// process's packets.
const (
	dstPortBase  = 47000
	dstPortRange = 2000
	SrcPortBase  = 40000
)

// dstPort derives a run's destination port from its run id (6 hex digits).
func dstPort(runID string) uint16 {
	var h uint32
	for _, c := range runID {
		h = h*31 + uint32(c)
	}
	return uint16(dstPortBase + h%dstPortRange)
}
