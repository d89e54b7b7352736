# ReconLayer — the targets a newcomer can guess.
#   make run    start Postgres + Redis (deploy/local) and serve everything on :3001
#   make test   start Postgres + Redis and run the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

SQLC_VERSION        := v1.31.1
STATICCHECK_VERSION := v0.8.2
TOOLS               := $(CURDIR)/.tools/bin
SQLC                := $(TOOLS)/sqlc-$(SQLC_VERSION)
STATICCHECK         := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)
SERVICES            := deploy/local/services.sh
WITH_ENV            := source .local/env &&
GO_TEST_FLAGS       ?= -race -count=1 -timeout 15m

.PHONY: help services services-down run build test test-faults fuzz lint generate bench ci

help:
	@echo "make run | test | test-faults | fuzz | services | services-down | build | lint | generate | bench | ci"

services: ## start (or reuse) local Postgres and Redis; writes .local/env
	@$(SERVICES) up >/dev/null

services-down:
	@$(SERVICES) down

run: services ## serve api + worker + scheduler on :3001 (migrates first)
	$(WITH_ENV) go run ./cmd/reconlayer all

build:
	go build -o bin/reconlayer ./cmd/reconlayer

# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# report "context deadline exceeded" as a failure when the time runs out
# (golang/go#75804, fixed in 1.27; seen on CI for FuzzBAI2). 5,000 inputs
# take 1 to 6 s per target here.
FUZZTIME ?= 5000x

# The fleet and the fault scenarios (several processes each) run apart so
# that their counts are printed; `make test` runs them too.
FAULT_TESTS := ^(TestFleet|TestFault)

test: services ## the whole suite, against real Postgres and Redis, then the fleet and fault scenarios, then a short fuzz of every parser
	$(WITH_ENV) go test $(GO_TEST_FLAGS) -skip '$(FAULT_TESTS)' ./...
	$(MAKE) --no-print-directory test-faults
	$(MAKE) --no-print-directory fuzz

test-faults: services ## the fleet on one machine and each fault scenario, with their counts (full output when one fails)
	@out=$$(mktemp); \
	if $(WITH_ENV) go test $(GO_TEST_FLAGS) -v -run '$(FAULT_TESTS)' ./cmd/reconlayer/ >$$out 2>&1; then \
	  grep -E '^(--- |fleet:|fault:|ok )' $$out; rm -f $$out; \
	else cat $$out; rm -f $$out; exit 1; fi

fuzz: ## each file parser, the URL check and the ledger-run engine fuzzed for FUZZTIME (go test -fuzz takes one target at a time)
	@for t in FuzzCAMT FuzzCAMTLex FuzzBAI2 FuzzMT940 FuzzCSV FuzzProfileDecimal; do \
	  go test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/statement/ || exit 1; done
	go test -run '^$$' -fuzz '^FuzzCheckURL$$' -fuzztime $(FUZZTIME) ./internal/egress/
	go test -run '^$$' -fuzz '^FuzzRun$$' -fuzztime $(FUZZTIME) ./internal/ledgermatch/

bench: services ## go benchmarks (6 runs each), the evidence pipeline end to end, SLA sweeps of 1M cases, imports, webhook deliveries, ledger runs, expected payments
	$(WITH_ENV) go test -run '^$$' -bench . -benchmem -count 6 ./...
	$(WITH_ENV) go run ./cmd/reconlayer bench evidence -n 10000 -runs 3
	$(WITH_ENV) go run ./cmd/reconlayer bench sla -n 1000000 -runs 3
	$(WITH_ENV) go run ./cmd/reconlayer bench imports -csv 1000000 -camt 100000 -runs 3
	$(WITH_ENV) go run ./cmd/reconlayer bench webhooks -n 10000 -runs 3
	$(WITH_ENV) go run ./cmd/reconlayer bench runs -n 100000,1000000 -runs 3
	$(WITH_ENV) go run ./cmd/reconlayer bench expected -n 100000 -runs 3

generate: $(SQLC)
	$(SQLC) generate

lint: $(SQLC) $(STATICCHECK) ## gofmt, go vet, staticcheck, generated code in sync
	@out=$$(gofmt -l $$(git ls-files '*.go') $$(git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(STATICCHECK) ./...
	$(SQLC) diff
	go mod tidy -diff

ci: lint test

$(SQLC):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
	mv $(TOOLS)/sqlc $@

$(STATICCHECK):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(TOOLS)/staticcheck $@
