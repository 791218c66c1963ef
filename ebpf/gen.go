package vbpf

// counter.c, drops.c, xdpgen.c, xdpbare.c and stages.c are compiled by
// bpf2go into counter_bpfel.o, drops_bpfel.o, xdpgen_bpfel.o,
// xdpbare_bpfel.o and stages_bpfel.o, embedded by the matching _bpfel.go
// files. All ten are generated and committed; regenerate with `go generate ./ebpf/...`
// (clang and llvm-strip needed, nothing from /usr/include: the headers are
// vendored or written under include/, see include/update.sh).
//
//go:generate go tool bpf2go -target bpfel -cflags "-O2 -g -Wall -Werror -nostdinc" -type vb_counts -type vb_window counter counter.c -- -I./include
//go:generate go tool bpf2go -target bpfel -cflags "-O2 -g -Wall -Werror -nostdinc" -type vb_drop_counts drops drops.c -- -I./include
//go:generate go tool bpf2go -target bpfel -cflags "-O2 -g -Wall -Werror -nostdinc" -type vb_sink_counts xdpgen xdpgen.c -- -I./include
//go:generate go tool bpf2go -target bpfel -cflags "-O2 -g -Wall -Werror -nostdinc" xdpbare xdpbare.c -- -I./include
//go:generate go tool bpf2go -target bpfel -cflags "-O2 -g -Wall -Werror -nostdinc" -type vb_slot -type vb_stage_hist -type vb_stage_counts -type vb_stage_case stages stages.c -- -I./include
