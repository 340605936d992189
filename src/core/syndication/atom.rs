//! The planet as Atom 1.0, and each feed's own Atom (a WebSub topic of its own).

use std::collections::HashMap;

use maud::{html, Markup};

use super::topics::{hub_url, Topic};
use super::{xml_safe, XML_DECL};
use crate::core::config::Config;
use crate::core::fetch::public_url;
use crate::core::time::iso_time;
use crate::core::view_models::{EntryView, FeedView};

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
        // The planet's language (`PLANET_LANG`) as the document's default; entries may differ.
        feed xmlns="http://www.w3.org/2005/Atom" xmlns:planet=(PLANET_NS) xml:lang=(cfg.lang.code()) {
            title { (xml_safe(head.title)) }
            @if let Some(sub) = head.subtitle { subtitle { (xml_safe(sub)) } }
            id { (xml_safe(&head.id)) }
            link rel="alternate" href=(xml_safe(&head.alternate)) {}
            link rel="self" href=(xml_safe(&head.topic.url(&cfg.planet_url))) {}
            link rel="hub" href=(xml_safe(&hub_url(cfg))) {}
            updated { (iso_time(updated)) }
            generator { "Orrery" }
            @for e in entries {
                @let member = members.get(&e.feed_id);
                entry {
                    // Atom text constructs without a type are plain text: escaped once.
                    title { (xml_safe(&e.title)) }
                    id { (xml_safe(&format!("{}/entries/{}", cfg.planet_url, e.id))) }
                    @if let Some(u) = &e.url { link rel="alternate" href=(xml_safe(u)) {} }
                    updated { (iso_time(e.published)) }
                    published { (iso_time(e.published)) }
                    author {
                        name { (xml_safe(e.author.as_deref().filter(|a| !a.trim().is_empty()).unwrap_or(&e.feed_title))) }
                        @if let Some(site) = member.and_then(|f| f.site_link()) { uri { (xml_safe(site)) } }
                    }
                    // The same article from other members (shown once): each named.
                    @for c in &e.also {
                        contributor {
                            name { (xml_safe(&c.feed_title)) }
                            uri { (xml_safe(&format!("{}/feeds/{}", cfg.planet_url, c.feed_id))) }
                        }
                    }
                    source {
                        id { (xml_safe(&format!("{}/feeds/{}", cfg.planet_url, e.feed_id))) }
                        title { (xml_safe(&e.feed_title)) }
                        @if let Some(site) = member.and_then(|f| f.site_link()) { link rel="alternate" href=(xml_safe(site)) {} }
                        @if let Some(f) = member { link rel="self" href=(xml_safe(&public_url(&f.url))) {} }
                        @if let Some(face) = &e.feed_face { icon { (xml_safe(face)) } }
                        planet:name { (xml_safe(&e.feed_title)) }
                        @if let Some(face) = &e.feed_face { planet:face { (xml_safe(face)) } }
                    }
                    @if !e.summary.is_empty() { summary { (xml_safe(&e.summary)) } }
                    @if !e.content_html.is_empty() { content type="html" { (xml_safe(&e.content_html)) } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::syndication::rss;
    use crate::core::syndication::tests::{entry, member, names};

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
