//! The planet as RSS 1.0 (RDF Site Summary), as classic planets served it at `rss10.xml`.

use maud::{html, Markup};

use super::{xml_safe, XML_DECL};
use crate::core::config::Config;
use crate::core::time::iso_time;
use crate::core::view_models::EntryView;

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
            channel rdf:about=(xml_safe(&format!("{}/", cfg.planet_url))) {
                title { (xml_safe(&cfg.planet_name)) }
                link { (xml_safe(&cfg.planet_url)) "/" }
                description { (xml_safe(&cfg.planet_description)) }
                dc:date { (iso_time(updated)) }
                items { rdf:Seq { @for e in entries { rdf:li rdf:resource=(xml_safe(&about(e))) {} } } }
            }
            @for e in entries {
                item rdf:about=(xml_safe(&about(e))) {
                    title { (xml_safe(&e.member_names())) ": " (xml_safe(&e.title)) }
                    link { (xml_safe(e.url.as_deref().unwrap_or(&about(e)))) }
                    dc:date { (iso_time(e.published)) }
                    dc:creator { (xml_safe(e.author.as_deref().filter(|a| !a.trim().is_empty()).unwrap_or(&e.feed_title))) }
                    @if !e.summary.is_empty() { description { (xml_safe(&e.summary)) } }
                    @if !e.content_html.is_empty() { content:encoded { (xml_safe(&e.content_html)) } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::syndication::tests::{entry, names};

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
}
