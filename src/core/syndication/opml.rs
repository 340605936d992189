//! OPML both ways: the subscription list out, and the outlines of a document read in.

use maud::{html, Markup};

use super::{xml_safe, XML_DECL};
use crate::core::config::Config;
use crate::core::fetch::public_url;
use crate::core::view_models::FeedView;

/// The subscription list as OPML 2.0.
pub fn opml(cfg: &Config, feeds: &[FeedView]) -> Markup {
    html! {
        (XML_DECL)
        opml version="2.0" {
            head {
                title { (xml_safe(&cfg.planet_name)) " subscriptions" }
                @if let Some(name) = &cfg.owner_name { ownerName { (xml_safe(name)) } }
                @if let Some(email) = &cfg.owner_email { ownerEmail { (xml_safe(email)) } }
            }
            body {
                // The list is public: credentials in a feed's query string are hidden.
                @for f in feeds {
                    @let title = f.display_title();
                    outline type="rss" text=(xml_safe(&title)) title=(xml_safe(&title)) xmlUrl=(xml_safe(&public_url(&f.url)))
                        htmlUrl=[f.site_link().map(xml_safe)] face=[f.face_url.as_deref().map(xml_safe)] {}
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
const FACE_ATTRIBUTES: [&str; 5] = ["face", "faceUrl", "avatar", "hackergotchi", "icon"];

/// Every outline with an `xmlUrl` in an OPML document, in order, the first of each URL.
///
/// URLs already taken are looked up in a set: scanning the outlines kept for each new one
/// was most of a cron run's membership sync with a file of 1,000 members (issue 20).
pub fn parse_opml(text: &str) -> Result<Vec<Outline>, OpmlError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out: Vec<Outline> = Vec::new();
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
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
                if !taken.insert(url.clone()) {
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

    #[test]
    fn opml_names_the_owner_when_set() {
        let plain = opml(&Config::default(), &[]).into_string();
        assert!(!plain.contains("ownerName") && !plain.contains("ownerEmail"));
        let cfg = Config::from_lookup(|k| match k {
            "PLANET_OWNER_NAME" => Some("Ada & co".into()),
            "PLANET_OWNER_EMAIL" => Some("ada@planet.example".into()),
            _ => None,
        });
        let out = opml(&cfg, &[]).into_string();
        assert!(out.contains("<ownerName>Ada &amp; co</ownerName>"), "{out}");
        assert!(
            out.contains("<ownerEmail>ada@planet.example</ownerEmail>"),
            "{out}"
        );
    }

    #[test]
    fn opml_round_trips() {
        let feeds = vec![FeedView {
            url: "https://a.example/feed?x=1&y=2".into(),
            title: "A \"quoted\" <feed>".into(),
            site_url: None,
            entry_count: 0,
            display_name: None,
            face_url: None,
            home_url: None,
            ..crate::core::syndication::tests::member()
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
    fn the_first_outline_of_each_url_is_kept_in_order() {
        // A long file with repeats (the same URL, another name): what scanning the outlines
        // kept for each new one kept, the set keeps.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let listed: Vec<(String, String)> = (0..1_500)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (
                    format!("https://blog{}.example.net/feed.xml", x % 900),
                    format!("Member {i}"),
                )
            })
            .collect();
        let body: String = listed
            .iter()
            .map(|(u, t)| format!("<outline type=\"rss\" title=\"{t}\" xmlUrl=\"{u}\"/>"))
            .collect();
        let doc = format!("<opml version=\"2.0\"><body>{body}</body></opml>");
        let mut expected: Vec<(String, String)> = Vec::new();
        for (u, t) in &listed {
            if !expected.iter().any(|(e, _)| e == u) {
                expected.push((u.clone(), t.clone()));
            }
        }
        let got: Vec<(String, String)> = parse_opml(&doc)
            .unwrap()
            .into_iter()
            .map(|o| (o.url, o.title.unwrap_or_default()))
            .collect();
        assert!(expected.len() < listed.len(), "the file repeats URLs");
        assert_eq!(got, expected);
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
}
