//! The same article from two members, natively: which entries are one article (`core::ingest::same`), on real feeds and pairs built from them.

use std::collections::HashMap;

use orrery::core::domain::Keep;
use orrery::core::feed::{self, RawEntry};
use orrery::core::fetch::FetchOutcome;
use orrery::core::ingest::same::{canonical_link, keys_for, text_key, SameKeys, MIN_TEXT_CHARS};
use orrery::core::ingest::schedule::ScheduleConfig;
use orrery::core::ingest::{plan, FeedState, Seen};

const NOW: i64 = 1_800_000_000_000;

fn corpus_dir() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real-feeds");
    dir.is_dir().then_some(dir)
}

/// A real feed of the corpus (a personal blog on bearblog, Atom, four posts).
fn real_blog() -> Option<String> {
    let path = corpus_dir()?.join("770d8b7c766a720d");
    String::from_utf8(std::fs::read(path).ok()?).ok()
}

/// The first `<entry>` of an Atom document, and its `<content>` (still XML-escaped HTML).
fn first_entry(atom: &str) -> (&str, &str) {
    let start = atom.find("<entry>").expect("an entry");
    let end = atom[start..].find("</entry>").expect("its end") + start + "</entry>".len();
    let entry = &atom[start..end];
    let c0 = entry.find("<content type=\"html\">").expect("html content") + 21;
    let c1 = entry[c0..].find("</content>").expect("content end") + c0;
    (entry, &entry[c0..c1])
}

/// The entry parsed out of a document (the first one).
fn parsed(doc: &str, url: &str) -> RawEntry {
    feed::parse(doc.as_bytes(), url)
        .expect("parses")
        .entries
        .into_iter()
        .next()
        .expect("an entry")
}

/// A project blog's RSS that cross-posts `content` (XML-escaped HTML) under its own link
/// and id, the markup re-wrapped the way another CMS would (whitespace between blocks).
fn project_blog(title: &str, link: &str, content: &str) -> String {
    let rewrapped = content.replace("&lt;/p&gt;", "&lt;/p&gt;\n\n  ");
    format!(
        "<rss version=\"2.0\"><channel><title>Project</title><link>https://project.example/</link>\
         <item><title>{title}</title><link>{link}</link><guid>project-42</guid>\
         <description>{rewrapped}</description></item></channel></rss>"
    )
}

#[test]
fn a_real_post_cross_posted_on_a_project_blog_is_the_same_article_by_its_text() {
    let Some(blog) = real_blog() else {
        return eprintln!("corpus absent: skipped");
    };
    let personal = parsed(&blog, "https://raahel.bearblog.dev/feed/");
    let (_, content) = first_entry(&blog);
    let copy = parsed(
        &project_blog(
            &personal.title,
            "https://project.example/blog/2026/jacho",
            content,
        ),
        "https://project.example/feed.xml",
    );
    let (a, b) = (SameKeys::of(&personal), SameKeys::of(&copy));
    assert_ne!(a.link, b.link, "two sites: two links");
    assert!(
        a.text.is_some(),
        "a real post is long enough to fingerprint"
    );
    assert_eq!(a.text, b.text, "the same text, whatever the markup");
    assert!(a.same_article(&b));
}

#[test]
fn a_real_post_syndicated_with_another_scheme_slash_and_tracking_is_the_same_article_by_its_link() {
    let Some(blog) = real_blog() else {
        return eprintln!("corpus absent: skipped");
    };
    let personal = parsed(&blog, "https://raahel.bearblog.dev/feed/");
    let link = personal.url.clone().expect("a link");
    assert!(link.starts_with("https://") && link.ends_with('/'));
    let tracked = format!(
        "{}?utm_source=planet&utm_medium=rss#comments",
        link.replacen("https://", "http://", 1)
            .trim_end_matches('/')
    );
    // A syndicating feed: only the title and a one-line teaser (no text fingerprint).
    let doc = format!(
        "<rss version=\"2.0\"><channel><title>Syndicated</title><item><title>{}</title>\
         <link>{}</link><description>Read it on the author's blog.</description></item>\
         </channel></rss>",
        personal.title,
        tracked.replace('&', "&amp;")
    );
    let copy = parsed(&doc, "https://syndicate.example/rss");
    let (a, b) = (SameKeys::of(&personal), SameKeys::of(&copy));
    assert_eq!(b.text, None, "a teaser is too short to fingerprint");
    assert_eq!(a.link, b.link);
    assert!(a.same_article(&b));
}

#[test]
fn the_other_posts_of_the_same_real_blog_are_not_that_article() {
    let Some(blog) = real_blog() else {
        return eprintln!("corpus absent: skipped");
    };
    let doc = feed::parse(blog.as_bytes(), "https://raahel.bearblog.dev/feed/").unwrap();
    assert_eq!(doc.entries.len(), 4);
    let keys: Vec<SameKeys> = doc.entries.iter().map(SameKeys::of).collect();
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            assert!(!a.same_article(b));
        }
    }
}

#[test]
fn short_and_empty_bodies_never_match() {
    let key = |s: &str| text_key(s, s);
    assert_eq!(key(""), None);
    assert_eq!(key("Read more…"), None);
    let just_short = "x".repeat(MIN_TEXT_CHARS - 1);
    assert_eq!(key(&just_short), None);
    assert!(key(&"x".repeat(MIN_TEXT_CHARS)).is_some());
    // Punctuation and whitespace do not count toward the minimum.
    assert_eq!(key(&"! ? . ".repeat(500)), None);
    let a = SameKeys::default();
    assert!(
        !a.same_article(&SameKeys::default()),
        "no keys: never the same"
    );
}

#[test]
fn links_that_name_no_article_are_no_key() {
    assert_eq!(canonical_link("https://blog.example/"), None);
    assert_eq!(canonical_link("https://blog.example"), None);
    assert_eq!(canonical_link("https://blog.example/?utm_source=rss"), None);
    assert_eq!(canonical_link("ftp://blog.example/post"), None);
    assert_eq!(canonical_link("not a url"), None);
    // A parameter that names the page stays (and order does not matter).
    assert_eq!(
        canonical_link("https://forum.example/viewtopic.php?t=9&p=1"),
        canonical_link("https://forum.example/viewtopic.php?p=1&t=9&utm_campaign=x")
    );
    assert_ne!(
        canonical_link("https://forum.example/viewtopic.php?t=9"),
        canonical_link("https://forum.example/viewtopic.php?t=10")
    );
    // Medium's `?source=rss…` is tracking; another `source` is not.
    assert_eq!(
        canonical_link("https://medium.com/@a/post-1?source=rss----abc---4"),
        canonical_link("https://medium.com/@a/post-1")
    );
    assert_ne!(
        canonical_link("https://docs.example/view?source=manual"),
        canonical_link("https://docs.example/view")
    );
}

#[test]
fn a_link_or_text_a_feed_repeats_identifies_none_of_its_entries() {
    let body = "This changelog entry describes everything that changed in this release. ".repeat(5);
    let doc = format!(
        "<rss version=\"2.0\"><channel><title>Changelog</title>\
         <item><guid>1</guid><title>v1</title><link>https://app.example/changelog</link><description>{body} one</description></item>\
         <item><guid>2</guid><title>v2</title><link>https://app.example/changelog</link><description>{body} two</description></item>\
         <item><guid>3</guid><title>v3</title><link>https://app.example/v3</link><description>{body}</description></item>\
         <item><guid>4</guid><title>v4</title><link>https://app.example/v4</link><description>{body}</description></item>\
         </channel></rss>"
    );
    let doc = feed::parse(doc.as_bytes(), "https://app.example/feed").unwrap();
    let all: Vec<&RawEntry> = doc.entries.iter().collect();
    let keys = keys_for(&doc.entries, &all);
    assert_eq!(keys[0].link, None, "one link for two entries: no key");
    assert_eq!(keys[1].link, None);
    assert!(keys[2].link.is_some() && keys[3].link.is_some());
    // Entries 1 and 2 differ in their last word (within the characters fingerprinted), 3 and
    // 4 not at all: 3 and 4 share a fingerprint, so neither keeps one.
    assert!(keys[0].text.is_some() && keys[1].text.is_some());
    assert_ne!(keys[0].text, keys[1].text);
    assert_eq!((&keys[2].text, &keys[3].text), (&None, &None), "{keys:?}");
}

#[test]
fn a_refresh_gives_its_new_entries_their_keys_and_its_updates_none() {
    let Some(blog) = real_blog() else {
        return eprintln!("corpus absent: skipped");
    };
    let url = "https://raahel.bearblog.dev/feed/";
    let st = FeedState::new(7, url);
    let fetched = |body: &str| FetchOutcome::Fetched {
        body: body.as_bytes().to_vec(),
        final_url: url.into(),
        etag: None,
        last_modified: None,
        cache_max_age_s: None,
    };
    let cfg = ScheduleConfig::default();
    let seen: HashMap<String, Seen> = HashMap::new();
    let p = plan(&st, fetched(&blog), None, &seen, NOW, &cfg, Keep::default());
    assert_eq!(p.entries.len(), 4);
    assert!(p.entries.iter().all(|w| !w.known && w.same.link.is_some()));
    let with_text = p.entries.iter().filter(|w| w.same.text.is_some()).count();
    assert!(
        with_text >= 3,
        "real posts are long enough: {with_text} of 4"
    );
    // The same post edited later: an update, which keeps the keys it was stored with.
    let first = &p.entries[3];
    let seen: HashMap<String, Seen> = p
        .entries
        .iter()
        .map(|w| {
            let s = Seen {
                fingerprint: w.fingerprint.clone(),
                stored: true,
                pending: false,
            };
            (w.entry.identity.clone(), s)
        })
        .collect();
    let edited = blog.replacen("Birthing Jacho", "Birthing Jacho (updated)", 1);
    let mut st2 = p.state.clone();
    st2.body_digest = Some("another".into());
    let p2 = plan(
        &st2,
        fetched(&edited),
        None,
        &seen,
        NOW + 1,
        &cfg,
        Keep::default(),
    );
    assert_eq!(p2.entries.len(), 1, "{:?}", p2.entries);
    assert!(p2.entries[0].known);
    assert_eq!(p2.entries[0].same, SameKeys::default());
    assert_eq!(p2.entries[0].entry.identity, first.entry.identity);
}

/// Across the whole real corpus (200 feeds, 6,600 entries): the entries of two different
/// feeds the rules call one article. Two of the corpus's feeds are sections of one
/// publication (TIME's Tech and World feeds) that both carry four articles: true
/// cross-posts, matched by link and by text. Every match must be one of those (the same
/// title in both feeds), never two different posts.
#[test]
fn across_the_real_corpus_only_articles_two_feeds_both_carry_match() {
    let Some(dir) = corpus_dir() else {
        return eprintln!("corpus absent: skipped");
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    type Seen = HashMap<String, (usize, String)>;
    let (mut by_link, mut by_text): (Seen, Seen) = Default::default();
    let (mut entries, mut with_text, mut with_link) = (0, 0, 0);
    let mut matches: Vec<(String, String, String, String)> = Vec::new();
    let name = |i: usize| files[i].file_name().unwrap().to_string_lossy().into_owned();
    for (feed_no, path) in files.iter().enumerate() {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let Ok(doc) = feed::parse(&bytes, "https://corpus.example/feed") else {
            continue;
        };
        let all: Vec<&RawEntry> = doc.entries.iter().collect();
        for (k, e) in keys_for(&doc.entries, &all).into_iter().zip(&all) {
            entries += 1;
            with_text += usize::from(k.text.is_some());
            with_link += usize::from(k.link.is_some());
            for (kind, key, seen) in [
                ("link", k.link, &mut by_link),
                ("text", k.text, &mut by_text),
            ] {
                let Some(key) = key else { continue };
                match seen.get(&key) {
                    Some((other, title)) if *other != feed_no => matches.push((
                        kind.into(),
                        format!("{} / {}", name(*other), name(feed_no)),
                        title.clone(),
                        e.title.clone(),
                    )),
                    _ => {
                        seen.insert(key, (feed_no, e.title.clone()));
                    }
                }
            }
        }
    }
    println!(
        "corpus: {entries} entries, {with_link} with a link key, {with_text} with a text \
         fingerprint, {} cross-feed matches: {matches:#?}",
        matches.len()
    );
    assert!(entries > 5_000, "the corpus was read: {entries}");
    assert!(
        with_text * 2 > entries,
        "most real posts are long enough: {with_text}"
    );
    for (kind, feeds, a, b) in &matches {
        assert_eq!(a, b, "a {kind} match between {feeds} is the same article");
    }
    let pairs: std::collections::HashSet<&str> = matches.iter().map(|m| m.1.as_str()).collect();
    assert!(
        pairs.len() <= 1,
        "one pair of feeds shares articles: {pairs:?}"
    );
    assert_eq!(matches.len(), 8, "four articles, each by link and by text");
}
