package bench

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/testenv"
	"github.com/vethbench/vethbench/reports/result"
	"github.com/vethbench/vethbench/tuning"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func vethCase(pkt int) plan.Case {
	return plan.Case{
		Topology: topology.Spec{Kind: topology.KindVeth},
		Traffic:  plan.Traffic{Generator: "udp", FrameSize: pkt, Flows: 1, Senders: 1, Batch: 64},
	}
}

var quick = plan.Measure{Trials: 2, Duration: time.Second, Warmup: 200 * time.Millisecond, Confidence: 0.95}

func TestSummarizeAndWarnings(t *testing.T) {
	var trials []result.Trial
	for i, pps := range []float64{100, 300, 200, 400, 500} {
		trials = append(trials, result.Trial{Index: i, PPS: pps, Sent: 10, Received: 9, Dropped: 1, Closed: i != 3})
	}
	s := summarize(trials, 0.95)
	if s.PPS.Median != 300 || s.PPS.Min != 100 || s.PPS.Max != 500 || s.PPS.N != 5 {
		t.Errorf("pps estimate %+v", s.PPS)
	}
	if s.Sent != 50 || s.Received != 45 || s.Dropped != 5 || s.Closed {
		t.Errorf("summary %+v", s)
	}
	w := strings.Join(warnings(trials, s, 0.95, unitDatagrams), "\n")
	for _, want := range []string{"trial 4: accounting did not close", "5 trials cannot give a 95% interval"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
}

// The acceptance checks of `vethbench run` on a real veth pair: the eBPF
// count equals the kernel's rx_packets and the socket's count, the
// accounting closes, latency percentiles are positive and ordered, and 64 B
// runs above a sanity bound of 100,000 pps.
func TestRunCaseVeth(t *testing.T) {
	testenv.RequireRoot(t)
	for _, c := range []plan.Case{vethCase(64), vethCase(1400), func() plan.Case {
		c := vethCase(64)
		c.Topology.Family = topology.IPv6
		c.Traffic.FrameSize = 78
		c.Traffic.Flows = 4
		c.Traffic.Senders = 2
		return c
	}()} {
		t.Run(c.Name(), func(t *testing.T) {
			rc, err := RunCase(context.Background(), c, quick, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rc.Status != result.StatusOK {
				t.Fatalf("status %s: %s", rc.Status, rc.Error)
			}
			for _, tr := range rc.Trials {
				checkTrial(t, tr)
				checkRate(t, c, tr)
			}
			checkSeqGaps(t, rc.Trials)
		})
	}
}

// checkSeqGaps compares the receiver's sequence gaps with the packets
// lost, trial by trial. Every window has a tag of its own, every flow's
// sequence starts at 0 under it, and the generator says how many it sent
// with it, so the losses after a flow's last datagram of the window are
// counted too: on one path, where nothing reorders or duplicates, the gaps
// are sent - received exactly.
func checkSeqGaps(t *testing.T, trials []result.Trial) {
	t.Helper()
	for _, tr := range trials {
		if tr.SeqGaps != tr.Sent-tr.Received {
			t.Errorf("trial %d: the receiver's sequence numbers miss %d packets, sent-received is %d", tr.Index, tr.SeqGaps, tr.Sent-tr.Received)
		}
	}
}

// checkTrial checks a datagram trial's figures against each other. Sent,
// at_device, received, dropped and the latency count the window's own
// datagrams (its tag), exactly; the devices' and the kernel's counters
// are taken over the window's span, read a few milliseconds apart while
// packets flow, so how those agree with the rest is checked over whole
// sessions (TestTaggedWindowsAddUp).
func checkTrial(t *testing.T, tr result.Trial) {
	t.Helper()
	if !(tr.Received <= tr.AtDevice && tr.AtDevice <= tr.Sent) || tr.Sent == 0 {
		t.Errorf("trial %d: sent %d, at the device %d, received %d: the window's datagrams cannot grow on the way", tr.Index, tr.Sent, tr.AtDevice, tr.Received)
	}
	// The drop counter counts drops by tag too, so the accounting closes
	// exactly, but for what it takes over the window's span: drops of
	// UDP GSO datagrams (their tag is out of its reach), and XDP frames
	// the sending veth's ring refused (from its tx_dropped). Those drops
	// fall in the window during which they happened, so a window gains
	// or loses the ones in flight at its boundaries; over a session they
	// add up exactly (TestTaggedWindowsAddUp).
	if exact := tr.AtDeviceSkbs == 0 && tr.DropReasons[XDPRingDrop] == 0; exact && (tr.Sent != tr.Received+tr.Dropped || !tr.Closed) {
		t.Errorf("trial %d: sent %d != received %d + dropped %d (%v)", tr.Index, tr.Sent, tr.Received, tr.Dropped, tr.DropReasons)
	}
	if tr.Stale != 0 {
		t.Errorf("trial %d: %d datagrams arrived windows late", tr.Index, tr.Stale)
	}
	l := tr.Latency
	if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999) {
		t.Errorf("trial %d: latency percentiles not positive and ordered: %+v", tr.Index, l)
	}
	// One latency sample per skb: a GSO aggregate carries one stamp.
	if skbs := cmp.Or(tr.AtDeviceSkbs, tr.AtDevice); l.Count+l.BadStamps != skbs {
		t.Errorf("trial %d: histogram holds %d packets (%d bad stamps), the counter %d skbs", tr.Index, l.Count, l.BadStamps, skbs)
	}
}

// checkRate fails a trial of 64-byte frames below a sanity bound.
func checkRate(t *testing.T, c plan.Case, tr result.Trial) {
	t.Helper()
	// Sanity bounds, not targets: a plain veth pair does over 100,000 pps
	// at 64 B even on a loaded 2-vCPU VM; a longer path at least 20,000.
	bound := 20_000.0
	if c.Topology.Kind == topology.KindVeth {
		bound = 100_000
	}
	if c.Traffic.FrameSize == 64 && tr.PPS < bound && !testenv.Emulated() {
		t.Errorf("trial %d: %.0f pps at 64 B, below the %.0f sanity bound", tr.Index, tr.PPS, bound)
	}
}

// checkSpans checks what was counted over a span of time, not by tag: the
// eBPF count equals the kernel's rx_packets, the drop tracepoint the
// kernel's drop counters, the eBPF matched count what the socket read plus
// what was dropped after the ingress, and the device's bytes hold the
// datagrams'. For tagged windows it holds over a whole session, whose
// first and last readings see nothing in flight (TestTaggedWindowsAddUp).
func checkSpans(t *testing.T, c plan.Case, name string, tr result.Trial) {
	t.Helper()
	within := func(a, b uint64, tol float64) bool {
		return math.Abs(float64(a)-float64(b)) <= tol*math.Max(float64(b), 1)
	}
	if !within(tr.EBPFRx, tr.DeviceRx, 0.001) {
		t.Errorf("%s: eBPF saw %d packets, the device's rx_packets %d", name, tr.EBPFRx, tr.DeviceRx)
	}
	// Between the ingress hook and the socket only the receiver's IP/UDP
	// counters can drop.
	var after uint64
	for k, v := range tr.Drops {
		ns, counter, _ := strings.Cut(k, ".")
		if (ns == "receiver" || ns == "loopback") && strings.Contains(counter, "In") && !strings.Contains(counter, "Rcvbuf") || strings.HasSuffix(k, "NoPorts") {
			after += v
		}
	}
	// The kernel's counters and the eBPF drop count agree.
	if tr.KernelDropped != tr.Dropped {
		t.Errorf("%s: kfree_skb counted %d drops %v, the kernel's counters %d %v", name, tr.Dropped, tr.DropReasons, tr.KernelDropped, tr.Drops)
	}
	if tr.AtDevice != tr.Received+after {
		t.Errorf("%s: eBPF matched %d, socket read %d, receiver-side drops %d", name, tr.AtDevice, tr.Received, after)
	}
	if tr.Sent != tr.Received+tr.Dropped {
		t.Errorf("%s: sent %d != received %d + dropped %d (drops %v)", name, tr.Sent, tr.Received, tr.Dropped, tr.Drops)
	}
	frame := uint64(c.Traffic.FrameSize)
	if c.Topology.Kind == topology.KindLoopback {
		frame -= 14 // lo counts bytes after taking the Ethernet header off
	}
	if tr.AtDeviceSkbs == 0 && tr.DeviceBytes < tr.AtDevice*frame {
		t.Errorf("%s: device counted %d bytes for %d packets of %d B", name, tr.DeviceBytes, tr.AtDevice, c.Traffic.FrameSize)
	}
}

// A session's windows, warm-up and tail included, count every datagram in
// exactly one window, and over them all the counters read by span agree
// exactly: the first reading is taken before the generator starts and the
// last after the drain.
func TestTaggedWindowsAddUp(t *testing.T) {
	testenv.RequireRoot(t)
	ipv6 := vethCase(78)
	ipv6.Topology.Family = topology.IPv6
	ipv6.Traffic.Flows, ipv6.Traffic.Senders = 4, 2
	pkt := vethCase(64)
	pkt.Traffic.Generator = plan.GenPacket
	xdp := vethCase(64)
	xdp.Traffic.Generator, xdp.Traffic.RcvBuf = plan.GenXDP, 32<<20
	gso := vethCase(200)
	gso.Traffic.GSO = 16
	cases := []plan.Case{ipv6, pkt, xdp, gso}
	for _, k := range topology.Kinds {
		c := vethCase(64)
		c.Topology.Kind = k
		cases = append(cases, c)
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			r, err := setup(context.Background(), c, false, nil, false)
			if r != nil {
				defer r.close()
			}
			if unsup := (*topology.UnsupportedError)(nil); errors.As(err, &unsup) {
				t.Skipf("unsupported here: %s", unsup.Reason)
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := r.tagging(); !ok {
				t.Fatalf("generator %s does not tag its datagrams", c.Traffic.Generator)
			}
			var windows []int
			var sum result.Trial
			m := plan.Measure{Trials: 3, Duration: 300 * time.Millisecond, Warmup: 200 * time.Millisecond, Confidence: 0.95}
			err = r.measure(context.Background(), m, windowEvents{
				start: func(int) {},
				warn:  func(msg string) { t.Error(msg) },
				result: func(i int, tr result.Trial) {
					windows = append(windows, i)
					if i >= 0 {
						tr.Index = i
						checkTrial(t, tr)
						checkSeqGaps(t, []result.Trial{tr})
					}
					sum.Sent += tr.Sent
					sum.Received += tr.Received
					sum.AtDevice += tr.AtDevice
					sum.AtDeviceSkbs += tr.AtDeviceSkbs
					sum.Dropped += tr.Dropped
					sum.KernelDropped += tr.KernelDropped
					sum.EBPFRx += tr.EBPFRx
					sum.DeviceRx += tr.DeviceRx
					sum.DeviceBytes += tr.DeviceBytes
					sum.SeqGaps += tr.SeqGaps
					sum.Stale += tr.Stale
					for k, v := range tr.Drops {
						if sum.Drops == nil {
							sum.Drops = map[string]uint64{}
						}
						sum.Drops[k] += v
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := []int{-1, 0, 1, 2, -2}; !slices.Equal(windows, want) {
				t.Fatalf("windows %v, want %v", windows, want)
			}
			// Every datagram sent and read is in one window.
			if g := r.load.gen.Sent(); sum.Sent != g || sum.Received != r.load.received() {
				t.Errorf("windows sent %d and received %d; the generator sent %d, the receiver read %d", sum.Sent, sum.Received, g, r.load.received())
			}
			if sum.SeqGaps != sum.Sent-sum.Received || sum.Stale != 0 {
				t.Errorf("gaps %d, sent-received %d, stale %d", sum.SeqGaps, sum.Sent-sum.Received, sum.Stale)
			}
			checkSpans(t, c, "session", sum)
			t.Logf("sent %d, received %d, dropped %d %v", sum.Sent, sum.Received, sum.Dropped, sum.Drops)
		})
	}
}

// Every kind this kernel builds runs, passes traffic and closes its
// accounting; a kind it lacks is recorded as unsupported, not failed.
func TestRunCaseKinds(t *testing.T) {
	testenv.RequireRoot(t)
	for _, k := range topology.Kinds {
		c := vethCase(64)
		c.Topology.Kind = k
		t.Run(c.Name(), func(t *testing.T) {
			rc, err := RunCase(context.Background(), c, quick, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rc.Status == result.StatusUnsupported {
				if !strings.Contains(rc.Error, "kernel has no "+string(k)) {
					t.Fatalf("unsupported without saying what is missing: %q", rc.Error)
				}
				t.Skipf("unsupported here: %s", rc.Error)
			}
			if rc.Status != result.StatusOK {
				t.Fatalf("status %s: %s", rc.Status, rc.Error)
			}
			for _, tr := range rc.Trials {
				checkTrial(t, tr)
				checkRate(t, c, tr)
			}
			checkSeqGaps(t, rc.Trials)
		})
	}
}

// A fixed rate well below capacity loses nothing and is met.
func TestRunCaseFixedRate(t *testing.T) {
	testenv.RequireRoot(t)
	c := vethCase(64)
	c.Traffic.Rate = 20_000
	rc, err := RunCase(context.Background(), c, quick, Options{})
	if err != nil || rc.Status != result.StatusOK {
		t.Fatalf("%v %s %s", err, rc.Status, rc.Error)
	}
	for _, tr := range rc.Trials {
		if tr.Dropped != 0 || tr.Received != tr.Sent {
			t.Errorf("trial %d: sent %d received %d dropped %d at 20 kpps", tr.Index, tr.Sent, tr.Received, tr.Dropped)
		}
		if r := tr.SentPPS / 20_000; r < 0.95 || r > 1.05 {
			t.Errorf("trial %d: sent at %.0f pps, want 20,000 within 5%%", tr.Index, tr.SentPPS)
		}
	}
}

// A trial that sent nothing fails its case with the send errors, never
// "accounting closed" at 0 pps: here a netfilter rule in the sender's
// namespace drops every UDP datagram it sends, which sendmmsg reports as
// EPERM, datagram after datagram.
func TestNothingSentFails(t *testing.T) {
	testenv.RequireRoot(t)
	c := vethCase(64)
	r, err := setup(context.Background(), c, false, nil, false)
	if r != nil {
		defer r.close()
	}
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nftables.New(nftables.WithNetNSFd(r.topo.Sender.NS.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	table := nc.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: "vbtest"})
	policy := nftables.ChainPolicyAccept
	chain := nc.AddChain(&nftables.Chain{
		Name: "output", Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter, Policy: &policy,
	})
	nc.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_UDP}},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}})
	if err := nc.Flush(); err != nil {
		t.Fatalf("add nftables rule: %v", err)
	}

	var out result.Case
	var trial atomic.Int64
	m := plan.Measure{Trials: 2, Duration: 200 * time.Millisecond, Warmup: 100 * time.Millisecond, Confidence: 0.95}
	if err := r.trials(context.Background(), &out, m, 0, 2, func(Event) {}, &trial); err != nil {
		t.Fatal(err)
	}
	if out.Status != result.StatusFailed || !strings.Contains(out.Error, "trial 1 sent nothing: the kernel refused every send: EPERM") {
		t.Errorf("status %s, error %q; want failed, naming the EPERM sends", out.Status, out.Error)
	}
	for _, tr := range out.Trials {
		if tr.Sent != 0 || tr.Closed || tr.SendErrs["EPERM"] == 0 {
			t.Errorf("trial %d: sent %d, closed %v, send errors %v", tr.Index, tr.Sent, tr.Closed, tr.SendErrs)
		}
	}
}

func TestRunCaseCancel(t *testing.T) {
	testenv.RequireRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(700*time.Millisecond, cancel)
	start := time.Now()
	_, err := RunCase(ctx, vethCase(64), plan.Measure{Trials: 3, Duration: 20 * time.Second, Confidence: 0.95}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RunCase after cancel: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v to stop after cancel", d)
	}
}

// BenchmarkRunVeth64 is the figure `make bench` reports: the UDP generator
// into a veth pair at 64 B, with the eBPF counter attached at the receiver
// and the receiver draining its socket. One iteration is a whole case (a
// warm-up and three 2 s trials); the metrics are the case's medians.
func BenchmarkRunVeth64(b *testing.B) {
	testenv.RequireRoot(b)
	m := plan.Measure{Trials: 3, Duration: 2 * time.Second, Warmup: 500 * time.Millisecond, Confidence: 0.95}
	for b.Loop() {
		rc, err := RunCase(context.Background(), vethCase(64), m, Options{})
		if err != nil || rc.Status != result.StatusOK {
			b.Fatalf("%v %s %s", err, rc.Status, rc.Error)
		}
		s := rc.Summary
		b.ReportMetric(s.PPS.Median, "pps")
		var sent float64
		for _, t := range rc.Trials {
			sent += t.SentPPS
		}
		b.ReportMetric(sent/float64(len(rc.Trials)), "sent-pps")
		b.ReportMetric(s.CPUNsPerPkt.Median, "cpu-ns/pkt")
		b.ReportMetric(s.P50.Median, "p50-ns")
		b.ReportMetric(s.P99.Median, "p99-ns")
		b.ReportMetric(0, "ns/op") // one iteration is a whole case; its time means nothing
	}
}

// Knobs are set after the topology is built, recorded with what the kernel
// took, and put back; a knob the kernel lacks makes the case unsupported.
func TestRunCaseKnobs(t *testing.T) {
	testenv.RequireRoot(t)
	j, err := tuning.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	host := tuning.ReadHost()
	c := vethCase(64)
	c.Knobs = []tuning.Setting{{Name: "gro", Value: "on"}, {Name: "qdisc", Value: "pfifo"}, {Name: "txqueuelen", Value: "5000"},
		{Name: "sysctl.net.core.netdev_max_backlog", Value: "2048"}}
	m := quick
	m.Trials = 1
	rc, err := RunCase(context.Background(), c, m, Options{Journal: j})
	if err != nil || rc.Status != result.StatusOK {
		t.Fatalf("%v %s %s", err, rc.Status, rc.Error)
	}
	if !strings.Contains(rc.Name, "/gro=on/qdisc=pfifo/sysctl.net.core.netdev_max_backlog=2048/txqueuelen=5000") {
		t.Errorf("name %q does not carry the knobs", rc.Name)
	}
	got := map[string]string{}
	for _, s := range rc.Settings {
		if s.Status != tuning.StatusOK {
			t.Errorf("%s on %s: %s (%s)", s.Knob, s.Target, s.Status, s.Detail)
		}
		got[s.Knob+"@"+s.Target] = s.After
	}
	for k, want := range map[string]string{"gro@receiver": "on", "qdisc@sender": "pfifo", "txqueuelen@sender": "5000",
		"sysctl.net.core.netdev_max_backlog@host": "2048"} {
		if got[k] != want {
			t.Errorf("%s read back %q, want %q (all: %v)", k, got[k], want, got)
		}
	}
	if k := rc.Knobs["sender"]; k.Qdisc != "pfifo" || k.TxQueueLen != 5000 {
		t.Errorf("sender's knobs read back %+v", k)
	}
	if after := tuning.ReadHost(); !maps.Equal(after, host) {
		t.Errorf("host sysctls changed by the case: before %v, after %v", host, after)
	}
	if len(rc.Trials) != 1 || !rc.Trials[0].Closed {
		t.Errorf("trials %+v", rc.Trials)
	}

	c.Knobs = []tuning.Setting{{Name: "qdisc", Value: "fq"}}
	rc, err = RunCase(context.Background(), c, m, Options{Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	if has, ok := testenv.KernelConfig("NET_SCH_FQ"); ok && !has {
		if rc.Status != result.StatusUnsupported || !strings.Contains(rc.Error, "fq") {
			t.Errorf("qdisc fq on a kernel without it: %s %q", rc.Status, rc.Error)
		}
	}
}

// Several cases run in shuffled rounds: every case gets its trials, each in
// a fresh topology, up to MaxTrials when the precision target is not met;
// an unsupported case leaves the rounds at once.
func TestRunRounds(t *testing.T) {
	testenv.RequireRoot(t)
	lo := vethCase(64)
	lo.Topology.Kind = topology.KindLoopback
	ipv := vethCase(64)
	ipv.Topology.Kind = topology.KindIPvlan
	m := plan.Measure{Method: plan.MethodRounds, Trials: 2, MaxTrials: 3, Target: 1e-9, Seed: 7, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Confidence: 0.5}
	var order []string
	progress := func(ev Event) {
		if ev.Phase == "setup" {
			order = append(order, ev.Case)
		}
	}
	res, err := Run(context.Background(), []plan.Case{vethCase(64), lo, ipv}, m, Options{Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Settings.Interleaved || res.Settings.Seed != 7 || res.Settings.MaxTrials != 3 {
		t.Errorf("settings %+v", res.Settings)
	}
	for _, c := range res.Cases {
		if c.Topology.Kind == "ipvlan" {
			continue
		}
		if c.Status != result.StatusOK || len(c.Trials) != 3 || c.Summary == nil || c.Summary.PPS.N != 3 {
			t.Errorf("%s: %s, %d trials, summary %+v", c.Name, c.Status, len(c.Trials), c.Summary)
		}
		for i, tr := range c.Trials {
			if tr.Index != i || !tr.Closed {
				t.Errorf("%s trial %d: index %d closed %v", c.Name, i, tr.Index, tr.Closed)
			}
		}
		if !strings.Contains(c.Stop, "maximum of 3 trials") || !strings.Contains(c.Stop, "not achieved") {
			t.Errorf("%s: stop %q", c.Name, c.Stop)
		}
	}
	// 3 rounds of 2 measured cases, plus one attempt at ipvlan.
	if len(order) != 7 {
		t.Errorf("%d setups (%v), want 7", len(order), order)
	}
}

func TestFinishFlagsOutliers(t *testing.T) {
	c := result.Case{}
	for i, pps := range []float64{100, 101, 99, 100, 102, 40, 98, 100} {
		c.Trials = append(c.Trials, result.Trial{Index: i, PPS: pps, Closed: true})
	}
	finish(&c, plan.Measure{Confidence: 0.95})
	if !c.Trials[5].Outlier || c.Trials[0].Outlier || c.Summary.PPS.N != 8 {
		t.Fatalf("outliers %v, n %d", c.Trials, c.Summary.PPS.N)
	}
	if !strings.Contains(strings.Join(c.Warnings, "\n"), "trial 6 is an outlier") {
		t.Errorf("warnings %v", c.Warnings)
	}
}
