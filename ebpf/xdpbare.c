// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//go:build ignore

/*
 * vb_xdp_bare: the reference the xdp generator is measured against.
 *
 * It is run exactly as vb_xdp_gen is (BPF_PROG_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES, kept in the XDP dispatcher the same way) and
 * does the least such a program can: it redirects every frame, unchanged,
 * to ifindex, and counts it in a global. No stamp, no checksum, no map.
 * The count is what makes the reference exact: a call that a signal cut
 * short, or made start over, still transmitted whole batches, which
 * repeat alone would not count. What it reaches
 * into a veth whose peer drops with vb_xdp_sink is the ceiling of the
 * path itself (page pool, redirect, the veth ring, the peer's NAPI and
 * XDP), which the generator's own per-frame work can only lower.
 */

#include "vb_types.h"
#include "bpf_helpers.h"

char __license[] SEC("license") = "Dual BSD/GPL";

struct xdp_md;

/* Set at load time: the device the frames leave through. */
volatile const __u32 ifindex = 0;

/* Frames run through the program; read by Go around each call. Each
 * sending thread has its own instance, so a plain increment cannot race. */
__u64 frames = 0;

SEC("xdp")
int vb_xdp_bare(struct xdp_md *ctx)
{
	frames++;
	return bpf_redirect(ifindex, 0);
}
