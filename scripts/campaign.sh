#!/usr/bin/env bash
# campaign.sh: the reliability campaign of issue 15 ("Why"), re-runnable.
#
#   sudo scripts/campaign.sh            # about 3.5 minutes on a 2-vCPU machine
#   SEED=42 A_TRIES=5 B_TRIES=8 C_TRIES=3 scripts/campaign.sh   # a short one
#
# It builds ./cmd/vethbench from a clean export of a commit (REV, default
# HEAD: `git archive`, so nobody's uncommitted edits are in it) into a temp
# directory, points VETHBENCH_STATE_DIR at a fresh root-owned 0700 directory,
# and checks what vethbench promises about being stopped and about the host:
#
#   0  control: one sweep of the campaign spec runs to the end: exit 0, the
#      sysctl back at its original, a result not marked interrupted.
#   A  SIGKILL of a sweep at a random point (0.2-3.0 s): no named namespace,
#      no host link and no namespace held by a process is left, no BPF
#      program or map named vb_* (vethbench's) survives, and `vethbench
#      cleanup` puts net.core.netdev_max_backlog back exactly, leaving no
#      journal file.
#   B  SIGINT/SIGTERM (alternating) of a sweep or a `run` (alternating in
#      pairs) at a random point (0.3-2.5 s): exit status 130 within 0.2 s of
#      the signal, the sysctl back at its original without any cleanup, no
#      journal file, a result file marked "interrupted": true, and the same
#      host checks as A.
#   C  runs over topologies, families and generators: nothing to or from
#      vethbench's addresses (10.231.0.0/16, fd00:7665:7468::/48, ARP and
#      neighbour discovery for them included) crosses eth0, seen by an
#      AF_PACKET socket on eth0 for the whole run; the host namespace's
#      netns list, links and addresses are the same during (sampled) and
#      after the run; nothing is left behind.
#
# A try whose process finished before its signal is counted apart and
# repeated, so that each part sends its number of signals to live processes.
# It sends nothing itself: the only traffic is vethbench's own, between the
# namespaces it creates. The sysctl is restored on exit whatever happens.
#
# Environment: SEED (random seed, default the time), A_TRIES (30), B_TRIES
# (64), C_TRIES (at most 15: one per configuration), REV (HEAD), KEEP=1 keeps
# the temp directory (kept anyway when something failed), PY (python3).

set -uo pipefail

A_TRIES=${A_TRIES:-30}
B_TRIES=${B_TRIES:-64}
C_TRIES=${C_TRIES:-15}
SEED=${SEED:-$(date +%s)}
REV=${REV:-HEAD}
KEEP=${KEEP:-0}
PY=${PY:-$(command -v /usr/bin/python3 || command -v python3)}
SYSCTL=net.core.netdev_max_backlog
SYSCTL_PATH=/proc/sys/net/core/netdev_max_backlog
EXIT_DEADLINE_US=200000 # B: signal to exit
BPF_GONE_S=5            # A, B, C: how long the kernel may take to free vb_* objects

die() { echo "campaign: $*" >&2; exit 2; }
[[ $EUID -eq 0 ]] || die "needs root"
[[ -n $PY ]] || die "needs python3"
[[ -r $SYSCTL_PATH ]] || die "no $SYSCTL_PATH"
ip link show eth0 >/dev/null 2>&1 || die "no eth0"

REPO=$(cd "$(dirname "$0")/.." && pwd)
COMMIT=$(git -C "$REPO" rev-parse "$REV") || die "no commit $REV"
ORIG=$(<"$SYSCTL_PATH")
TMP=$(mktemp -d /tmp/vethbench-campaign.XXXXXX) || die "mktemp"
chmod 0700 "$TMP"
STATE=$TMP/state
mkdir -m 0700 "$STATE"
export VETHBENCH_STATE_DIR=$STATE
VB=$TMP/vethbench
LIVE_PID=""
CAP_PID=""
FAILS=()

on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	for p in $LIVE_PID $CAP_PID; do
		kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	local now
	now=$(<"$SYSCTL_PATH")
	if [[ $now != "$ORIG" ]]; then
		echo "campaign: $SYSCTL is $now at exit: writing back $ORIG" >&2
		printf '%s\n' "$ORIG" >"$SYSCTL_PATH"
	fi
	if [[ $KEEP == 1 || ${#FAILS[@]} -gt 0 || $rc -ne 0 ]]; then
		echo "campaign: logs kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# --- helpers written to the temp directory ---------------------------------

# bpfobjs.py: vethbench's BPF programs and maps (names vb_*) alive in the
# kernel, and links whose program is one, through the bpf(2) syscall
# (bpftool is not installed). One line per object; nothing when none.
cat >"$TMP/bpfobjs.py" <<'EOF'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.syscall.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_long]
SYS_BPF = 321  # x86_64
PROG_GET_NEXT_ID, MAP_GET_NEXT_ID, PROG_GET_FD_BY_ID, MAP_GET_FD_BY_ID = 11, 12, 13, 14
OBJ_GET_INFO_BY_FD, LINK_GET_FD_BY_ID, LINK_GET_NEXT_ID = 15, 30, 31

def bpf(cmd, attr):
    r = libc.syscall(SYS_BPF, cmd, ctypes.addressof(attr), ctypes.sizeof(attr))
    return r, ctypes.get_errno()

def ids(cmd):
    out, start = [], 0
    while True:
        a = ctypes.create_string_buffer(16)
        struct.pack_into("<I", a, 0, start)
        r, e = bpf(cmd, a)
        if r < 0:
            if e == 2:  # ENOENT: the last one
                return out
            sys.exit("bpf next id: errno %d" % e)
        start = struct.unpack_from("<I", a, 4)[0]
        out.append(start)

def info(getfd, id_, size):
    a = ctypes.create_string_buffer(16)
    struct.pack_into("<I", a, 0, id_)
    fd, e = bpf(getfd, a)
    if fd < 0:
        return None  # freed meanwhile
    try:
        buf = ctypes.create_string_buffer(size)
        b = ctypes.create_string_buffer(16)
        struct.pack_into("<IIQ", b, 0, fd, size, ctypes.addressof(buf))
        r, e = bpf(OBJ_GET_INFO_BY_FD, b)
        if r < 0:
            sys.exit("bpf info: errno %d" % e)
        return buf.raw
    finally:
        os.close(fd)

def cstr(b):
    return b.split(b"\0", 1)[0].decode(errors="replace")

progs = {}
for i in ids(PROG_GET_NEXT_ID):
    raw = info(PROG_GET_FD_BY_ID, i, 80)  # bpf_prog_info: name at 64..80
    if raw is not None:
        progs[i] = cstr(raw[64:80])
for i, n in sorted(progs.items()):
    if n.startswith("vb_"):
        print("prog %d %s" % (i, n))
for i in ids(MAP_GET_NEXT_ID):
    raw = info(MAP_GET_FD_BY_ID, i, 40)  # bpf_map_info: name at 24..40
    if raw is not None and cstr(raw[24:40]).startswith("vb_"):
        print("map %d %s" % (i, cstr(raw[24:40])))
for i in ids(LINK_GET_NEXT_ID):
    raw = info(LINK_GET_FD_BY_ID, i, 16)  # bpf_link_info: prog_id at 8
    if raw is not None:
        p = struct.unpack_from("<I", raw, 8)[0]
        if progs.get(p, "").startswith("vb_"):
            print("link %d prog %d %s" % (i, p, progs[p]))
EOF

# cap.py: counts frames on eth0 to or from vethbench's addresses, until
# SIGTERM; writes a JSON summary. --selftest checks the classifier on
# made-up frames (nothing is sent).
cat >"$TMP/cap.py" <<'EOF'
import json, signal, socket, struct, sys

V4 = bytes([10, 231])                                   # 10.231.0.0/16
V6 = bytes.fromhex("fd0076657468")                     # fd00:7665:7468::/48

def ours(frame):
    """Why the frame involves a vethbench address, or None."""
    off, et = 14, struct.unpack_from("!H", frame, 12)[0] if len(frame) >= 14 else 0
    while et in (0x8100, 0x88A8) and len(frame) >= off + 4:
        et = struct.unpack_from("!H", frame, off + 2)[0]
        off += 4
    p = frame[off:]
    if et == 0x0800 and len(p) >= 20:
        if p[12:14] == V4 or p[16:18] == V4:
            return "ipv4 %s > %s" % (socket.inet_ntoa(p[12:16]), socket.inet_ntoa(p[16:20]))
    elif et == 0x0806 and len(p) >= 28:
        if p[14:16] == V4 or p[24:26] == V4:
            return "arp %s > %s" % (socket.inet_ntoa(p[14:18]), socket.inet_ntoa(p[24:28]))
    elif et == 0x86DD and len(p) >= 40:
        src, dst = p[8:24], p[24:40]
        hit = src[:6] == V6 or dst[:6] == V6
        if not hit and p[6] == 58 and len(p) >= 64 and p[40] in (135, 136):
            hit = p[48:54] == V6  # neighbour solicitation/advertisement target
        if hit:
            return "ipv6 %s > %s" % (socket.inet_ntop(socket.AF_INET6, src), socket.inet_ntop(socket.AF_INET6, dst))
    return None

def selftest():
    eth = lambda et: b"\xff" * 6 + b"\x02" * 6 + struct.pack("!H", et)
    v4 = lambda s, d: eth(0x0800) + b"\x45" + b"\0" * 11 + socket.inet_aton(s) + socket.inet_aton(d)
    v6 = lambda s, d, rest=b"": eth(0x86DD) + b"\x60" + b"\0" * 5 + (b"\x3a" if rest else b"\x11") + b"\x40" + \
        socket.inet_pton(socket.AF_INET6, s) + socket.inet_pton(socket.AF_INET6, d) + rest
    arp = lambda s, d: eth(0x0806) + b"\0" * 14 + socket.inet_aton(s) + b"\0" * 6 + socket.inet_aton(d)
    ns = lambda t: b"\x87" + b"\0" * 7 + socket.inet_pton(socket.AF_INET6, t)
    vlan = eth(0x8100)[:12] + b"\x81\x00\x00\x05\x08\x00" + v4("1.2.3.4", "10.231.0.2")[14:]
    cases = [(v4("10.231.0.1", "10.231.0.2"), True), (v4("192.168.1.2", "10.231.4.2"), True),
             (v4("10.232.0.1", "8.8.8.8"), False), (v4("172.16.0.1", "10.0.0.1"), False),
             (arp("10.0.0.1", "10.231.0.254"), True), (arp("10.0.0.1", "10.0.0.2"), False),
             (v6("fd00:7665:7468::1", "fd00:7665:7468::2"), True), (v6("fe80::1", "2001:db8::1"), False),
             (v6("fe80::1", "ff02::1:ff00:2", ns("fd00:7665:7468:3::2")), True),
             (v6("fe80::1", "ff02::1:ff00:2", ns("fe80::2")), False), (vlan, True), (b"\0" * 10, False)]
    for i, (f, want) in enumerate(cases):
        if (ours(f) is not None) != want:
            sys.exit("selftest case %d: got %r, want %s" % (i, ours(f), want))
    print("ok", len(cases))

if sys.argv[1] == "--selftest":
    selftest()
    sys.exit(0)
dev, out, ready = sys.argv[1:4]
# Protocol 0 until bound to eth0 with ETH_P_ALL (Python applies htons):
# no frame of another device is queued before the bind.
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.bind((dev, 0x0003))
s.settimeout(0.05)
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
n = {"out": 0, "in": 0, "ours_out": 0, "ours_in": 0, "examples": []}
open(ready, "w").close()
while not stop:
    try:
        frame, addr = s.recvfrom(65536)
    except socket.timeout:
        continue
    except InterruptedError:
        continue
    d = "out" if addr[2] == socket.PACKET_OUTGOING else "in"
    n[d] += 1
    why = ours(frame)
    if why:
        n["ours_" + d] += 1
        if len(n["examples"]) < 5:
            n["examples"].append(d + " " + why)
with open(out, "w") as f:
    json.dump(n, f)
EOF

# resultinfo FILE: "interrupted=<bool> cases=<n> partial=<n>", or a reason
# the file is not a result.
cat >"$TMP/resultinfo.py" <<'EOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception as e:
    print("unreadable: %s" % e.__class__.__name__)
    sys.exit(0)
cases = r.get("cases") or []
partial = sum(1 for c in cases if c.get("partial"))
print("interrupted=%s cases=%d partial=%d" % (str(r.get("interrupted", False)).lower(), len(cases), partial))
EOF

"$PY" "$TMP/cap.py" --selftest >/dev/null || die "cap.py selftest failed"

# pick LO HI: DELAY = a random number of seconds in [LO, HI]. $RANDOM is
# read here, not in a subshell, which would reseed it (SEED repeats a run).
pick() { local r=$RANDOM; DELAY=$(awk -v r="$r" -v lo="$1" -v hi="$2" 'BEGIN { printf "%.3f", lo + (hi - lo) * r / 32767 }'); }
now_us() { local t=${EPOCHREALTIME//[!0-9]/}; echo "$((10#$t))"; }
hostsnap() {
	echo "## netns"; ip netns list
	echo "## link"; ip -br link
	echo "## addr"; ip -br addr
}
# Network namespaces any process holds (vethbench's are anonymous: a leaked
# one would be held by a process that outlived it, or mounted).
netns_held() { for f in /proc/[0-9]*/ns/net; do readlink "$f"; done 2>/dev/null | sort -u; }
procstate() { [[ -r /proc/$1/stat ]] && sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
alive() { local s; s=$(procstate "$1"); [[ -n $s && $s != Z ]]; }
bpf_left() { "$PY" "$TMP/bpfobjs.py"; }
# Waits up to BPF_GONE_S for vethbench's BPF objects to be freed (the kernel
# frees them after the namespaces holding their attachments are torn down);
# prints the time it took in ms, or what was left.
bpf_gone() {
	local t0 left
	t0=$(now_us)
	while :; do
		left=$(bpf_left) || { echo "bpfobjs.py failed"; return 1; }
		[[ -z $left ]] && { echo "$((($(now_us) - t0) / 1000))"; return 0; }
		(($(now_us) - t0 > BPF_GONE_S * 1000000)) && { echo "${left//$'\n'/; }"; return 1; }
		sleep 0.1
	done
}
# Host checks shared by every part: appends what is wrong to the named
# array (by name).
host_checks() {
	local -n _hc_why=$1
	local left
	[[ $(hostsnap) == "$HOST0" ]] || _hc_why+=("host namespace changed: $(diff <(echo "$HOST0") <(hostsnap) | grep '^[<>]' | tr '\n' ' ')")
	local extra
	extra=$(comm -13 <(echo "$NETNS0") <(netns_held))
	if [[ -n $extra ]]; then
		local holders=""
		for f in /proc/[0-9]*/ns/net; do
			grep -qxF "$(readlink "$f" 2>/dev/null)" <<<"$extra" && holders+=" $(cut -d/ -f3 <<<"$f")($(cat "${f%/ns/net}/comm" 2>/dev/null))"
		done
		_hc_why+=("namespaces held that were not before: ${extra//$'\n'/ } by$holders")
	fi
	if ! left=$(bpf_gone); then _hc_why+=("BPF objects left after ${BPF_GONE_S}s: $left"); else BPF_MS=$left; fi
	local procs=""
	for p in /proc/[0-9]*; do [[ $(readlink "$p/exe" 2>/dev/null) == "$VB" ]] && procs+=" ${p#/proc/}"; done
	[[ -z $procs ]] || _hc_why+=("vethbench processes left:$procs")
}
journals() { compgen -G "$STATE/journal-*" | tr '\n' ' '; }
max() { (($1 > $2)) && echo "$1" || echo "$2"; }

# --- build, spec, snapshots ------------------------------------------------

echo "campaign: commit $COMMIT, seed $SEED, temp $TMP, $SYSCTL=$ORIG"
if [[ -n $(git -C "$REPO" status --porcelain --untracked-files=no) ]]; then
	echo "campaign: (the working tree has uncommitted changes; they are not in the build)"
fi
mkdir "$TMP/src"
git -C "$REPO" archive "$COMMIT" | tar -x -C "$TMP/src" || die "git archive"
(cd "$TMP/src" && go build -o "$VB" ./cmd/vethbench) || die "go build"

SPEC=$TMP/campaign.yaml
cat >"$SPEC" <<'EOF'
# The campaign's sweep: one question over a host-wide sysctl, so that a
# stop at any point may find it changed. Short (about 3.5 s, so that most
# kills in 0.2-3.0 s find it running): trials 2 at 50% coverage.
name: campaign
measure:
  method: interleaved
  trials: 2
  confidence: 0.5
  duration: 1s
  warmup: 200ms
groups:
  - question: Does netdev_max_backlog matter?
    vary:
      sysctl.net.core.netdev_max_backlog: [1100, 1200]
EOF
RUN_ARGS=(run -q --duration 1s --trials 3)

RANDOM=$SEED
HOST0=$(hostsnap)
NETNS0=$(netns_held)
left=$(bpf_left) || die "bpfobjs.py failed"
[[ -z $left ]] || die "vb_* BPF objects exist before the campaign: $left"
T_START=$(date +%s)

fail() { FAILS+=("$1"); echo "  FAIL $1"; }

# --- 0: control ------------------------------------------------------------

echo "0: a sweep to the end"
d=$TMP/0
mkdir "$d"
t0=$(now_us)
"$VB" sweep -q -f "$SPEC" -o "$d/res" >"$d/stdout" 2>"$d/stderr"
rc=$?
SWEEP_MS=$((($(now_us) - t0) / 1000))
why=()
((rc == 0)) || why+=("exit $rc: $(tail -1 "$d/stderr")")
[[ $(<"$SYSCTL_PATH") == "$ORIG" ]] || why+=("$SYSCTL $(<"$SYSCTL_PATH"), not $ORIG")
info=$("$PY" "$TMP/resultinfo.py" "$d/res/result.json")
[[ $info == "interrupted=false cases=2 partial=0" ]] || why+=("result: $info")
[[ -z $(journals) ]] || why+=("journal left: $(journals)")
host_checks why
P0_PASS=0
if ((${#why[@]} == 0)); then P0_PASS=1; else fail "0: $(IFS='|'; echo "${why[*]}")"; fi
echo "  sweep took ${SWEEP_MS} ms"

# --- A: SIGKILL of a sweep, then cleanup -----------------------------------

echo "A: SIGKILL x $A_TRIES"
A_KILLS=0 A_PASS=0 A_EARLY=0 A_CHANGED=0 A_BPF_AT_KILL=0 A_BPF_MAX=0 A_MAXTRY=$((A_TRIES * 2))
for ((i = 1; A_KILLS < A_TRIES && i <= A_MAXTRY; i++)); do
	d=$TMP/A/$i
	mkdir -p "$d"
	"$VB" sweep -q -f "$SPEC" -o "$d/res" >"$d/stdout" 2>"$d/stderr" &
	LIVE_PID=$!
	pick 0.2 3.0
	sleep "$DELAY"
	[[ -n $(bpf_left) ]] && loaded=1 || loaded=0
	if ! alive "$LIVE_PID"; then
		wait "$LIVE_PID"
		echo "  #$i finished before the kill (exit $?), repeated"
		LIVE_PID=""
		((A_EARLY++))
		continue
	fi
	at_kill=$(<"$SYSCTL_PATH")
	kill -9 "$LIVE_PID"
	wait "$LIVE_PID" 2>/dev/null # no "Killed" notice
	rc=$?
	LIVE_PID=""
	((A_KILLS++))
	A_BPF_AT_KILL=$((A_BPF_AT_KILL + loaded))
	after_kill=$(<"$SYSCTL_PATH")
	[[ $after_kill != "$ORIG" ]] && ((A_CHANGED++))
	why=()
	((rc == 137)) || why+=("exit $rc, not 137")
	BPF_MS=0
	host_checks why
	A_BPF_MAX=$(max "$A_BPF_MAX" "$BPF_MS")
	"$VB" cleanup >"$d/cleanup" 2>&1 || why+=("cleanup exit $?: $(tail -1 "$d/cleanup")")
	[[ $(<"$SYSCTL_PATH") == "$ORIG" ]] || why+=("$SYSCTL $(<"$SYSCTL_PATH") after cleanup, not $ORIG")
	[[ -z $(journals) ]] || why+=("journal left after cleanup: $(journals)")
	echo "  #$i killed (sysctl $at_kill at kill, $after_kill after; vb_* BPF loaded: $loaded; cleanup: $(head -1 "$d/cleanup"))"
	if ((${#why[@]} == 0)); then ((A_PASS++)); else fail "A#$i: $(IFS='|'; echo "${why[*]}")"; fi
	# Whatever happened, the next try starts from the original value.
	[[ $(<"$SYSCTL_PATH") == "$ORIG" ]] || printf '%s\n' "$ORIG" >"$SYSCTL_PATH"
done

# --- B: SIGINT / SIGTERM of a sweep or a run --------------------------------

echo "B: SIGINT/SIGTERM x $B_TRIES"
B_SIGS=0 B_PASS=0 B_EARLY=0 B_CHANGED=0 B_MAX_US=0 B_MAXTRY=$((B_TRIES * 2))
declare -A B_N=() B_OK=()
for ((i = 1; B_SIGS < B_TRIES && i <= B_MAXTRY; i++)); do
	k=$B_SIGS # the kind follows signals sent, so the mix stays even when tries repeat
	sig=INT
	((k % 2)) && sig=TERM
	d=$TMP/B/$i
	mkdir -p "$d"
	if (((k / 2) % 2 == 0)); then
		kind=sweep
		out=$d/res/result.json
		"$VB" sweep -q -f "$SPEC" -o "$d/res" >"$d/stdout" 2>"$d/stderr" &
	else
		kind=run
		out=$d/result.json
		"$VB" "${RUN_ARGS[@]}" -o "$out" >"$d/stdout" 2>"$d/stderr" &
	fi
	LIVE_PID=$!
	pick 0.3 2.5
	sleep "$DELAY"
	if ! alive "$LIVE_PID"; then
		wait "$LIVE_PID"
		echo "  #$i $kind finished before the $sig (exit $?), repeated"
		LIVE_PID=""
		((B_EARLY++))
		continue
	fi
	at_sig=$(<"$SYSCTL_PATH")
	t0=$(now_us)
	kill -s "$sig" "$LIVE_PID"
	wait "$LIVE_PID"
	rc=$?
	t1=$(now_us)
	LIVE_PID=""
	after=$(<"$SYSCTL_PATH")
	info=$("$PY" "$TMP/resultinfo.py" "$out" 2>/dev/null)
	[[ -e $out ]] || info="no result file"
	if ((rc == 0)) && [[ $info == interrupted=false* ]]; then
		# The signal raced with the end: it was alive when checked and
		# finished its work anyway. Not a stop; repeated.
		echo "  #$i $kind finished as the $sig arrived (exit 0, $info), repeated"
		((B_EARLY++))
		continue
	fi
	((B_SIGS++))
	B_N[$kind-$sig]=$((${B_N[$kind-$sig]:-0} + 1))
	[[ $at_sig != "$ORIG" ]] && ((B_CHANGED++))
	dt=$((t1 - t0))
	B_MAX_US=$(max "$B_MAX_US" "$dt")
	why=()
	((rc == 130)) || why+=("exit $rc, not 130: $(tail -1 "$d/stderr")")
	((dt <= EXIT_DEADLINE_US)) || why+=("exited $((dt / 1000)) ms after the signal")
	grep -q "interrupted" "$d/stderr" || why+=("stderr does not say interrupted")
	[[ $after == "$ORIG" ]] || why+=("$SYSCTL $after at exit, not $ORIG")
	[[ $info == interrupted=true* ]] || why+=("result: $info")
	[[ -z $(journals) ]] || why+=("journal left: $(journals)")
	host_checks why
	echo "  #$i $kind SIG$sig: exit $rc in $((dt / 1000)).$(printf %03d $((dt % 1000))) ms (sysctl $at_sig at the signal, $after after; $info)"
	if ((${#why[@]} == 0)); then
		((B_PASS++))
		B_OK[$kind-$sig]=$((${B_OK[$kind-$sig]:-0} + 1))
	else
		fail "B#$i $kind SIG$sig: $(IFS='|'; echo "${why[*]}")"
		"$VB" cleanup >"$d/cleanup" 2>&1
		[[ $(<"$SYSCTL_PATH") == "$ORIG" ]] || printf '%s\n' "$ORIG" >"$SYSCTL_PATH"
	fi
done

# --- C: nothing crosses eth0, nothing changes in the host namespace ---------

C_CONF=(
	"--topology veth"
	"--topology veth --family ipv6 --pkt-size 128"
	"--topology bridge"
	"--topology bridge --family ipv6 --pkt-size 128"
	"--topology router"
	"--topology router --family ipv6 --pkt-size 128"
	"--topology hostnat"
	"--topology hostnat --family ipv6 --pkt-size 128"
	"--topology macvlan --mode bridge"
	"--topology macvlan --mode vepa"
	"--topology macvlan --mode passthru"
	"--topology loopback"
	"--topology veth --generator packet"
	"--topology veth --generator xdp"
	"--topology veth --generator rr --proto tcp"
)
((C_TRIES <= ${#C_CONF[@]})) || C_TRIES=${#C_CONF[@]}
echo "C: eth0 and the host namespace x $C_TRIES"
C_PASS=0 C_ETH0_OUT=0 C_ETH0_IN=0 C_BPF_SEEN=0 C_TX=0 C_RX=0
eth0stat() { cat /sys/class/net/eth0/statistics/"$1"; }
for ((i = 1; i <= C_TRIES; i++)); do
	conf=${C_CONF[i - 1]}
	d=$TMP/C/$i
	mkdir -p "$d"
	"$PY" "$TMP/cap.py" eth0 "$d/cap.json" "$d/cap.ready" &
	CAP_PID=$!
	for _ in {1..50}; do [[ -e $d/cap.ready ]] && break; sleep 0.05; done
	why=()
	[[ -e $d/cap.ready ]] || why+=("capture on eth0 did not start")
	tx0=$(eth0stat tx_packets) rx0=$(eth0stat rx_packets)
	# shellcheck disable=SC2086 # conf is words
	"$VB" run -q --duration 300ms --trials 2 --warmup 100ms --confidence 0.5 $conf >"$d/stdout" 2>"$d/stderr" &
	LIVE_PID=$!
	sleep 0.6
	mid=$(hostsnap)
	[[ -n $(bpf_left) ]] && ((C_BPF_SEEN++))
	wait "$LIVE_PID"
	rc=$?
	LIVE_PID=""
	sleep 0.3 # anything the run's end might send
	# The driver's counters over the capture's window: on a quiet host they
	# corroborate the capture (nothing at all left eth0); not a pass
	# criterion, since other traffic may move them.
	tx=$(($(eth0stat tx_packets) - tx0)) rx=$(($(eth0stat rx_packets) - rx0))
	C_TX=$((C_TX + tx)) C_RX=$((C_RX + rx))
	kill -TERM "$CAP_PID"
	wait "$CAP_PID"
	CAP_PID=""
	((rc == 0)) || why+=("exit $rc: $(tail -1 "$d/stderr")")
	[[ $mid == "$HOST0" ]] || why+=("host namespace changed during the run: $(diff <(echo "$HOST0") <(echo "$mid") | grep '^[<>]' | tr '\n' ' ')")
	if [[ -r $d/cap.json ]]; then
		read -r o in_ ours_o ours_i ex < <("$PY" -c 'import json,sys; n=json.load(open(sys.argv[1])); print(n["out"], n["in"], n["ours_out"], n["ours_in"], "; ".join(n["examples"]) or "-")' "$d/cap.json")
		C_ETH0_OUT=$((C_ETH0_OUT + o)) C_ETH0_IN=$((C_ETH0_IN + in_))
		((ours_o == 0 && ours_i == 0)) || why+=("eth0: $ours_o out, $ours_i in with vethbench addresses: $ex")
	else
		why+=("no capture summary")
		o=? ours_o=?
	fi
	[[ $(<"$SYSCTL_PATH") == "$ORIG" ]] || why+=("$SYSCTL $(<"$SYSCTL_PATH"), not $ORIG")
	[[ -z $(journals) ]] || why+=("journal left: $(journals)")
	host_checks why
	echo "  #$i run $conf: exit $rc; eth0 frames out $o (vethbench's: $ours_o), eth0 tx_packets +$tx, rx_packets +$rx"
	if ((${#why[@]} == 0)); then ((C_PASS++)); else fail "C#$i ($conf): $(IFS='|'; echo "${why[*]}")"; fi
done

# --- the table --------------------------------------------------------------

T_END=$(date +%s)
bfmt() { echo "$((B_MAX_US / 1000)).$(printf %03d $((B_MAX_US % 1000)))"; }
echo
echo "campaign: commit ${COMMIT:0:12}, seed $SEED, $((T_END - T_START)) s, $SYSCTL original $ORIG, now $(<"$SYSCTL_PATH")"
printf '%-44s %6s %6s %8s  %s\n' part tries passes failures notes
printf '%-44s %6s %6s %8s  %s\n' "0 control: a sweep to the end" 1 "$P0_PASS" $((1 - P0_PASS)) "took ${SWEEP_MS} ms"
printf '%-44s %6s %6s %8s  %s\n' "A SIGKILL of a sweep; cleanup" "$A_KILLS" "$A_PASS" $((A_KILLS - A_PASS)) \
	"sysctl changed at the kill $A_CHANGED/$A_KILLS; vb_* BPF loaded at the kill $A_BPF_AT_KILL/$A_KILLS, freed within $A_BPF_MAX ms; finished before the kill (repeated) $A_EARLY"
printf '%-44s %6s %6s %8s  %s\n' "B SIGINT/SIGTERM of a sweep or run" "$B_SIGS" "$B_PASS" $((B_SIGS - B_PASS)) \
	"max signal-to-exit $(bfmt) ms (limit $((EXIT_DEADLINE_US / 1000)) ms); sysctl changed at the signal $B_CHANGED/$B_SIGS; finished before the signal (repeated) $B_EARLY"
for kk in sweep-INT sweep-TERM run-INT run-TERM; do
	printf '%-44s %6s %6s %8s\n' "  B ${kk/-/ SIG}" "${B_N[$kk]:-0}" "${B_OK[$kk]:-0}" $((${B_N[$kk]:-0} - ${B_OK[$kk]:-0}))
done
printf '%-44s %6s %6s %8s  %s\n' "C runs: eth0 and the host namespace" "$C_TRIES" "$C_PASS" $((C_TRIES - C_PASS)) \
	"eth0 frames seen during the runs: $C_ETH0_OUT out, $C_ETH0_IN in (driver counters: tx +$C_TX, rx +$C_RX), none vethbench's unless failed; vb_* BPF seen mid-run $C_BPF_SEEN/$C_TRIES"
if ((${#FAILS[@]})); then
	echo
	echo "failures:"
	printf '  %s\n' "${FAILS[@]}"
	exit 1
fi
echo "all passing"
