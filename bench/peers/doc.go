// Package peers measures vethbench's traffic generators against the tools
// people use for the same job — netsniff-ng's trafgen, iperf3, sockperf —
// in one run, on one veth pair, with the same receiving side for each pair
// of measurements, and prints the ratios (`make bench-peers`). The xdp
// generator, which no packaged tool matches, is measured against
// vb_xdp_bare, a program that only redirects, run by the same sender into
// the same XDP-drop sink: the ceiling of that path on this machine.
//
// Every figure comes from the same instrument where one exists: packets per
// second are counted by vethbench's eBPF counter at the receiving device's
// ingress for vethbench's generators and the peers alike; TCP throughput
// and round-trip latency come from each tool's own report (iperf3 -J,
// sockperf's percentiles, which are half round trips). Each measurement is
// repeated, alternating vethbench and the peer, and the medians compared,
// because the shared machine is noisy.
//
// The peers run inside vethbench's anonymous namespaces: a child process
// forked from a thread switched into a namespace lives there. trafgen is
// run with -A and -Q so that it touches neither the host's socket memory
// sysctls nor IRQ affinities. The figures it gave, and what they mean, are
// in docs/generators.md.
//
// Privileges: root (namespaces, devices, BPF). Errors: a missing peer
// binary is reported with the package to install; a peer that fails gets
// its output's tail in the error.
package peers
