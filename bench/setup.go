package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/bench/traffic"
	vbpf "github.com/vethbench/vethbench/ebpf"
	"github.com/vethbench/vethbench/reports/result"
	"github.com/vethbench/vethbench/tuning"
)

// running holds everything a case has set up, torn down by close.
type running struct {
	c            plan.Case
	topo         *topology.Topology
	counters     *vbpf.Counters
	drops        *vbpf.Drops  // nil where the kernel cannot give drop reasons
	stages       *vbpf.Stages // nil unless measure.stages asked for them
	kernel       *kernelCounters
	load         *load
	knobs        map[string]result.DeviceKnobs
	sysctls      map[string]map[string]string // namespace name -> sysctl knob -> value
	applied      []tuning.Applied
	restore      func() error // puts the knobs back
	knobWarnings []string
	dropCounter  string        // how drops are counted, for the result
	live         func(float64) // receives the live rate; nil for none
	closeErr     error
	senderCPUs   []int     // sender i runs on senderCPUs[i]
	receiverCPU  int       // -1: not pinned
	port         *portLock // the destination port, reserved for the case
	// hostKnobs are the host-wide knobs setup left to the interleaved
	// runner, which sets them before each of the case's slices.
	hostKnobs []tuning.Setting

	rcvCancel context.CancelFunc
	rcvDone   sync.WaitGroup
	rcvExit   chan error // the receiver's Run result, once it has returned
}

// setup builds a case and applies its knobs. With hostLater the host-wide
// ones are left out, in r.hostKnobs, for the interleaved runner's switch.
func setup(ctx context.Context, c plan.Case, stages bool, j *tuning.Journal, hostLater bool) (*running, error) {
	topo, err := topology.Realize(ctx, c.Topology)
	if err != nil {
		return nil, err
	}
	r := &running{c: c, topo: topo, rcvCancel: func() {}, restore: func() error { return nil }}
	knobs := c.Knobs
	if c.Traffic.Generator == plan.GenXDP && plan.KnobValue(knobs, "gro") == "" && plan.KnobValue(knobs, "xdp") == "" {
		// veth takes XDP frames only into a peer with NAPI, which GRO
		// turns on; the setting is recorded with the case's own.
		knobs = append(slices.Clone(knobs), tuning.Setting{Name: "gro", Value: "on"})
	}
	if hostLater {
		knobs, r.hostKnobs = tuning.SplitHost(knobs)
	}
	if len(knobs) > 0 {
		if r.applied, r.restore, err = tuning.Apply(ctx, topo, knobs, j); err != nil {
			return r, fmt.Errorf("set knobs: %w", err)
		}
		for _, a := range r.applied {
			if errors.Is(a.Err(), tuning.ErrNotSupported) {
				return r, &topology.UnsupportedError{Reason: a.Err().Error()}
			}
		}
	}
	r.sysctls = map[string]map[string]string{}
	for _, n := range topo.Namespaces() {
		// Like a device knob that cannot be read, a sysctl that cannot be
		// read leaves a hole in the record, not in the measurement.
		var err error
		if r.sysctls[n.Name], err = tuning.ReadNamespace(n.NS); err != nil {
			r.knobWarnings = append(r.knobWarnings, fmt.Sprintf("sysctls of namespace %s: %s", n.Name, strings.ReplaceAll(err.Error(), "\n", "; ")))
		}
	}
	r.knobs = make(map[string]result.DeviceKnobs, len(topo.Devices))
	for _, d := range topo.Devices {
		k, err := tuning.ReadDevice(d.NS, d.Ifname)
		if err != nil {
			return r, fmt.Errorf("read knobs of %s: %w", d.Role, err)
		}
		for _, e := range k.Errors {
			r.knobWarnings = append(r.knobWarnings, fmt.Sprintf("%s %s: %s", d.Role, d.Ifname, e))
		}
		r.knobs[d.Role] = k
	}
	rx := topo.Receiver
	if r.port, err = reservePort(portDir, topo.Spec.RunID); err != nil {
		return r, err
	}
	port := r.port.port
	if r.counters, err = vbpf.AttachIngress(rx.NS, rx.Ifname, vbpf.Options{DstPort: port, Proto: counterProto(c), CostNS: uint32(c.Traffic.CostNS)}); err != nil {
		return r, fmt.Errorf("attach counters: %w", err)
	}
	switch r.drops, err = vbpf.AttachDrops(vbpf.DropOptions{DstPort: port, Proto: counterProto(c)}); {
	case errors.Is(err, vbpf.ErrNotSupported):
		r.dropCounter = "kernel counters"
		r.knobWarnings = append(r.knobWarnings, fmt.Sprintf("drop reasons unavailable (%v): drops are summed from the kernel's device and SNMP counters", err))
	case err != nil:
		return r, fmt.Errorf("attach drop counter: %w", err)
	default:
		r.dropCounter = "kfree_skb via " + r.drops.Hook()
	}
	// Injected by sweep --cost-ns, the knob is not in the case's name: say
	// so wherever the case's figures are read.
	if c.Traffic.CostUnnamed && c.Traffic.CostNS > 0 {
		r.knobWarnings = append(r.knobWarnings, fmt.Sprintf("validation knob: every packet cost %d ns more CPU at the receiver on purpose (sweep --cost-ns): not a real measurement of this case", c.Traffic.CostNS))
	}
	if stages {
		if err := r.attachStages(c, port); err != nil {
			return r, err
		}
	}
	if r.kernel, err = newKernelCounters(topo); err != nil {
		return r, err
	}
	allowed, err := traffic.AllowedCPUs()
	if err != nil {
		return r, err
	}
	var shared string
	if r.senderCPUs, r.receiverCPU, shared = placement(c.Traffic.Senders, allowed); shared != "" {
		r.knobWarnings = append(r.knobWarnings, shared)
	}
	var onRead traffic.ReadHook
	if r.stages != nil && r.stages.ReadByReceiver() {
		onRead = r.stages.Read
	}
	r.load, err = newLoad(c, topo, port, r.senderCPUs, r.receiverCPU, onRead)
	if err != nil {
		return r, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.rcvCancel = cancel
	r.rcvExit = make(chan error, 1)
	r.rcvDone.Go(func() { r.rcvExit <- r.load.server.Run(rctx) })
	return r, nil
}

// close undoes setup in reverse order; safe on a partial setup.
func (r *running) close() {
	if err := r.restore(); err != nil {
		// A value that could not be put back dies with its namespace,
		// except a host-wide one, which stays in the journal for
		// `vethbench cleanup`.
		r.closeErr = fmt.Errorf("restore knobs: %w", err)
	}
	if r.load != nil && r.load.gen != nil {
		r.load.gen.Close()
	}
	r.rcvCancel()
	r.rcvDone.Wait()
	if r.load != nil {
		r.load.close()
	}
	if r.kernel != nil {
		r.kernel.close()
	}
	if r.drops != nil {
		r.drops.Close()
	}
	if r.stages != nil {
		r.stages.Close()
	}
	if r.counters != nil {
		r.counters.Close()
	}
	r.topo.Close()
	// Last: the port is free for another case only once nothing of this
	// one can send to it or count it.
	r.port.release()
}

// attachStages loads the per-stage stamps for c's datagrams (measure.stages).
// Only one-way datagrams have stages: tcp's bytes and rr's round trips do
// not, and say so. A boundary the kernel lacks is a warning; its stage's
// time goes to the next one.
func (r *running) attachStages(c plan.Case, port uint16) error {
	if counterProto(c) != vbpf.ProtoUDP || c.Traffic.Generator == plan.GenRR {
		r.knobWarnings = append(r.knobWarnings, "stages: only one-way datagrams (the udp, packet and xdp generators) are stamped; "+c.Traffic.Generator+" has none")
		return nil
	}
	rx := r.topo.Receiver
	st, err := vbpf.LoadStages(vbpf.StagesOptions{DstPort: port, IngressNS: rx.NS, IngressIfname: rx.Ifname, ReadByReceiver: true})
	if err != nil {
		return fmt.Errorf("attach stage stamps: %w", err)
	}
	r.stages = st
	// Where the receiver marks the read, the result says so (read_by)
	// and the report with it: not a warning, which would flag every case.
	missing := st.Missing()
	for _, b := range []vbpf.Boundary{vbpf.BoundaryQueue, vbpf.BoundaryXmit, vbpf.BoundaryIngress, vbpf.BoundaryRead} {
		e, ok := missing[b]
		switch {
		case !ok:
		case b == vbpf.BoundaryRead:
			r.knobWarnings = append(r.knobWarnings, fmt.Sprintf("stages: no read boundary, so no socket stage: the trip is timed to the receiving device's ingress (%v)", e))
		default:
			r.knobWarnings = append(r.knobWarnings, fmt.Sprintf("stages: no %s boundary, so its stage's time is in the next one (%v)", b, e))
		}
	}
	return nil
}

// settings turns what the knobs became into the result's records, and flags
// the ones the kernel refused or took differently.
func settings(applied []tuning.Applied) ([]result.Setting, []string) {
	var out []result.Setting
	var flags []string
	for _, a := range applied {
		out = append(out, result.Setting{
			Knob: a.Knob, Target: a.Target, Asked: a.Asked, Before: a.Before, After: a.After, Status: a.Status, Detail: a.Detail,
		})
		switch a.Status {
		case tuning.StatusRefused, tuning.StatusChanged:
			flags = append(flags, fmt.Sprintf("knob %s: %s=%s on %s, kernel has %s: %s", a.Status, a.Knob, a.Asked, a.Target, a.After, a.Detail))
		}
	}
	return out, flags
}

// sockMinRcvbuf is the kernel's smallest receive buffer (SOCK_MIN_RCVBUF):
// what any SO_RCVBUF below half of it becomes.
const sockMinRcvbuf = 2304

// rcvbufSetting reads back the receiver's SO_RCVBUF like a knob: the kernel
// keeps twice what was asked (for its bookkeeping), at least sockMinRcvbuf,
// so anything else means it took another size, without CAP_NET_ADMIN its
// cap net.core.rmem_max (rmemMax, read then; < 0 when unknown). ok is false
// when nothing was asked (0: the kernel's default).
func rcvbufSetting(asked, effective, rmemMax int) (s result.Setting, flag string, ok bool) {
	if asked <= 0 {
		return s, "", false
	}
	s = result.Setting{Knob: "rcvbuf", Target: "receiver", Asked: strconv.Itoa(asked), After: strconv.Itoa(effective), Status: tuning.StatusOK}
	if effective == max(2*asked, sockMinRcvbuf) {
		return s, "", true
	}
	s.Status = tuning.StatusChanged
	s.Detail = fmt.Sprintf("the kernel keeps twice what is asked, %d, and has %d", max(2*asked, sockMinRcvbuf), effective)
	if rmemMax >= 0 && effective == 2*rmemMax {
		s.Detail = fmt.Sprintf("capped at net.core.rmem_max (%d, doubled) without CAP_NET_ADMIN", rmemMax)
	}
	flag = fmt.Sprintf("knob %s: %s=%s on %s, kernel has %s: %s", s.Status, s.Knob, s.Asked, s.Target, s.After, s.Detail)
	return s, flag, true
}

// rmemMax is net.core.rmem_max, -1 when it cannot be read.
func rmemMax() int {
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}
