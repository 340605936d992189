"""The section "CPU per invocation, in wasm" of bench/RESULTS.md, from bench/invocations.rs's JSON.

usage: invocations_report.py WASM.json NATIVE.json > section.md   (machine facts from INV_* variables)
       invocations_report.py --splice RESULTS.md section.md       (replaces the section between its markers, or appends it)
"""
import datetime
import json
import os
import sys

BEGIN = "<!-- invocations:begin (bench/invocations.sh writes this section) -->"
END = "<!-- invocations:end -->"
LIMIT_MS = 10.0
# What issue 20 changed (kept in every rewrite of the section).
CHANGED = (
    "Changed in `src/core` for issue 20, each with a native test that the output is what it was: `parse_opml` and `membership::listed` looked up each URL among those already kept by scanning them (quadratic in the file's length); both keep a set now. Measured the same way just before the `parse_opml` change, `cron` was 9.89 ms p50 / 11.87 ms p99 in wasm, `parse_opml` alone 4.79 ms; `listed`'s scan was a third of the native `cron` profile (`perf`) before its own change."
)


def splice(results, section):
    text = open(results).read() if os.path.exists(results) else ""
    block = open(section).read().strip("\n")
    block = f"{BEGIN}\n{block}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    open(results, "w").write(text)


def ms(x):
    return f"{x:.2f}"


# What dominates a kind that can pass 10 ms (perf on the native build, and the "part." rows).
NOTES = {
    "room_broadcast_50": "each of the 50 frames is rendered once (article HTML, then the whole entry and that HTML "
    "escaped into JSON: the body goes out twice); sockets that follow a search need each entry's index text "
    "(`LiveDoc::of_entry`: HTML to text, unicode61 tokens, a sort), made once per entry per broadcast; the 1,000 "
    "attachment reads are the smallest part. The JS side adds 50,000 `send`s.",
    "room_broadcast_200": "the same work as `room_broadcast_50`, four times over: one Room page is up to 200 "
    "entries (`PAGE_ENTRIES`), and one invocation may read up to `ROOM_QUERIES_PER_INVOCATION` (40) pages. The "
    "Room's bound per invocation counts D1 queries, not entries × sockets; only a smaller page (or a bound on "
    "frames rendered and sends per invocation, the rest carried by the alarm as it already is past the query "
    "budget) keeps it within 10 ms.",
    "resume_500": "500 frames rendered (the body twice in each: the article HTML and `content_html` inside the "
    "entry's JSON, escaped) and 500 whole rows read from D1; the 100-entry pages are not the unit of work, the "
    "resume is (`MAX_RESUME_ENTRIES` per invocation).",
    "cron": "the membership file: `parse_opml` and `listed` (each URL checked by the fetch policy and normalized, "
    "names and faces validated), and D1's 1,000 feeds read for `plan`. `listed` compared each URL with every "
    "earlier one (quadratic) until issue 20: now a set.",
}


# Kinds measured as they ran before issue 20 bounded them: no longer one invocation.
SUPERSEDED = {
    "room_broadcast_50": "the Room now sends at most 20,000 frames an invocation "
    "(`room_entries_per_invocation`: 20 entries to 1,000 sockets) and carries the rest by alarm: "
    "`room_invocation` is one invocation now.",
    "room_broadcast_200": "as `room_broadcast_50`: `room_invocation` is one invocation now.",
    "resume_500": "a resume now sends at most `MAX_RESUME_ENTRIES` (100) entries: `resume_cap`.",
}


def main():
    wasm = json.load(open(sys.argv[1]))
    native = json.load(open(sys.argv[2]))
    nat = {k["name"]: k for k in native["kinds"]}
    env = os.environ.get
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = []
    w = out.append
    w("## CPU per invocation, in wasm")
    w("")
    w(f"- Date: {now}; commit {env('INV_COMMIT', '?')}.")
    w(f"- Machine: {env('INV_NPROC', '?')} CPU(s), {env('INV_CPU', '?')}, Linux {env('INV_KERNEL', '?')}; "
      f"shared with other work, so numbers are noisy. Load average before / after: {env('INV_LOAD', '?')}.")
    w(f"- Engine: Node {env('INV_NODE', '?')} (V8 {env('INV_V8', '?')}) running the wasm32-wasip1 build through "
      f"`node:wasi` (`bench/wasm/run-wasi.mjs`), wasm-opt'd with worker-build's release arguments; "
      f"native for reference. {env('INV_RUSTC', '?')}, the crate's release profile.")
    w(f"- Inputs: `{env('INV_CORPUS', '?')}`, {wasm['feeds_read']} feeds read one at a time, each feed's "
      f"3 newest entries parsed and cleaned whole once before any timing ({wasm['entries']} entries, round robin "
      "over the feeds, newest first); a planet of 1,000 members named after the corpus's feeds.")
    w(f"- Reproduce: `bash bench/invocations.sh` (also run by `make bench`); `ITERATIONS=` timed runs per kind "
      f"(here {wasm['iterations']}, after 5 untimed), `CORPUS=`; `bench-invocations DIR N KIND` measures one kind "
      "(for a profiler). Run time this time: ~" + env("INV_RUNTIME", "?") + " s.")
    w("")
    w("Method. `bench/invocations.rs` replays, for each kind of invocation, the sequence its edge handler runs "
      "(`src/edge/http/pages.rs`, `objects/room/mod.rs` + `objects/sockets.rs`, `jobs/cron.rs` + "
      "`jobs/membership_sync.rs` + `jobs/lifecycle.rs`), calling the same `orrery::core` functions in the same "
      "order, with every call into JS stubbed and counted instead (D1 statements, `send`, attachments, headers, "
      "storage, FeedObject calls). What a handler reads from D1 is handed over as its rows' JSON and deserialized "
      "into the handler's own row types inside the timing (`serde_json`; in the Worker serde-wasm-bindgen reads "
      "them from JS objects, and JS encodes each string into wasm memory); the \"D1 rows\" column is that part. "
      "A socket's attachment is deserialized the same way, inside the timing, for each of the 1,000 sockets. "
      "The JS-call counts for serde-wasm-bindgen are a model of its crossings (a field: `get` + `undefined` "
      "check; a number: 3; a string: 2; an array: `isArray`, `length`, a `get` per element), not a measurement.")
    w("")
    w("| invocation | what it does | JS calls | wasm p50 | wasm p99 | wasm max | of which D1 rows (p50) | "
      "wasm wall p99 | native p50 | native p99 | p99 ≤ 10 ms |")
    w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |")
    over = []
    parts = []
    for k in wasm["kinds"]:
        n = nat.get(k["name"], {})
        if k["name"].startswith("part."):
            parts.append((k, n))
            continue
        ok = k["p99_ms"] <= LIMIT_MS
        if not ok:
            over.append(k)
        w(f"| {k['name']} | {k['what']} | {k['js_calls']:,} | **{ms(k['p50_ms'])}** | **{ms(k['p99_ms'])}** | "
          f"{ms(k['max_ms'])} | {ms(k['rows_p50_ms'])} | {ms(k['wall_p99_ms'])} | "
          f"{ms(n.get('p50_ms', 0))} | {ms(n.get('p99_ms', 0))} | {'yes' if ok else '**no**'} |")
    w("")
    w("Times are ms of this thread's CPU time around one invocation's Rust side (`CLOCK_THREAD_CPUTIME_ID`; in "
      "wasm WASI's `thread_cputime`, which Node reads from the same clock on the thread running the module), so "
      "time the scheduler gives other work on this shared machine is left out; \"wasm wall p99\" is the same runs' "
      "wall time, for comparison. Each is a lower bound for the invocation's CPU on workerd: there every JS call "
      "counted here costs CPU too (each `send` is a call into the runtime, though the frame crosses from wasm once "
      "per broadcast), and so does the runtime's side of D1 and storage.")
    if parts:
        w("")
        w("Where the time goes in the heaviest kinds (each part measured alone, same method):")
        w("")
        w("| part | what | wasm p50 | wasm p99 | native p50 |")
        w("| --- | --- | ---: | ---: | ---: |")
        for k, n in parts:
            w(f"| {k['name'][5:]} | {k['what']} | {ms(k['p50_ms'])} | {ms(k['p99_ms'])} | {ms(n.get('p50_ms', 0))} |")
    w("")
    w(CHANGED)
    w("")
    gone = [k for k in over if k["name"] in SUPERSEDED]
    if gone:
        w("Over 10 ms, as these ran before issue 20 bounded them (kept for the comparison; no invocation "
          "does this work any more):")
        w("")
        for k in gone:
            w(f"- `{k['name']}` ({ms(k['p99_ms'])} ms at p99): {SUPERSEDED[k['name']]}")
        w("")
    over = [k for k in over if k["name"] not in SUPERSEDED]
    if over:
        w("Over 10 ms at p99 in wasm: " + ", ".join(f"`{k['name']}` ({ms(k['p99_ms'])} ms)" for k in over) + ".")
        w("")
        # Entries each kind handles, for what fits in 10 ms at its p99 per entry.
        per = {"room_broadcast_50": 50, "room_broadcast_200": 200, "resume_500": 500}
        for k in over:
            if k["name"] in NOTES:
                fits = ""
                if k["name"] in per:
                    each = k["p99_ms"] / per[k["name"]]
                    fits = (f" At its p99, {each:.3f} ms an entry: about {int(LIMIT_MS / each)} entries fit in "
                            f"{LIMIT_MS:.0f} ms.")
                w(f"- `{k['name']}`: {NOTES[k['name']]}{fits}")
    else:
        w("Every invocation kind's p99 is within 10 ms in wasm.")
    if len(sys.argv) > 3 and os.path.exists(sys.argv[3]):
        wall = json.load(open(sys.argv[3]))
        if wall:
            w("")
            w(f"### A ceiling: wall time on `wrangler dev`")
            w("")
            w(f"`bench/wall/run.mjs`: `wrangler dev` (workerd, local D1 and Durable Objects) with {wall['feeds']} "
              f"corpus feeds added through the fixture feed server ({wall['entries']} entries), edge cache off "
              f"(`PAGE_CACHE_SECONDS=0`), {wall['requests']} sequential requests per page after 5 untimed. Wall "
              "time from Node's `fetch` to the last byte: it includes D1, the runtime and the loopback, so it is a "
              "ceiling for the CPU, not a measure of it (workerd's clock stands still while code runs).")
            w("")
            w("| page | bytes | p50 ms | p99 ms | max ms |")
            w("| --- | ---: | ---: | ---: | ---: |")
            for p in wall["pages"]:
                w(f"| `{p['page']}` | {p['bytes']:,} | {ms(p['p50_ms'])} | {ms(p['p99_ms'])} | {ms(p['max_ms'])} |")
    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--splice":
        splice(sys.argv[2], sys.argv[3])
    else:
        main()
