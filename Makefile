# Orrery: `make dev` runs it locally, `make test` runs every tier. Both install what is missing first.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PORT ?= 8787
CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
export PATH := $(CURDIR)/node_modules/.bin:$(CARGO_BIN):$(PATH)
# worker-build cannot download its tools here: point it at the installed ones.
export WASM_BINDGEN_BIN := $(CARGO_BIN)/wasm-bindgen
export WASM_OPT_BIN := $(CURDIR)/node_modules/.bin/wasm-opt
export ESBUILD_BIN := $(CURDIR)/node_modules/.bin/esbuild
export WRANGLER_SEND_METRICS := false
export NO_UPDATE_NOTIFIER := 1

WORKER := build/worker/shim.mjs
# The catalogs (locales/*.toml) are compiled in with include_str!: a changed word rebuilds.
RUST_SRC := $(shell find src -name '*.rs') $(wildcard locales/*.toml) Cargo.toml Cargo.lock

.PHONY: help setup setup-browser worker dev test test-native lint test-deploy test-e2e test-browser bench deploy verify clean

help:
	@echo "make dev    - install what is missing, build, serve http://127.0.0.1:$(PORT) with demo feeds"
	@echo "make test   - install what is missing, then native tests + lints, end-to-end, browser"
	@echo "make deploy - install what is missing, then D1, migrations, secrets, deploy and verify (ENV=name, DRY_RUN=1; docs/deploying.md)"
	@echo "make verify URL=https://… - check a running planet"
	@echo "make bench  - feed pipeline native and in wasm (V8) vs Python feedparser, CPU per invocation kind, Worker size, realtime, WebSub push; bench/RESULTS.md"

setup:
	@bash scripts/setup.sh

setup-browser:
	@bash scripts/setup.sh --browser

# The Worker: Rust → wasm (wasm-opt on) + JS shim. Rebuilt only when Rust sources change.
worker: $(WORKER)
$(WORKER): $(RUST_SRC)
	@echo "build: worker-build --release"
	worker-build --release
	@touch $(WORKER)

dev: setup worker
	@bash scripts/dev.sh $(PORT)

test: setup-browser test-native lint worker test-deploy test-e2e test-browser
	@echo "make test: every tier passed"

test-native:
	@echo "== tier 1: native cargo test"
	cargo test --all-targets

lint:
	@echo "== lints: fmt, clippy (host and wasm32)"
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings

# The deploy without an account: the generated config accepted, the bundle under the Free plan's size.
test-deploy: worker
	@echo "== deploy, dry run (no account, no network)"
	@$(MAKE) --no-print-directory deploy DRY_RUN=1 ENV=

test-e2e: worker
	@echo "== tier 2: end-to-end against wrangler dev (workerd, local D1 + Durable Objects)"
	node --test --test-concurrency=1 "tests/e2e/*.test.mjs"

test-browser: worker
	@echo "== tier 3: browser (headless Chromium)"
	node --test --test-concurrency=1 "tests/browser/*.test.mjs"

# One command from a clone to a running, verified planet (docs/deploying.md). GNU make takes
# DRY_RUN=1 (it would swallow --dry-run) and ENV=<name> for a wrangler environment.
# ENV counts only from the command line (some shells export ENV for their own start-up file).
deploy:
	@ENV="$(if $(filter command line,$(origin ENV)),$(ENV))" DRY_RUN="$(DRY_RUN)" bash scripts/deploy.sh

# Checks a running planet, anyone's: make verify URL=https://planet.example.org
verify:
	@if [ -z "$(URL)" ]; then echo "usage: make verify URL=https://your.planet"; exit 2; fi
	node scripts/verify.mjs "$(URL)"

bench: setup worker
	@echo "== feed pipeline, native and wasm32-wasip1 in V8, vs Python feedparser; Worker size (bench/RESULTS.md)"
	@bash bench/run.sh
	@echo "== CPU per invocation kind (pages, Room broadcast, resume, cron), wasm32-wasip1 in V8 and native (bench/RESULTS.md)"
	@bash bench/invocations.sh
	@echo "== what it costs: every operation metered on wrangler dev, scaled to a day (bench/COST.md)"
	@bash bench/cost/run.sh
	@echo "== socket delivery latency vs a bare relay Durable Object (bench/realtime/RESULTS.md)"
	@bash bench/realtime/run.sh
	@echo "== publish to screen: WebSub push vs polling (bench/websub/RESULTS.md)"
	@bash bench/websub/run.sh

clean:
	rm -rf build target .wrangler
