// Package bench is the runner: it takes a case (a topology, traffic and
// measurement settings), builds the topology, reads every knob back,
// attaches the eBPF counters at the receiver's ingress, starts the draining
// receiver and the generator, runs a discarded warm-up window and then the
// measured trials, closes the packet accounting of each trial from the
// kernel's own counters, tears everything down and returns the case as a
// result record (reports/result).
//
// Each trial is a fresh window: counters are read before the generator
// starts and after the in-flight packets have drained, so a trial's counts
// are exact differences and sent = received + dropped can be checked.
//
// Privileges: root (namespaces, devices, BPF). Errors: a bad Config is
// ErrInvalid, returned before anything is created; a topology the kernel
// cannot build becomes a case with status "unsupported"; a cancelled context
// stops the run at once, tears down, and returns context.Canceled.
package bench
