package reports

// Tests that the answers compare what the question asks with the verdict
// rule of `vethbench compare`, written against the answer's words so that
// they say the same of any implementation: no "fastest" picked after
// sorting, no effect called from one end of an interval, p-values adjusted
// across the question.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/vethbench/vethbench/internal/stats"
	"github.com/vethbench/vethbench/reports/result"
)

// trialsCase makes an ok case with the given per-trial pps.
func trialsCase(name string, pps []float64, questions ...string) result.Case {
	c := result.Case{Name: name, Status: result.StatusOK, Questions: questions}
	for i, p := range pps {
		c.Trials = append(c.Trials, result.Trial{Index: i, PPS: p, DevicePPS: p, Closed: true, Sent: 1000, Received: 1000})
	}
	iv := stats.MedianCI(pps, 0.95)
	e := result.Estimate{Median: iv.Median, Lo: iv.Lo, Hi: iv.Hi, Level: iv.Level, N: len(pps)}
	c.Summary = &result.Summary{PPS: e, DevicePPS: e, CPUNsPerPkt: result.Estimate{Median: 1e9 / iv.Median, N: len(pps)}, Closed: true, Sent: 1000, Received: 1000}
	return c
}

// normal draws n values around mean with a coefficient of variation cv.
func normal(rng *rand.Rand, n int, mean, cv float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = mean * (1 + cv*rng.NormFloat64())
	}
	return v
}

// verdictOf finds the words an answer says of a value: "txqueuelen 400 is
// 1.02x (95% CI 0.99–1.05, inconclusive)" gives "inconclusive".
func verdictOf(answer, value string) string {
	m := regexp.MustCompile(regexp.QuoteMeta(value) + ` is [0-9.]+x \(95% CI [0-9.]+–[0-9.]+, ([a-z ]+)\)`).FindStringSubmatch(answer)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestAnswerSelectionEffect: six txqueuelen values whose pps come from one
// distribution (3% noise, 8 trials each). Picking the fastest and the
// slowest after sorting finds a "difference" between two equal cases;
// comparing each with the baseline, the first of the grid, with p-values
// adjusted across the question, finds none.
func TestAnswerSelectionEffect(t *testing.T) {
	const q = "Does txqueuelen matter?"
	rng := rand.New(rand.NewPCG(selectionSeed, 1))
	var cases []result.Case
	for _, l := range []int{100, 200, 300, 400, 500, 600} {
		cases = append(cases, trialsCase(fmt.Sprintf("veth/pkt=64/txqueuelen=%d", l), normal(rng, 8, 300000, 0.03), q))
	}
	got := answer(analyze(synthResult(cases...)).Groups[0]).Plain()
	if strings.Contains(got, "fastest") || strings.Contains(got, "faster") || strings.Contains(got, "slower") {
		t.Errorf("equal cases called different:\n%s", got)
	}
	for _, l := range []int{200, 300, 400, 500, 600} {
		v := verdictOf(got, fmt.Sprintf("txqueuelen %d", l))
		if v != "inconclusive" && v != "no measurable difference" {
			t.Errorf("txqueuelen %d against txqueuelen 100: %q, want inconclusive or no measurable difference:\n%s", l, v, got)
		}
	}
}

// selectionSeed draws six equal cases whose fastest and slowest differ by
// a ratio of 1.06 with an interval of 1.03–1.09 and a p of 0.0006: even
// the rule of compare, applied to the pair that sorting picks, calls it
// a difference.
const selectionSeed = 399

// TestAnswerOneEndBeyondBand: an interval of 1.01–1.07 excludes 1 and
// leaves ±3% at one end only. That is no measurable effect, and no
// measured one either: inconclusive, as `vethbench compare` says.
func TestAnswerOneEndBeyondBand(t *testing.T) {
	const q = "Does GRO help veth?"
	rng := rand.New(rand.NewPCG(oneEndSeed, 2))
	g := analyze(synthResult(
		trialsCase("veth/pkt=64/gro=off", normal(rng, 10, 300000, 0.01), q),
		trialsCase("veth/pkt=64/gro=on", normal(rng, 10, 312000, 0.03), q),
	)).Groups[0]
	got := answer(g).Plain()
	if v := verdictOf(got, "gro on"); v != "inconclusive" {
		t.Errorf("gro on against gro off: %q, want inconclusive:\n%s", v, got)
	}
	if strings.Contains(got, "faster") || strings.Contains(got, "no measurable") {
		t.Errorf("an interval with one end beyond ±3%% called an effect or none:\n%s", got)
	}
}

// oneEndSeed draws an interval of 1.01–1.06 with a p of 0.03.
const oneEndSeed = 0

// adjustedPair is a case 10% faster than its baseline whose sixth trial
// sits among the baseline's: the interval of the ratio lies beyond +3%,
// and the Mann-Whitney p (6 against 6, U = 32) is about 0.026.
func adjustedPair() (base, fast []float64) {
	base = []float64{99.5, 99.7, 99.9, 100.1, 100.3, 100.5}
	fast = []float64{99.8, 109.6, 109.8, 110.0, 110.2, 110.4}
	for i := range base {
		base[i] *= 3000
		fast[i] *= 3000
	}
	return base, fast
}

// TestAnswerAdjustsAcrossQuestion: alone in its question, the 10% faster
// case is faster (p 0.026 < 0.05). Beside three cases equal to the
// baseline in the same question, its p-value adjusted across the four
// comparisons (Benjamini-Hochberg) is about 0.1: inconclusive. The
// Markdown report shows that q, not the raw p.
func TestAnswerAdjustsAcrossQuestion(t *testing.T) {
	base, fast := adjustedPair()
	p := stats.MannWhitneyU(fast, base).P
	if !(p > 0.02 && p < 0.03) {
		t.Fatalf("p = %v, want about 0.026", p)
	}
	const q1, q2 = "Does GRO help?", "Does txqueuelen matter?"
	alone := answer(analyze(synthResult(
		trialsCase("veth/pkt=64/gro=off", base, q1),
		trialsCase("veth/pkt=64/gro=on", fast, q1),
	)).Groups[0]).Plain()
	if v := verdictOf(alone, "gro on"); v != "faster" {
		t.Errorf("alone in its question: %q, want faster:\n%s", v, alone)
	}

	rng := rand.New(rand.NewPCG(5, 5))
	cases := []result.Case{
		trialsCase("veth/pkt=64/txqueuelen=100", base, q2),
		trialsCase("veth/pkt=64/txqueuelen=200", fast, q2),
	}
	var ps []float64
	ps = append(ps, p)
	for _, l := range []int{300, 400, 500} {
		v := normal(rng, 6, 300000, 0.002)
		ps = append(ps, stats.MannWhitneyU(v, base).P)
		cases = append(cases, trialsCase(fmt.Sprintf("veth/pkt=64/txqueuelen=%d", l), v, q2))
	}
	r := synthResult(cases...)
	among := answer(analyze(r).Groups[0]).Plain()
	if v := verdictOf(among, "txqueuelen 200"); v != "inconclusive" {
		t.Errorf("among four comparisons: %q, want inconclusive:\n%s", v, among)
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	want := fmtP(stats.BenjaminiHochberg(ps)[0])
	row := regexp.MustCompile(`(?m)^\| Q1 \| txqueuelen 200 vs txqueuelen 100 \| 1\.10x \| [0-9.]+–[0-9.]+ \| ([^|]+) \| ([^|]+) \|$`).FindStringSubmatch(b.String())
	if row == nil || strings.TrimSpace(row[1]) != want || strings.TrimSpace(row[2]) != "inconclusive" {
		t.Errorf("markdown lacks the row of txqueuelen 200 vs txqueuelen 100 with q %s (p %s adjusted) and inconclusive: %q\n%s", want, fmtP(p), row, b.String())
	}
	if !strings.Contains(b.String(), "| q |") {
		t.Errorf("markdown's column is not the adjusted q:\n%s", b.String())
	}
}
