#!/usr/bin/env bash
# `make bench`: Python feedparser vs the Orrery feed pipeline over the same real feeds, and the same
# pipeline compiled to wasm32-wasip1 and run in V8 (Node's WASI), native and wasm interleaved in one run.
# Writes bench/RESULTS.md. Needs python3 (venv), cargo + rustup, and `make setup` (Node 22, wasm-opt).
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
say() { echo "bench: [$((SECONDS - START)) s] $*"; }

CORPUS="${CORPUS:-../shared/corpus/real-feeds}"
ROUNDS="${ROUNDS:-3}"
PASSES="${PASSES:-3}"
if [ ! -d "$CORPUS" ]; then
  say "corpus folder $CORPUS is absent; nothing to measure (see ../shared/corpus/README.md)"
  exit 0
fi
# The project's Node 22 (npm dev dependency `node`), not whatever node is on the system.
NODE="$PWD/node_modules/.bin/node"
WASM_OPT="$PWD/node_modules/.bin/wasm-opt"
for tool in "$NODE" "$WASM_OPT"; do
  if [ ! -x "$tool" ]; then
    say "$tool is missing; run \`make setup\` first" >&2
    exit 1
  fi
done

VENV="bench/.venv"
if ! "$VENV/bin/python" -c 'import feedparser' 2>/dev/null; then
  say "installing feedparser into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check feedparser
fi

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
say "building the pipeline natively (release profile)"
cargo build --release --quiet --example bench-pipeline
BIN="$TARGET_DIR/release/examples/bench-pipeline"

# wasm32-wasip1: the same source as a WASI command, so V8 can run it under Node with the corpus
# folder preopened (the Worker's own build, wasm32-unknown-unknown, has no files and no clock).
if rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
  say "rust wasm32-wasip1 target: present"
else
  say "adding the rust target wasm32-wasip1 (rustup target add wasm32-wasip1), to run the pipeline in V8"
  rustup target add wasm32-wasip1
fi
say "building the pipeline for wasm32-wasip1 (release profile), then wasm-opt -O as worker-build does"
cargo build --release --quiet --target wasm32-wasip1 --example bench-pipeline

say "building the sanitizer throughput benchmark (bench/clean_cost.rs: ours vs ammonia), native and wasm32-wasip1"
cargo build --release --quiet --example clean_cost
cargo build --release --quiet --target wasm32-wasip1 --example clean_cost
# RAW → OUT through wasm-opt with worker-build 0.8.7's arguments for a release build (`-O`,
# this feature set, names kept; ~20 s), unless OUT is newer.
optimize() {
  local raw="$1" out="$2"
  if [ ! -f "$out" ] || [ "$raw" -nt "$out" ]; then
    "$WASM_OPT" "$raw" -o "$out.tmp" -O \
      --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
      --enable-multivalue --enable-reference-types --enable-exception-handling --debuginfo
    mv "$out.tmp" "$out"
  fi
}
SAN_WASM="$TARGET_DIR/wasm32-wasip1/release/examples/clean_cost.opt.wasm"
optimize "$TARGET_DIR/wasm32-wasip1/release/examples/clean_cost.wasm" "$SAN_WASM"
WASM="$TARGET_DIR/wasm32-wasip1/release/examples/bench-pipeline.opt.wasm"
optimize "$TARGET_DIR/wasm32-wasip1/release/examples/bench-pipeline.wasm" "$WASM"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# The Worker itself: its wasm's size against the Free plan's 3 MB (gzipped) limit.
say "the Worker build (make worker; nothing to do when it is current)"
make --no-print-directory worker
WORKER_WASM="build/index_bg.wasm"
say "wrangler deploy --dry-run for the upload size wrangler reports"
DRY="$( (PATH="$PWD/node_modules/node/bin:$PATH" WRANGLER_SEND_METRICS=false NO_UPDATE_NOTIFIER=1 \
  timeout 300 node_modules/.bin/wrangler deploy --dry-run --outdir "$TMP/dry" 2>&1 || true) |
  grep -m1 'Total Upload' || true)"

say "Python feedparser over $CORPUS (one pass, ~30-60 s)"
"$VENV/bin/python" - "$CORPUS" > "$TMP/feedparser.json" <<'PY'
import json, os, sys, time
import feedparser
d = sys.argv[1]
files = sorted(os.listdir(d))
blobs = [open(os.path.join(d, f), "rb").read() for f in files]
per, ok = [], 0
t0 = time.perf_counter()
for b in blobs:
    s = time.process_time()
    r = feedparser.parse(b)
    per.append((time.process_time() - s) * 1000)
    ok += 1 if r.entries else 0
total = (time.perf_counter() - t0) * 1000
per.sort()
pick = lambda p: per[min(len(per) - 1, round((len(per) - 1) * p))]
print(json.dumps({"version": feedparser.__version__, "total_ms": total, "with_entries": ok,
                  "p50_ms": pick(0.5), "p90_ms": pick(0.9), "p99_ms": pick(0.99)}))
PY

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
# Native and wasm alternate (and swap order every pass), so both see the same machine load.
for pass in $(seq 1 "$PASSES"); do
  order="native wasm"
  [ $((pass % 2)) -eq 0 ] && order="wasm native"
  for which in $order; do
    say "pass $pass/$PASSES, $which: $ROUNDS rounds over the corpus"
    if [ "$which" = native ]; then
      "$BIN" "$CORPUS" "$ROUNDS" > "$TMP/native-$pass.json"
    else
      "$NODE" --no-warnings bench/wasm/run-wasi.mjs "$WASM" "$CORPUS" "$ROUNDS" > "$TMP/wasm-$pass.json"
    fi
  done
done
# The sanitizer alone, ours vs ammonia over the same bodies (every entry body of the corpus),
# native and in V8.
for pass in $(seq 1 "$PASSES"); do
  say "pass $pass/$PASSES, sanitizer throughput (ours vs ammonia), native and wasm"
  "$TARGET_DIR/release/examples/clean_cost" "$CORPUS" "$ROUNDS" > "$TMP/san-native-$pass.json"
  "$NODE" --no-warnings bench/wasm/run-wasi.mjs "$SAN_WASM" "$CORPUS" "$ROUNDS" > "$TMP/san-wasm-$pass.json"
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"

CPU="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
export BENCH_CORPUS="$CORPUS" BENCH_TMP="$TMP" BENCH_PASSES="$PASSES" BENCH_ROUNDS="$ROUNDS" \
  BENCH_NPROC="$(nproc)" BENCH_CPU="${CPU:-unknown}" BENCH_LOAD="$LOAD_START / $LOAD_END" \
  BENCH_NODE="$("$NODE" --version)" BENCH_V8="$("$NODE" -p process.versions.v8)" \
  BENCH_WORKERD="$(node_modules/.bin/workerd --version 2>/dev/null || echo '?')" \
  BENCH_RUSTC="$(rustc --version)" BENCH_WASM_OPT="$("$WASM_OPT" --version)" \
  BENCH_WASI_BYTES="$(wc -c < "$WASM")" BENCH_WORKER_BYTES="$(wc -c < "$WORKER_WASM")" \
  BENCH_WORKER_GZ="$(gzip -9 -c "$WORKER_WASM" | wc -c)" BENCH_DRY="$DRY"
"$VENV/bin/python" bench/report.py > "$TMP/RESULTS.md"
# Keep the section bench/invocations.sh writes (between its markers) across the rewrite.
KEEP="$(sed -n '/<!-- invocations:begin/,/<!-- invocations:end -->/p' bench/RESULTS.md 2>/dev/null || true)"
sed "s/~RUNTIME_S s/~$((SECONDS - START)) s/" "$TMP/RESULTS.md" > bench/RESULTS.md
if [ -n "$KEEP" ]; then
  printf '\n%s\n' "$KEEP" >> bench/RESULTS.md
fi
cat bench/RESULTS.md
