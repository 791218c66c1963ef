package bench

import (
	"github.com/vethbench/vethbench/bench/kstat"
	"github.com/vethbench/vethbench/bench/topology"
)

// kernelCounters reads the kernel's own counters of every device and
// namespace of a topology. They cross-check the eBPF drop count, and stand
// in for it on kernels without BTF.
type kernelCounters struct {
	topo    *topology.Topology
	readers []*kstat.Reader // one per namespace, in topo.Namespaces() order
}

func newKernelCounters(topo *topology.Topology) (*kernelCounters, error) {
	k := &kernelCounters{topo: topo}
	for _, n := range topo.Namespaces() {
		r, err := kstat.NewReader(n.NS)
		if err != nil {
			k.close()
			return nil, err
		}
		k.readers = append(k.readers, r)
	}
	return k, nil
}

func (k *kernelCounters) close() {
	for _, r := range k.readers {
		r.Close()
	}
}

// kernelSnap is one reading: device counters by device role, SNMP counters
// by namespace name.
type kernelSnap struct {
	dev  map[string]kstat.Device
	snmp map[string]kstat.SNMP
}

func (k *kernelCounters) read() (kernelSnap, error) {
	s := kernelSnap{dev: map[string]kstat.Device{}, snmp: map[string]kstat.SNMP{}}
	nss := k.topo.Namespaces()
	for i, r := range k.readers {
		v, err := r.SNMP()
		if err != nil {
			return s, err
		}
		s.snmp[nss[i].Name] = v
		for _, d := range k.topo.Devices {
			if d.NS != nss[i].NS {
				continue
			}
			v, err := r.Device(d.Ifname)
			if err != nil {
				return s, err
			}
			s.dev[d.Role] = v
		}
	}
	return s, nil
}

// The device's own stats for the receiving device.
func (s kernelSnap) receiver(t *topology.Topology) kstat.Device {
	for _, d := range t.Devices {
		if d.Ifname == t.Receiver.Ifname && d.NS == t.Receiver.NS {
			return s.dev[d.Role]
		}
	}
	return kstat.Device{}
}

// SNMP counters that see a lost packet, per family. Udp InErrors already
// includes RcvbufErrors, which is shown but not added again.
var (
	snmpDrops = map[topology.Family][]string{
		topology.IPv4: {"Ip.OutDiscards", "Ip.OutNoRoutes", "Ip.InDiscards", "Ip.InHdrErrors", "Ip.InAddrErrors", "Udp.InErrors", "Udp.NoPorts"},
		topology.IPv6: {"Ip6OutDiscards", "Ip6OutNoRoutes", "Ip6InDiscards", "Ip6InHdrErrors", "Ip6InAddrErrors", "Udp6InErrors", "Udp6NoPorts"},
	}
	snmpShown = map[topology.Family][]string{
		topology.IPv4: {"Udp.RcvbufErrors"},
		topology.IPv6: {"Udp6RcvbufErrors"},
	}
)

// drops returns, for the window between a and b, every non-zero drop
// counter by "<device role or namespace>.<counter>" and the sum of those
// that count distinct packets:
//   - each device's tx_dropped and root-qdisc drops. A veth that cannot hand
//     a packet to its peer (a full backlog) counts it as its own tx_dropped
//     and as the peer's rx_dropped; only tx_dropped is added. lo has no
//     peer and counts such drops only as rx_dropped, which is added for it.
//   - each namespace's IP and UDP discard and error counters.
func (k *kernelCounters) drops(a, b kernelSnap) (map[string]uint64, uint64) {
	fam := k.topo.Spec.Family
	out := map[string]uint64{}
	var sum uint64
	note := func(key string, v uint64, counts bool) {
		if v == 0 {
			return
		}
		out[key] = v
		if counts {
			sum += v
		}
	}
	for _, d := range k.topo.Devices {
		v := b.dev[d.Role].Sub(a.dev[d.Role])
		lo := d.Kind == "loopback"
		note(d.Role+".tx_dropped", v.TxDropped, !lo)
		note(d.Role+".rx_dropped", v.RxDropped, lo)
		note(d.Role+".qdisc_drops", v.QdiscDrops, true)
	}
	for _, n := range k.topo.Namespaces() {
		v := b.snmp[n.Name].Sub(a.snmp[n.Name])
		for _, c := range snmpDrops[fam] {
			note(n.Name+"."+c, v[c], true)
		}
		for _, c := range snmpShown[fam] {
			note(n.Name+"."+c, v[c], false)
		}
	}
	return out, sum
}
