package traffic

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/histogram"
	"github.com/vethbench/vethbench/internal/testenv"
)

func validRRConfig() RRConfig {
	return RRConfig{
		Proto: ProtoUDP,
		Src:   netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
		Port: 9000, Flows: 2,
	}
}

func TestRRConfigValidate(t *testing.T) {
	ok := []func(*RRConfig){
		func(c *RRConfig) {},
		func(c *RRConfig) { c.Proto = ProtoTCP },
		func(c *RRConfig) { c.Src = netip.IPv4Unspecified() },
		func(c *RRConfig) { c.Src, c.Dst = netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2") },
		func(c *RRConfig) { c.Size = HeaderLen },
		func(c *RRConfig) { c.Size = 65507 },
		func(c *RRConfig) { c.Proto, c.Size = ProtoTCP, MaxRRSize },
		func(c *RRConfig) { c.Rate, c.Workers, c.CPUs = 1000, 2, []int{0} },
		func(c *RRConfig) { c.SrcPortBase = 9000 }, // another address: no clash
		func(c *RRConfig) { c.Dst = c.Src; c.SrcPortBase = 9001 },
		func(c *RRConfig) { c.Timeout = time.Millisecond },
		func(c *RRConfig) { c.Drain = time.Millisecond },
		func(c *RRConfig) { c.Timeout, c.Drain = MaxRRTimeout, MaxRRDrain },
	}
	for i, mod := range ok {
		c := validRRConfig()
		mod(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("case %d: %v", i, err)
		}
	}
	bad := []struct {
		field string
		mod   func(*RRConfig)
	}{
		{"Proto", func(c *RRConfig) { c.Proto = "" }},
		{"Proto", func(c *RRConfig) { c.Proto = "sctp" }},
		{"Dst", func(c *RRConfig) { c.Dst = netip.Addr{} }},
		{"Src", func(c *RRConfig) { c.Src = netip.Addr{} }},
		{"families", func(c *RRConfig) { c.Dst = netip.MustParseAddr("fd00::2") }},
		{"zoned", func(c *RRConfig) { c.Src, c.Dst = netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::2") }},
		{"Port", func(c *RRConfig) { c.Port = 0 }},
		{"Flows", func(c *RRConfig) { c.Flows = 0 }},
		{"Flows", func(c *RRConfig) { c.Flows = MaxFlows + 1 }},
		{"SrcPortBase", func(c *RRConfig) { c.SrcPortBase = 65535 }},
		{"Port", func(c *RRConfig) { c.Dst = c.Src; c.SrcPortBase = 8999 }},
		{"Size", func(c *RRConfig) { c.Size = HeaderLen - 1 }},
		{"Size", func(c *RRConfig) { c.Size = 65508 }},
		{"Size", func(c *RRConfig) { c.Proto, c.Size = ProtoTCP, MaxRRSize+1 }},
		{"Rate", func(c *RRConfig) { c.Rate = -1 }},
		{"Rate", func(c *RRConfig) { c.Rate = math.NaN() }},
		{"Rate", func(c *RRConfig) { c.Rate = math.Inf(1) }},
		{"Workers", func(c *RRConfig) { c.Workers = 3 }},
		{"CPUs", func(c *RRConfig) { c.CPUs = []int{1 << 20} }},
		{"Timeout", func(c *RRConfig) { c.Timeout = -time.Second }},
		{"Timeout", func(c *RRConfig) { c.Timeout = time.Hour }},
		{"Drain", func(c *RRConfig) { c.Drain = -time.Second }},
		{"Drain", func(c *RRConfig) { c.Drain = MaxRRDrain + 1 }},
	}
	for _, tc := range bad {
		c := validRRConfig()
		tc.mod(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: got %v, want ErrInvalid naming %s", tc.field, err, tc.field)
		}
	}
	for _, tc := range []struct{ timeout, want time.Duration }{
		{0, DefaultRRDrain}, {time.Millisecond, DefaultRRDrain}, {time.Second, 10 * time.Second}, {MaxRRTimeout, MaxRRDrain},
	} {
		c := validRRConfig()
		c.Timeout = tc.timeout
		if got := c.withDefaults().Drain; got != tc.want {
			t.Errorf("timeout %v: default drain %v, want %v", tc.timeout, got, tc.want)
		}
	}
	if _, err := NewRRClient(nil, RRConfig{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewRRClient with an empty config: %v, want ErrInvalid", err)
	}
	if _, err := NewRRServer(nil, RRConfig{Proto: "x"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewRRServer with a bad config: %v, want ErrInvalid", err)
	}
}

// rrPair opens a server in topo's receiver namespace and a client in the
// sender's, closed by t's cleanup. cfg's addresses and port are filled in.
func rrPair(t testing.TB, topo *topology.Topology, cfg RRConfig) (*RRClient, *RRServer) {
	t.Helper()
	cfg.Src, cfg.Dst, cfg.Port = topo.Sender.Addr, topo.Receiver.Addr, 0
	srv, err := NewRRServer(topo.Receiver.NS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg.Port = srv.Addr().Port()
	cli, err := NewRRClient(topo.Sender.NS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli, srv
}

// runRR runs the server and, for d, the client; the client's Run drains
// before it returns. during, if set, runs while the client runs.
func runRR(t testing.TB, cli *RRClient, srv *RRServer, d time.Duration, during func()) time.Duration {
	t.Helper()
	sctx, scancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var srvErr error
	wg.Go(func() { srvErr = srv.Run(sctx) })
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if during != nil {
		wg.Go(during)
	}
	start := time.Now()
	if err := cli.Run(ctx); err != nil {
		t.Errorf("client: %v", err)
	}
	elapsed := time.Since(start)
	scancel()
	wg.Wait()
	if srvErr != nil {
		t.Errorf("server: %v", srvErr)
	}
	return elapsed
}

// checkAccounting asserts what must hold after a Run: every request is
// answered, lost or outstanding, and the histogram holds every answer.
func checkAccounting(t *testing.T, cli *RRClient) {
	t.Helper()
	sent, resp, lost, out := cli.Sent(), cli.Responses(), cli.Lost(), cli.Outstanding()
	if sent != resp+lost+out {
		t.Errorf("sent %d != responses %d + lost %d + outstanding %d", sent, resp, lost, out)
	}
	h := cli.RTT()
	if h.Total() != resp {
		t.Errorf("RTT histogram holds %d, responses %d", h.Total(), resp)
	}
	if resp == 0 {
		t.Fatal("no responses")
	}
	prev := uint64(0)
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
		est, _, _, ok := h.Quantile(q)
		if !ok || est == 0 || est < prev {
			t.Errorf("quantile %v = %d (ok %v) after %d", q, est, ok, prev)
		}
		prev = est
	}
}

func quantileUS(h histogram.Histogram, q float64) float64 {
	est, _, _, _ := h.Quantile(q)
	return float64(est) / 1e3
}

func TestRRClosedLoop(t *testing.T) {
	testenv.RequireRoot(t)
	for _, fam := range []topology.Family{topology.IPv4, topology.IPv6} {
		topo := realize(t, topology.Spec{Kind: topology.KindVeth, Family: fam})
		for _, proto := range []string{ProtoUDP, ProtoTCP} {
			t.Run(fmt.Sprintf("%s-%s", proto, fam), func(t *testing.T) {
				cli, srv := rrPair(t, topo, RRConfig{Proto: proto, Flows: 2, Workers: 1, Size: 100})
				runRR(t, cli, srv, 300*time.Millisecond, nil)
				checkAccounting(t, cli)
				// A response may be late (a thread held up over
				// Timeout on a busy machine) but none is lost.
				if cli.Lost() != 0 || cli.Outstanding() != 0 || cli.Stale() != 0 || cli.Invalid() != 0 {
					t.Errorf("lost %d, outstanding %d, stale %d, invalid %d on a quiet veth",
						cli.Lost(), cli.Outstanding(), cli.Stale(), cli.Invalid())
				}
				if srv.Served() != cli.Sent() {
					t.Errorf("server served %d, client sent %d", srv.Served(), cli.Sent())
				}
				if cli.MaxLag() != 0 || cli.Threads() != 1 || cli.CPUTime() <= 0 || srv.CPUTime() <= 0 {
					t.Errorf("max lag %v, threads %d, CPU %v, server CPU %v", cli.MaxLag(), cli.Threads(), cli.CPUTime(), srv.CPUTime())
				}
				h := cli.RTT()
				t.Logf("%d requests, RTT p50 %.1f us, p99 %.1f us, errors %v",
					cli.Sent(), quantileUS(h, 0.5), quantileUS(h, 0.99), cli.Errors())
			})
		}
	}
}

func TestRROpenLoopRate(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	for _, proto := range []string{ProtoUDP, ProtoTCP} {
		t.Run(proto, func(t *testing.T) {
			const rate, window = 2000, 400 * time.Millisecond
			cli, srv := rrPair(t, topo, RRConfig{Proto: proto, Flows: 4, Workers: 2, Rate: rate})
			elapsed := runRR(t, cli, srv, window, nil)
			checkAccounting(t, cli)
			// The schedule runs for the window; Run's drain comes after.
			want := rate * window.Seconds()
			if got := float64(cli.Sent()); math.Abs(got-want) > 0.05*want {
				t.Errorf("sent %v requests in %v, want %.0f (5%%)", got, window, want)
			}
			if cli.Lost() != 0 || cli.Outstanding() != 0 || srv.Served() != cli.Sent() {
				t.Errorf("lost %d, outstanding %d, served %d of %d", cli.Lost(), cli.Outstanding(), srv.Served(), cli.Sent())
			}
			if cli.Threads() != 4 {
				t.Errorf("threads %d, want 4", cli.Threads())
			}
			h := cli.RTT()
			t.Logf("%d requests in %v, RTT p50 %.1f us, p99 %.1f us, max lag %v",
				cli.Sent(), elapsed, quantileUS(h, 0.5), quantileUS(h, 0.99), cli.MaxLag())
		})
	}
}

// A server stall of 50 ms must show in the round trips of every request
// due during it, while the requests still go out on schedule: the open
// loop does not wait for the responses it measures.
func TestRROpenLoopShowsStall(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	for _, proto := range []string{ProtoUDP, ProtoTCP} {
		t.Run(proto, func(t *testing.T) {
			const rate, stall, window = 2000, 50 * time.Millisecond, 400 * time.Millisecond
			cli, srv := rrPair(t, topo, RRConfig{Proto: proto, Flows: 1, Rate: rate})
			runRR(t, cli, srv, window, func() {
				time.Sleep(150 * time.Millisecond)
				srv.pauseFor(stall)
			})
			checkAccounting(t, cli)
			want := rate * window.Seconds()
			if got := float64(cli.Sent()); math.Abs(got-want) > 0.05*want {
				t.Errorf("sent %v requests in %v, want %.0f: the stall held the sender up", got, window, want)
			}
			if cli.Lost() != 0 || cli.Outstanding() != 0 {
				t.Errorf("lost %d, outstanding %d", cli.Lost(), cli.Outstanding())
			}
			// About stall*rate = 100 of ~800 requests waited 0-50 ms: the
			// p99 is near 50 ms and the median untouched.
			h := cli.RTT()
			p50, p99 := quantileUS(h, 0.5), quantileUS(h, 0.99)
			if p99 < 0.6*float64(stall.Microseconds()) || p50 > 0.2*float64(stall.Microseconds()) {
				t.Errorf("RTT p50 %.0f us, p99 %.0f us: want the %v stall in p99, not in p50", p50, p99, stall)
			}
			// A closed loop would have sent one request during the stall;
			// here ~stall*rate waited at least half of it.
			var slow uint64
			for i, c := range h.Counts {
				if lo, _ := h.Scale.BucketBounds(i); lo >= uint64(stall/4) {
					slow += c
				}
			}
			if slow < uint64(0.5*rate*stall.Seconds()) {
				t.Errorf("%d requests took over %v, want about %.0f", slow, stall/4, 0.75*rate*stall.Seconds())
			}
			t.Logf("%d requests, p50 %.1f us, p99 %.1f us, %d over %v", cli.Sent(), p50, p99, slow, stall/4)
		})
	}
}

// A response slower than Timeout is late: it is recorded with its real
// round trip, and nothing is lost, over UDP and TCP alike.
func TestRRLateIsRecorded(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	for _, proto := range []string{ProtoUDP, ProtoTCP} {
		t.Run(proto, func(t *testing.T) {
			const timeout, stall = 10 * time.Millisecond, 40 * time.Millisecond
			cli, srv := rrPair(t, topo, RRConfig{Proto: proto, Flows: 1, Timeout: timeout})
			runRR(t, cli, srv, 200*time.Millisecond, func() {
				time.Sleep(50 * time.Millisecond)
				srv.pauseFor(stall)
			})
			checkAccounting(t, cli)
			if cli.Late() < 1 || cli.Lost() != 0 || cli.Outstanding() != 0 || cli.Stale() != 0 {
				t.Errorf("late %d, lost %d, outstanding %d, stale %d: want the stalled request late, nothing lost",
					cli.Late(), cli.Lost(), cli.Outstanding(), cli.Stale())
			}
			if slow := countAtLeast(cli.RTT(), uint64(stall*3/4)); slow < 1 || slow > cli.Late() {
				t.Errorf("%d round trips of %v or more recorded, %d late: the stalled response is not in the histogram", slow, stall*3/4, cli.Late())
			}
			t.Logf("sent %d, responses %d, late %d", cli.Sent(), cli.Responses(), cli.Late())
		})
	}
}

// countAtLeast is the number of values in h's buckets that lie wholly at
// or above v.
func countAtLeast(h histogram.Histogram, v uint64) uint64 {
	var n uint64
	for i, c := range h.Counts {
		if lo, _ := h.Scale.BucketBounds(i); lo >= v {
			n += c
		}
	}
	return n
}

// flakyServer answers an RRClient's UDP requests in the receiver's
// namespace like RRServer, except that it never answers a request whose
// sequence number is 3 mod 8, and answers one that is 6 mod 8 after
// delay.
type flakyServer struct {
	fd    int
	delay time.Duration
	wg    sync.WaitGroup
	stop  atomic.Bool
}

func newFlakyServer(t *testing.T, topo *topology.Topology, delay time.Duration) (*flakyServer, uint16) {
	t.Helper()
	s := &flakyServer{fd: -1, delay: delay}
	err := topo.Receiver.NS.Do(func() (err error) {
		s.fd, err = udpSocket(netip.AddrPortFrom(topo.Receiver.Addr, 0), netip.AddrPort{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := localAddr(s.fd)
	if err != nil {
		t.Fatal(err)
	}
	s.wg.Go(s.serve)
	t.Cleanup(func() {
		s.stop.Store(true)
		s.wg.Wait()
		unix.Close(s.fd)
	})
	return s, addr.Port()
}

func (s *flakyServer) serve() {
	buf := make([]byte, 1<<16)
	for !s.stop.Load() {
		n, from, err := unix.Recvfrom(s.fd, buf, 0) // at most ioTimeout
		if err != nil || n < HeaderLen {
			continue
		}
		req := slices.Clone(buf[:n])
		switch binary.LittleEndian.Uint32(req[4:8]) % 8 {
		case 3:
		case 6:
			s.wg.Go(func() {
				time.Sleep(s.delay)
				unix.Sendto(s.fd, req, 0, from)
			})
		default:
			unix.Sendto(s.fd, req, 0, from)
		}
	}
}

// countMod8 is how many of the sequence numbers 0..n-1 are r mod 8.
func countMod8(n uint64, r uint64) uint64 { return n/8 + min(n%8, r+1) - min(n%8, r) }

// Against a server that answers some requests after several timeouts and
// never answers others: the late ones are recorded with their real round
// trips, only the unanswered ones are lost, and they only once the final
// drain is over; the Run's sending time leaves that drain out.
func TestRRLateAndLost(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	for _, tc := range []struct {
		name  string
		rate  float64
		flows int
	}{{"closed", 0, 1}, {"open", 400, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			const timeout, delay, drain, window = 20 * time.Millisecond, 80 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond
			_, port := newFlakyServer(t, topo, delay)
			cli, err := NewRRClient(topo.Sender.NS, RRConfig{
				Proto: ProtoUDP, Src: topo.Sender.Addr, Dst: topo.Receiver.Addr, Port: port,
				Flows: tc.flows, Rate: tc.rate, Timeout: timeout, Drain: drain,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cli.Close() })
			ctx, cancel := context.WithTimeout(context.Background(), window)
			defer cancel()
			start := time.Now()
			if err := cli.Run(ctx); err != nil {
				t.Fatal(err)
			}
			wall := time.Since(start)
			var never, slow uint64
			for _, f := range cli.flows {
				never += countMod8(f.sent.Load(), 3)
				slow += countMod8(f.sent.Load(), 6)
			}
			checkAccounting(t, cli)
			if never == 0 || slow == 0 {
				t.Fatalf("sent %d: too few requests to test", cli.Sent())
			}
			if cli.Lost() != never || cli.Outstanding() != 0 || cli.Stale() != 0 || cli.Invalid() != 0 {
				t.Errorf("lost %d, want the %d never answered; outstanding %d, stale %d, invalid %d",
					cli.Lost(), never, cli.Outstanding(), cli.Stale(), cli.Invalid())
			}
			if cli.Responses() != cli.Sent()-never {
				t.Errorf("responses %d of %d sent, %d never answered", cli.Responses(), cli.Sent(), never)
			}
			// The delayed responses are late and in the histogram, at
			// their real round trip (the delay or more).
			if recorded := countAtLeast(cli.RTT(), uint64(delay*9/10)); recorded != slow || cli.Late() < slow {
				t.Errorf("%d round trips of %v or more recorded, %d late; want the %d delayed", recorded, delay*9/10, cli.Late(), slow)
			}
			// Requests were lost, so the drain ran to its end; the
			// sending time is the window's.
			if wall < window+drain*9/10 {
				t.Errorf("Run took %v: the drain of %v after a %v window did not wait for the delayed responses", wall, drain, window)
			}
			if st := cli.SendTime(); st < window*9/10 || st > window*6/5 {
				t.Errorf("sending time %v for a %v window (Run %v): the drain is not left out", st, window, wall)
			}
			t.Logf("sent %d, responses %d, late %d, lost %d, Run %v, sending %v", cli.Sent(), cli.Responses(), cli.Late(), cli.Lost(), wall, cli.SendTime())
		})
	}
}

// With no server every UDP request is lost when the drain ends, and Run
// returns then.
func TestRRUDPNoServer(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	const window, drain = 100 * time.Millisecond, 50 * time.Millisecond
	cli, err := NewRRClient(topo.Sender.NS, RRConfig{
		Proto: ProtoUDP, Src: topo.Sender.Addr, Dst: topo.Receiver.Addr, Port: testDstPort,
		Flows: 2, Timeout: 10 * time.Millisecond, Drain: drain,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), window)
	defer cancel()
	start := time.Now()
	if err := cli.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*(window+drain) {
		t.Errorf("Run took %v", d)
	}
	if cli.Sent() == 0 || cli.Lost() != cli.Sent() || cli.Responses() != 0 || cli.Outstanding() != 0 {
		t.Errorf("sent %d, lost %d, responses %d, outstanding %d", cli.Sent(), cli.Lost(), cli.Responses(), cli.Outstanding())
	}
	t.Logf("sent %d, errors %v", cli.Sent(), cli.Errors())
}

// Round trips are recorded at 1% or better: the histogram's scale says so
// and a percentile lies within half a bucket, 0.4%, of the round trip.
func TestRRRoundTripResolution(t *testing.T) {
	c := &RRClient{cfg: validRRConfig().withDefaults(), udp: true}
	k := &rrWorker{c: c, hist: make([]atomic.Uint64, RTTScale.NumBuckets())}
	c.workers = []*rrWorker{k}
	f := &rrFlow{pend: rrPending{bits: make([]uint64, rrPendingWords)}}
	c.flows = []*rrFlow{f}
	for _, rtt := range []int64{999, 12_345, 17_001, 98_765_432} {
		h0 := c.RTT()
		f.sent.Add(1)
		k.account(f, f.pend.base, rtt)
		h := c.RTT().Sub(h0)
		est, lo, hi, ok := h.Quantile(0.5)
		if !ok || uint64(rtt) < lo || uint64(rtt) > hi || math.Abs(float64(est)-float64(rtt)) > 0.004*float64(rtt) {
			t.Errorf("round trip %d ns recorded as %d [%d, %d]: not within 0.4%%", rtt, est, lo, hi)
		}
		if r := h.Scale.Resolution(); r > 0.01 {
			t.Errorf("round trips recorded at %.1f%%, want 1%% or better", 100*r)
		}
	}
}

// rrPending matches answers to requests in any order, across the wrap of
// sequence numbers, while its ring grows, and counts what was never
// answered.
func TestRRPending(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, base := range []uint32{0, math.MaxUint32 - 700} {
		p := rrPending{base: base, bits: make([]uint64, rrPendingWords)}
		const n = 5000 // several times the ring's first size
		never := map[uint32]bool{}
		var order []uint32
		for i := range uint32(n) {
			if r.IntN(10) == 0 {
				never[i] = true
			} else {
				order = append(order, i)
			}
		}
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for k, i := range order {
			d := base + i - p.base
			if !p.answer(d) {
				t.Fatalf("base %d: request %d answered twice", base, i)
			}
			if p.answer(base + i - p.base) {
				t.Fatalf("base %d: a duplicate of request %d accepted", base, i)
			}
			if d := base + i - p.base; k%97 == 0 && d < 1<<31 && !p.has(d) {
				t.Fatalf("base %d: request %d not marked", base, i)
			}
		}
		// base stops at the first request never answered.
		first := uint32(0)
		for first < n && !never[first] {
			first++
		}
		if p.base != base+first {
			t.Errorf("base %d: base at %d, want %d", base, p.base, base+first)
		}
		if lost := p.giveUp(base + n); lost != uint64(len(never)) {
			t.Errorf("base %d: %d lost, want %d", base, lost, len(never))
		}
		if p.base != base+n || p.has(0) || p.has(1) {
			t.Errorf("base %d: after giving up, base %d (want %d), has(0) %v", base, p.base, base+n, p.has(0))
		}
	}
	// Nothing answered: all lost; a Run with nothing sent loses nothing.
	p := rrPending{bits: make([]uint64, rrPendingWords)}
	if lost := p.giveUp(10); lost != 10 {
		t.Errorf("none answered: %d lost, want 10", lost)
	}
	if lost := p.giveUp(10); lost != 0 {
		t.Errorf("nothing sent: %d lost", lost)
	}
}

func TestRRCloseDuringRun(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	for _, tc := range []struct {
		proto string
		rate  float64
	}{{ProtoUDP, 0}, {ProtoUDP, 1000}, {ProtoTCP, 0}, {ProtoTCP, 1000}} {
		t.Run(fmt.Sprintf("%s-rate=%v", tc.proto, tc.rate), func(t *testing.T) {
			cli, srv := rrPair(t, topo, RRConfig{Proto: tc.proto, Flows: 2, Rate: tc.rate})
			cerr, serr := make(chan error, 1), make(chan error, 1)
			go func() { serr <- srv.Run(context.Background()) }()
			go func() { cerr <- cli.Run(context.Background()) }()
			time.Sleep(50 * time.Millisecond)
			if err := cli.Run(context.Background()); !errors.Is(err, ErrRunning) {
				t.Errorf("second Run: %v, want ErrRunning", err)
			}
			for _, c := range []struct {
				what  string
				close func() error
				errc  chan error
			}{{"client", cli.Close, cerr}, {"server", srv.Close, serr}} {
				start := time.Now()
				if err := c.close(); err != nil {
					t.Errorf("close %s: %v", c.what, err)
				}
				if err := <-c.errc; !errors.Is(err, ErrClosed) {
					t.Errorf("%s Run after Close: %v, want ErrClosed", c.what, err)
				}
				if d := time.Since(start); d > 100*time.Millisecond {
					t.Errorf("closing the %s took %v", c.what, d)
				}
				if err := c.close(); err != nil {
					t.Errorf("second close of the %s: %v", c.what, err)
				}
			}
			if cli.Responses() == 0 {
				t.Error("no responses before Close")
			}
		})
	}
}

// The per-request path of the client (send, then receive and account)
// allocates nothing.
func TestRRHotPathDoesNotAllocate(t *testing.T) {
	testenv.RequireRoot(t)
	topo := realize(t, topology.Spec{Kind: topology.KindVeth})
	for _, proto := range []string{ProtoUDP, ProtoTCP} {
		t.Run(proto, func(t *testing.T) {
			cli, srv := rrPair(t, topo, RRConfig{Proto: proto, Flows: 2, Workers: 1})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { srv.Run(ctx) })
			defer wg.Wait()
			defer cancel()
			k := cli.workers[0]
			k.clock, k.stop = newMonoClock(), new(atomic.Bool)
			for _, wait := range []bool{false, true} {
				if n := testing.AllocsPerRun(100, func() {
					for _, f := range k.flows {
						if _, _, err := k.sendReq(f, k.clock.now()); err != nil {
							t.Fatal(err)
						}
					}
					for cli.Outstanding() > 0 {
						if err := k.receive(wait, true); err != nil {
							t.Fatal(err)
						}
					}
				}); n != 0 {
					t.Errorf("wait %v: %v allocations per round", wait, n)
				}
			}
			if cli.Responses() < 400 || cli.Lost() != 0 {
				t.Errorf("%d responses, %d lost", cli.Responses(), cli.Lost())
			}
		})
	}
}

// rrBench runs closed-loop request/response with one flow of 64-byte
// requests for a fixed window per iteration and reports the round-trip
// median and p99, and the same for sockperf ping-pong (if installed) on the
// same kind of path with the same CPU placement. Placement matters more
// than anything here: in this VM a wakeup across CPUs costs some 20 us
// (an IPI and a halted vCPU), so client and server on one CPU (same) see
// about a quarter of the round trip they see on two (split).
func rrBench(b *testing.B, proto string) {
	testenv.RequireRoot(b)
	const window, size = time.Second, 64
	for _, pl := range []struct {
		name string
		cpus [2]int // client, server
	}{{"same", [2]int{1, 1}}, {"split", [2]int{0, 1}}} {
		b.Run("cpus="+pl.name+"/vethbench", func(b *testing.B) {
			topo := realize(b, topology.Spec{Kind: topology.KindVeth})
			cli, srv := rrPair(b, topo, RRConfig{Proto: proto, Flows: 1, Size: size, CPUs: []int{pl.cpus[0]}})
			if err := srv.PinTo(pl.cpus[1]); err != nil {
				b.Fatal(err)
			}
			var elapsed time.Duration
			for b.Loop() {
				elapsed += runRR(b, cli, srv, window, nil)
			}
			h := cli.RTT()
			b.ReportMetric(quantileUS(h, 0.5), "p50-us")
			b.ReportMetric(quantileUS(h, 0.99), "p99-us")
			b.ReportMetric(float64(cli.Responses())/elapsed.Seconds(), "rr/s")
			b.ReportMetric(float64(cli.CPUTime())/float64(elapsed), "cli-util")
			b.ReportMetric(float64(srv.CPUTime())/float64(elapsed), "srv-util")
			b.ReportMetric(0, "ns/op")
		})
		b.Run("cpus="+pl.name+"/sockperf", func(b *testing.B) {
			topo := realize(b, topology.Spec{Kind: topology.KindVeth})
			var p50, p99 float64
			for b.Loop() {
				a, c := sockperf(b, topo, proto == ProtoTCP, size, pl.cpus, window)
				p50, p99 = p50+a, p99+c
			}
			b.ReportMetric(p50/float64(b.N), "p50-us")
			b.ReportMetric(p99/float64(b.N), "p99-us")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkRRUDP compares closed-loop UDP request/response with sockperf
// ping-pong on the same kind of veth path.
func BenchmarkRRUDP(b *testing.B) { rrBench(b, ProtoUDP) }

// BenchmarkRRTCP does the same over TCP.
func BenchmarkRRTCP(b *testing.B) { rrBench(b, ProtoTCP) }
