//! The members as a FOAF roll (`foafroll.xml`, as Planet and Venus wrote it).

use maud::{html, Markup};

use super::{xml_safe, XML_DECL};
use crate::core::config::Config;
use crate::core::fetch::public_url;
use crate::core::view_models::FeedView;

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
                foaf:name { (xml_safe(&cfg.planet_name)) }
                foaf:homepage { (xml_safe(&cfg.planet_url)) "/" }
                rdfs:seeAlso rdf:resource=(xml_safe(&format!("{}/foafroll.xml", cfg.planet_url))) {}
                @for f in feeds {
                    @let name = f.display_title();
                    @let feed_url = public_url(&f.url);
                    foaf:member {
                        foaf:Agent {
                            foaf:name { (xml_safe(&name)) }
                            @if let Some(face) = &f.face_url { foaf:img rdf:resource=(xml_safe(face)) {} }
                            foaf:weblog {
                                foaf:Document rdf:about=(xml_safe(f.site_link().unwrap_or(&feed_url))) {
                                    dc:title { (xml_safe(&name)) }
                                    rdfs:seeAlso { rss:channel rdf:about=(xml_safe(&feed_url)) {} }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::syndication::tests::{member, names};

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
}
