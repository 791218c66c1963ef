#!/bin/sh
# /init of the vmtest initramfs (busybox sh, runs as root, pid 1). Loads the
# modules, runs the test binaries and vethbench, prints one
# "VMTEST STEP <name>: PASS|FAIL" line per step and "VMTEST RESULT: PASS|FAIL",
# prints the result files base64-encoded between VMTEST-FILE-BEGIN/END, and
# powers off. Rates measured here (TCG emulation) are meaningless.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TMPDIR=/tmp GOTRACEBACK=all VETHBENCH_EMULATED=1
mkdir -p /root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /sys/fs/bpf /sys/kernel/tracing /sys/kernel/debug /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
echo /sbin/modprobe >/proc/sys/kernel/modprobe
ip link set lo up
hostname vmtest

failed=0
echo "VMTEST BEGIN kernel $(uname -r) ($(nproc) vCPUs, $(grep MemTotal /proc/meminfo | tr -s ' '))"
echo "VMTEST NOTE: this VM is emulated (qemu TCG): any rate or latency printed below is meaningless, not a performance result"

step() { # name command...: run it, print a PASS/FAIL line
	name=$1
	shift
	echo "VMTEST STEP $name: START"
	t0=$(date +%s)
	"$@"
	rc=$?
	t1=$(date +%s)
	if [ $rc -eq 0 ]; then
		echo "VMTEST STEP $name: PASS ($((t1 - t0)) s)"
	else
		echo "VMTEST STEP $name: FAIL (exit $rc, $((t1 - t0)) s)"
		failed=$((failed + 1))
	fi
}

load_modules() {
	d=/lib/modules/$(uname -r)
	bad=0
	while read -r p; do
		m=$(basename "$p")
		m=${m%%.ko*}
		if grep -q "^$(echo "$m" | tr - _) " /proc/modules; then continue; fi
		if ! insmod "$d/$p"; then
			echo "insmod $p failed"
			bad=1
		fi
	done <"$d/vmtest.order"
	echo "loaded: $(cut -d' ' -f1 /proc/modules | sort | tr '\n' ' ')"
	return $bad
}

gotest() { # package [test flags...]: run a test binary from its package directory
	pkg=$1
	shift
	if [ ! -x "/vb/$pkg/pkg.test" ]; then
		echo "no test binary for $pkg (it did not build)"
		return 1
	fi
	(cd "/vb/$pkg" && ./pkg.test -test.v -test.count=1 -test.timeout=8m "$@")
}

has_pkg() { grep -qx "$1" /vb/packages; }

# vethbench run of one ipvlan mode; the result JSON goes to /out and must
# show the cls_bpf counter hook (6.1 has no TCX).
ipvlan_run() {
	mode=$1
	f=/out/ipvlan-$mode.json
	vethbench run --topology ipvlan --mode "$mode" --duration 300ms --trials 2 --warmup 0 --format json -o "$f" || return 1
	if ! grep -q '"counter_hook": *"cls_bpf"' "$f"; then
		echo "$f: no \"counter_hook\": \"cls_bpf\" (on 6.1 the counters must fall back to cls_bpf):"
		grep -o '"counter_hook": *"[^"]*"' "$f"
		return 1
	fi
	grep -o '"counter_hook": *"[^"]*"' "$f" | sort -u
}

# vethbench run --stages on a veth pair: which boundaries this kernel
# offers (6.1 marks the read: a socket stage), and that each stage is timed;
# the table goes to /out/stages.txt.
stages_run() {
	f=/out/stages.txt
	vethbench run --topology veth --stages --rate 2000 --duration 300ms --trials 2 --warmup 0 >"$f" 2>&1 || { cat "$f"; return 1; }
	cat "$f"
	grep -q '^stages, boundaries send, queue, xmit, ingress' "$f" || { echo "$f: no stages block"; return 1; }
	for s in sender qdisc device; do
		grep -q "^  $s " "$f" || { echo "$f: no $s stage"; return 1; }
	done
}

step modules load_modules
has_pkg bench/probe && step test-probe gotest bench/probe
has_pkg internal/netns && step test-netns gotest internal/netns
has_pkg bench/kstat && step test-kstat gotest bench/kstat
has_pkg bench/topology && step test-topology gotest bench/topology
has_pkg ebpf && step test-ebpf gotest ebpf
# Not TestRunCaseStages: its per-trial sums depend on timing at a window's
# edge (a datagram's stages in one window, its trip in the next), which the
# emulation stretches to milliseconds; the ebpf stage tests check the sums
# per datagram here, and stages_run shows a run works.
has_pkg bench && step test-bench gotest bench -test.run '^(TestRunCaseKinds|TestRunCaseVeth|TestRunCaseGenerators)$'
has_pkg tuning && step test-tuning gotest tuning -test.run '^(TestApplyOtherKinds|TestCatalog|TestReadDeviceVeth|TestApplyShapeVeth)$'
step vethbench-doctor sh -c 'vethbench doctor >/out/doctor.txt 2>&1; rc=$?; cat /out/doctor.txt; exit $rc'
step vethbench-ipvlan-l2 ipvlan_run l2
step vethbench-ipvlan-l3 ipvlan_run l3
step vethbench-stages stages_run

for f in /out/*; do
	[ -f "$f" ] || continue
	echo "VMTEST-FILE-BEGIN $(basename "$f")"
	base64 "$f"
	echo "VMTEST-FILE-END"
done

if [ $failed -eq 0 ]; then
	echo "VMTEST RESULT: PASS"
else
	echo "VMTEST RESULT: FAIL ($failed steps failed)"
fi
sync
poweroff -f
