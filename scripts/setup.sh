#!/usr/bin/env bash
# Installs what Orrery needs to build and test, skipping whatever is already there.
# Usage: scripts/setup.sh [--browser]   (--browser also installs Debian's chromium + chromium-driver)
set -euo pipefail
cd "$(dirname "$0")/.."

WORKER_BUILD_VERSION=0.8.7
# The wasm-bindgen CLI must match the library exactly: read it from the lock file.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"

say() { printf 'setup: %s\n' "$*"; }

if ! command -v cargo >/dev/null; then
  say "cargo is missing: install Rust with rustup first" >&2
  exit 1
fi

if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "rust wasm32-unknown-unknown target: present"
else
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

for comp in clippy rustfmt; do
  if rustup component list --installed 2>/dev/null | grep -q "^$comp"; then
    say "rust component $comp: present"
  else
    say "adding rust component $comp"
    rustup component add "$comp"
  fi
done

install_crate() { # crate version binary
  if [ -x "$CARGO_BIN/$3" ] && cargo install --list 2>/dev/null | grep -qx "$1 v$2:"; then
    say "$1 $2: present"
  else
    say "installing $1 $2 with cargo install --locked (the first time takes ~10-20 minutes on 2 cores)"
    cargo install --locked "$1@$2"
  fi
}
install_crate worker-build "$WORKER_BUILD_VERSION" worker-build
install_crate wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen

if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] \
   && [ -x node_modules/.bin/wrangler ] && [ -x node_modules/.bin/node ]; then
  say "npm packages: present (wrangler, node 22, binaryen, esbuild, playwright-core)"
elif [ -L node_modules ]; then
  # A node_modules linked from another checkout (a git worktree): npm ci would empty the
  # folder it points to, under that checkout's feet. Use it as it is, or say what to do.
  if [ -x node_modules/.bin/wrangler ] && [ -x node_modules/.bin/node ]; then
    say "npm packages: node_modules links to $(readlink node_modules); used as it is (run npm ci there if package-lock.json changed)"
  else
    say "node_modules links to $(readlink node_modules), which lacks wrangler or node: run npm ci in that checkout" >&2
    exit 1
  fi
else
  if ! command -v npm >/dev/null; then
    say "npm is missing: install Node.js (any version; npm fetches Node 22 for the scripts)" >&2
    exit 1
  fi
  say "installing npm packages from package-lock.json (npm ci)"
  npm ci --no-audit --no-fund
fi

if [ "${1:-}" = "--browser" ]; then
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    say "chromium + chromium-driver: present"
  else
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    say "installing Debian's chromium and chromium-driver (apt-get)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver
  fi
fi
say "done"
