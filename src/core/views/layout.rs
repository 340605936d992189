//! The shared page layout.

use maud::{html, Markup, DOCTYPE};

use crate::core::config::Config;

/// What the layout needs to know about the page it wraps.
pub struct Page<'a> {
    pub title: &'a str,
    /// WebSocket path the live script follows (`/ws`, `/feeds/{id}/ws`), if any.
    pub live_path: Option<&'a str>,
    /// Nav entry to mark as current.
    pub nav: &'a str,
}

pub fn layout(cfg: &Config, page: &Page, body: Markup) -> Markup {
    let full_title = if page.title.is_empty() {
        cfg.planet_name.clone()
    } else {
        format!("{} · {}", page.title, cfg.planet_name)
    };
    let nav = [
        ("river", "/", "River"),
        ("titles", "/titles", "Titles"),
        ("feeds", "/feeds", "Feeds"),
        ("search", "/search", "Search"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (full_title) }
                meta name="description" content=(cfg.planet_description);
                link rel="stylesheet" href="/style.css";
                // Served by the edge: browsers would otherwise ask the Worker for /favicon.ico.
                link rel="icon" type="image/svg+xml" href="/favicon.svg";
                link rel="alternate" type="application/atom+xml" title=(cfg.planet_name) href="/feed.atom";
                link rel="alternate" type="application/rss+xml" title=(cfg.planet_name) href="/feed.rss";
                @if let Some(ws) = page.live_path {
                    script src="/live.js" defer data-ws=(ws) {}
                }
            }
            body {
                header.site {
                    a.brand href="/" { (cfg.planet_name) }
                    nav {
                        @for (key, href, label) in nav {
                            @if key == page.nav {
                                a href=(href) aria-current="page" { (label) }
                            } @else {
                                a href=(href) { (label) }
                            }
                        }
                    }
                    @if page.live_path.is_some() {
                        span #live-status .live-status data-state="offline" role="status" aria-live="polite" {
                            span.dot {} span.label { "offline" } span.readers {}
                        }
                    }
                }
                main { (body) }
                footer.site {
                    p {
                        (cfg.planet_description) " · "
                        a href="/feed.atom" { "Atom" } " · "
                        a href="/feed.rss" { "RSS" } " · "
                        a href="/feeds.opml" { "OPML" } " · "
                        "Powered by Orrery"
                    }
                }
            }
        }
    }
}
