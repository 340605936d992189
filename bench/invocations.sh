#!/usr/bin/env bash
# CPU per invocation kind (issue 20): bench/invocations.rs natively and as wasm32-wasip1 in V8
# (Node's WASI, as bench/run.sh runs the pipeline), every JS call stubbed and counted. Writes the
# section "CPU per invocation, in wasm" of bench/RESULTS.md (between its markers; bench/run.sh
# keeps it when it rewrites the file). Needs cargo + rustup and `make setup` (Node 22, wasm-opt).
# ITERATIONS= timed runs per kind (default 200), CORPUS= another folder of feeds. Then, unless
# WALL=0, the wall time of `/`, `/titles` and `/feed.atom` on `wrangler dev` as a ceiling
# (bench/wall/run.mjs; needs the Worker built: `make worker`).
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
say() { echo "bench/invocations: [$((SECONDS - START)) s] $*"; }

CORPUS="${CORPUS:-../shared/corpus/real-feeds}"
ITERATIONS="${ITERATIONS:-200}"
if [ ! -d "$CORPUS" ]; then
  say "corpus folder $CORPUS is absent; nothing to measure (see ../shared/corpus/README.md)"
  exit 0
fi
NODE="$PWD/node_modules/.bin/node"
WASM_OPT="$PWD/node_modules/.bin/wasm-opt"
for tool in "$NODE" "$WASM_OPT"; do
  if [ ! -x "$tool" ]; then
    say "$tool is missing; run \`make setup\` first" >&2
    exit 1
  fi
done
if rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
  say "rust wasm32-wasip1 target: present"
else
  say "adding the rust target wasm32-wasip1 (rustup target add wasm32-wasip1), to run the bench in V8"
  rustup target add wasm32-wasip1
fi

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
say "building bench/invocations.rs natively and for wasm32-wasip1 (release profile)"
cargo build --release --quiet --example bench-invocations
cargo build --release --quiet --target wasm32-wasip1 --example bench-invocations
RAW="$TARGET_DIR/wasm32-wasip1/release/examples/bench-invocations.wasm"
WASM="$TARGET_DIR/wasm32-wasip1/release/examples/bench-invocations.opt.wasm"
# wasm-opt with worker-build 0.8.7's release arguments, as bench/run.sh does.
if [ ! -f "$WASM" ] || [ "$RAW" -nt "$WASM" ]; then
  say "wasm-opt -O (worker-build's arguments)"
  "$WASM_OPT" "$RAW" -o "$WASM.tmp" -O \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
    --enable-multivalue --enable-reference-types --enable-exception-handling --debuginfo
  mv "$WASM.tmp" "$WASM"
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
say "wasm (V8, Node's WASI): $ITERATIONS iterations a kind"
"$NODE" --no-warnings bench/wasm/run-wasi.mjs "$WASM" "$CORPUS" "$ITERATIONS" > "$TMP/wasm.json"
say "native: $ITERATIONS iterations a kind"
"$TARGET_DIR/release/examples/bench-invocations" "$CORPUS" "$ITERATIONS" > "$TMP/native.json"
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
echo null > "$TMP/wall.json"
if [ "${WALL:-1}" = 0 ]; then
  say "WALL=0: no wall-time ceiling on wrangler dev"
elif [ ! -f build/worker/shim.mjs ]; then
  say "build/worker/shim.mjs is absent (make worker): no wall-time ceiling on wrangler dev"
else
  say "wall time on wrangler dev (a ceiling): a planet of corpus feeds, then 50 requests a page (~1-2 min)"
  PATH="$PWD/node_modules/node/bin:$PATH" WRANGLER_SEND_METRICS=false NO_UPDATE_NOTIFIER=1 \
    CORPUS="$CORPUS" "$NODE" --no-warnings bench/wall/run.mjs > "$TMP/wall.json" ||
    { say "the wall-time run failed; the table goes without it"; echo null > "$TMP/wall.json"; }
fi

CPU="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
export INV_CORPUS="$CORPUS" INV_ITERATIONS="$ITERATIONS" INV_NPROC="$(nproc)" INV_CPU="${CPU:-unknown}" \
  INV_KERNEL="$(uname -r)" INV_LOAD="$LOAD_START / $LOAD_END" INV_NODE="$("$NODE" --version)" \
  INV_V8="$("$NODE" -p process.versions.v8)" INV_RUSTC="$(rustc --version)" \
  INV_COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src bench Cargo.toml 2>/dev/null || echo ' (with uncommitted changes)')" \
  INV_RUNTIME="$((SECONDS - START))"
python3 bench/invocations_report.py "$TMP/wasm.json" "$TMP/native.json" "$TMP/wall.json" > "$TMP/section.md"
python3 bench/invocations_report.py --splice bench/RESULTS.md "$TMP/section.md"
cat "$TMP/section.md"
