// Command sensitivity checks the result of a sweep of
// examples/sensitivity.yaml, an A/A/B question measured interleaved: A (the
// question's baseline), A' (its replica, replica=2) and B (A with the
// validation knob cost_ns=N: N ns more CPU per packet at the receiver).
// `make sensitivity` runs the sweep and then this:
//
//	sensitivity [-aa 0.01] [-cpu-tolerance 0.5] result.json
//
// It passes when
//
//   - A'/A's pps ratio has an interval within [1-aa, 1+aa] that contains 1:
//     no effect is seen where there is none;
//   - B/A's pps ratio has an interval below 1: the effect is seen; and
//   - B/A's CPU ratio is 1 + N/cost_A within cpu-tolerance of the effect
//     N/cost_A, where cost_A is the median of A's CPU ns per packet over
//     the blocks: the effect seen is the one injected.
//
// It prints a table of the two ratios with their intervals, the expected
// CPU ratio beside the measured one, and PASS or FAIL. It reads only the
// result file (package reports/result): no privileges, any machine.
//
// Exit status: 0 on PASS, 1 on FAIL, 2 when the file cannot be read or
// does not hold such a question (no questions, no paired blocks because the
// sweep ran in rounds, no replica or no cost case, no ratios), or for bad
// flags.
package main
