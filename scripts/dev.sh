#!/usr/bin/env bash
# make dev: demo feed server + wrangler dev with local D1 and Durable Objects. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-${PORT:-8787}}"
DEMO_PORT="${DEMO_PORT:-$((PORT + 1))}"
STATE=".wrangler/dev-state"
ADMIN_TOKEN="${ADMIN_TOKEN:-orrery-dev-token}"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "dev: stopping"
  for p in "${pids[@]}"; do kill -- -"$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM

echo "dev: building the demo feed server"
cargo build --release --quiet --bin demo-feeds
echo "dev: applying D1 migrations to the local database ($STATE)"
wrangler d1 migrations apply DB --local --persist-to "$STATE" >/dev/null

echo "dev: demo feeds on http://127.0.0.1:$DEMO_PORT"
setsid target/release/demo-feeds --port "$DEMO_PORT" &
pids+=($!)

echo "dev: wrangler dev on http://127.0.0.1:$PORT (ADMIN_TOKEN=$ADMIN_TOKEN)"
setsid wrangler dev --ip 127.0.0.1 --port "$PORT" --persist-to "$STATE" --show-interactive-dev-session=false \
  --var "ADMIN_TOKEN:$ADMIN_TOKEN" --var ALLOW_PRIVATE_FEEDS:true --var "PLANET_URL:http://127.0.0.1:$PORT" \
  --var PLANET_NAME:"Orrery (dev)" --var MIN_FETCH_INTERVAL_SECONDS:5 --var DEFAULT_FETCH_INTERVAL_SECONDS:5 \
  --var MAX_FETCH_INTERVAL_SECONDS:30 &
pids+=($!)

for _ in $(seq 1 240); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
for url in $(target/release/demo-feeds --port "$DEMO_PORT" --list); do
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
