package tuning

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/bench/topology"
)

// Parse of every knob, without privileges.
func TestParseEveryKnob(t *testing.T) {
	type tc struct{ in, want string } // want "" = rejected
	switches := []tc{{"on", "on"}, {"off", "off"}, {" ON ", "on"}, {"1", "on"}, {"0", "off"}, {"true", "on"},
		{"false", "off"}, {"yes", "on"}, {"no", "off"}, {"", ""}, {"2", ""}, {"enabled", ""}}
	cases := map[string][]tc{
		"txqueuelen": {{"0", "0"}, {"1000", "1000"}, {"+0500", "500"}, {" 7 ", "7"}, {"1000000", "1000000"},
			{"1000001", ""}, {"-1", ""}, {"1e3", ""}, {"10k", ""}, {"", ""}, {"0x10", ""}},
		"qdisc": {{"noqueue", "noqueue"}, {"pfifo_fast", "pfifo_fast"}, {"pfifo", "pfifo"}, {"bfifo", "bfifo"},
			{"fq", "fq"}, {"FQ_CODEL", "fq_codel"}, {"sfq", "sfq"}, {"prio", "prio"},
			{"netem", ""}, {"htb", ""}, {"pfifo-fast", ""}, {"", ""}},
		"shape_mbit": {{"0", "0"}, {"100", "100"}, {"+050", "50"}, {"400000", "400000"},
			{"400001", ""}, {"-1", ""}, {"100mbit", ""}, {"", ""}},
		"gro": switches, "gro_list": switches, "udp_gro_forwarding": switches, "gso": switches,
		"tso": switches, "udp_segmentation": switches, "tx_checksum": switches, "threaded_napi": switches,
		"xdp": {{"off", "off"}, {"none", "off"}, {"native", "native"}, {"driver", "native"}, {"drv", "native"},
			{"generic", "generic"}, {"skb", "generic"}, {"offload", ""}, {"on", ""}, {"", ""}},
		"gro_flush_timeout": {{"0", "0"}, {"20000", "20000"}, {"1000000000", "1000000000"},
			{"1000000001", ""}, {"-5", ""}, {"1ms", ""}},
		"napi_defer_hard_irqs": {{"0", "0"}, {"2", "2"}, {"2147483647", "2147483647"},
			{"2147483648", ""}, {"-1", ""}, {"two", ""}},
		"sysctl.net.core.rmem_max":                   {{"4194304", "4194304"}, {"2304", "2304"}, {"2303", ""}, {"2147483648", ""}, {"4M", ""}},
		"sysctl.net.core.wmem_max":                   {{"4608", "4608"}, {"4607", ""}},
		"sysctl.net.core.rmem_default":               {{"212992", "212992"}, {"0", ""}},
		"sysctl.net.core.wmem_default":               {{"212992", "212992"}, {"100", ""}},
		"sysctl.net.core.netdev_max_backlog":         {{"1000", "1000"}, {"1", "1"}, {"0", ""}, {"-1", ""}},
		"sysctl.net.core.netdev_budget":              {{"300", "300"}, {"0", ""}},
		"sysctl.net.core.netdev_budget_usecs":        {{"8000", "8000"}, {"0", "0"}, {"-1", ""}},
		"sysctl.net.core.busy_poll":                  {{"0", "0"}, {"50", "50"}, {"-1", ""}},
		"sysctl.net.core.busy_read":                  {{"0", "0"}, {"50", "50"}, {"x", ""}},
		"sysctl.net.core.dev_weight":                 {{"64", "64"}, {"0", ""}},
		"sysctl.net.ipv4.ip_early_demux":             {{"0", "0"}, {"1", "1"}, {"2", ""}},
		"sysctl.net.ipv4.udp_early_demux":            {{"0", "0"}, {"1", "1"}, {"on", ""}},
		"sysctl.net.ipv4.tcp_early_demux":            {{"0", "0"}, {"1", "1"}, {"-1", ""}},
		"sysctl.net.ipv4.conf.all.rp_filter":         {{"0", "0"}, {"2", "2"}, {"3", ""}},
		"sysctl.net.ipv4.udp_rmem_min":               {{"4096", "4096"}, {"1", "1"}, {"0", ""}},
		"sysctl.net.ipv4.udp_wmem_min":               {{"4096", "4096"}, {"0", ""}},
		"sysctl.net.bridge.bridge-nf-call-iptables":  {{"0", "0"}, {"1", "1"}, {"2", ""}},
		"sysctl.net.bridge.bridge-nf-call-ip6tables": {{"0", "0"}, {"1", "1"}, {"off", ""}},
	}
	for _, k := range Knobs() {
		tcs, ok := cases[k.Name]
		if !ok {
			t.Errorf("knob %s has no Parse cases in this test", k.Name)
			continue
		}
		delete(cases, k.Name)
		for _, c := range tcs {
			got, err := k.Parse(c.in)
			switch {
			case c.want == "" && err == nil:
				t.Errorf("%s.Parse(%q) = %q, want an error", k.Name, c.in, got)
			case c.want == "" && !errors.Is(err, ErrInvalid):
				t.Errorf("%s.Parse(%q): error %v does not wrap ErrInvalid", k.Name, c.in, err)
			case c.want == "" && (!strings.Contains(err.Error(), k.Name) || !strings.Contains(err.Error(), k.Values)):
				t.Errorf("%s.Parse(%q): error %q names neither the knob nor the allowed values %q", k.Name, c.in, err, k.Values)
			case c.want != "" && err != nil:
				t.Errorf("%s.Parse(%q): %v", k.Name, c.in, err)
			case c.want != "" && got != c.want:
				t.Errorf("%s.Parse(%q) = %q, want %q", k.Name, c.in, got, c.want)
			}
		}
		// Every canonical value parses to itself.
		for _, c := range k.Choices {
			if got, err := k.Parse(c); err != nil || got != c {
				t.Errorf("%s.Parse(%q) = %q, %v: a choice must parse to itself", k.Name, c, got, err)
			}
		}
	}
	for name := range cases {
		t.Errorf("test case for %s, which is not a knob", name)
	}
}

func TestCatalog(t *testing.T) {
	ks := Knobs()
	idx := func(name string) int {
		return slices.IndexFunc(ks, func(k *Knob) bool { return k.Name == name })
	}
	if idx("txqueuelen") > idx("qdisc") {
		t.Error("txqueuelen must be applied before qdisc: pfifo and bfifo take their limit from it")
	}
	for _, napi := range []string{"threaded_napi", "gro_flush_timeout", "napi_defer_hard_irqs"} {
		if idx("xdp") > idx(napi) || idx("gro") > idx(napi) {
			t.Errorf("xdp and gro must be applied before %s: they give a veth its NAPI instances", napi)
		}
	}
	send := []topology.End{topology.EndSend, topology.EndBoth}
	recv := []topology.End{topology.EndReceive, topology.EndBoth}
	wantEnds := map[string][]topology.End{
		"txqueuelen": send, "qdisc": send, "shape_mbit": send, "gso": send, "tso": send, "udp_segmentation": send, "tx_checksum": send,
		"gro": recv, "gro_list": recv, "udp_gro_forwarding": recv, "xdp": recv, "threaded_napi": recv,
		"gro_flush_timeout": recv, "napi_defer_hard_irqs": recv,
	}
	seen := map[string]bool{}
	hosts, namespaces := 0, 0
	for _, k := range ks {
		if seen[k.Name] {
			t.Errorf("knob %s twice", k.Name)
		}
		seen[k.Name] = true
		if k.Help == "" || k.Values == "" {
			t.Errorf("%s: no help or no values", k.Name)
		}
		if got, ok := Lookup(k.Name); !ok || got != k {
			t.Errorf("Lookup(%q) does not find the knob", k.Name)
		}
		switch k.Scope {
		case ScopeDevice:
			if !slices.Equal(k.Ends, wantEnds[k.Name]) {
				t.Errorf("%s applies to %v, want %v", k.Name, k.Ends, wantEnds[k.Name])
			}
			if k.dev == nil {
				t.Errorf("%s has no implementation", k.Name)
			}
			if k.Sysctl != "" {
				t.Errorf("%s: a device knob with a sysctl", k.Name)
			}
		case ScopeHost, ScopeNamespace:
			if k.Name != SysctlPrefix+k.Sysctl || len(k.Ends) != 0 || !k.Integer() {
				t.Errorf("%s: a sysctl knob must be named sysctl.NAME, integer, without ends: %+v", k.Name, k)
			}
			if k.Scope == ScopeHost {
				hosts++
			} else {
				namespaces++
			}
		default:
			t.Errorf("%s: scope %q", k.Name, k.Scope)
		}
	}
	for name := range wantEnds {
		if !seen[name] {
			t.Errorf("knob %s missing from the catalog", name)
		}
	}
	if hosts != 10 || namespaces < 6 {
		t.Errorf("%d host sysctls and %d namespace sysctls", hosts, namespaces)
	}
	if k, _ := Lookup("gro"); !k.AppliesTo(topology.Device{End: topology.EndBoth}) || k.AppliesTo(topology.Device{End: topology.EndSend}) ||
		k.AppliesTo(topology.Device{End: topology.EndNone}) {
		t.Error("gro must apply to receiving ends and lo, not to sending ends or a bridge")
	}
	// The catalog cannot be changed through Knobs.
	ks[0] = nil
	if Knobs()[0] == nil {
		t.Error("Knobs returns the catalog itself")
	}
}

func TestRefusedSettings(t *testing.T) {
	for _, c := range []struct {
		settings []Setting
		want     []string // in the error
	}{
		{[]Setting{{"txqueuelength", "10"}}, []string{`unknown knob "txqueuelength"`, "txqueuelen", "qdisc", "sysctl.NAME"}},
		{[]Setting{{"sysctl.kernel.panic", "1"}}, []string{`sysctl "kernel.panic" is not on vethbench's allow-list`,
			"net.core.netdev_max_backlog", "net.ipv4.udp_early_demux"}},
		{[]Setting{{"sysctl.net.core.somaxconn", "1"}}, []string{"allow-list"}},
		{[]Setting{{"sysctl.net/core/rmem_max", "1"}}, []string{"allow-list"}},
		{[]Setting{{"txqueuelen", "2000000"}}, []string{"txqueuelen: 2000000 out of range (want integer 0..1000000 packets)"}},
		{[]Setting{{"gro", "maybe"}}, []string{`gro: unknown value "maybe" (want one of on, off)`}},
		{[]Setting{{"qdisc", "netem"}}, []string{"noqueue, pfifo_fast, pfifo, bfifo, fq, fq_codel, sfq, prio"}},
		{[]Setting{{"gro", "on"}, {"gro", "off"}}, []string{"gro given twice"}},
		// Every bad setting is reported at once.
		{[]Setting{{"xdp", "fast"}, {"nope", "1"}}, []string{"xdp", "nope"}},
	} {
		_, restore, err := Apply(t.Context(), nil, c.settings, nil)
		if err == nil {
			t.Errorf("%v: no error", c.settings)
			continue
		}
		if restore == nil || restore() != nil {
			t.Errorf("%v: restore must be a no-op after a refusal", c.settings)
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: %v does not wrap ErrInvalid", c.settings, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", c.settings, err, w)
			}
		}
	}
	// A valid device knob without a topology, a host knob without a journal.
	if _, _, err := Apply(t.Context(), nil, []Setting{{"gro", "on"}}, nil); err == nil || !strings.Contains(err.Error(), "no topology") {
		t.Errorf("device knob without topology: %v", err)
	}
	if _, _, err := Apply(t.Context(), nil, []Setting{{"sysctl.net.core.busy_poll", "1"}}, nil); err == nil || !strings.Contains(err.Error(), "journal") {
		t.Errorf("host knob without journal: %v", err)
	}
}

func TestValidateOrdersByCatalog(t *testing.T) {
	rs, err := validate([]Setting{{"qdisc", "pfifo"}, {"sysctl.net.core.busy_poll", "0"}, {"threaded_napi", "on"}, {"xdp", "native"}, {"txqueuelen", "9"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.knob.Name)
	}
	want := []string{"txqueuelen", "qdisc", "xdp", "threaded_napi", "sysctl.net.core.busy_poll"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestCatalogParse(t *testing.T) {
	var c Catalog
	if v, err := c.Parse("gro", "1"); err != nil || v != "on" {
		t.Errorf(`Catalog.Parse("gro", "1") = %q, %v`, v, err)
	}
	if v, err := c.Parse("sysctl.net.core.rmem_max", " 8388608"); err != nil || v != "8388608" {
		t.Errorf("Catalog.Parse(rmem_max) = %q, %v", v, err)
	}
	for _, bad := range [][2]string{{"grow", "on"}, {"sysctl.vm.swappiness", "1"}, {"xdp", "maybe"}} {
		if _, err := c.Parse(bad[0], bad[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("Catalog.Parse(%q, %q): %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
}
