package vbpf

// counter.c is compiled by bpf2go into counter_bpfel.o, embedded by
// counter_bpfel.go. Both are generated and committed; regenerate with
// `go generate ./ebpf/...` (clang and llvm-strip needed, nothing from
// /usr/include: the headers are vendored under include/, see include/update.sh).
//
//go:generate go tool bpf2go -target bpfel -cflags "-O2 -g -Wall -Werror -nostdinc" -type vb_counts -type vb_hist counter counter.c -- -I./include
