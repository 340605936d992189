#!/usr/bin/env bash
# `make bench` (WebSub part): publish → open socket by push (our own hub on loopback) and by
# poll at the Worker's schedule; writes bench/websub/RESULTS.md. Needs build/ (`make worker`).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH" WRANGLER_SEND_METRICS=false NO_UPDATE_NOTIFIER=1
exec timeout --kill-after=10 "$(( ${DEADLINE_S:-240} + 30 ))" node bench/websub/latency.mjs "$@"
