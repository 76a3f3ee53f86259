# make check runs everything CI runs: format, vet, lint and every test.
GO ?= go

.PHONY: check fmt vet lint test azurite nodeapps run build install bench bench-queue bench-workers bench-durable bench-mcp clean

check: fmt vet lint test

fmt:
	@out=$$(gofmt -l . ); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

lint:
	$(GO) tool staticcheck ./...

test: azurite nodeapps
	$(GO) test -race -count=1 ./...

# azurite installs the Azure Storage emulator that package azstorage's tests
# start (see azstorage/azuritetest), from the versions pinned in
# tools/azurite/package-lock.json, again only when the lock file changes.
AZURITE_STAMP = tools/azurite/node_modules/.package-lock.json

azurite: $(AZURITE_STAMP)

$(AZURITE_STAMP): tools/azurite/package.json tools/azurite/package-lock.json
	npm ci --prefix tools/azurite --no-audit --no-fund --loglevel=error
	@touch $@

# nodeapps installs the npm packages of the Node.js test apps that package
# nodeworker's tests (and the end-to-end tests) run, and of the MCP client
# the end-to-end tests drive, from each one's package-lock.json, again only
# when the lock file changes.
NODE_APPS = e2e/testdata/nodev4 e2e/testdata/nodev4stream e2e/testdata/durablenode \
	e2e/testdata/mcpnode e2e/testdata/mcpclient
NODE_APP_STAMPS = $(addsuffix /node_modules/.package-lock.json,$(NODE_APPS))

nodeapps: $(NODE_APP_STAMPS)

e2e/testdata/%/node_modules/.package-lock.json: e2e/testdata/%/package.json e2e/testdata/%/package-lock.json
	npm ci --prefix e2e/testdata/$* --no-audit --no-fund --loglevel=error
	@touch $@

build:
	$(GO) build -o bin/funcd ./cmd/funcd

# install puts funcd where go install does: $(go env GOBIN), or
# $(go env GOPATH)/bin when GOBIN is not set.
install:
	$(GO) install ./cmd/funcd

# run builds the sample app's Go custom handler and serves the app on :7071.
run: build
	$(GO) build -o samples/hello/handler ./samples/hello/handler-src
	bin/funcd start --script-root samples/hello

# bench compares a hello-world custom handler behind funcd with net/http alone
# (see bench/RESULTS.md); pass flags with BENCHFLAGS="-duration 10s -rounds 3".
bench:
	$(GO) run ./bench/cmd/httpbench $(BENCHFLAGS)

clean:
	rm -rf bin samples/hello/handler

# bench-queue measures the queue trigger on the embedded store, PostgreSQL
# and Azurite (see bench/RESULTS.md); pass flags with BENCHFLAGS="-rounds 5".
bench-queue: azurite
	$(GO) run ./bench/cmd/queuebench $(BENCHFLAGS)

# bench-workers compares the Go SDK and Node.js workers behind funcd with
# plain net/http and Node.js servers and with a forwarding custom handler
# (see bench/RESULTS.md); pass flags with BENCHFLAGS="-duration 5s -rounds 5".
bench-workers:
	$(GO) run ./bench/cmd/workerbench $(BENCHFLAGS)

# bench-durable measures Durable Functions (a chain of 5 activities alone,
# 1000 of them at once, a fan-out to 1000) on the embedded store and
# PostgreSQL, with the Go SDK and Node.js apps, beside durabletask-go and
# the Temporal development server (see bench/RESULTS.md; the peers live in
# the module bench/durablepeers, and Temporal needs the temporal CLI on
# PATH); pass flags with BENCHFLAGS="-rounds 5 -peers durabletask".
bench-durable: nodeapps
	$(GO) run ./bench/cmd/durablebench $(BENCHFLAGS)

# bench-mcp measures tools/call through funcd's MCP webhook (a Go SDK app,
# with the mcp_extension system key) beside a bare MCP server built with the
# same MCP Go SDK, from that SDK's client (see bench/RESULTS.md); pass flags
# with BENCHFLAGS="-duration 5s -rounds 5 -clients 1,8,32".
bench-mcp:
	$(GO) run ./bench/cmd/mcpbench $(BENCHFLAGS)
