# vethbench: build, test, generate, bench.
# Everything that touches the kernel needs root (namespaces, devices, BPF).

GO      ?= go
BIN     ?= ./vethbench
PKGS    := ./...
# One package at a time: the tests measure packet rates on 2 vCPUs and must
# not fight each other for them.
TESTFLAGS ?= -race -count=1 -p 1 -timeout 15m

.PHONY: all build sweep run test report-check test-unprivileged vet fmt-check generate generate-check bench bench-peers clean vmtest sensitivity overhead

all: build

build:
	$(GO) build -o $(BIN) ./cmd/vethbench

# The main job: the embedded default sweep, results in ./vethbench-results/<time>/.
sweep: build
	$(BIN) sweep

# Can vethbench see a 2% effect, and none between identical cases? Runs
# examples/sensitivity.yaml (one A/A/B question: cost_ns 0, 0 and 80, the
# validation knob) into a temporary directory, then checks its result with
# tools/sensitivity: exit 0 only on PASS (1 FAIL, 2 a result it cannot
# check). Needs root.
sensitivity: build
	@dir=$$(mktemp -d "$${TMPDIR:-/tmp}/vethbench-sensitivity.XXXXXX") && \
	$(GO) build -o "$$dir/sensitivity" ./tools/sensitivity && \
	$(BIN) sweep -f examples/sensitivity.yaml -o "$$dir/sweep" && \
	"$$dir/sensitivity" "$$dir/sweep/result.json"; \
	rc=$$?; echo "result: $$dir/sweep/result.json"; exit $$rc

# What moving the load every 20 ms slice costs a case's rate: one veth case
# interleaved with itself, one copy in 20 ms slices and one in 200 ms
# slices in the same blocks (bench.BenchmarkSwitchOverhead). About 45 s.
# Needs root.
overhead:
	$(GO) test -run '^$$' -bench SwitchOverhead -benchtime 1x -count 1 ./bench/

# One veth pair measured end to end, as a table.
run: build
	$(BIN) run --topology veth --pkt-size 64 --duration 5s --trials 5

test: vet fmt-check
	$(GO) test $(TESTFLAGS) $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Render the fixtures' reports (a sweep in rounds, one interleaved, two
# with stages) in
# headless Chromium (installs chromium if missing); fails on JavaScript
# errors, external references or a blank page.
report-check:
	bash .ci/report-check reports/testdata/sweep.json
	bash .ci/report-check reports/testdata/sweep-interleaved.json
	bash .ci/report-check reports/testdata/sweep-stages.json
	bash .ci/report-check reports/testdata/sweep-stages-shape.json
	bash .ci/report-check --trend reports/trend/testdata/history

# Regenerate the committed BPF objects (needs clang and llvm-strip).
generate:
	$(GO) generate ./ebpf/...

# Fails if the committed BPF objects differ from what `make generate` builds.
generate-check: generate
	@git diff --exit-code --stat -- ebpf/ || { echo "generated BPF files are out of date: run make generate and commit"; exit 1; }

# The UDP generator's packet rate on a veth pair at 64 B, receiver counting.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 ./bench/traffic/ ./bench/

# vethbench's generators against trafgen, iperf3 and sockperf on one veth
# pair; prints the table of ratios. Installs the peers (Debian packages)
# when they are missing. Needs root.
PEERS := trafgen:netsniff-ng iperf3:iperf3 sockperf:sockperf
bench-peers:
	@missing=""; for p in $(PEERS); do command -v $${p%%:*} >/dev/null || missing="$$missing $${p##*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || \
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
	fi
	$(GO) run ./cmd/bench-peers $(PEERS_FLAGS)

# Boot Debian's 6.1 cloud kernel under qemu (TCG) with a busybox initramfs
# and run the privileged tests and vethbench on ipvlan inside; results in
# out/vmtest/. Function only: rates measured under emulation are meaningless.
vmtest:
	bash vmtest/run.sh

clean:
	rm -f $(BIN)
