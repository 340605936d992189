#!/usr/bin/env bash
# make deploy: from a clone to a running planet. Idempotent: every step finds what is already
# there and does only what is missing, so run it again after fixing whatever stopped it.
#   make deploy                 the planet of wrangler.jsonc's top level
#   make deploy ENV=rust        the planet of wrangler.jsonc's "env": { "rust": … } block
#   make deploy DRY_RUN=1       no account, no network: set-up, config, bundle and its size
# docs/deploying.md says what each step does and what to do when one fails.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

ENV_NAME="${ENV:-}"
case "${DRY_RUN:-}" in "" | 0 | false | no) DRY_RUN="" ;; *) DRY_RUN=1 ;; esac
export PATH="$PWD/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export WRANGLER_SEND_METRICS=false NO_UPDATE_NOTIFIER=1
# Overrides for the tests: another wrangler (a stand-in for the account), another ids file.
WRANGLER="${WRANGLER:-wrangler}"
IDS="${DEPLOY_IDS:-deploy-ids.json}"
export DEPLOY_IDS="$IDS"
CONFIG="wrangler.deploy${ENV_NAME:+.$ENV_NAME}.jsonc"
# The Workers Free plan's limit on a Worker's size, gzipped (wrangler says "3 MiB").
FREE_PLAN_GZIP_BYTES=$((3 * 1024 * 1024))

# The steps, in order: name | where it acts | what it does. Each runs step_<name>; a dry run
# runs the local ones and, for an account step, prints this line (and plan_<name> if there
# is one). A new step is a line here and its function below.
STEPS=(
  "setup|local|install what is missing (scripts/setup.sh)"
  "config|local|write $CONFIG from wrangler.jsonc${ENV_NAME:+ (env $ENV_NAME)} and this account's ids in $IDS"
  "bundle|local|build the Worker and check the config and its size (wrangler deploy --dry-run)"
  "login|account|check the wrangler login (wrangler whoami)"
  "database|account|find the D1 database (wrangler d1 list --json), create it if absent (wrangler d1 create NAME --binding DB)"
  "migrations|account|apply the D1 migrations (wrangler d1 migrations apply DB --remote)"
  "secrets|account|put every secret that is not set (wrangler secret list, wrangler secret put)"
  "deploy|account|upload the Worker and its assets (wrangler deploy)"
  "verify|account|check the running planet (scripts/verify.mjs against the deployed URL)"
)
# The secrets: name | how a missing one is made (make_<how>) | what it is for.
# `optional`: put from the environment variable of that name when it is set, else left unset.
SECRETS=(
  "ADMIN_TOKEN|random32|the admin token: JSON API bearer, sign-in form, admin session cookies"
  "GITHUB_CLIENT_SECRET|optional|the GitHub OAuth app's client secret, for Sign in with GitHub (with the GITHUB_CLIENT_ID var; docs/configuration.md)"
  "OIDC_CLIENT_SECRET|optional|the OpenID Connect client's secret, for Sign in with your provider (with OIDC_ISSUER and OIDC_CLIENT_ID; docs/configuration.md)"
)

say() { printf 'deploy: %s\n' "$*"; }
# Stops the run: what went wrong, then what to do next.
fail() {
  printf 'deploy: FAILED at step %s: %s\n' "${CURRENT:-?}" "$1" >&2
  [ -n "${2:-}" ] && printf 'deploy: next: %s\n' "$2" >&2
  exit 1
}
# wrangler on the generated config and the chosen environment.
wr() { "$WRANGLER" "$@" --config "$CONFIG" ${ENV_NAME:+--env "$ENV_NAME"}; }
cfg() { node scripts/deploy-config.mjs "$@" ${ENV_NAME:+--env "$ENV_NAME"}; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# A command that fails where no step said why: say which step, once.
trap 'code=$?; [ -z "${SAID:-}" ] && SAID=1 && printf "deploy: FAILED at step %s (exit %s, see above). Fix what it says and run the same make deploy again: steps already done are found done.\n" "${CURRENT:-?}" "$code" >&2' ERR

# --- how a missing secret is made: each prints the value on stdout -------------------------
# 32 random bytes, base64url (43 characters).
make_random32() { node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64url"))'; }
# From the environment variable of the same name (for values made elsewhere: OAuth clients…).
make_env() {
  local v="${!1:-}"
  [ -n "$v" ] || fail "secret $1 is not set and cannot be generated" "run again with $1=… in the environment"
  printf '%s' "$v"
}

# --- the steps ------------------------------------------------------------------------------
step_setup() {
  bash scripts/setup.sh || fail "scripts/setup.sh failed" "read its last lines above (it says what is missing), fix that and run make deploy again"
}

step_config() {
  local record=--record
  [ -n "$DRY_RUN" ] && record=""
  [ -n "$DRY_RUN" ] && [ ! -f "$IDS" ] && say "no $IDS yet: the config gets placeholder ids (a real deploy fills them in)"
  cfg generate $record >/dev/null || fail "could not write $CONFIG" "fix wrangler.jsonc (or the env block) as said above"
  say "wrote $CONFIG (worker $(cfg get worker)); account ids kept in $IDS (untracked)"
  local url
  url="$(cfg get planet_url)"
  if [ -z "$url" ] || [ "$url" = "https://orrery.example.workers.dev" ]; then
    say "warning: PLANET_URL is still the example ($url): links in feeds and WebSub will point there;" \
      "set it in wrangler.jsonc${ENV_NAME:+ (env $ENV_NAME vars)} to your planet's address"
  fi
}

step_bundle() {
  local out="$TMP/bundle" events="$TMP/bundle.ndjson"
  WRANGLER_OUTPUT_FILE_PATH="$events" wr deploy --dry-run --outdir "$out" >"$TMP/bundle.log" 2>&1 || {
    cat "$TMP/bundle.log" >&2
    fail "wrangler deploy --dry-run refused the config or the build" "read wrangler's message above; the config is $CONFIG, made from wrangler.jsonc"
  }
  grep -E 'Total Upload|warn|WARN' "$TMP/bundle.log" | sed 's/^/deploy:   wrangler: /' || true
  local gz raw
  read -r raw gz < <(node -e '
    const fs = require("fs"), zlib = require("zlib"), path = require("path");
    let raw = 0, gz = 0;
    for (const l of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
      try { const e = JSON.parse(l); if (e.type === "deploy" && e.bundle_size) { raw = e.bundle_size.raw_bytes; gz = e.bundle_size.gzip_bytes; } } catch {}
    }
    if (!gz) { // wrangler did not say: gzip what it would upload (every module but source maps)
      for (const f of fs.readdirSync(process.argv[2])) {
        if (f.endsWith(".map") || f === "README.md") continue;
        const b = fs.readFileSync(path.join(process.argv[2], f)); raw += b.length; gz += zlib.gzipSync(b, { level: 9 }).length;
      }
    }
    console.log(raw, gz);' "$events" "$out")
  local pct=$((gz * 100 / FREE_PLAN_GZIP_BYTES))
  say "Worker bundle: $raw bytes, $gz bytes gzipped: $pct% of the Free plan's 3 MiB ($FREE_PLAN_GZIP_BYTES bytes)"
  [ "$gz" -gt 0 ] || fail "could not measure the bundle" "look in $out"
  [ "$gz" -le "$FREE_PLAN_GZIP_BYTES" ] ||
    fail "the Worker is $gz bytes gzipped, over the Free plan's $FREE_PLAN_GZIP_BYTES" "shrink it (bench/RESULTS.md measures it; docs/budgets.md) or deploy on a paid plan"
}

step_login() {
  local who
  who="$("$WRANGLER" whoami --json 2>"$TMP/whoami.err")" ||
    fail "wrangler is not signed in to Cloudflare" "run: npx wrangler login (a browser opens), or set CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID); then make deploy again"
  node -e '
    const w = JSON.parse(process.argv[1]);
    const accounts = w.accounts || [];
    console.log(`deploy: signed in as ${w.email || "an API token"}; account${accounts.length > 1 ? "s" : ""}: ${accounts.map((a) => `${a.name} (${a.id})`).join(", ") || "?"}`);
    if (accounts.length > 1 && !process.env.CLOUDFLARE_ACCOUNT_ID) {
      console.log("deploy: several accounts: wrangler asks which one (set CLOUDFLARE_ACCOUNT_ID=<id> to choose once)");
    }' "$who"
}

step_database() {
  "$WRANGLER" d1 list --json >"$TMP/d1.json" 2>"$TMP/d1.err" || { cat "$TMP/d1.err" >&2; fail "wrangler d1 list failed" "check the login and the account (npx wrangler whoami), then make deploy again"; }
  local line name binding id
  while IFS= read -r line; do
    IFS== read -r name binding id <<<"$line"
    id="$(node -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const d = l.find((d) => d.name === process.argv[2]); console.log(d ? d.uuid : "")' "$TMP/d1.json" "$name")"
    if [ -n "$id" ]; then
      say "D1 database $name ($binding): exists, $id"
    else
      say "D1 database $name ($binding): absent, creating it"
      # wrangler writes the new binding into the config it is given: that is the generated
      # copy (rewritten just below), never wrangler.jsonc.
      wr d1 create "$name" --binding "$binding" </dev/null ||
        fail "wrangler d1 create $name failed" "read wrangler's message above (a name taken, the account's database limit); then make deploy again"
      "$WRANGLER" d1 list --json >"$TMP/d1.json"
      id="$(node -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const d = l.find((d) => d.name === process.argv[2]); console.log(d ? d.uuid : "")' "$TMP/d1.json" "$name")"
      [ -n "$id" ] || fail "created $name but cannot find it in wrangler d1 list" "run npx wrangler d1 list, then make deploy again"
      say "D1 database $name: created, $id"
    fi
    cfg set-d1 "$binding" "$name" "$id"
  done < <(cfg get d1)
  cfg generate --record >/dev/null
  say "recorded in $IDS and $CONFIG"
}

plan_database() {
  local line name binding id
  while IFS= read -r line; do
    IFS== read -r name binding id <<<"$line"
    say "  D1 database $name for binding $binding (id now: $id)"
  done < <(cfg get d1)
}

step_migrations() {
  wr d1 migrations apply DB --remote ||
    fail "the D1 migrations did not apply" "read wrangler's message above; npx wrangler d1 migrations list DB --remote --config $CONFIG${ENV_NAME:+ --env $ENV_NAME} shows what is missing; docs/operating.md#apply-migrations"
}

step_secrets() {
  local listed names entry name how what value
  if listed="$(wr secret list --format json 2>"$TMP/secrets.err")"; then
    # An answer that cannot be read stops here: never put a secret that may be set already.
    names="$(node -e 'for (const s of JSON.parse(process.argv[1])) console.log(s.name)' "$listed" 2>/dev/null)" ||
      fail "cannot read the answer of wrangler secret list" "run npx wrangler secret list --config $CONFIG${ENV_NAME:+ --env $ENV_NAME} to see why"
  elif grep -q 'not found' "$TMP/secrets.err"; then
    say "the Worker does not exist yet: every secret is missing"
    names=""
  else
    cat "$TMP/secrets.err" >&2
    fail "wrangler secret list failed" "check the login (npx wrangler whoami), then make deploy again"
  fi
  for entry in "${SECRETS[@]}"; do
    IFS='|' read -r name how what <<<"$entry"
    if grep -qx "$name" <<<"$names"; then
      say "secret $name: set (kept; $what)"
      continue
    fi
    if [ "$how" = optional ]; then
      if [ -z "${!name:-}" ]; then
        say "secret $name: not set, and not needed unless you want $what"
        continue
      fi
      how=env
    fi
    value="$("make_$how" "$name")"
    printf '%s' "$value" | wr secret put "$name" >/dev/null ||
      fail "wrangler secret put $name failed" "read wrangler's message above, then make deploy again"
    say "secret $name: was missing, now set ($what)"
    if [ "$how" != env ]; then
      say "  $name=$value"
      say "  (shown this once: keep it in your password manager; a lost one is replaced with npx wrangler secret put $name)"
    fi
  done
}

plan_secrets() {
  local entry name how what
  for entry in "${SECRETS[@]}"; do
    IFS='|' read -r name how what <<<"$entry"
    if [ "$how" = optional ]; then
      say "  secret $name, from \$$name in the environment when set (optional): $what"
    else
      say "  secret $name, made by make_$how when missing: $what"
    fi
  done
}

step_deploy() {
  local events="$TMP/deploy.ndjson"
  WRANGLER_OUTPUT_FILE_PATH="$events" wr deploy ||
    fail "wrangler deploy failed" "read wrangler's message above; nothing changed on the running planet if the upload was refused"
  # Verified at: URL if given, else PLANET_URL unless it is the example, else the first
  # https address wrangler deployed to (workers.dev).
  local planet_url
  planet_url="$(cfg get planet_url)"
  [ "$planet_url" = "https://orrery.example.workers.dev" ] && planet_url=""
  local target
  target="$(node -e '
    const fs = require("fs");
    let url = "";
    for (const l of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
      try { const e = JSON.parse(l); if (e.type === "deploy") url = (e.targets || []).find((t) => /^https:\/\/[^ ]+$/.test(t)) || ""; } catch {}
    }
    console.log(url.replace(/\/\*?$/, ""));' "$events")"
  DEPLOYED_URL="${URL:-${planet_url:-$target}}"
  [ -n "$DEPLOYED_URL" ] || fail "deployed, but cannot tell at which address" "set PLANET_URL in wrangler.jsonc, or run make verify URL=https://…"
  say "deployed: $DEPLOYED_URL"
}

step_verify() {
  node scripts/verify.mjs "$DEPLOYED_URL" ||
    fail "the planet is deployed but verify found the problems listed above" "fix them and run make deploy again (or make verify URL=$DEPLOYED_URL); npx wrangler rollback --config $CONFIG${ENV_NAME:+ --env $ENV_NAME} puts the previous version back"
}

# --- run ------------------------------------------------------------------------------------
say "Orrery deploy${ENV_NAME:+ of env $ENV_NAME}${DRY_RUN:+ (dry run: nothing touches the account or the network)}"
n=0
for entry in "${STEPS[@]}"; do
  IFS='|' read -r CURRENT where what <<<"$entry"
  n=$((n + 1))
  if [ -n "$DRY_RUN" ] && [ "$where" = account ]; then
    say "[$n/${#STEPS[@]}] $CURRENT: would $what"
    if declare -F "plan_$CURRENT" >/dev/null; then "plan_$CURRENT"; fi
    continue
  fi
  say "[$n/${#STEPS[@]}] $CURRENT: $what"
  "step_$CURRENT"
done
if [ -n "$DRY_RUN" ]; then
  say "dry run done: the config is accepted and the bundle fits; make deploy${ENV_NAME:+ ENV=$ENV_NAME} runs the account steps"
else
  say "done: $DEPLOYED_URL is running and verified"
fi
