//! The planet as RSS 2.0, with WebSub discovery as Atom links.

use maud::{html, Markup};

use super::topics::{hub_url, Topic};
use super::{xml_safe, XML_DECL};
use crate::core::config::Config;
use crate::core::time::rfc822_time;
use crate::core::view_models::EntryView;

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

/// Plain text for a field whose content is HTML (an RSS `<description>`): HTML-escaped,
/// so `<script>` read as text stays text; maud then escapes it once more as XML.
fn text_as_html(text: &str) -> String {
    html! { (xml_safe(text)) }.into_string()
}

/// The planet as RSS 2.0.
pub fn rss(cfg: &Config, entries: &[EntryView]) -> Markup {
    html! {
        (XML_DECL)
        rss version="2.0" {
            channel {
                title { (xml_safe(&cfg.planet_name)) }
                link { (xml_safe(&cfg.planet_url)) "/" }
                description { (text_as_html(&cfg.planet_description)) }
                language { (cfg.lang.code()) }
                // WebSub discovery for RSS: the topic and its hub as Atom links (the
                // namespace declared on each, so the `<rss>` element stays as readers know it).
                atom:link xmlns:atom=(ATOM_NS) rel="self" type="application/rss+xml" href=(xml_safe(&Topic::PlanetRss.url(&cfg.planet_url))) {}
                atom:link xmlns:atom=(ATOM_NS) rel="hub" href=(xml_safe(&hub_url(cfg))) {}
                generator { "Orrery" }
                @for e in entries {
                    item {
                        title { (xml_safe(&e.member_names())) ": " (xml_safe(&e.title)) }
                        @if let Some(u) = &e.url { link { (xml_safe(u)) } }
                        guid isPermaLink="false" { (xml_safe(&format!("{}/entries/{}", cfg.planet_url, e.id))) }
                        pubDate { (rfc822_time(e.published)) }
                        @if let Some(a) = &e.author { author { (xml_safe(a)) } }
                        // An RSS description is HTML: sanitized content as is, a plain summary HTML-escaped first.
                        description {
                            @if e.content_html.is_empty() { (text_as_html(&e.summary)) }
                            @else { (xml_safe(&e.content_html)) }
                        }
                    }
                }
            }
        }
    }
}
