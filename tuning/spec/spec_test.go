package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/reports/result"
)

func mustParse(t *testing.T, file, text string) *Spec {
	t.Helper()
	s, err := Parse(file, []byte(text), fakeCatalog{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

func mustExpand(t *testing.T, s *Spec) []CaseSpec {
	t.Helper()
	cs, err := s.Expand()
	if err != nil {
		t.Fatalf("Expand: %v", err)
	}
	return cs
}

func names(cs []CaseSpec) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestDefault(t *testing.T) {
	s, err := Parse(DefaultFile, Default(), fakeCatalog{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(false); err != nil {
		t.Fatal(err)
	}
	cs := mustExpand(t, s)
	want := []string{
		"veth/pkt=64", "veth/pkt=1400",
		"macvlan-bridge/pkt=64", "macvlan-bridge/pkt=1400",
		"ipvlan-l2/pkt=64", "ipvlan-l2/pkt=1400",
		"bridge/pkt=64", "bridge/pkt=1400",
		"loopback/pkt=64", "loopback/pkt=1400",
		"veth/pkt=64/gro=off", "veth/pkt=1400/gro=off", "veth/pkt=64/gro=on", "veth/pkt=1400/gro=on",
		"veth/pkt=64/qdisc=noqueue/txqueuelen=100", "veth/pkt=64/qdisc=noqueue/txqueuelen=1000",
		"veth/pkt=64/qdisc=noqueue/txqueuelen=5000", "veth/pkt=64/qdisc=pfifo_fast/txqueuelen=100",
		"veth/pkt=64/qdisc=pfifo_fast/txqueuelen=1000", "veth/pkt=64/qdisc=pfifo_fast/txqueuelen=5000",
		"veth/pkt=64/flows=2/senders=2/gro=off", "veth/pkt=64/flows=2/senders=2/gro=on",
		"veth/pkt=64/queues=2x2/flows=2/senders=2/gro=off", "veth/pkt=64/queues=2x2/flows=2/senders=2/gro=on",
		"veth/pkt=64/generator=packet", "veth/pkt=64/generator=xdp",
	}
	if got := names(cs); !slices.Equal(got, want) {
		t.Errorf("default cases:\n got %q\nwant %q", got, want)
	}
	m := s.Measure
	if m.Trials < 6 || m.Trials < TrialsFor(m.Confidence) || m.MaxTrials < m.Trials {
		t.Errorf("measure %+v: too few trials for a %v interval", m, m.Confidence)
	}
	est := EstimateDuration(cs, m)
	longest := EstimateLongest(cs, m)
	t.Logf("default spec: %d cases, %d groups, estimated %v, at most %v", len(cs), len(s.Groups), est, longest)
	// The budget: the default sweep in 10 minutes at most.
	if est < 2*time.Minute || longest > 10*time.Minute {
		t.Errorf("estimated %v, at most %v: want at least 2 minutes and at most 10", est, longest)
	}
	// The questions the default must answer.
	has := func(f func(CaseSpec) bool) bool { return slices.ContainsFunc(cs, f) }
	knob := func(c CaseSpec, name, value string) bool {
		return slices.Contains(c.Knobs, Setting{Name: name, Value: value})
	}
	for _, k := range []topology.Kind{topology.KindVeth, topology.KindMacvlan, topology.KindIPvlan, topology.KindBridge, topology.KindLoopback} {
		for _, size := range []int{64, 1400} {
			if !has(func(c CaseSpec) bool { return c.Case.Topology.Kind == k && c.Case.Traffic.FrameSize == size }) {
				t.Errorf("no %s case at %d bytes", k, size)
			}
		}
	}
	for _, v := range []string{"on", "off"} {
		if !has(func(c CaseSpec) bool { return knob(c, "gro", v) }) {
			t.Errorf("no case with gro %s", v)
		}
	}
	for _, q := range []string{"noqueue", "pfifo_fast"} {
		if !has(func(c CaseSpec) bool {
			return knob(c, "qdisc", q) && len(c.Knobs) == 2 && c.Knobs[1].Name == "txqueuelen"
		}) {
			t.Errorf("no txqueuelen case with qdisc %s", q)
		}
	}
	for _, n := range []int{1, 2} {
		if !has(func(c CaseSpec) bool {
			s := c.Case.Topology.WithDefaults()
			return s.TxQueues == n && s.RxQueues == n && c.Case.Traffic.Senders == 2
		}) {
			t.Errorf("no case with %d queues and 2 senders", n)
		}
	}
}

func TestExample(t *testing.T) {
	data, err := os.ReadFile("../../examples/annotated.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse("annotated.yaml", data, fakeCatalog{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(false); err != nil {
		t.Fatal(err)
	}
	cs := mustExpand(t, s)
	// As its header says: 27 grid points, 26 cases, about 5m16s.
	if s.size() != 27 || len(cs) != 26 {
		t.Errorf("%d grid points and %d cases, want 27 and 26", s.size(), len(cs))
	}
	if est := EstimateDuration(cs, s.Measure); est.Round(time.Second) != 316*time.Second {
		t.Errorf("estimate %v, want 5m16s", est)
	}
	if s.Name != "annotated-example" || s.Measure.Seed != 42 || s.Measure.Warmup != 500*time.Millisecond {
		t.Errorf("name %q, measure %+v", s.Name, s.Measure)
	}
	i := slices.IndexFunc(cs, func(c CaseSpec) bool { return c.Name == "veth/pkt=1400" })
	if i < 0 || !slices.Equal(cs[i].Groups, []int{0, 1}) || len(cs[i].Questions) != 2 {
		t.Errorf("veth/pkt=1400 not merged across groups 0 and 1: %+v", cs[i])
	}
	for _, c := range cs {
		if c.Group == 2 && !hasKnob(c, "gro") {
			t.Errorf("%s: YAML booleans not taken as gro on/off", c.Name)
		}
	}
}

func hasKnob(c CaseSpec, name string) bool {
	return slices.ContainsFunc(c.Knobs, func(s Setting) bool { return s.Name == name })
}

func TestGoodSpecs(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.yaml")
	want := map[string]int{"minimal.yaml": 1, "aliases.yaml": 8, "ipv6.yaml": 10, "rate.yaml": 2, "baseline.yaml": 10}
	if len(files) != len(want) {
		t.Fatalf("files %v, want the %d in the table", files, len(want))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		s, err := Parse(name, data, fakeCatalog{})
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if err := s.Check(false); err != nil {
			t.Errorf("%v", err)
		}
		cs := mustExpand(t, s)
		if len(cs) != want[name] {
			t.Errorf("%s: %d cases %q, want %d", name, len(cs), names(cs), want[name])
		}
	}
}

func TestMinimal(t *testing.T) {
	s := mustParse(t, "dir/minimal.yaml", "groups:\n  - question: q\n")
	if s.Name != "minimal" {
		t.Errorf("name %q, want the file's base name", s.Name)
	}
	if !reflect.DeepEqual(s.Measure, DefaultMeasure()) {
		t.Errorf("measure %+v, want the defaults %+v", s.Measure, DefaultMeasure())
	}
	cs := mustExpand(t, s)
	want := CaseSpec{Group: 0, Question: "q", Groups: []int{0}, Questions: []string{"q"}, BaselineOf: []int{0}, Case: builtin(), Name: "veth/pkt=64"}
	if len(cs) != 1 || !reflect.DeepEqual(cs[0], want) {
		t.Errorf("got %+v\nwant %+v", cs, want)
	}
	if err := cs[0].Case.Validate(s.Measure); err != nil {
		t.Error(err)
	}
	if s := mustParse(t, "x y.yaml", "groups:\n  - question: q\n"); s.Name != "sweep" {
		t.Errorf("name %q for an unusable file name, want sweep", s.Name)
	}
}

func TestMeasure(t *testing.T) {
	s := mustParse(t, "m.yaml", `
measure:
  trials: 8
  duration: 1500ms
  confidence: 0.9
  seed: 9223372036854775807
groups: [{question: q}]
`)
	want := plan.Measure{Trials: 8, MaxTrials: 8, Duration: 1500 * time.Millisecond, Warmup: time.Second, Confidence: 0.9, Seed: 1<<63 - 1, Target: DefaultMeasure().Target}
	if s.Measure != want {
		t.Errorf("got %+v, want %+v (max_trials left out equals trials)", s.Measure, want)
	}
}

func TestTrialsFor(t *testing.T) {
	for conf, want := range map[float64]int{0.5: 2, 0.9: 5, 0.95: 6, 0.96875: 6, 0.99: 8, 0.999: 11} {
		if got := TrialsFor(conf); got != want {
			t.Errorf("TrialsFor(%v) = %d, want %d", conf, got, want)
		}
	}
}

// TestPrecedence: built-in defaults < defaults < set, one_of, vary.
func TestPrecedence(t *testing.T) {
	s := mustParse(t, "p.yaml", `
defaults:
  pkt_size: 128
  flows: 4
  qdisc: fq
groups:
  - question: defaults only
  - question: set over defaults
    set: {pkt_size: 256, qdisc: sfq}
  - question: vary over defaults
    set: {flows: 2}
    vary: {pkt_size: [512], qdisc: prio}
  - question: one_of over defaults
    one_of:
      - {pkt_size: 1024}
      - {qdisc: pfifo}
`)
	got := names(mustExpand(t, s))
	want := []string{
		"veth/pkt=128/flows=4/qdisc=fq",
		"veth/pkt=256/flows=4/qdisc=sfq",
		"veth/pkt=512/flows=2/qdisc=prio",
		"veth/pkt=1024/flows=4/qdisc=fq",
		"veth/pkt=128/flows=4/qdisc=pfifo",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestOrder: one_of is the outer loop, then vary keys in file order.
func TestOrder(t *testing.T) {
	s := mustParse(t, "o.yaml", `
groups:
  - question: q
    vary:
      pkt_size: [64, 128]
      gro: [on, off]
    one_of: [{flows: 1}, {flows: 3}]
`)
	got := names(mustExpand(t, s))
	want := []string{
		"veth/pkt=64/gro=on", "veth/pkt=64/gro=off", "veth/pkt=128/gro=on", "veth/pkt=128/gro=off",
		"veth/pkt=64/flows=3/gro=on", "veth/pkt=64/flows=3/gro=off", "veth/pkt=128/flows=3/gro=on", "veth/pkt=128/flows=3/gro=off",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestMerge(t *testing.T) {
	s := mustParse(t, "m.yaml", `
groups:
  - question: A
    vary: {topology: [veth, bridge], gro: on}
  - question: B
    set: {gro: true}
    vary: {pkt_size: [64, 1400]}
  - question: C
    vary: {topology: [bridge, veth], gro: [on]}
`)
	cs := mustExpand(t, s)
	got := names(cs)
	want := []string{"veth/pkt=64/gro=on", "bridge/pkt=64/gro=on", "veth/pkt=1400/gro=on"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !slices.Equal(cs[0].Groups, []int{0, 1, 2}) || !slices.Equal(cs[0].Questions, []string{"A", "B", "C"}) || cs[0].Group != 0 || cs[0].Question != "A" {
		t.Errorf("veth case: %+v", cs[0])
	}
	if !slices.Equal(cs[1].Groups, []int{0, 2}) || !slices.Equal(cs[2].Groups, []int{1}) || cs[2].Question != "B" {
		t.Errorf("cases: %+v", cs)
	}
}

// TestBaseline: each question's baseline is the first case of its group's
// grid, which a case merged from an earlier group can put later in the
// list of cases (group C below), or the case its baseline key selects.
func TestBaseline(t *testing.T) {
	s := mustParse(t, "m.yaml", `
groups:
  - question: A
    vary: {topology: [veth, bridge], gro: on}
  - question: B
    set: {gro: true}
    vary: {pkt_size: [64, 1400]}
  - question: C
    vary: {topology: [bridge, veth], gro: [on]}
  - question: D
    vary: {topology: [veth, bridge], gro: on}
    baseline: {topology: bridge}
`)
	cs := mustExpand(t, s)
	want := []result.Question{
		{Text: "A", Baseline: "veth/pkt=64/gro=on"},
		{Text: "B", Baseline: "veth/pkt=64/gro=on"},
		{Text: "C", Baseline: "bridge/pkt=64/gro=on"},
		{Text: "D", Baseline: "bridge/pkt=64/gro=on"},
	}
	if got := s.Questions(cs); !slices.Equal(got, want) {
		t.Errorf("questions:\n got %+v\nwant %+v", got, want)
	}
	if !slices.Equal(cs[0].BaselineOf, []int{0, 1}) || !slices.Equal(cs[1].BaselineOf, []int{2, 3}) || cs[2].BaselineOf != nil {
		t.Errorf("BaselineOf: %v %v %v", cs[0].BaselineOf, cs[1].BaselineOf, cs[2].BaselineOf)
	}

	data, err := os.ReadFile("testdata/good/baseline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s = mustParse(t, "baseline.yaml", string(data))
	want = []result.Question{
		{Text: "Which device?", Baseline: "veth/pkt=64"},
		{Text: "Does GRO help bridge?", Baseline: "bridge/pkt=64/gro=off"},
		{Text: "One queue or two?", Baseline: "veth/pkt=64/queues=2x2/flows=2"},
	}
	if got := s.Questions(mustExpand(t, s)); !slices.Equal(got, want) {
		t.Errorf("questions of baseline.yaml:\n got %+v\nwant %+v", got, want)
	}
	if b := s.Groups[1].Baseline; len(b) != 2 || b[0] != (Value{Key: "gro", Value: "off", Path: "groups[1].baseline.gro", Line: 14}) {
		t.Errorf("baseline values %+v", b)
	}
}

func TestNames(t *testing.T) {
	s := mustParse(t, "n.yaml", `
groups:
  - question: q
    set:
      topology: macvlan
      mode: vepa
      family: ipv6
      mtu: 9000
      tx_queues: 2
      peer_rx_queues: 4
      pkt_size: 1400
      flows: 8
      senders: 2
      rate: 2.5e5
      batch: 16
      rcvbuf: 4194304
      xdp: generic
      sysctl.net.core.netdev_max_backlog: 0x400
      gro_list: off
`)
	cs := mustExpand(t, s)
	want := "macvlan-vepa/pkt=1400/ipv6/mtu=9000/queues=2x1:2x4/flows=8/senders=2/rate=250000/batch=16/rcvbuf=4194304" +
		"/gro_list=off/sysctl.net.core.netdev_max_backlog=1024/xdp=generic"
	if len(cs) != 1 || cs[0].Name != want {
		t.Fatalf("got %q\nwant %q", names(cs), want)
	}
	c := cs[0].Case
	wantCase := plan.Case{
		Topology: topology.Spec{Kind: topology.KindMacvlan, Mode: "vepa", Family: topology.IPv6, MTU: 9000, TxQueues: 2, PeerRxQueues: 4},
		Traffic:  plan.Traffic{Generator: "udp", FrameSize: 1400, Flows: 8, Senders: 2, Rate: 250000, Batch: 16, RcvBuf: 4194304},
		Knobs:    c.Knobs, // checked below
	}
	if !reflect.DeepEqual(c, wantCase) {
		t.Errorf("case %+v\nwant %+v", c, wantCase)
	}
	wantKnobs := []Setting{{Name: "gro_list", Value: "off"}, {Name: "sysctl.net.core.netdev_max_backlog", Value: "1024"}, {Name: "xdp", Value: "generic"}}
	if !slices.Equal(cs[0].Knobs, wantKnobs) {
		t.Errorf("knobs %v, want %v (sorted, canonical)", cs[0].Knobs, wantKnobs)
	}
}

// TestKnobScalars: YAML booleans become on/off, integers decimal; the
// catalog sees everything else as written.
func TestKnobScalars(t *testing.T) {
	for in, want := range map[string]string{
		"true": "on", "false": "off", "on": "on", "OFF": "off", "True": "on", `"on"`: "on",
	} {
		s, err := Parse("k.yaml", []byte("groups: [{question: q, set: {gro: "+in+"}}]"), fakeCatalog{})
		if err != nil {
			t.Errorf("gro: %s: %v", in, err)
			continue
		}
		if got := mustExpand(t, s)[0].Knobs; !slices.Equal(got, []Setting{{Name: "gro", Value: want}}) {
			t.Errorf("gro: %s gave %v, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"0x10": "16", "1000": "1000", "+5": "5", "0o17": "15"} {
		s := mustParse(t, "k.yaml", "groups: [{question: q, set: {txqueuelen: "+in+"}}]")
		if got := mustExpand(t, s)[0].Knobs[0].Value; got != want {
			t.Errorf("txqueuelen: %s gave %s, want %s", in, got, want)
		}
	}
	// "yes" is a string in YAML 1.2: the catalog decides, and this one says no.
	_, err := Parse("k.yaml", []byte("groups: [{question: q, set: {gro: yes}}]"), fakeCatalog{})
	if err == nil || err.Error() != `k.yaml:1: groups[0].set.gro: "yes" is not one of on, off` {
		t.Errorf("gro: yes: %v", err)
	}
}

func TestNilCatalog(t *testing.T) {
	if _, err := Parse("n.yaml", []byte("groups: [{question: q, vary: {pkt_size: [64, 1400]}}]"), nil); err != nil {
		t.Errorf("a spec without knobs needs no catalog: %v", err)
	}
	_, err := Parse("n.yaml", []byte("groups: [{question: q, vary: {gro: [on]}}]"), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "n.yaml:1: groups[0].vary.gro: unknown key: not a dimension") {
		t.Errorf("knob without a catalog: %v", err)
	}
}

// TestCatalogError: the catalog's error is kept behind the message.
func TestCatalogError(t *testing.T) {
	_, err := Parse("c.yaml", []byte("groups: [{question: q, set: {qdisc: cake}}]"), fakeCatalog{})
	var se *Error
	if !errors.As(err, &se) || se.Err == nil || se.Line != 1 || se.Path != "groups[0].set.qdisc" {
		t.Fatalf("got %#v", err)
	}
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, se.Err) {
		t.Errorf("%v does not wrap ErrInvalid and the catalog's error", err)
	}
}

func TestCheck(t *testing.T) {
	data, err := os.ReadFile("testdata/bad/too-many-cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse("too-many-cases.yaml", data, fakeCatalog{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(true); err != nil {
		t.Errorf("forced: %v", err)
	}
	if err := s.Check(false); err == nil {
		t.Error("210 cases accepted without force")
	}
	// Merged cases count once: 2 x 150 grid points, 150 cases.
	var sizes []string
	for i := range 150 {
		sizes = append(sizes, fmt.Sprint(100+i))
	}
	list := "[" + strings.Join(sizes, ", ") + "]"
	s = mustParse(t, "m.yaml", "groups:\n  - question: a\n    vary: {pkt_size: "+list+"}\n  - question: b\n    vary: {pkt_size: "+list+"}\n")
	if err := s.Check(false); err != nil {
		t.Errorf("150 distinct cases: %v", err)
	}
	// Beyond HardMaxCases nothing is built, forced or not.
	big := "groups:\n  - question: a\n    vary:\n      pkt_size: " + list + "\n      flows: " + list + "\n"
	_, err = Parse("big.yaml", []byte(big), fakeCatalog{})
	if want := "big.yaml:1: groups: more than 10000 cases (groups[0]: more than 10000), above the limit of 10000 even when forced"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestEstimateDuration(t *testing.T) {
	m := plan.Measure{Method: plan.MethodRounds, Trials: 6, Duration: 2 * time.Second, Warmup: time.Second}
	cs := make([]CaseSpec, 10)
	// Rounds, every trial in its own topology: 10 * 6 * (0.3 + 1 + 2 + 0.1) = 204 s
	if got := EstimateDuration(cs, m); got != 204*time.Second {
		t.Errorf("got %v, want 3m24s", got)
	}
	// Interleaved, question by question, every trial set up afresh.
	// Slices of 20 ms: 50 warm-up blocks and 100 measured a trial, 150
	// slices of 22 ms, 3.3 s, plus 0.3 s of setup: 3.6 s a trial, 21.6 s
	// a case. Group 0 has 3 cases, group 1 two, one of them shared:
	// 5 * 21.6 s = 108 s. Group 2 has a tcp case: 2 cases in rounds,
	// 2 * 6 * 3.4 s = 40.8 s.
	im := m
	im.Method = ""
	udp := plan.Case{Traffic: plan.Traffic{Generator: plan.GenUDP}}
	tcp := plan.Case{Traffic: plan.Traffic{Generator: plan.GenTCP}}
	ics := []CaseSpec{
		{Case: udp, Groups: []int{0, 1}}, {Case: udp, Groups: []int{0}}, {Case: udp, Groups: []int{0}},
		{Case: udp, Groups: []int{1}}, {Case: tcp, Groups: []int{2}}, {Case: udp, Groups: []int{2}},
	}
	if got := EstimateDuration(ics, im); got != 148800*time.Millisecond {
		t.Errorf("interleaved: got %v, want 2m28.8s", got)
	}
	// One case keeps its topology: 0.3 + 1 + 6 * 2.1 = 13.9 s
	if got := EstimateDuration(cs[:1], m); got != 13900*time.Millisecond {
		t.Errorf("one case: got %v, want 13.9s", got)
	}
	if got := EstimateDuration(nil, m); got != 0 {
		t.Errorf("no cases: %v", got)
	}
	// At most: 12 trials, 2 * 148.8 s; a time limit of 3 minutes caps the
	// interleaved sweep there, but never below its minimum.
	im.MaxTrials = 12
	if got := EstimateLongest(ics, im); got != 297600*time.Millisecond {
		t.Errorf("longest: got %v, want 4m57.6s", got)
	}
	im.TimeLimit = 3 * time.Minute
	if got := EstimateLongest(ics, im); got != 3*time.Minute {
		t.Errorf("longest with a 3m limit: got %v, want 3m", got)
	}
	im.TimeLimit = time.Minute
	if got := EstimateLongest(ics, im); got != 148800*time.Millisecond {
		t.Errorf("longest with a 1m limit: got %v, want the minimum, 2m28.8s", got)
	}
}

// TestExpandValidates: every case of a parsed spec passes bench's
// validation, and a hand-built Spec gets the same checks as a parsed one.
func TestExpandValidates(t *testing.T) {
	s := &Spec{File: "hand", Measure: DefaultMeasure(), Groups: []Group{{
		Question: "q", Path: "groups[0]", Line: 3,
		Vary: []Axis{{Key: "pkt_size", Path: "groups[0].vary.pkt_size", Line: 4,
			Values: []Value{{Key: "pkt_size", Value: "64", Path: "groups[0].vary.pkt_size", Line: 4}, {Key: "pkt_size", Value: "9000", Path: "groups[0].vary.pkt_size", Line: 5}}}},
	}}}
	_, err := s.Expand()
	if err == nil || !strings.HasPrefix(err.Error(), "hand:5: groups[0].vary.pkt_size: 9000 bytes out of range [58, 1514]") {
		t.Errorf("got %v", err)
	}
	s.Measure.Trials = 0
	if _, err := s.Expand(); err == nil || err.Error() != "hand: measure.trials: 0 out of range [1, 1000]" {
		t.Errorf("got %v", err)
	}
}

// measure.stages turns on the per-stage stamps (bench/plan.Measure.Stages).
func TestMeasureStages(t *testing.T) {
	s := mustParse(t, "s.yaml", "measure:\n  stages: true\ngroups:\n  - question: q\n    vary: {pkt_size: [64]}\n")
	if !s.Measure.Stages {
		t.Error("measure.stages: true did not set Measure.Stages")
	}
	if s := mustParse(t, "s.yaml", "groups:\n  - question: q\n    vary: {pkt_size: [64]}\n"); s.Measure.Stages {
		t.Error("stages on without measure.stages")
	}
}
