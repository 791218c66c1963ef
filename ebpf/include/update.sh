#!/bin/sh
# Refresh the vendored libbpf headers used by ../counter.c and ../drops.c.
#
# They are copied, unmodified, from Debian 12's libbpf-dev package, pinned to
# the version below; the build never reads /usr/include (bpf2go is run with
# -nostdinc), so the generated object does not depend on the build host.
#
#   bpf_helpers.h bpf_helper_defs.h bpf_endian.h
#   bpf_core_read.h                               <- libbpf-dev 1:1.1.2-0+deb12u1, /usr/include/bpf/
#   LICENSE.libbpf                                <- the same package's /usr/share/doc/libbpf-dev/copyright
#                                                    (the headers are LGPL-2.1 OR BSD-2-Clause)
#
# vb_types.h is written by hand: fixed-width types, the few UAPI constants the
# program uses, and struct __sk_buff copied from linux-libc-dev 6.1.192-2
# (/usr/include/linux/bpf.h). The struct is part of the stable BPF ABI.
#
# vb_kernel.h is written by hand too: the few kernel-internal fields drops.c
# reads (struct sk_buff, struct skb_shared_info), marked preserve_access_index
# so that every access is a CO-RE relocation resolved against the running
# kernel's BTF at load time. Fields are matched by name, not position; add a
# field here only with its kernel name and a compatible type. (No vmlinux.h:
# a generated one would tie the build to one kernel's BTF and weigh megabytes.)
#
# vb_packet.h (hand-written) says what a vethbench packet is; both programs
# include it.
#
# Usage (from anywhere):  sh ebpf/include/update.sh && go generate ./ebpf/...
set -eu

LIBBPF_DEV_VERSION='1:1.1.2-0+deb12u1'

cd "$(dirname "$0")"

have=$(dpkg-query -W -f '${Version}' libbpf-dev 2>/dev/null || true)
if [ "$have" != "$LIBBPF_DEV_VERSION" ]; then
	echo "update.sh: need libbpf-dev $LIBBPF_DEV_VERSION, have '${have:-none}'" >&2
	echo "  apt-get install libbpf-dev=$LIBBPF_DEV_VERSION" >&2
	exit 1
fi

for h in bpf_helpers.h bpf_helper_defs.h bpf_endian.h bpf_core_read.h; do
	cp /usr/include/bpf/"$h" "$h"
done
cp /usr/share/doc/libbpf-dev/copyright LICENSE.libbpf
echo "update.sh: copied libbpf headers from libbpf-dev $LIBBPF_DEV_VERSION"
