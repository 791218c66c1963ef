package kstat

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/vethbench/vethbench/internal/netns"
)

// Device is a device's counters.
type Device struct {
	RxPackets, RxBytes, RxDropped uint64
	TxPackets, TxBytes, TxDropped uint64
	// QdiscDrops are the root qdisc's drops (0 under noqueue).
	QdiscDrops uint64
}

// Sub returns d - o.
func (d Device) Sub(o Device) Device {
	return Device{
		RxPackets: d.RxPackets - o.RxPackets, RxBytes: d.RxBytes - o.RxBytes, RxDropped: d.RxDropped - o.RxDropped,
		TxPackets: d.TxPackets - o.TxPackets, TxBytes: d.TxBytes - o.TxBytes, TxDropped: d.TxDropped - o.TxDropped,
		QdiscDrops: d.QdiscDrops - o.QdiscDrops,
	}
}

// Reader reads the counters of devices in one namespace through a netlink
// handle opened there once, so per-trial reads cost no namespace switch.
type Reader struct {
	ns *netns.NS
	h  *netlink.Handle
}

// NewReader opens a reader for the namespace.
func NewReader(n *netns.NS) (*Reader, error) {
	h, err := n.NetlinkHandle()
	if err != nil {
		return nil, err
	}
	return &Reader{ns: n, h: h}, nil
}

// Close releases the handle; it is idempotent.
func (r *Reader) Close() {
	if r.h != nil {
		r.h.Close()
		r.h = nil
	}
}

// Device reads the counters of ifname.
func (r *Reader) Device(ifname string) (Device, error) {
	l, err := r.h.LinkByName(ifname)
	if err != nil {
		return Device{}, fmt.Errorf("read stats of %q: %w", ifname, err)
	}
	var d Device
	if s := l.Attrs().Statistics; s != nil {
		d = Device{
			RxPackets: s.RxPackets, RxBytes: s.RxBytes, RxDropped: s.RxDropped,
			TxPackets: s.TxPackets, TxBytes: s.TxBytes, TxDropped: s.TxDropped,
		}
	}
	qs, err := r.h.QdiscList(l)
	if err != nil {
		return d, fmt.Errorf("read qdiscs of %q: %w", ifname, err)
	}
	for _, q := range qs {
		a := q.Attrs()
		if a.Parent == netlink.HANDLE_ROOT && a.Statistics != nil && a.Statistics.Queue != nil {
			d.QdiscDrops = uint64(a.Statistics.Queue.Drops)
		}
	}
	return d, nil
}

// SNMP is a namespace's protocol counters, keyed "Proto.Field" for
// /proc/net/snmp (e.g. "Udp.RcvbufErrors") and by their own names for
// /proc/net/snmp6 (e.g. "Udp6RcvbufErrors").
type SNMP map[string]uint64

// Sub returns s - o for every key of s.
func (s SNMP) Sub(o SNMP) SNMP {
	d := make(SNMP, len(s))
	for k, v := range s {
		d[k] = v - o[k]
	}
	return d
}

// SNMP reads the namespace's IPv4 and IPv6 counters.
func (r *Reader) SNMP() (SNMP, error) {
	var v4, v6 []byte
	err := r.ns.Do(func() error {
		var err error
		if v4, err = os.ReadFile("/proc/thread-self/net/snmp"); err != nil {
			return err
		}
		v6, err = os.ReadFile("/proc/thread-self/net/snmp6")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read snmp: %w", err)
	}
	s, err := parseSNMP(v4)
	if err != nil {
		return nil, err
	}
	if err := parseSNMP6(v6, s); err != nil {
		return nil, err
	}
	return s, nil
}

// parseSNMP reads /proc/net/snmp: pairs of lines, "Proto: names..." then
// "Proto: values...".
func parseSNMP(b []byte) (SNMP, error) {
	s := SNMP{}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines)%2 != 0 {
		return nil, fmt.Errorf("parse snmp: odd number of lines")
	}
	for i := 0; i < len(lines); i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) != len(values) || len(names) == 0 || names[0] != values[0] {
			return nil, fmt.Errorf("parse snmp: mismatched lines %q and %q", lines[i], lines[i+1])
		}
		proto := strings.TrimSuffix(names[0], ":")
		for j := 1; j < len(names); j++ {
			// Some fields (Tcp MaxConn) are signed; negatives do not matter here.
			v, err := strconv.ParseInt(values[j], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parse snmp %s.%s: %w", proto, names[j], err)
			}
			s[proto+"."+names[j]] = uint64(v)
		}
	}
	return s, nil
}

// parseSNMP6 reads /proc/net/snmp6: "Name value" per line.
func parseSNMP6(b []byte, into SNMP) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return fmt.Errorf("parse snmp6 %s: %w", f[0], err)
		}
		into[f[0]] = v
	}
	return sc.Err()
}
