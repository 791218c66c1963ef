// Package benchfmt writes vethbench results in the Go benchmark format
// (https://golang.org/design/14313-benchmark-format), the text that
// `go test -bench` prints and that benchstat and the tools around it read,
// and reads any file in that format back. It is built on
// golang.org/x/perf/benchfmt, the reference reader and writer.
//
// # What Write produces
//
// Configuration lines first (only those the result knows):
//
//	goos: linux
//	goarch: amd64
//	cpu: AMD EPYC 7B13
//	kernel: 6.18.44
//	vcpus: 4
//	vethbench: v0.1.0+abc123
//
// then one unit metadata line per unit, saying which direction is better
// (benchstat and Read use it), then one line per trial, so that benchstat
// sees each case's distribution and not only its median:
//
//	BenchmarkVethbench/veth/pkt=64/gro=on 1 1009064 pps 1009064 device-pps 796 ns/pkt 1951 p50-ns 9891 p99-ns 38838 p999-ns 64580096 B/s
//
// The benchmark name is "Vethbench/" followed by the case name (BenchName);
// its key=value segments become benchstat's sub-benchmark keys (/pkt, /gro,
// ...). The iteration count is always 1: each line is one trial. Numbers are
// plain decimals in their shortest exact form, so reading them back gives the
// result's float64 values bit for bit. Units:
//
//	pps         packets read by the receiving socket per second   (higher is better)
//	device-pps  packets that reached the receiving device per second (higher)
//	ns/pkt      busy CPU time of the run's pinned CPUs per received packet (lower)
//	p50-ns, p99-ns, p999-ns  one-way latency percentiles in ns     (lower; only when the trial measured latency)
//	B/s         received frame bytes per second                    (higher)
//
// Cases that are unsupported or failed have no trials; each is written as a
// comment line ("# ipvlan-l2/pkt=64: unsupported: ..."), which readers of
// the format ignore.
//
// benchstat groups results into tables by every configuration key, so two
// files from different vethbench builds or kernels land in separate tables;
// to compare them side by side anyway, tell it to ignore those keys:
//
//	benchstat -ignore vethbench,kernel base.txt new.txt
//
// (`vethbench compare` compares them without that and warns when the host
// context differs.)
//
// # Reading
//
// Read and ReadFile accept any Go benchmark output, vethbench's or
// `go test -bench`'s. They are stricter than benchstat: a malformed
// benchmark line is an error (ErrSyntax, with file and line), not a
// skipped record, because a silently dropped trial would change a verdict.
// Values are kept as written (ns stay ns); Benchmark.Values also finds a
// unit by its tidied name (sec/op for ns/op, B/s for MB/s).
//
// Privileges: none. Errors: ErrSyntax for input that is not well-formed Go
// benchmark output or holds no results; write errors of the destination.
package benchfmt
