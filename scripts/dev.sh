#!/usr/bin/env bash
# make dev: demo feed server + wrangler dev with local D1 and Durable Objects. Ctrl-C stops both.
# Everything it starts stays in its process group (no setsid), so a supervisor that signals the
# group (SIGTERM, then SIGKILL) stops all of it; a signal to this script alone (TERM, INT, HUP)
# stops the whole tree of each child before it exits.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-${PORT:-8787}}"
DEMO_PORT="${DEMO_PORT:-$((PORT + 1))}"
STATE="${STATE:-.wrangler/dev-state}"
ADMIN_TOKEN="${ADMIN_TOKEN:-orrery-dev-token}"
DEMO_FEEDS="${CARGO_TARGET_DIR:-target}/release/demo-feeds"

pids=()
# A process and all its descendants (read before anything is killed: orphans are re-parented).
tree() {
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree "$c"; done
  echo "$1"
}
# True while any of the given processes runs (a zombie waiting to be reaped does not count).
alive() {
  local p s
  for p in "$@"; do
    s=$(ps -o stat= -p "$p" 2>/dev/null) && [[ $s != Z* ]] && return 0
  done
  return 1
}
stopped=""
cleanup() {
  [[ -n $stopped ]] && return 0
  stopped=1
  echo
  echo "dev: stopping"
  local all=() p
  for p in "${pids[@]}"; do all+=($(tree "$p")); done
  ((${#all[@]})) || return 0
  kill -TERM "${all[@]}" 2>/dev/null || true
  for _ in $(seq 1 50); do
    alive "${all[@]}" || break
    sleep 0.1
  done
  kill -KILL "${all[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM HUP

# Bash runs a trap only once the foreground command ends: long set-up steps run in the
# background and are waited for, so a signal stops them at once.
step() {
  "$@" &
  pids+=($!)
  wait $!
  unset 'pids[-1]'
}

echo "dev: building the demo feed server"
step cargo build --release --quiet --bin demo-feeds
echo "dev: applying D1 migrations to the local database ($STATE)"
step wrangler d1 migrations apply DB --local --persist-to "$STATE" >/dev/null

echo "dev: demo feeds on http://127.0.0.1:$DEMO_PORT"
"$DEMO_FEEDS" --port "$DEMO_PORT" &
pids+=($!)

echo "dev: wrangler dev on http://127.0.0.1:$PORT (ADMIN_TOKEN=$ADMIN_TOKEN)"
# RATE_LIMITS=off: the developer's browser is one address, and a couple of searches would spend
# its public minute (15 units); the limits as deployed are what the quota-abuse suites test.
wrangler dev --ip 127.0.0.1 --port "$PORT" --persist-to "$STATE" --show-interactive-dev-session=false \
  --var "ADMIN_TOKEN:$ADMIN_TOKEN" --var ALLOW_PRIVATE_FEEDS:true --var "PLANET_URL:http://127.0.0.1:$PORT" \
  --var RATE_LIMITS:off \
  --var PLANET_NAME:"Orrery (dev)" --var MIN_FETCH_INTERVAL_SECONDS:5 --var DEFAULT_FETCH_INTERVAL_SECONDS:5 \
  --var MAX_FETCH_INTERVAL_SECONDS:30 &
wrangler_pid=$!
pids+=($wrangler_pid)

for _ in $(seq 1 240); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  alive "$wrangler_pid" || { echo "dev: wrangler dev exited"; exit 1; }
  sleep 0.5
done
for url in $("$DEMO_FEEDS" --port "$DEMO_PORT" --list); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/api/feeds" \
    -H "Authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' -d "{\"url\":\"$url\"}")
  case "$code" in
    201) echo "dev: subscribed $url" ;;
    409) echo "dev: $url is already subscribed (state kept in $STATE)" ;;
    *) echo "dev: subscribing $url failed with HTTP $code" ;;
  esac
done
echo "dev: open http://127.0.0.1:$PORT — new entries arrive live every few seconds. Ctrl-C stops everything."
wait
