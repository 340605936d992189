//! Feeds out (Atom, RSS 2.0, RSS 1.0, OPML, a FOAF roll) and OPML in. Every string is escaped by maud and stripped of characters XML forbids; HTML-carrying fields get HTML (sanitized, or plain text HTML-escaped first), escaped once more as XML text.

pub mod topics;

use std::borrow::Cow;
use std::collections::HashMap;

use maud::{html, Markup, PreEscaped};

use crate::core::config::Config;
use crate::core::feed::xml_chars;
use crate::core::fetch::public_url;
use crate::core::time::{iso_time, rfc822_time};
use crate::core::view_models::{EntryView, FeedView};
use topics::{hub_url, Topic};

const XML_DECL: PreEscaped<&str> = PreEscaped("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");

/// A string as XML text may hold it: ingest strips forbidden characters already, this
/// keeps a document valid whatever an older row or a config value holds.
fn x(s: &str) -> Cow<'_, str> {
    xml_chars(s)
}

/// Plain text for a field whose content is HTML (an RSS `<description>`): HTML-escaped,
/// so `<script>` read as text stays text; maud then escapes it once more as XML.
fn text_as_html(text: &str) -> String {
    html! { (x(text)) }.into_string()
}

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

/// Where Venus-era readers look for a member's name and face (`planet:name`, `planet:face`).
const PLANET_NS: &str = "http://planet.intertwingly.net/";

/// The planet as Atom 1.0, without the members' site and feed links (see [`atom_with_sources`]).
pub fn atom(cfg: &Config, entries: &[EntryView]) -> Markup {
    atom_with_sources(cfg, entries, &[])
}

/// The planet as Atom 1.0. Each entry names its author (the entry's own, else the
/// member) and carries its member in `<source>`: name, face (`<icon>`, and Venus's
/// `planet:face`) and, from `feeds`, the member's site and feed.
pub fn atom_with_sources(cfg: &Config, entries: &[EntryView], feeds: &[FeedView]) -> Markup {
    let head = AtomHead {
        title: &cfg.planet_name,
        subtitle: Some(&cfg.planet_description),
        id: format!("{}/", cfg.planet_url),
        alternate: format!("{}/", cfg.planet_url),
        topic: Topic::PlanetAtom,
    };
    atom_document(cfg, &head, entries, feeds)
}

/// One feed's entries as Atom 1.0 (`/feeds/{id}/feed.atom`, a WebSub topic of its own):
/// the planet's Atom, narrowed to one member, titled with the member's name.
pub fn feed_atom(cfg: &Config, feed: &FeedView, entries: &[EntryView]) -> Markup {
    let title = feed.display_title();
    let head = AtomHead {
        title: &title,
        subtitle: feed.description.as_deref(),
        id: format!("{}/feeds/{}", cfg.planet_url, feed.id),
        alternate: format!("{}/feeds/{}", cfg.planet_url, feed.id),
        topic: Topic::FeedAtom(feed.id),
    };
    atom_document(cfg, &head, entries, std::slice::from_ref(feed))
}

/// What sets one Atom document apart from another: its title, id, page and topic (its
/// `rel="self"`, and with it the WebSub hub that pushes it).
struct AtomHead<'a> {
    title: &'a str,
    subtitle: Option<&'a str>,
    id: String,
    alternate: String,
    topic: Topic,
}

fn atom_document(
    cfg: &Config,
    head: &AtomHead<'_>,
    entries: &[EntryView],
    feeds: &[FeedView],
) -> Markup {
    let updated = entries.iter().map(|e| e.published).max().unwrap_or(0);
    let members: HashMap<i64, &FeedView> = feeds.iter().map(|f| (f.id, f)).collect();
    html! {
        (XML_DECL)
        feed xmlns="http://www.w3.org/2005/Atom" xmlns:planet=(PLANET_NS) {
            title { (x(head.title)) }
            @if let Some(sub) = head.subtitle { subtitle { (x(sub)) } }
            id { (x(&head.id)) }
            link rel="alternate" href=(x(&head.alternate)) {}
            link rel="self" href=(x(&head.topic.url(&cfg.planet_url))) {}
            link rel="hub" href=(x(&hub_url(cfg))) {}
            updated { (iso_time(updated)) }
            generator { "Orrery" }
            @for e in entries {
                @let member = members.get(&e.feed_id);
                entry {
                    // Atom text constructs without a type are plain text: escaped once.
                    title { (x(&e.title)) }
                    id { (x(&format!("{}/entries/{}", cfg.planet_url, e.id))) }
                    @if let Some(u) = &e.url { link rel="alternate" href=(x(u)) {} }
                    updated { (iso_time(e.published)) }
                    published { (iso_time(e.published)) }
                    author {
                        name { (x(e.author.as_deref().filter(|a| !a.trim().is_empty()).unwrap_or(&e.feed_title))) }
                        @if let Some(site) = member.and_then(|f| f.site_link()) { uri { (x(site)) } }
                    }
                    source {
                        id { (x(&format!("{}/feeds/{}", cfg.planet_url, e.feed_id))) }
                        title { (x(&e.feed_title)) }
                        @if let Some(site) = member.and_then(|f| f.site_link()) { link rel="alternate" href=(x(site)) {} }
                        @if let Some(f) = member { link rel="self" href=(x(&public_url(&f.url))) {} }
                        @if let Some(face) = &e.feed_face { icon { (x(face)) } }
                        planet:name { (x(&e.feed_title)) }
                        @if let Some(face) = &e.feed_face { planet:face { (x(face)) } }
                    }
                    @if !e.summary.is_empty() { summary { (x(&e.summary)) } }
                    @if !e.content_html.is_empty() { content type="html" { (x(&e.content_html)) } }
                }
            }
        }
    }
}

/// The planet as RSS 2.0.
pub fn rss(cfg: &Config, entries: &[EntryView]) -> Markup {
    html! {
        (XML_DECL)
        rss version="2.0" {
            channel {
                title { (x(&cfg.planet_name)) }
                link { (x(&cfg.planet_url)) "/" }
                description { (text_as_html(&cfg.planet_description)) }
                // WebSub discovery for RSS: the topic and its hub as Atom links (the
                // namespace declared on each, so the `<rss>` element stays as readers know it).
                atom:link xmlns:atom=(ATOM_NS) rel="self" type="application/rss+xml" href=(x(&Topic::PlanetRss.url(&cfg.planet_url))) {}
                atom:link xmlns:atom=(ATOM_NS) rel="hub" href=(x(&hub_url(cfg))) {}
                generator { "Orrery" }
                @for e in entries {
                    item {
                        title { (x(&e.feed_title)) ": " (x(&e.title)) }
                        @if let Some(u) = &e.url { link { (x(u)) } }
                        guid isPermaLink="false" { (x(&format!("{}/entries/{}", cfg.planet_url, e.id))) }
                        pubDate { (rfc822_time(e.published)) }
                        @if let Some(a) = &e.author { author { (x(a)) } }
                        // An RSS description is HTML: sanitized content as is, a plain summary HTML-escaped first.
                        description {
                            @if e.content_html.is_empty() { (text_as_html(&e.summary)) }
                            @else { (x(&e.content_html)) }
                        }
                    }
                }
            }
        }
    }
}

/// The planet as RSS 1.0 (RDF Site Summary), as classic planets served it at `rss10.xml`:
/// every item's `rdf:about` is its id on this planet, listed in the channel's sequence.
pub fn rss10(cfg: &Config, entries: &[EntryView]) -> Markup {
    let about = |e: &EntryView| format!("{}/entries/{}", cfg.planet_url, e.id);
    let updated = entries.iter().map(|e| e.published).max().unwrap_or(0);
    html! {
        (XML_DECL)
        rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
            xmlns="http://purl.org/rss/1.0/"
            xmlns:dc="http://purl.org/dc/elements/1.1/"
            xmlns:content="http://purl.org/rss/1.0/modules/content/" {
            channel rdf:about=(x(&format!("{}/", cfg.planet_url))) {
                title { (x(&cfg.planet_name)) }
                link { (x(&cfg.planet_url)) "/" }
                description { (x(&cfg.planet_description)) }
                dc:date { (iso_time(updated)) }
                items { rdf:Seq { @for e in entries { rdf:li rdf:resource=(x(&about(e))) {} } } }
            }
            @for e in entries {
                item rdf:about=(x(&about(e))) {
                    title { (x(&e.feed_title)) ": " (x(&e.title)) }
                    link { (x(e.url.as_deref().unwrap_or(&about(e)))) }
                    dc:date { (iso_time(e.published)) }
                    dc:creator { (x(e.author.as_deref().filter(|a| !a.trim().is_empty()).unwrap_or(&e.feed_title))) }
                    @if !e.summary.is_empty() { description { (x(&e.summary)) } }
                    @if !e.content_html.is_empty() { content:encoded { (x(&e.content_html)) } }
                }
            }
        }
    }
}

/// The members as a FOAF roll (`foafroll.xml`, as Planet and Venus wrote it): the planet a
/// `foaf:Group`, each member a `foaf:Agent` with their name, face, blog and its feed.
pub fn foafroll(cfg: &Config, feeds: &[FeedView]) -> Markup {
    html! {
        (XML_DECL)
        rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
            xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"
            xmlns:foaf="http://xmlns.com/foaf/0.1/"
            xmlns:rss="http://purl.org/rss/1.0/"
            xmlns:dc="http://purl.org/dc/elements/1.1/" {
            foaf:Group {
                foaf:name { (x(&cfg.planet_name)) }
                foaf:homepage { (x(&cfg.planet_url)) "/" }
                rdfs:seeAlso rdf:resource=(x(&format!("{}/foafroll.xml", cfg.planet_url))) {}
                @for f in feeds {
                    @let name = f.display_title();
                    @let feed_url = public_url(&f.url);
                    foaf:member {
                        foaf:Agent {
                            foaf:name { (x(&name)) }
                            @if let Some(face) = &f.face_url { foaf:img rdf:resource=(x(face)) {} }
                            foaf:weblog {
                                foaf:Document rdf:about=(x(f.site_link().unwrap_or(&feed_url))) {
                                    dc:title { (x(&name)) }
                                    rdfs:seeAlso { rss:channel rdf:about=(x(&feed_url)) {} }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The subscription list as OPML 2.0.
pub fn opml(cfg: &Config, feeds: &[FeedView]) -> Markup {
    html! {
        (XML_DECL)
        opml version="2.0" {
            head { title { (x(&cfg.planet_name)) " subscriptions" } }
            body {
                // The list is public: credentials in a feed's query string are hidden.
                @for f in feeds {
                    @let title = f.display_title();
                    outline type="rss" text=(x(&title)) title=(x(&title)) xmlUrl=(x(&public_url(&f.url)))
                        htmlUrl=[f.site_link().map(x)] face=[f.face_url.as_deref().map(x)] {}
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpmlError {
    #[error("the OPML is not well-formed XML: {0}")]
    Xml(String),
    #[error("no feeds found: expected <outline xmlUrl=\"…\"> elements")]
    Empty,
}

/// One subscription of an OPML document, its attributes as written (unvalidated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outline {
    /// `xmlUrl`.
    pub url: String,
    /// `title`, else `text`: the member's name.
    pub title: Option<String>,
    /// The member's face: [`FACE_ATTRIBUTES`].
    pub face: Option<String>,
    /// `htmlUrl`: the member's site.
    pub home: Option<String>,
}

/// Attributes read as an outline's face, first found wins (any case): Orrery writes
/// `face`, as Planet Venus calls a member's picture; the others are what other planets
/// and readers write.
pub const FACE_ATTRIBUTES: [&str; 5] = ["face", "faceUrl", "avatar", "hackergotchi", "icon"];

/// Every outline with an `xmlUrl` in an OPML document, in order, the first of each URL.
pub fn parse_opml(text: &str) -> Result<Vec<Outline>, OpmlError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out: Vec<Outline> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.local_name().as_ref() == "outline" => {
                let mut attrs: Vec<(String, String)> = Vec::new();
                for attr in e.attributes().flatten() {
                    let name = attr.key.local_name().as_ref().to_string();
                    let v = quick_xml::escape::unescape(&attr.value)
                        .map_err(|err| OpmlError::Xml(err.to_string()))?
                        .trim()
                        .to_string();
                    attrs.push((name, v));
                }
                let get = |want: &str| {
                    attrs
                        .iter()
                        .find(|(n, v)| n.eq_ignore_ascii_case(want) && !v.is_empty())
                        .map(|(_, v)| v.clone())
                };
                let Some(url) = get("xmlUrl") else { continue };
                if out.iter().any(|o| o.url == url) {
                    continue;
                }
                out.push(Outline {
                    url,
                    title: get("title").or_else(|| get("text")),
                    face: FACE_ATTRIBUTES.iter().find_map(|a| get(a)),
                    home: get("htmlUrl"),
                });
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(OpmlError::Xml(e.to_string())),
        }
    }
    if out.is_empty() {
        Err(OpmlError::Empty)
    } else {
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> EntryView {
        EntryView {
            id: 5,
            feed_id: 1,
            feed_title: "A & B".into(),
            feed_face: None,
            title: "<script>x</script>".into(),
            url: Some("https://e.example/?a=1&b=2".into()),
            author: Some("Ann".into()),
            published: 1_700_000_000_000,
            summary: "sum".into(),
            content_html: "<p>hi</p>".into(),
            whole: true,
            rev: None,
        }
    }

    #[test]
    fn atom_and_rss_escape_everything() {
        let cfg = Config::default();
        for out in [
            atom_with_sources(&cfg, &[entry()], &[member()]).into_string(),
            rss(&cfg, &[entry()]).into_string(),
            rss10(&cfg, &[entry()]).into_string(),
        ] {
            assert!(out.starts_with("<?xml"));
            assert!(!out.contains("<script>"), "{out}");
            assert!(out.contains("&lt;script&gt;"));
            assert!(out.contains("a=1&amp;b=2"));
            assert!(
                out.contains("&lt;p&gt;hi&lt;/p&gt;"),
                "content is escaped HTML text"
            );
            assert!(
                feed_rs::parser::parse(out.as_bytes()).is_ok(),
                "our own output parses: {out}"
            );
        }
    }

    fn member() -> FeedView {
        FeedView {
            id: 1,
            url: "https://a.example/feed?token=s3cret&x=1".into(),
            title: "A's feed".into(),
            site_url: Some("https://a.example/".into()),
            description: None,
            format: None,
            status: crate::core::domain::FeedStatus::Active,
            consecutive_failures: 0,
            last_error: None,
            last_fetch_at: None,
            last_success_at: None,
            next_fetch_at: None,
            last_changed_at: None,
            entry_count: 1,
            display_name: Some("Ann <Example>".into()),
            face_url: Some("https://faces.example/ann.png?s=64&x=\"1\"".into()),
            home_url: Some("https://ann.example/".into()),
            push_until: None,
        }
    }

    /// Every element and attribute name of a document (prefix:local as written), checking
    /// it is well-formed XML on the way.
    fn names(doc: &str) -> Vec<String> {
        use quick_xml::events::Event;
        let mut r = quick_xml::Reader::from_str(doc);
        r.config_mut().check_end_names = true;
        let mut out = Vec::new();
        let mut text = String::new();
        let flush = |text: &mut String, out: &mut Vec<String>| {
            if !text.trim().is_empty() {
                out.push(format!("#{text}"));
            }
            text.clear();
        };
        loop {
            match r.read_event().expect("well-formed") {
                Event::Start(e) | Event::Empty(e) => {
                    flush(&mut text, &mut out);
                    out.push(e.name().as_ref().to_string());
                    for a in e.attributes() {
                        let a = a.expect("well-formed attribute");
                        let v = quick_xml::escape::unescape(&a.value).expect("escaped value");
                        out.push(format!("@{}={v}", a.key.as_ref()));
                    }
                }
                Event::Text(t) => text.push_str(&t),
                Event::GeneralRef(r) => text.push_str(match &*r {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected entity {other}"),
                }),
                Event::End(_) => flush(&mut text, &mut out),
                Event::Eof => break,
                _ => {}
            }
        }
        out
    }

    #[test]
    fn atom_carries_the_members_name_and_face() {
        let e = EntryView {
            author: None,
            feed_title: "Ann <Example>".into(),
            feed_face: Some("https://faces.example/ann.png?s=64&x=\"1\"".into()),
            ..entry()
        };
        let out = atom_with_sources(&Config::default(), &[e], &[member()]).into_string();
        let n = names(&out);
        let face = "#https://faces.example/ann.png?s=64&x=\"1\"";
        for want in [
            "@xmlns:planet=http://planet.intertwingly.net/",
            "#Ann <Example>",
            "icon",
            face,
            "planet:name",
            "planet:face",
            "@href=https://ann.example/",
            "@href=https://a.example/feed?token=hidden&x=1",
        ] {
            assert!(n.iter().any(|x| x == want), "{want} in {n:?}");
        }
        assert!(!out.contains("s3cret"), "credentials stay hidden");
        let parsed = feed_rs::parser::parse(out.as_bytes()).expect("parses");
        assert_eq!(
            parsed.entries[0].authors[0].name.as_deref(),
            Some("Ann <Example>")
        );
    }

    #[test]
    fn rss10_is_rdf_with_every_item_in_the_sequence() {
        let out = rss10(
            &Config::default(),
            &[entry(), EntryView { id: 6, ..entry() }],
        )
        .into_string();
        let n = names(&out);
        assert_eq!(n[0], "rdf:RDF");
        let seq: Vec<&String> = n
            .iter()
            .filter(|x| x.starts_with("@rdf:resource="))
            .collect();
        let items: Vec<&String> = n
            .iter()
            .filter(|x| x.starts_with("@rdf:about=") && x.contains("/entries/"))
            .collect();
        assert_eq!(seq.len(), 2);
        assert_eq!(
            seq.iter().map(|s| &s[14..]).collect::<Vec<_>>(),
            items.iter().map(|s| &s[11..]).collect::<Vec<_>>()
        );
        assert!(n.iter().any(|x| x == "content:encoded"));
        assert!(
            n.iter().any(|x| x == "#<p>hi</p>"),
            "content is escaped HTML text"
        );
        assert!(feed_rs::parser::parse(out.as_bytes()).is_ok(), "{out}");
    }

    #[test]
    fn foafroll_lists_members_with_names_faces_blogs_and_feeds() {
        let plain = FeedView {
            id: 2,
            display_name: None,
            face_url: None,
            home_url: None,
            site_url: None,
            title: "Plain & simple".into(),
            url: "https://p.example/rss".into(),
            ..member()
        };
        let out = foafroll(&Config::default(), &[member(), plain]).into_string();
        let n = names(&out);
        for want in [
            "foaf:Group",
            "#Ann <Example>",
            "@rdf:resource=https://faces.example/ann.png?s=64&x=\"1\"",
            "@rdf:about=https://ann.example/",
            "@rdf:about=https://a.example/feed?token=hidden&x=1",
            "#Plain & simple",
            "@rdf:about=https://p.example/rss",
        ] {
            assert!(n.iter().any(|x| x == want), "{want} in {n:?}");
        }
        assert_eq!(n.iter().filter(|x| *x == "foaf:Agent").count(), 2);
        assert_eq!(n.iter().filter(|x| *x == "foaf:img").count(), 1);
        assert!(!out.contains("s3cret"));
    }

    #[test]
    fn opml_round_trips() {
        let feeds = vec![FeedView {
            id: 1,
            url: "https://a.example/feed?x=1&y=2".into(),
            title: "A \"quoted\" <feed>".into(),
            site_url: None,
            description: None,
            format: None,
            status: crate::core::domain::FeedStatus::Active,
            consecutive_failures: 0,
            last_error: None,
            last_fetch_at: None,
            last_success_at: None,
            next_fetch_at: None,
            last_changed_at: None,
            entry_count: 0,
            display_name: None,
            face_url: None,
            home_url: None,
            push_until: None,
        }];
        let out = opml(&Config::default(), &feeds).into_string();
        let urls: Vec<String> = parse_opml(&out)
            .unwrap()
            .into_iter()
            .map(|o| o.url)
            .collect();
        assert_eq!(urls, vec!["https://a.example/feed?x=1&y=2".to_string()]);
        let named = FeedView {
            display_name: Some("Ann <Lee>".into()),
            face_url: Some("https://a.example/ann.png?s=1&t=2".into()),
            home_url: Some("https://ann.example/".into()),
            ..feeds[0].clone()
        };
        let out = opml(&Config::default(), &[named]).into_string();
        let back = parse_opml(&out).unwrap();
        assert_eq!(back[0].title.as_deref(), Some("Ann <Lee>"));
        assert_eq!(
            back[0].face.as_deref(),
            Some("https://a.example/ann.png?s=1&t=2")
        );
        assert_eq!(back[0].home.as_deref(), Some("https://ann.example/"));
    }

    #[test]
    fn opml_errors_are_clear() {
        assert_eq!(
            parse_opml("<opml><body></body></opml>"),
            Err(OpmlError::Empty)
        );
        assert!(matches!(
            parse_opml("<opml><body><outline xmlUrl='a'></body>"),
            Err(OpmlError::Xml(_))
        ));
        let nested = r#"<opml version="1.0"><body><outline text="group"><outline xmlUrl="https://x/1"/><outline xmlURL="https://x/2"/></outline></body></opml>"#;
        assert_eq!(parse_opml(nested).unwrap().len(), 2);
        let venus = r#"<opml><body><outline text="Jeff" title="Jeff W" xmlUrl="https://j/feed" hackergotchi="https://j/j.png" htmlUrl="https://j/"/><outline text="Kim" xmlUrl="https://k/feed" FACE="https://k/k.png"/></body></opml>"#;
        let o = parse_opml(venus).unwrap();
        assert_eq!(o[0].title.as_deref(), Some("Jeff W"));
        assert_eq!(o[0].face.as_deref(), Some("https://j/j.png"));
        assert_eq!(o[1].title.as_deref(), Some("Kim"));
        assert_eq!(o[1].face.as_deref(), Some("https://k/k.png"));
    }

    #[test]
    fn a_feeds_own_atom_is_that_member_titled_and_names_its_hub_and_self() {
        let cfg = Config {
            planet_url: "https://p.example".into(),
            ..Config::default()
        };
        let out = feed_atom(&cfg, &member(), &[entry()]).into_string();
        names(&out);
        assert!(out.contains("<title>Ann &lt;Example&gt;</title>"));
        assert!(out.contains("<id>https://p.example/feeds/1</id>"));
        assert!(out.contains(r#"<link rel="self" href="https://p.example/feeds/1/feed.atom">"#));
        assert!(out.contains(r#"<link rel="hub" href="https://p.example/websub">"#));
        assert!(out.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(
            !out.contains("s3cret"),
            "the feed's credential stays hidden"
        );
        assert!(feed_rs::parser::parse(out.as_bytes()).is_ok());
        // An external hub is advertised instead, by every topic.
        let ext = Config {
            websub_hub: Some("https://hub.example/".into()),
            ..cfg
        };
        for doc in [
            atom(&ext, &[entry()]).into_string(),
            rss(&ext, &[entry()]).into_string(),
            feed_atom(&ext, &member(), &[]).into_string(),
        ] {
            assert!(
                doc.contains(r#"rel="hub" href="https://hub.example/""#),
                "{doc}"
            );
            assert!(!doc.contains("/websub"));
        }
    }
}
