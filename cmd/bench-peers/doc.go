// Command bench-peers measures vethbench's generators against trafgen,
// iperf3 and sockperf on one veth pair and prints a table of the ratios;
// `make bench-peers` installs the peers (Debian packages) and runs it. It
// holds only the flags and the output: the measurement is package
// bench/peers, and docs/generators.md has the figures it gave.
//
//	bench-peers [-duration 3s] [-repeats 3] [-run regexp]
//
// -run keeps the comparisons whose key matches (packet, udp/2, udp/1, xdp,
// rr/udp, rr/tcp, rr/udp/1cpu, rr/tcp/1cpu, tcp), as in
// `make bench-peers PEERS_FLAGS='-run ^xdp$'`.
//
// It needs root (namespaces, devices, BPF). Exit status: 0 when every row
// was measured; 1 when it is not root or a measurement failed (the rows
// measured so far are still printed, the error on stderr); 2 for bad flags.
package main
