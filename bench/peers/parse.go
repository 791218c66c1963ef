package peers

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// trafgenConfig renders one frame as a trafgen packet configuration: the
// exact bytes vethbench's own generators send.
func trafgenConfig(frame []byte) string {
	var b strings.Builder
	b.WriteString("{\n")
	for i, c := range frame {
		fmt.Fprintf(&b, "0x%02x,", c)
		if i%16 == 15 {
			b.WriteString("\n")
		}
	}
	s := strings.TrimSuffix(strings.TrimRight(b.String(), "\n"), ",")
	return s + "\n}\n"
}

// iperf3Result is what `iperf3 -J` reports on the client's side.
type iperf3Result struct {
	SentBits, ReceivedBits float64 // bits/s
	SentPackets            uint64  // udp datagrams sent (0 for tcp)
	Seconds                float64
}

func parseIperf3(out string) (iperf3Result, error) {
	type sum struct {
		Seconds float64 `json:"seconds"`
		Bits    float64 `json:"bits_per_second"`
		Packets uint64  `json:"packets"`
	}
	var v struct {
		End struct {
			Sum         sum `json:"sum"`
			SumSent     sum `json:"sum_sent"`
			SumReceived sum `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	// iperf3 may print a line or two before its JSON.
	if i := strings.Index(out, "{"); i > 0 {
		out = out[i:]
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return iperf3Result{}, fmt.Errorf("parse iperf3 -J output: %w", err)
	}
	if v.Error != "" {
		return iperf3Result{}, fmt.Errorf("iperf3: %s", v.Error)
	}
	e := v.End
	r := iperf3Result{SentBits: e.SumSent.Bits, ReceivedBits: e.SumReceived.Bits, SentPackets: e.Sum.Packets, Seconds: e.SumSent.Seconds}
	if r.Seconds <= 0 {
		r.Seconds = e.Sum.Seconds
	}
	if r.Seconds <= 0 {
		return r, fmt.Errorf("iperf3 reported no test interval")
	}
	return r, nil
}

// sockperfResult is sockperf ping-pong's latency summary, one-way (half
// the round trip, as sockperf reports it), microseconds.
type sockperfResult struct {
	P50, P99, Avg float64
	Observations  uint64
}

// parseSockperf reads lines such as
//
//	sockperf: ====> avg-latency=5.123 (std-dev=1.234)
//	sockperf: ---> <MAX> observation =   87.654
//	sockperf: ---> percentile 99.000 =    9.876
//	sockperf: ---> percentile 50.000 =    4.321
//	sockperf: [Valid Duration] RunTime=4.999 sec; SentMessages=...; ReceivedMessages=123456
func parseSockperf(out string) (sockperfResult, error) {
	var r sockperfResult
	found := 0
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "sockperf:"))
		switch {
		case strings.Contains(line, "avg-latency="):
			f := strings.TrimSpace(strings.SplitN(strings.SplitN(line, "avg-latency=", 2)[1], " ", 2)[0])
			r.Avg, _ = strconv.ParseFloat(f, 64)
		case strings.Contains(line, "percentile 50.000"), strings.Contains(line, "percentile 99.000"):
			_, val, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil {
				return r, fmt.Errorf("parse sockperf line %q: %w", line, err)
			}
			if strings.Contains(line, "50.000") {
				r.P50 = v
			} else {
				r.P99 = v
			}
			found++
		case strings.Contains(line, "[Valid Duration]") && strings.Contains(line, "ReceivedMessages="):
			f := strings.SplitN(line, "ReceivedMessages=", 2)[1]
			f = strings.TrimRight(strings.Fields(f)[0], ";")
			r.Observations, _ = strconv.ParseUint(f, 10, 64)
		}
	}
	if found < 2 || r.P50 <= 0 {
		return r, fmt.Errorf("sockperf printed no percentiles")
	}
	return r, nil
}
