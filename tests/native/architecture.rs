//! Architecture invariants as plain tests: `core` stays pure, no wasm32 code reads a clock that panics there, and each object alone writes its storage.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("readable source dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Code lines without `//` comments, so a doc sentence naming a rule does not trip it.
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = fs::read_to_string(path).expect("utf-8 source");
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split("//").next().unwrap_or("").to_string()))
        .collect()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `file:line: code` for every code line under `dir` (minus `skip`) that `bad` flags.
fn offending(dir: &str, skip: Option<&str>, bad: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for f in rust_files(&root().join(dir)) {
        if skip.is_some_and(|s| f.starts_with(root().join(s))) {
            continue;
        }
        for (n, line) in code_lines(&f) {
            if bad(line.trim()) {
                out.push(format!("{}:{n}: {}", f.display(), line.trim()));
            }
        }
    }
    out
}

#[test]
fn core_never_imports_worker() {
    let files = rust_files(&root().join("src/core"));
    assert!(files.len() > 5, "found the core sources");
    let bad = offending("src/core", None, |l| {
        l.contains("worker::")
            || l.starts_with("use worker")
            || l.contains("extern crate worker")
            || l.contains("wasm_bindgen")
            || l.contains("js_sys")
    });
    assert!(bad.is_empty(), "core must stay pure:\n{}", bad.join("\n"));
}

#[test]
fn core_reads_no_clock_or_environment() {
    let bad = offending("src/core", None, |l| {
        ["SystemTime", "Instant::", "std::env::", "env::var("]
            .iter()
            .any(|p| l.contains(p))
    });
    assert!(
        bad.is_empty(),
        "core takes `now` and config as arguments:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_wall_clock_in_code_built_for_wasm32() {
    // Everything under src/ except the native tools in src/bin is built for wasm32,
    // where SystemTime::now() and Instant::now() panic.
    let bad = offending("src", Some("src/bin"), |l| {
        l.contains("SystemTime::now") || l.contains("Instant::now")
    });
    assert!(
        bad.is_empty(),
        "use worker::Date::now() at the edge:\n{}",
        bad.join("\n")
    );
}

#[test]
fn pre_escaped_only_in_the_sanitized_html_type() {
    let mut uses = Vec::new();
    for f in rust_files(&root().join("src")) {
        for (n, line) in code_lines(&f) {
            // A string literal (an XML declaration) is not data; anything else must be sanitized HTML.
            if line.contains("PreEscaped(") && !line.contains("PreEscaped(\"") {
                uses.push(format!(
                    "{}:{n}",
                    f.strip_prefix(root()).unwrap_or(&f).display()
                ));
            }
        }
    }
    assert_eq!(
        uses.len(),
        1,
        "one PreEscaped, in SanitizedHtml's Render impl: {uses:?}"
    );
    assert!(uses[0].starts_with("src/core/views/mod.rs"), "{uses:?}");
}

#[test]
fn durable_objects_implement_every_handler_they_export() {
    // Unimplemented handlers panic at runtime; both objects hold sockets and alarms.
    for f in [
        "src/edge/objects/room/mod.rs",
        "src/edge/objects/feed/mod.rs",
    ] {
        let text = fs::read_to_string(root().join(f)).expect("source");
        for h in [
            "async fn fetch",
            "async fn alarm",
            "async fn websocket_message",
            "async fn websocket_close",
            "async fn websocket_error",
        ] {
            assert!(text.contains(h), "{f} must implement {h}");
        }
        assert!(
            text.contains("accept_web_socket") || text.contains("sockets::accept"),
            "{f} uses the hibernation API"
        );
    }
}

#[test]
fn every_d1_statement_lives_in_the_store() {
    let bad = offending("src", Some("src/edge/d1"), |l| {
        ["query!", ".prepare(", ".batch("]
            .iter()
            .any(|p| l.contains(p))
    });
    assert!(
        bad.is_empty(),
        "D1 statements belong in src/edge/d1:\n{}",
        bad.join("\n")
    );
}

#[test]
fn there_is_one_jwt_verifier() {
    // Signatures are checked in one place (Access assertions and ID tokens alike): no second,
    // laxer verifier can grow beside it.
    let bad = offending("src", Some("src/edge/auth/jwks.rs"), |l| {
        l.contains("verify_with_object") || l.contains("import_key_with")
    });
    assert!(
        bad.is_empty(),
        "signatures are checked only in src/edge/auth/jwks.rs:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_feed_objects_own_sql_lives_in_one_module() {
    let bad = offending("src", Some("src/edge/objects/feed/storage.rs"), |l| {
        l.contains(".sql()") || l.contains("exec(")
    });
    assert!(
        bad.is_empty(),
        "the FeedObject's SQLite statements belong in src/edge/objects/feed/storage.rs:\n{}",
        bad.join("\n")
    );
}

/// A Durable Object's storage writes: key-value puts and deletes, and its alarm.
const STORAGE_WRITES: [&str; 7] = [
    ".put(",
    ".put_multiple",
    ".delete(",
    ".delete_multiple(",
    ".delete_all(",
    ".set_alarm(",
    ".delete_alarm(",
];

/// `path:line: code` for every storage write under `src/edge/objects/` outside an object's
/// own storage module (`src/edge/objects/<object>/storage.rs`), given `(path, text)` pairs.
/// A Publisher run collects its writes in a `Changes` buffer that only its storage module
/// applies, so `changes.put(` and `changes.delete(` are not writes.
fn storage_writes_outside_their_module(files: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files {
        let inside: Vec<&str> = path
            .strip_prefix("src/edge/objects/")
            .map(|rest| rest.split('/').collect())
            .unwrap_or_default();
        if inside.is_empty() || matches!(inside[..], [_object, "storage.rs"]) {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let code = code
                .replace("changes.put(", "")
                .replace("changes.delete(", "");
            if STORAGE_WRITES.iter().any(|w| code.contains(w)) {
                out.push(format!("{path}:{}: {}", n + 1, code.trim()));
            }
        }
    }
    out
}

#[test]
fn each_object_alone_writes_its_storage_and_alarm() {
    let files: Vec<(String, String)> = rust_files(&root().join("src"))
        .into_iter()
        .map(|f| {
            let path = f.strip_prefix(root()).unwrap_or(&f).display().to_string();
            (path, fs::read_to_string(&f).expect("utf-8 source"))
        })
        .collect();
    for object in ["feed", "room", "publisher"] {
        let own = format!("src/edge/objects/{object}/storage.rs");
        assert!(
            files.iter().any(|(p, t)| *p == own && t.contains(".put(")),
            "{own} holds the {object}'s writes"
        );
    }
    let bad = storage_writes_outside_their_module(&files);
    assert!(
        bad.is_empty(),
        "an object's storage keys and alarm are written only in its own \
         src/edge/objects/<object>/storage.rs:\n{}",
        bad.join("\n")
    );
    // The rule still bites on planted violations: a write in an object's shell, a chained
    // alarm on its own line, a Room writing from the Publisher's folder.
    let plant = |path: &str, code: &str| vec![(path.to_string(), code.to_string())];
    let room_shell = "src/edge/objects/room/mod.rs";
    let chained = "        storage\n            .set_alarm(RETRY_MS)\n            .await?;";
    for (path, code) in [
        (
            room_shell,
            "        self.state.storage().put(CURSOR_KEY, 1).await?;",
        ),
        (room_shell, chained),
        (
            "src/edge/objects/publisher/delivery.rs",
            "    state.storage().delete_all().await?;",
        ),
        (
            "src/edge/objects/sockets.rs",
            "    storage.delete(\"k\").await?;",
        ),
    ] {
        assert_eq!(
            storage_writes_outside_their_module(&plant(path, code)).len(),
            1,
            "caught in {path}: {code}"
        );
    }
    // …and lets the owners, the Changes buffer and comments be.
    for (path, code) in [
        (
            "src/edge/objects/room/storage.rs",
            "    state.storage().put(CURSOR_KEY, id).await",
        ),
        (
            "src/edge/objects/publisher/delivery.rs",
            "                changes.put(key.clone(), sub);",
        ),
        (room_shell, "    // storage.put( is the storage module's"),
    ] {
        assert!(storage_writes_outside_their_module(&plant(path, code)).is_empty());
    }
}

#[test]
fn no_function_needs_a_too_many_arguments_allow() {
    let bad = offending("src", None, |l| l.contains("too_many_arguments"));
    assert!(
        bad.is_empty(),
        "group the arguments into a struct:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_edge_never_compares_status_or_outcome_strings() {
    // Statuses and outcomes are `core::ingest` enums; their names appear only in serde.
    let names = [
        "\"active\"",
        "\"failing\"",
        "\"paused\"",
        "\"gone\"",
        "\"not_modified\"",
        "\"retry_later\"",
        "\"skipped\"",
        "\"failed\"",
    ];
    let bad = offending("src/edge", None, |l| names.iter().any(|n| l.contains(n)));
    assert!(
        bad.is_empty(),
        "decide in core, with an enum:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_feed_object_is_a_short_shell() {
    let text = fs::read_to_string(root().join("src/edge/objects/feed/mod.rs")).expect("source");
    let lines = text.lines().count();
    // Its calls (objects/feed/calls.rs), plan writer (apply.rs), storage and WebSub I/O
    // live beside it: code moves out, the cap does not move.
    assert!(
        lines <= 250,
        "src/edge/objects/feed/mod.rs has {lines} lines: move decisions into core::ingest, work beside it"
    );
}

/// `wrangler.jsonc` as JSON: comments (outside strings) and trailing commas removed.
fn jsonc(text: &str) -> serde_json::Value {
    let (mut out, mut chars) = (String::new(), text.chars().peekable());
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => while chars.next_if(|n| *n != '\n').is_some() {},
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            _ => out.push(c),
        }
    }
    serde_json::from_str(&without_trailing_commas(&out))
        .expect("wrangler.jsonc is JSON with comments")
}

fn without_trailing_commas(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in json.char_indices() {
        if in_string {
            in_string = c != '"' || escaped;
            escaped = c == '\\' && !escaped;
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = json[i + 1..].trim_start().chars().next();
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Every `vars` object (top level and per environment) that names ADMIN_TOKEN.
/// What must be a secret, never a var: the admin token and the sign-in clients' secrets.
const SECRETS: [&str; 3] = ["ADMIN_TOKEN", "GITHUB_CLIENT_SECRET", "OIDC_CLIENT_SECRET"];

fn vars_with_admin_token(config: &serde_json::Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![("".to_string(), config)];
    while let Some((at, v)) = stack.pop() {
        if let Some(obj) = v.as_object() {
            for (k, child) in obj {
                let here = format!("{at}.{k}");
                if k == "vars"
                    && child.as_object().is_some_and(|vars| {
                        vars.keys()
                            .any(|n| SECRETS.iter().any(|s| n.eq_ignore_ascii_case(s)))
                    })
                {
                    found.push(here.clone());
                }
                stack.push((here, child));
            }
        }
    }
    found
}

#[test]
fn wrangler_vars_never_carry_the_admin_token() {
    // The Worker cannot tell a secret from a plain var at run time: a token in `vars` would
    // be deployed in the clear and shown in the dashboard. It is a secret or nothing.
    let config = jsonc(&fs::read_to_string(root().join("wrangler.jsonc")).expect("config"));
    assert!(config["vars"].is_object(), "found the vars");
    let bad = vars_with_admin_token(&config);
    assert!(
        bad.is_empty(),
        "ADMIN_TOKEN in wrangler.jsonc {bad:?}: use `wrangler secret put ADMIN_TOKEN`"
    );
    // The guard still bites on a planted violation, comments and all.
    let planted = jsonc(
        "{ // c\n \"vars\": { \"A\": \"x // not a comment\" },\n \"env\": { \"production\": { \"vars\": { \"ADMIN_TOKEN\": \"t\", }, }, }, }",
    );
    assert_eq!(
        vars_with_admin_token(&planted),
        vec![".env.production.vars"]
    );
    assert_eq!(planted["vars"]["A"], "x // not a comment");
    let client = jsonc("{ \"vars\": { \"OIDC_CLIENT_SECRET\": \"s\" } }");
    assert_eq!(
        vars_with_admin_token(&client),
        vec![".vars"],
        "the clients' secrets too"
    );
}

#[test]
fn the_login_limit_binding_is_what_core_counts_on() {
    use orrery::core::auth::session::{LOGIN_FAILURES_PER_MINUTE, LOGIN_FAILURE_UNITS};
    let config = jsonc(&fs::read_to_string(root().join("wrangler.jsonc")).expect("config"));
    let limits = config["ratelimits"].as_array().expect("ratelimits");
    let by_name = |name: &str| {
        limits
            .iter()
            .find(|l| l["name"] == name)
            .unwrap_or_else(|| panic!("{name} is bound"))
    };
    let login = by_name("LOGIN_LIMIT");
    assert_eq!(
        login["simple"]["limit"],
        LOGIN_FAILURES_PER_MINUTE * LOGIN_FAILURE_UNITS,
        "ten wrong guesses a minute, at ten units each"
    );
    assert_eq!(login["simple"]["period"], 60);
    assert_ne!(
        login["namespace_id"],
        by_name("PUBLIC_LIMIT")["namespace_id"],
        "its own counters"
    );
}

/// The layers, lowest first: a module may use what stands at or before its own unit, never
/// what stands after it. One strict order forbids every circle between units as well.
const LAYERS: &[&str] = &[
    // core: pure, bottom up.
    "core::codec",
    "core::time",
    "core::i18n",
    "core::domain",
    "core::config",
    "core::river",
    "core::fetch",
    "core::view_models",
    "core::feed",
    "core::search",
    "core::syndication",
    "core::websub",
    "core::ingest",
    "core::auth",
    "core::audit",
    "core::membership",
    "core::protocol",
    "core::views",
    "core::routes",
    // edge: the Worker boundary, bottom up.
    "edge::zone",
    "edge::env",
    "edge::meter",
    "edge::error",
    "edge::outbound",
    "edge::fetcher",
    "edge::d1",
    "edge::objects::wire",
    "edge::objects::rpc",
    "edge::auth",
    "edge::objects::sockets",
    "edge::objects::feed",
    "edge::objects::room",
    "edge::objects::publisher",
    "edge::objects",
    "edge::jobs",
    "edge::http",
    "edge",
    // lib.rs: the entry points.
    "",
];

/// The module path of a source file under `src/` ("core::feed::parse::xml"; "" for lib.rs).
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_string());
        }
    }
    parts.join("::")
}

/// The layer a module path belongs to: the longest entry of `LAYERS` it starts with.
fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_empty() || module == **l || module.starts_with(&format!("{l}::")))
        .max_by_key(|(_, l)| l.len())
        .map(|(i, _)| i)
}

/// Every `crate::…` path a line names, with `use crate::a::{b, c::d}` groups expanded.
fn crate_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let tail = &rest[at + "crate::".len()..];
        let head: String = tail
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let head = head.trim_end_matches(':').to_string();
        let after = &tail[head.len()..];
        if after.trim_start_matches(':').starts_with('{') && tail[head.len()..].starts_with("::{") {
            let group = &after[after.find('{').unwrap_or(0) + 1..];
            let inner = group.split('}').next().unwrap_or("");
            for item in inner.split(',') {
                let item: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                if !item.is_empty() && item != "self" {
                    out.push(format!("{head}::{item}"));
                } else if item == "self" {
                    out.push(head.clone());
                }
            }
        } else {
            out.push(head);
        }
        rest = tail;
    }
    out
}

/// `file:line: what` for every reference from a lower layer to a higher one.
fn upward_imports(files: &[(String, String)]) -> Vec<String> {
    let mut bad = Vec::new();
    for (rel, text) in files {
        let from = module_of(Path::new(rel));
        let Some(from_layer) = layer_of(&from) else {
            bad.push(format!("{rel}: module {from} has no layer"));
            continue;
        };
        let mut in_test = false;
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            // A unit test module may reach anything its parent may.
            in_test |= code.contains("#[cfg(test)]");
            for path in crate_paths(code) {
                let Some(to_layer) = layer_of(&path) else {
                    continue;
                };
                if to_layer > from_layer && !in_test {
                    bad.push(format!(
                        "{rel}:{}: {from} ({}) uses crate::{path} ({})",
                        n + 1,
                        LAYERS[from_layer],
                        LAYERS[to_layer]
                    ));
                }
            }
        }
    }
    bad
}

#[test]
fn imports_point_down_the_layers_and_never_close_a_circle() {
    let src = root().join("src");
    let files: Vec<(String, String)> = rust_files(&src)
        .into_iter()
        .filter(|f| !f.starts_with(src.join("bin")))
        .map(|f| {
            let rel = f.strip_prefix(&src).unwrap_or(&f).display().to_string();
            (rel, fs::read_to_string(&f).expect("source"))
        })
        .collect();
    assert!(files.len() > 40, "found the sources");
    let bad = upward_imports(&files);
    assert!(
        bad.is_empty(),
        "imports must point down LAYERS in tests/native/architecture.rs:\n{}",
        bad.join("\n")
    );
    // The check bites: a feed parser reaching up into the views, and a circle between two
    // edge modules (one of its two edges must point up), are both caught.
    let planted = [
        (
            "core/feed/parse/xml.rs".to_string(),
            "use crate::core::views::SanitizedHtml;".to_string(),
        ),
        (
            "edge/objects/rpc.rs".to_string(),
            "use crate::edge::{env, objects::sockets::accept};".to_string(),
        ),
        (
            "edge/objects/sockets.rs".to_string(),
            "use crate::edge::objects::rpc::reply;".to_string(),
        ),
    ];
    let caught = upward_imports(&planted);
    assert_eq!(caught.len(), 2, "{caught:?}");
    assert!(caught[0].contains("core::views"), "{caught:?}");
    assert!(caught[1].contains("objects::sockets"), "{caught:?}");
}

#[test]
fn no_hand_written_source_file_passes_about_600_lines() {
    // A file that grows past this does two jobs: split it by job (a file's unit tests may
    // move to a child `tests.rs`). Generated tables are not read by people.
    const MAX_LINES: usize = 610;
    let generated = root().join("src/core/search/unicode61/tables.rs");
    let long: Vec<String> = rust_files(&root().join("src"))
        .into_iter()
        .filter(|f| *f != generated)
        .filter_map(|f| {
            let n = fs::read_to_string(&f).expect("source").lines().count();
            (n > MAX_LINES).then(|| format!("{} has {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split by job:\n{}", long.join("\n"));
}
