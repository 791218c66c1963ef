/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * vb_kernel.h: the few kernel-internal fields drops.c reads, declared by
 * hand instead of a generated vmlinux.h. They are not ABI: every struct is
 * marked preserve_access_index, so clang records each access as a CO-RE
 * relocation and the loader (cilium/ebpf) moves it to wherever the running
 * kernel's BTF (/sys/kernel/btf/vmlinux) has the field. Only the fields
 * named here need to exist, by name and compatible type; their order and
 * offsets below do not matter. See update.sh.
 */
#ifndef __VB_KERNEL_H
#define __VB_KERNEL_H

#include "vb_types.h"

/*
 * include/linux/skbuff.h. The header offsets are u16 offsets from head,
 * (u16)~0 when unset. tail and end are sk_buff_data_t, an offset from head
 * on 64-bit kernels (NET_SKBUFF_DATA_USES_OFFSET) and a pointer on 32-bit
 * ones; declared as offsets here, the relocation fails to load on a 32-bit
 * kernel rather than reading garbage.
 */
struct sk_buff {
	unsigned int len;
	__be16 protocol;
	__u16 transport_header;
	__u16 network_header;
	__u16 mac_header;
	unsigned int tail;
	unsigned int end;
	unsigned char *head;
	unsigned char *data;
} __attribute__((preserve_access_index));

/* include/linux/skbuff.h: at head + end. */
struct skb_shared_info {
	unsigned short gso_size;
	unsigned short gso_segs;
} __attribute__((preserve_access_index));

#endif /* __VB_KERNEL_H */
