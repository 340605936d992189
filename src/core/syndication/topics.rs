//! The planet's own feeds as WebSub topics, and the hub their documents advertise.

use serde::{Deserialize, Serialize};

use crate::core::config::Config;

/// What can be subscribed to: the planet's Atom and RSS, and each feed's own Atom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    PlanetAtom,
    PlanetRss,
    FeedAtom(i64),
}

impl Topic {
    /// The topic's path on the planet.
    pub fn path(self) -> String {
        match self {
            Topic::PlanetAtom => "/feed.atom".into(),
            Topic::PlanetRss => "/feed.rss".into(),
            Topic::FeedAtom(id) => format!("/feeds/{id}/feed.atom"),
        }
    }

    /// The topic URL (`hub.topic`, and the document's `rel="self"`).
    pub fn url(self, planet_url: &str) -> String {
        format!("{}{}", planet_url.trim_end_matches('/'), self.path())
    }

    /// A `hub.topic` as one of ours: an absolute URL under `planet_url` naming a topic
    /// path (no query or fragment). Whether a feed's id exists is the store's question.
    pub fn from_url(planet_url: &str, raw: &str) -> Option<Topic> {
        let base = planet_url.trim_end_matches('/');
        let path = raw.trim().strip_prefix(base)?;
        match path.split('/').skip(1).collect::<Vec<_>>().as_slice() {
            ["feed.atom"] if path.starts_with('/') => Some(Topic::PlanetAtom),
            ["feed.rss"] if path.starts_with('/') => Some(Topic::PlanetRss),
            ["feeds", n, "feed.atom"] if path.starts_with('/') => {
                let ok = !n.is_empty() && n.len() <= 18 && n.bytes().all(|b| b.is_ascii_digit());
                ok.then(|| n.parse().ok())
                    .flatten()
                    .filter(|id| *id > 0)
                    .map(Topic::FeedAtom)
            }
            _ => None,
        }
    }

    /// The `Content-Type` of the topic's documents (and of its fat pings).
    pub fn content_type(self) -> &'static str {
        match self {
            Topic::PlanetRss => "application/rss+xml; charset=utf-8",
            _ => "application/atom+xml; charset=utf-8",
        }
    }

    /// The one feed whose entries this topic carries (`None`: every feed's).
    pub fn feed(self) -> Option<i64> {
        match self {
            Topic::FeedAtom(id) => Some(id),
            _ => None,
        }
    }
}

/// The hub the planet's documents advertise: `WEBSUB_HUB` when set, else our own `/websub`.
pub fn hub_url(cfg: &Config) -> String {
    cfg.websub_hub
        .clone()
        .unwrap_or_else(|| format!("{}/websub", cfg.planet_url))
}

/// The HTTP `Link` header of a topic's documents and fat pings (WebSub discovery).
pub fn link_header(cfg: &Config, topic: Topic) -> String {
    format!(
        "<{}>; rel=\"hub\", <{}>; rel=\"self\"",
        hub_url(cfg),
        topic.url(&cfg.planet_url)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLANET: &str = "https://planet.example";

    #[test]
    fn topics_are_the_planets_feeds_and_each_feeds_atom() {
        assert_eq!(
            Topic::from_url(PLANET, "https://planet.example/feed.atom"),
            Some(Topic::PlanetAtom)
        );
        assert_eq!(
            Topic::from_url("https://planet.example/", "https://planet.example/feed.rss"),
            Some(Topic::PlanetRss)
        );
        assert_eq!(
            Topic::from_url(PLANET, "https://planet.example/feeds/12/feed.atom"),
            Some(Topic::FeedAtom(12))
        );
        for bad in [
            "https://planet.example/feed.rss10",
            "https://planet.example/feeds/0/feed.atom",
            "https://planet.example/feeds/-1/feed.atom",
            "https://planet.example/feeds/x/feed.atom",
            "https://planet.example/feed.atom?x=1",
            "https://planet.example.evil/feed.atom",
            "https://other.example/feed.atom",
            "http://planet.example/feed.atom",
            "/feed.atom",
        ] {
            assert_eq!(Topic::from_url(PLANET, bad), None, "{bad}");
        }
        for t in [Topic::PlanetAtom, Topic::PlanetRss, Topic::FeedAtom(7)] {
            assert_eq!(Topic::from_url(PLANET, &t.url(PLANET)), Some(t));
        }
        assert_eq!(Topic::FeedAtom(3).feed(), Some(3));
        assert_eq!(Topic::PlanetAtom.feed(), None);
        assert!(Topic::PlanetRss
            .content_type()
            .starts_with("application/rss+xml"));
    }

    #[test]
    fn the_hub_advertised_and_the_link_header() {
        let mut cfg = Config {
            planet_url: PLANET.into(),
            ..Config::default()
        };
        assert_eq!(hub_url(&cfg), "https://planet.example/websub");
        assert_eq!(
            link_header(&cfg, Topic::FeedAtom(2)),
            "<https://planet.example/websub>; rel=\"hub\", \
             <https://planet.example/feeds/2/feed.atom>; rel=\"self\""
        );
        cfg.websub_hub = Some("https://hub.example/".into());
        assert_eq!(hub_url(&cfg), "https://hub.example/");
    }
}
