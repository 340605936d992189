#!/usr/bin/env bash
# `make bench`: Python feedparser vs the Orrery feed pipeline over the same real feeds, in one run.
# Writes bench/RESULTS.md. Needs python3 (venv) and cargo; fetches feedparser from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

CORPUS="${CORPUS:-../shared/corpus/real-feeds}"
ROUNDS="${ROUNDS:-3}"
if [ ! -d "$CORPUS" ]; then
  echo "bench: corpus folder $CORPUS is absent; nothing to measure (see ../shared/corpus/README.md)"
  exit 0
fi

VENV="bench/.venv"
if ! "$VENV/bin/python" -c 'import feedparser' 2>/dev/null; then
  echo "bench: installing feedparser into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check feedparser
fi

echo "bench: building the pipeline (release)"
cargo build --release --quiet --bin bench-pipeline
BIN="${CARGO_TARGET_DIR:-target}/release/bench-pipeline"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "bench: Python feedparser over $CORPUS (one pass, ~30-60 s)"
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

echo "bench: Orrery pipeline over $CORPUS (best of $ROUNDS per feed)"
"$BIN" "$CORPUS" "$ROUNDS" > "$TMP/orrery.json"

CPU="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
"$VENV/bin/python" - "$TMP/feedparser.json" "$TMP/orrery.json" "$(nproc)" "${CPU:-unknown}" "$CORPUS" > bench/RESULTS.md <<'PY'
import json, sys, datetime, platform
fp = json.load(open(sys.argv[1])); o = json.load(open(sys.argv[2]))
nproc, cpu, corpus = sys.argv[3], sys.argv[4], sys.argv[5]
ff, un, al = o["first_fetch"], o["unchanged"], o["clean_all"]
ratio = fp["total_ms"] / ff["total_ms"]
ratio_all = fp["total_ms"] / al["total_ms"]
def verdict(ok): return "met" if ok else "**MISSED**"
print(f"""# Feed pipeline benchmark

- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}
- Machine: {nproc} CPU(s), {cpu}, {platform.system()} {platform.release()}; shared with other work, so numbers are noisy: read ratios.
- Corpus: `{corpus}`, {o['feeds']} real feeds (44 MB).
- Reproduce: `make bench` (= `bash bench/run.sh`; `ROUNDS=5` for more repetitions, `CORPUS=dir` for another folder).
- Orrery: native, the crate's release profile (`cargo build --release --bin bench-pipeline`), one thread; per-feed time is the best of {o.get('rounds', 3)} runs of that feed (wall time of a single-threaded, allocation-bound loop, i.e. its CPU time).
- feedparser {fp['version']}: one pass, `feedparser.parse(bytes)` per file (it parses and sanitizes every entry); per-feed figures are `time.process_time()`.

## Totals over the corpus

| pipeline | total | vs feedparser | feeds with entries |
| --- | ---: | ---: | ---: |
| Python feedparser | {fp['total_ms']:.0f} ms | 1× | {fp['with_entries']} |
| Orrery first fetch (parse + identity + clean what a first fetch stores) | {ff['total_ms']:.0f} ms | **{ratio:.0f}×** | {o['with_entries']} |
| Orrery, every entry sanitized (for comparison with naive pipelines) | {al['total_ms']:.0f} ms | {ratio_all:.0f}× | {o['with_entries']} |
| Orrery refresh of an unchanged feed (parse + identity + fingerprint compare) | {un['total_ms']:.0f} ms | {fp['total_ms'] / max(un['total_ms'], 1e-9):.0f}× | |

A first fetch stores the newest `FIRST_FETCH_MAX_ENTRIES` (50) entries ({o['stored_entries']} in all). `clean_batch` sanitizes them
newest first with full content until 96 KiB of raw HTML is spent (the newest always in full, each body capped at 64 KiB at a tag
boundary); older ones are stored brief (escaped plain-text summary, no HTML sanitizer). Entries of an unchanged feed that needed
cleaning anyway: {o['unchanged_recleaned']}.

## Per-feed CPU time (ms)

| | p50 | p90 | p99 | max |
| --- | ---: | ---: | ---: | ---: |
| Orrery first fetch | {ff['p50_ms']:.2f} | {ff['p90_ms']:.2f} | {ff['p99_ms']:.2f} | {ff['max_ms']:.2f} |
| Orrery unchanged refresh | {un['p50_ms']:.2f} | {un['p90_ms']:.2f} | {un['p99_ms']:.2f} | {un['max_ms']:.2f} |
| Orrery, every entry sanitized | {al['p50_ms']:.2f} | {al['p90_ms']:.2f} | {al['p99_ms']:.2f} | {al['max_ms']:.2f} |
| Python feedparser | {fp['p50_ms']:.2f} | {fp['p90_ms']:.2f} | {fp['p99_ms']:.2f} | |

Slowest first fetch: `{o['worst_first_fetch']['file']}` ({o['worst_first_fetch']['bytes']} bytes, {o['worst_first_fetch']['ms']:.2f} ms).

## Goals

| goal | result | |
| --- | --- | --- |
| first fetch ≥ 50× feedparser | {ratio:.0f}× | {verdict(ratio >= 50)} |
| per-feed p99 < 10 ms (first fetch) | {ff['p99_ms']:.2f} ms | {verdict(ff['p99_ms'] < 10)} |
| unchanged feed near zero | p50 {un['p50_ms']:.2f} ms, p99 {un['p99_ms']:.2f} ms | {verdict(un['p99_ms'] < 3)} |

Native timings; the Worker runs the same code compiled to wasm32, which this benchmark does not measure.
""")
PY
cat bench/RESULTS.md
