package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/vethbench/vethbench/bench/peers"
)

func main() {
	d := flag.Duration("duration", 3*time.Second, "length of one measurement")
	n := flag.Int("repeats", 3, "measurements of each side, alternating; the medians are compared")
	only := flag.String("run", "", "only the comparisons whose key matches this regexp (keys: "+strings.Join(peers.Keys(), " ")+")")
	flag.Parse()
	if *d < time.Second || *n < 1 {
		fmt.Fprintln(os.Stderr, "bench-peers: -duration must be at least 1s and -repeats at least 1")
		os.Exit(2)
	}
	var re *regexp.Regexp
	if *only != "" {
		var err error
		if re, err = regexp.Compile(*only); err != nil {
			fmt.Fprintln(os.Stderr, "bench-peers: -run:", err)
			os.Exit(2)
		}
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench-peers: needs root (network namespaces, devices, BPF)")
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rows, err := peers.Run(ctx, peers.Options{Duration: *d, Repeats: *n, Progress: os.Stderr, Only: re})
	if len(rows) > 0 {
		fmt.Println()
		peers.Write(os.Stdout, rows)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-peers:", err)
		os.Exit(1)
	}
}
