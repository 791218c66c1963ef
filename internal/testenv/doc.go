// Package testenv holds what vethbench's tests share. RequireRoot skips a
// privileged test with the reason when the process cannot create namespaces
// and devices, and fails it instead when VETHBENCH_REQUIRE_PRIVILEGED=1
// (set by .ci/run), so that CI never passes with every privileged test
// skipped. Main wraps a package's tests (TestMain) and fails the run when a
// test leaked a named namespace, a link in the initial namespace, a pinned
// BPF object or a file descriptor; anonymous namespaces, BPF programs, maps
// and links are all held by descriptors, so the descriptor check covers
// them without confusing them with another process's. KernelConfig reads
// /proc/config.gz, so that a test can fail, not skip, when a feature the
// kernel was built with is missing; KernelAtLeast and CounterHook do the
// same by the kernel's version (TCX from 6.6, cls_bpf before); Emulated
// says the tests run under emulation (make vmtest), where rates and times
// mean nothing.
//
// It is imported by tests only. Privileges: none; without root the leak
// check compares what it can read (a place it cannot read is left out of
// both snapshots). Errors: none returned; Main lists the leaks on stderr and
// returns a non-zero exit code.
package testenv
