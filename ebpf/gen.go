package vbpf

// counter.c and drops.c are compiled by bpf2go into counter_bpfel.o and
// drops_bpfel.o, embedded by counter_bpfel.go and drops_bpfel.go. All four
// are generated and committed; regenerate with `go generate ./ebpf/...`
// (clang and llvm-strip needed, nothing from /usr/include: the headers are
// vendored or written under include/, see include/update.sh).
//
//go:generate go tool bpf2go -target bpfel -cflags "-O2 -g -Wall -Werror -nostdinc" -type vb_counts -type vb_hist counter counter.c -- -I./include
//go:generate go tool bpf2go -target bpfel -cflags "-O2 -g -Wall -Werror -nostdinc" -type vb_drop_counts drops drops.c -- -I./include
