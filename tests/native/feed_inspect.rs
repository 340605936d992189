//! The feed-inspect tool: one JSON line per file, never a panic.

use std::process::Command;

fn run(args: &[&str]) -> (bool, Vec<serde_json::Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_feed-inspect"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run feed-inspect: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (out.status.success(), lines)
}

#[test]
fn inspects_a_fixture_and_survives_garbage() {
    let fixture = format!(
        "{}/tests/fixtures/feeds/rss2_hostile.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    let garbage = std::env::temp_dir().join(format!("orrery-garbage-{}.bin", std::process::id()));
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&garbage, bytes).unwrap_or_else(|e| panic!("{e}"));
    let g = garbage.to_string_lossy().into_owned();
    let (ok, lines) = run(&[
        "--base",
        "https://hostile.example/feed.xml",
        &fixture,
        &g,
        "/nonexistent/feed.xml",
    ]);
    let _ = std::fs::remove_file(&garbage);
    assert!(ok);
    assert_eq!(lines.len(), 3);

    let feed = &lines[0];
    assert_eq!(feed["ok"], true);
    assert_eq!(feed["format"], "rss");
    assert_eq!(feed["title"], "Hostile Planet");
    assert_eq!(feed["site_url"], "https://hostile.example/");
    let first = &feed["entries"][0];
    assert_eq!(first["id"], "post-1");
    assert_eq!(first["title"], "Hi");
    assert_eq!(first["author"], "Ann");
    assert_eq!(first["published"], 1_717_408_800_000i64);
    let html = first["content_html"].as_str().unwrap_or_default();
    assert!(
        html.contains("https://hostile.example/img/a.png") && !html.contains("<script"),
        "{html}"
    );
    assert!(first["summary"].is_string() && first["url"].is_string());
    assert_eq!(feed["entries"][1]["url"], "https://hostile.example/posts/2");

    assert_eq!(lines[1]["ok"], false);
    assert!(lines[1]["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(lines[2]["ok"], false);
    assert!(lines[2]["error"]
        .as_str()
        .unwrap_or_default()
        .starts_with("cannot read"));
}
