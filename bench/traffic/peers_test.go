package traffic

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/vethbench/vethbench/bench/topology"
	"github.com/vethbench/vethbench/internal/netns"
)

// The reference tools the benchmarks compare against, run on the same kind
// of path: iperf3 for bulk TCP, sockperf ping-pong for request/response.

// startIn starts a command inside ns, its output going to a file it
// returns: a child inherits the namespace of the thread that forks it,
// which netns.Do holds in ns. The process is killed at cleanup.
func startIn(tb testing.TB, ns *netns.NS, name string, args ...string) (*exec.Cmd, *os.File) {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		tb.Skipf("%s not installed", name)
	}
	out, err := os.CreateTemp(tb.TempDir(), name)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = out, out // files: Start starts no goroutine
	if err := ns.Do(cmd.Start); err != nil {
		out.Close()
		tb.Fatalf("start %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		out.Close()
	})
	return cmd, out
}

// runIn runs a command inside ns to completion and returns its output.
func runIn(tb testing.TB, ns *netns.NS, name string, args ...string) []byte {
	tb.Helper()
	cmd, out := startIn(tb, ns, name, args...)
	err := cmd.Wait()
	b, _ := os.ReadFile(out.Name())
	if err != nil {
		tb.Fatalf("%s %v: %v\n%s", name, args, err, b)
	}
	return b
}

// iperf3 runs one iperf3 TCP test with streams connections for window
// (whole seconds) from the sender's namespace to a server in the
// receiver's and returns Gbit/s.
func iperf3(tb testing.TB, topo *topology.Topology, streams int, window time.Duration) float64 {
	tb.Helper()
	port := "5299"
	startIn(tb, topo.Receiver.NS, "iperf3", "-s", "-1", "-B", topo.Receiver.Addr.String(), "-p", port)
	time.Sleep(200 * time.Millisecond) // let it listen
	secs := strconv.Itoa(max(1, int(window.Seconds())))
	out := runIn(tb, topo.Sender.NS, "iperf3", "-c", topo.Receiver.Addr.String(), "-p", port,
		"-t", secs, "-P", strconv.Itoa(streams), "-J")
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		tb.Fatalf("iperf3 output: %v\n%s", err, out)
	}
	return res.End.SumReceived.BitsPerSecond / 1e9
}

var sockperfPct = regexp.MustCompile(`percentile (\d+\.\d+) =\s+([0-9.]+)`)

// sockperf runs sockperf ping-pong (UDP, or TCP with tcp) with size-byte
// messages for window, the client on CPU cpus[0] and the server on cpus[1]
// (with taskset; -1: unpinned), and returns the round-trip median and p99
// in microseconds (sockperf reports half the round trip).
func sockperf(tb testing.TB, topo *topology.Topology, tcp bool, size int, cpus [2]int, window time.Duration) (p50, p99 float64) {
	tb.Helper()
	if _, err := exec.LookPath("sockperf"); err != nil {
		tb.Skip("sockperf not installed")
	}
	port := "11111"
	addr := topo.Receiver.Addr.String()
	srv := []string{"sockperf", "server", "-i", addr, "-p", port}
	cli := []string{"sockperf", "ping-pong", "-i", addr, "-p", port, "-m", strconv.Itoa(size),
		"-t", strconv.Itoa(max(1, int(window.Seconds())))}
	if tcp {
		srv, cli = append(srv, "--tcp"), append(cli, "--tcp")
	}
	if cpus[0] >= 0 {
		cli = append([]string{"taskset", "-c", strconv.Itoa(cpus[0])}, cli...)
	}
	if cpus[1] >= 0 {
		srv = append([]string{"taskset", "-c", strconv.Itoa(cpus[1])}, srv...)
	}
	startIn(tb, topo.Receiver.NS, srv[0], srv[1:]...)
	time.Sleep(300 * time.Millisecond)
	out := runIn(tb, topo.Sender.NS, cli[0], cli[1:]...)
	for _, m := range sockperfPct.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		switch string(m[1]) {
		case "50.000":
			p50 = 2 * v
		case "99.000":
			p99 = 2 * v
		}
	}
	if p50 == 0 {
		tb.Fatalf("no percentiles in sockperf's output:\n%s", out)
	}
	return p50, p99
}
