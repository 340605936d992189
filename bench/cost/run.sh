#!/usr/bin/env bash
# The cost meter: what each operation costs in billed units (D1 rows from result meta, DO SQLite rows
# from the cursors, DO and Worker requests, subrequests), measured on two `wrangler dev` with METER=1,
# and a per-day model at 100 / 1,000 / 10,000 feeds against the Free limits and the Paid price.
# Writes bench/COST.md (and bench/cost/measured.json), prints the tables. Loopback only; bounded.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH" WRANGLER_SEND_METRICS=false NO_UPDATE_NOTIFIER=1
if [ ! -x node_modules/.bin/node ] || [ ! -x node_modules/.bin/wrangler ]; then
  echo "bench/cost: node_modules is missing Node 22 or wrangler; run \`npm ci\` (or \`make setup\`) first" >&2
  exit 1
fi
# Both workers would otherwise run wrangler's build command (make -s worker) at once: build first.
# make does nothing when build/ is newer than the Rust sources.
if [ ! -f build/worker/shim.mjs ]; then
  echo "bench/cost: no build/worker/shim.mjs yet: make worker"
fi
make --no-print-directory worker
# Bounded: the script stops everything it started after DEADLINE_S (default 420 s); `timeout` is the backstop.
exec timeout --kill-after=10 "$(( ${DEADLINE_S:-420} + 30 ))" node bench/cost/run.mjs "$@"
