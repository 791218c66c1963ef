// Package bench is the runner: it measures bench/plan cases and returns the
// result file's contents (reports/result). For each case it builds the
// topology, sets the knobs and reads every knob back, attaches the eBPF
// counters at the receiver's ingress and on kfree_skb, starts the receiver
// and the generator pinned to CPUs, runs a discarded warm-up window and then
// the measured trials, and restores and tears everything down in reverse
// order. With the datagram generators (udp, packet, xdp) the windows run
// back to back, every datagram tagged with its window, and a trial counts
// the datagrams sent in it, however late they arrive or are dropped
// (tagged.go); tcp and rr windows are read before the generator starts and
// after the in-flight traffic has drained (window.go). Either way
// sent = received + dropped is checked, and the kernel's own counters with
// the eBPF ones. A trial that sent nothing fails its case. Finished cases
// get medians with intervals (internal/stats), flagged outliers, warnings,
// and which side limited the figure.
//
// RunCase measures one case in one topology; Run measures a list of cases.
// By default (plan.MethodInterleaved) it goes question by question: every
// trial builds all of a question's cases at once and moves the load from
// one to the next every slice, in blocks of one slice each, and each
// question's paired pps and CPU ratios to its baseline go into the result
// (interleave.go). plan.MethodRounds, and any question with a tcp case,
// runs whole trials in shuffled rounds with a fresh topology per trial
// (rounds.go). Both stop adaptively (plan.Measure's MaxTrials, Target,
// TimeLimit and Seed). The method is described in docs/method.md. Only
// cmd/ imports this package.
//
// Privileges: root (namespaces, devices, BPF, host sysctls). A case with a
// host-wide knob needs Options.Journal.
//
// Errors: Run validates every case first and returns its error, wrapping
// plan.ErrInvalid with a *field.Error naming the field, before anything is
// created. A case's own failure does not stop the run: a topology, knob or
// hook the kernel lacks makes the case's Status "unsupported" with the
// reason, any other setup or window error, or a trial that sent nothing,
// "failed" with the error (naming the send errors the kernel gave). A
// cancelled context stops at once, tears down, and returns the cases
// finished so far (Interrupted set) with the context's error; a case cut
// short keeps its completed trials (a window cut short is never recorded),
// summarised over them, and is marked Partial, in a single-case run as in
// a sweep.
package bench
