#!/usr/bin/env bash
# `make bench` (realtime part): publish-to-delivered latency at 1,000 WebSockets, Orrery's Room vs a
# bare relay Durable Object, in one run; writes bench/realtime/RESULTS.md. Needs build/ (`make worker`).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH" WRANGLER_SEND_METRICS=false NO_UPDATE_NOTIFIER=1
# Two thousand client sockets in this process, and as many in workerd: make sure the fd limit allows it.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 8192 ]; then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4096 ]; then
    echo "bench/realtime: open-file limit $(ulimit -n) is too low for ${CLIENTS:-1000} x 2 sockets; raise ulimit -n" >&2
    exit 1
  fi
fi
# Bounded: the script stops everything it started after DEADLINE_S (default 300 s); `timeout` is the backstop.
exec timeout --kill-after=10 "$(( ${DEADLINE_S:-300} + 30 ))" node bench/realtime/latency.mjs "$@"
