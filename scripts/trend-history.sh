#!/usr/bin/env bash
# trend-history.sh: make a real history for `vethbench trend`'s tests: short
# sweeps of examples/quick.yaml, one after another, the middle ones with the
# validation knob --cost-ns (every case's receiver spends N ns more CPU per
# packet, names unchanged): a known regression that starts and then ends.
#
#   scripts/trend-history.sh OUTDIR [NORMAL SLOW AFTER COST_NS]
#
# defaults: 9 normal runs, 5 slow ones, 5 normal ones, cost_ns 400. Each run
# goes to OUTDIR/runNN/result.json, its latency histograms trimmed (trend
# reads only the summaries) so that the files stay small as a fixture.
# Needs root; run it on a quiet machine (about 20 s a run).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/trend-history.sh OUTDIR [NORMAL SLOW AFTER COST_NS]}
normal=${2:-9} slow=${3:-5} after=${4:-5} cost=${5:-400}
export PATH=$PATH:/usr/local/go/bin
go build -o "$out/.vethbench" ./cmd/vethbench
n=0
sweep() {
	n=$((n + 1))
	dir=$(printf '%s/run%02d' "$out" "$n")
	echo "run $n: $*" >&2
	"$out/.vethbench" sweep -q -f examples/quick.yaml -o "$dir" "$@" >/dev/null
	rm -f "$dir/report.html"
	python3 - "$dir/result.json" <<'PY'
import json, sys
p = sys.argv[1]
r = json.load(open(p))
for c in r.get("cases", []):
    for t in c.get("trials", []):
        t.get("latency", {}).pop("histogram", None)
json.dump(r, open(p, "w"), separators=(",", ":"))
PY
}
for _ in $(seq "$normal"); do sweep; done
for _ in $(seq "$slow"); do sweep --cost-ns "$cost"; done
for _ in $(seq "$after"); do sweep; done
rm -f "$out/.vethbench"
echo "history: $out ($n runs)" >&2
