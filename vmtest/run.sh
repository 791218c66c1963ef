#!/usr/bin/env bash
# make vmtest: boot Debian's 6.1 cloud kernel under qemu with a busybox
# initramfs holding static vethbench and test binaries, run them as root
# inside, and bring the results out to out/vmtest/. This tests function on
# an older kernel with ipvlan and dummy (which the development VM lacks);
# the VM runs under TCG emulation, so any rate or latency measured there is
# meaningless and must never be reported as performance.
#
# Environment knobs (all optional):
#   VMTEST_KPKG     Debian kernel package to boot (default below; pinned)
#   VMTEST_ACCEL    qemu accelerator: tcg (default; KVM fails nested here) or kvm:tcg
#   VMTEST_TIMEOUT  seconds before the VM is killed (default 1500)
#   VMTEST_SMP      vCPUs in the VM (default 2)
#   VMTEST_OUT      output directory (default out/vmtest)
set -euo pipefail

# Pinned kernel: the ABI name and the package version apt must fetch.
KPKG_DEFAULT=linux-image-6.1.0-56-cloud-amd64
KPKG_VERSION_DEFAULT=6.1.192-2
KPKG=${VMTEST_KPKG:-$KPKG_DEFAULT}
KPKG_VERSION=${VMTEST_KPKG_VERSION:-$KPKG_VERSION_DEFAULT}
ACCEL=${VMTEST_ACCEL:-tcg}
TIMEOUT=${VMTEST_TIMEOUT:-1500}
SMP=${VMTEST_SMP:-2}

# Modules vethbench and its tests need (their dependencies are added from
# modules.dep). Built-in ones are skipped. sch_* are for the probe's qdisc
# rows and the clsact qdisc cls_bpf attaches under (6.1 has no TCX);
# xfrm_user and nfnetlink because vishvananda/netlink.NewHandle opens
# NETLINK_XFRM and NETLINK_NETFILTER sockets and fails without them.
WANT_MODULES=(veth macvlan ipvlan dummy bridge vxlan
	sch_ingress cls_bpf act_bpf xfrm_user nfnetlink
	nf_tables nft_masq nft_nat nf_nat nf_conntrack nft_chain_nat
	sch_tbf sch_htb sch_prio sch_netem sch_fq sch_sfq sch_cake)

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${VMTEST_OUT:-$root/out/vmtest}
cache=$out/cache
build=$out/build
mkdir -p "$out" "$cache"
rm -rf "$build" "$out"/results
mkdir -p "$build" "$out"/results

say() { printf 'vmtest: %s\n' "$*" >&2; }
start=$(date +%s)

# --- host tools --------------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list | grep -qx depmod || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v go >/dev/null || { say "go not found"; exit 2; }
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]}"
	[ "$(id -u)" = 0 ] || { say "need root to apt-get install ${need[*]}"; exit 2; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >"$out/apt.log" 2>&1 ||
		{ apt-get update >>"$out/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >>"$out/apt.log" 2>&1; } ||
		{ say "apt-get install failed, see $out/apt.log"; exit 2; }
fi
file /bin/busybox 2>/dev/null | grep -q 'statically linked' || ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' ||
	{ say "/bin/busybox is not static (install busybox-static)"; exit 2; }

# --- kernel package ----------------------------------------------------------
deb=$(ls "$cache"/"${KPKG}"_"${KPKG_VERSION}"_amd64.deb 2>/dev/null || true)
if [ -z "$deb" ]; then
	say "downloading $KPKG=$KPKG_VERSION"
	(cd "$cache" && apt-get download "$KPKG=$KPKG_VERSION" >"$out/apt-download.log" 2>&1) ||
		{ apt-get update >>"$out/apt-download.log" 2>&1 && (cd "$cache" && apt-get download "$KPKG=$KPKG_VERSION" >>"$out/apt-download.log" 2>&1); } ||
		{ say "apt-get download $KPKG=$KPKG_VERSION failed (see $out/apt-download.log);"
		  say "Debian may have dropped that version: pick one from 'apt-cache policy $KPKG' or"
		  say "'apt-cache search cloud-amd64' and set VMTEST_KPKG/VMTEST_KPKG_VERSION or update the pin in vmtest/run.sh"; exit 2; }
	deb=$(ls "$cache"/"${KPKG}"_"${KPKG_VERSION}"_amd64.deb)
fi
kx=$build/kernel
dpkg-deb -x "$deb" "$kx"
kver=$(ls "$kx/lib/modules")
vmlinuz=$kx/boot/vmlinuz-$kver
[ -f "$vmlinuz" ] || { say "no vmlinuz in $deb"; exit 2; }
# The package ships no modules.dep (depmod runs at install): make one.
/bin/busybox depmod -b "$kx" "$kver"

# --- initramfs tree ----------------------------------------------------------
ir=$build/initramfs
mkdir -p "$ir"/{bin,sbin,etc,proc,sys,dev,tmp,run,out,vb,usr/bin,usr/sbin} "$ir/lib/modules/$kver"
cp /bin/busybox "$ir/bin/busybox"
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -sf busybox "$ir/bin/$a"
done
# The kernel's usermode helper runs /sbin/modprobe to autoload modules.
ln -sf ../bin/busybox "$ir/sbin/modprobe"

# Modules: the closure of WANT_MODULES over modules.dep, in load order.
dep=$kx/lib/modules/$kver/modules.dep
builtin=$kx/lib/modules/$kver/modules.builtin
declare -A seen=()
order=()
modpath() { # name -> path in modules.dep (name may use - or _)
	local n=${1//-/_} alt=${1//_/-}
	grep -E "(^|/)(${n}|${alt})\.ko(\.[a-z]+)?:" "$dep" | head -1 | cut -d: -f1
}
visit() { # path
	local p=$1 d
	[ -n "${seen[$p]:-}" ] && return
	seen[$p]=1
	for d in $(grep -E "^${p//./\\.}:" "$dep" | cut -d: -f2-); do visit "$d"; done
	order+=("$p")
}
for m in "${WANT_MODULES[@]}"; do
	p=$(modpath "$m")
	if [ -z "$p" ]; then
		if grep -qE "/${m//_/[-_]}\.ko" "$builtin"; then say "module $m is built in"; else say "module $m not in this kernel"; fi
		continue
	fi
	visit "$p"
done
for p in "${order[@]}"; do
	mkdir -p "$ir/lib/modules/$kver/$(dirname "$p")"
	cp "$kx/lib/modules/$kver/$p" "$ir/lib/modules/$kver/$p"
	printf '%s\n' "$p"
done >"$ir/lib/modules/$kver/vmtest.order"
cp "$builtin" "$ir/lib/modules/$kver/"
/bin/busybox depmod -b "$ir" "$kver"
say "kernel $kver, ${#order[@]} modules"

# --- static Go binaries ------------------------------------------------------
# Test packages: path relative to the repo, copied with their testdata/ so
# the test binary runs from its package directory as go test would.
TEST_PKGS=(bench/probe bench/topology bench internal/netns bench/kstat ebpf tuning)
export CGO_ENABLED=0 GOOS=linux GOARCH=amd64
say "building static vethbench and test binaries"
go build -trimpath -o "$ir/bin/vethbench" ./cmd/vethbench
built=()
for p in "${TEST_PKGS[@]}"; do
	mkdir -p "$ir/vb/$p"
	if go test -c -trimpath -o "$ir/vb/$p/pkg.test" "./$p" >"$build/build-$(echo "$p" | tr / _).log" 2>&1; then
		[ -d "$p/testdata" ] && cp -r "$p/testdata" "$ir/vb/$p/"
		built+=("$p")
	else
		# A package that does not build is a failure, not a skipped step.
		say "FAIL: go test -c ./$p failed:"
		cat "$build/build-$(echo "$p" | tr / _).log" >&2
		exit 1
	fi
done
printf '%s\n' "${built[@]}" >"$ir/vb/packages"
cp vmtest/init.sh "$ir/init"
chmod +x "$ir/init"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ir/etc/passwd"
printf 'root:x:0:\n' >"$ir/etc/group"

initrd=$build/initramfs.cpio.gz
(cd "$ir" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$initrd"
say "initramfs $(du -h "$initrd" | cut -f1)"

# --- boot --------------------------------------------------------------------
log=$out/console.log
say "booting $kver under qemu ($ACCEL, ${SMP} vCPUs; timings inside are meaningless)"
boot=$(date +%s)
set +e
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 \
	-machine q35,accel="$ACCEL" -cpu max -smp "$SMP" -m 1024 \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 loglevel=5 rdinit=/init" \
	-nographic -serial stdio -monitor none -no-reboot -nic none \
	</dev/null 2>"$out/qemu.stderr" | tr -d '\r' | tee "$log" |
	grep --line-buffered -E '^(VMTEST|=== RUN|--- (PASS|FAIL|SKIP)|PASS$|FAIL$|ok |panic:|Kernel panic|.*BUG: soft lockup)'
qrc=${PIPESTATUS[0]}
set -e
end=$(date +%s)

# --- results -----------------------------------------------------------------
# Files come out base64-encoded between VMTEST-FILE-BEGIN <name> and
# VMTEST-FILE-END lines.
awk -v dir="$out/results" '
	/^VMTEST-FILE-BEGIN / { name = $2; gsub(/[^A-Za-z0-9._-]/, "_", name); f = dir "/" name ".b64"; printf "" > f; next }
	/^VMTEST-FILE-END/ { close(f); f = ""; next }
	f != "" { print >> f }
' "$log"
for b in "$out"/results/*.b64; do
	[ -e "$b" ] || continue
	base64 -d "$b" >"${b%.b64}" 2>/dev/null || say "WARN: could not decode $(basename "$b")"
	rm -f "$b"
done

echo
echo "vmtest: kernel $kver under qemu $ACCEL: boot to poweroff $((end - boot)) s, total $((end - start)) s"
echo "vmtest: NOTE: the VM is emulated (TCG); rates and latencies measured in it are meaningless and are not performance results."
echo "vmtest: console log $log, result files in $out/results/: $(ls "$out/results" | tr '\n' ' ')"
result=$(grep -E '^VMTEST RESULT: (PASS|FAIL)' "$log" | tail -1 || true)
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "vmtest: FAIL: the VM did not finish within ${TIMEOUT}s"
	exit 1
fi
case "$result" in
"VMTEST RESULT: PASS"*) echo "vmtest: PASS"; exit 0 ;;
"VMTEST RESULT: FAIL"*) echo "vmtest: FAIL (steps that failed:)"; grep '^VMTEST STEP .*: FAIL' "$log" | sed 's/^/  /'; exit 1 ;;
*) echo "vmtest: FAIL: no result line on the console (qemu exit $qrc; see $log and $out/qemu.stderr)"; tail -20 "$log"; exit 1 ;;
esac
