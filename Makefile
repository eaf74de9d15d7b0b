# fxswitch — build, test, benchmark.
#
#   make demo    build everything and run one business day of both centers
#   make test    vet, gofmt check, race tests for concurrent packages, the rest, fuzz smoke
#   make bench   codec and WAL micro-benchmarks (printed), end-to-end scenarios that
#                regenerate the "end to end" section of bench/RESULTS.md and bench/plots/
#   make fuzz    every fuzz target for FUZZTIME executions (default 2,000,000)
#   make chaos   10,000 simulated schedules of the switch core (DST_SCHEDULES=N), then
#                100 process-level crash/fault iterations (CHAOS_ITERATIONS=N)

GO        ?= go
BIN       ?= bin
# Fuzz budgets are execution counts, not durations: with a duration, go1.26's
# fuzz coordinator can report a spurious "context deadline exceeded" when the
# deadline races a worker (go.dev/issue/75804); a count has no deadline.
# Minimization of each new input is bounded the same way.
FUZZTIME  ?= 2000000x
SMOKETIME ?= 100000x
MINIMIZE  ?= 2000x

# Packages without goroutines of their own run without -race (it costs 5-10x).
NORACE_PKGS = $(shell $(GO) list ./... | grep -E '/codec($$|/)|/bench($$|/)')
RACE_PKGS   = $(shell $(GO) list ./... | grep -v -E '/codec($$|/)|/bench($$|/)')

.PHONY: all build test vet fmt-check unit dst fuzz fuzz-smoke bench chaos demo clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -count=1 -timeout 15m $(NORACE_PKGS)
	$(GO) test -race -count=1 -timeout 15m $(RACE_PKGS)

# The deterministic simulation of the switch core (switch/engine/dst_test.go):
# DST_SCHEDULES seeded schedules of faults and crashes, without the race
# detector (the -race pass above runs 40). A failure prints its seed;
# FXSWITCH_DST_SEED=N replays it, FXSWITCH_DST_TRACE=1 prints its trace.
DST_SCHEDULES ?= 1000
dst:
	FXSWITCH_DST_SCHEDULES=$(DST_SCHEDULES) $(GO) test -count=1 -timeout 60m -run '^TestDST$$' -v ./switch/engine

test: vet fmt-check unit dst fuzz-smoke

# Every Fuzz* function in the tree, one `go test -fuzz` run each.
define run_fuzz
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
	  d=$$(dirname $$f); \
	  for t in $$(grep -h -o '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/^func //'); do \
	    echo "fuzz $$d $$t ($(1))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(1) -fuzzminimizetime $(MINIMIZE) $$d; \
	  done; \
	done
endef

fuzz-smoke:
	$(call run_fuzz,$(SMOKETIME))

fuzz:
	$(call run_fuzz,$(FUZZTIME))

# Micro-benchmarks, then the end-to-end scenarios (fxbench --spawn each),
# which regenerate the "## end to end" section of bench/RESULTS.md.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./codec/...
	$(GO) test -run '^$$' -bench . -benchmem ./wal/...
	$(GO) run ./bench/report --bin $(BIN) --results bench/RESULTS.md

# WAL benchmarks alone: BenchmarkAppend and BenchmarkRecoveryScan (the 10M-record
# log is built once, about a minute, and cached in $${TMPDIR:-/tmp}/fxswitch-bench-wal-10M).
bench-wal:
	$(GO) test -run '^$$' -bench . -benchtime 3s -count 3 ./wal/

# Process-level crash test (switch/chaos): CHAOS_ITERATIONS seeded
# iterations of faults, kill -9 / shutdown --force, recovery, cutover and
# reconciliation; every seed is printed, FXSWITCH_CHAOS_SEED=N replays one.
CHAOS_ITERATIONS ?= 100
chaos:
	$(MAKE) dst DST_SCHEDULES=10000
	FXSWITCH_CHAOS_ITERATIONS=$(CHAOS_ITERATIONS) $(GO) test -count=1 -timeout 120m -run '^TestChaos$$' -v ./switch/chaos

demo:
	$(GO) run ./cmd/fxdemo

clean:
	rm -rf $(BIN)
