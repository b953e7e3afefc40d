# callplane: `make run` starts the demo, `make test` runs every test.
GO ?= go
BIN := bin/callplane

.PHONY: all build run demo-reset test test-real fuzz lint bench fmt clean

all: build

build:
	$(GO) build -o $(BIN) ./controller

# Demo mode: a simulated FreeSWITCH on loopback, a throw-away PostgreSQL under .data/pg
# (when DATABASE_URL is unset) and a demo broadcast campaign. Ctrl-C stops everything.
run: build
	./$(BIN) serve --config configs/callplane.demo.yaml --demo

# A second `make run` keeps the demo's database (.data/pg): campaigns and calls go on where
# they were. demo-reset deletes it, and the next `make run` starts clean.
demo-reset:
	@if [ -f .data/pg/data/postmaster.pid ]; then echo 'stop make run first (.data/pg is in use)'; exit 1; fi
	rm -rf .data

# Every test with the race detector. Database tests get a real PostgreSQL: TEST_DATABASE_URL
# when set, else a throw-away cluster from the machine's PostgreSQL binaries.
# Then every fuzz target for 3,000 inputs each (a count, not a time: a short -fuzztime can
# end while the seed corpus is still being run, which Go reports as a failure); make fuzz
# runs each for 2 minutes.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	FUZZTIME=3000x ./scripts/fuzz.sh

# The realservers tests against a real FreeSWITCH and Asterisk (scripts/test-real.sh says
# which environment variables point at them; ../shared/rigs when it exists).
test-real:
	./scripts/test-real.sh

fuzz:
	FUZZTIME=$${FUZZTIME:-2m} ./scripts/fuzz.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null; then staticcheck ./...; else echo 'staticcheck not installed: skipped'; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./eslbridge/ ./crm/

clean:
	rm -rf bin
