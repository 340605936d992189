//! The shared page layout.
//!
//! Header, main, the sidebar where a page has one, footer; the theme's stylesheet.

use maud::{html, Markup, DOCTYPE};

use super::rich;
use crate::core::config::Config;

/// What the layout needs to know about the page it wraps.
pub struct Page<'a> {
    pub title: &'a str,
    /// WebSocket path the live script follows (`/ws`, `/feeds/{id}/ws`), if any.
    pub live_path: Option<&'a str>,
    /// Nav entry to mark as current.
    pub nav: &'a str,
}

/// A page without a sidebar.
pub fn layout(cfg: &Config, page: &Page, body: Markup) -> Markup {
    layout_with(cfg, page, body, None)
}

/// A page with a sidebar (`aside`): beside the main column on a wide screen, below it on a phone.
pub fn layout_with(cfg: &Config, page: &Page, body: Markup, aside: Option<Markup>) -> Markup {
    let full_title = if page.title.is_empty() {
        cfg.planet_name.clone()
    } else {
        format!("{} · {}", page.title, cfg.planet_name)
    };
    let t = cfg.tr();
    let nav = [
        ("river", "/", t.text("nav.river")),
        ("titles", "/titles", t.text("nav.titles")),
        ("feeds", "/feeds", t.text("nav.feeds")),
        ("search", "/search", t.text("nav.search")),
    ];
    // The scripts' words (`js.*`, `date.*`), on their own elements: they fetch nothing.
    let key_strings = t.script_strings(&["js.keys."]);
    html! {
        (DOCTYPE)
        html lang=(t.lang().code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (full_title) }
                meta name="description" content=(cfg.planet_description);
                link rel="stylesheet" href="/style.css";
                // Colours, fonts and images: the theme's own stylesheet (never inline styles: the CSP stays strict).
                link rel="stylesheet" href=(format!("/themes/{}/theme.css", cfg.theme));
                // Served by the edge (the .ico too, for browsers that ask for it anyway).
                link rel="icon" type="image/svg+xml" href="/favicon.svg";
                link rel="alternate" type="application/atom+xml" title=(cfg.planet_name) href="/feed.atom";
                link rel="alternate" type="application/rss+xml" title=(cfg.planet_name) href="/feed.rss";
                script src="/keys.js" defer data-strings=(key_strings) {}
                @if let Some(ws) = page.live_path {
                    script src="/live.js" defer data-ws=(ws) data-strings=(t.script_strings(&["js.", "date."])) {}
                }
            }
            body data-theme=(cfg.theme) {
                a.skip-link href="#main" { (t.text("layout.skip")) }
                header.site {
                    a.brand href="/" {
                        @if let Some(logo) = &cfg.planet_logo { img.logo src=(logo) alt="" height="32"; }
                        span.name { (cfg.planet_name) }
                    }
                    nav.site-nav aria-label=(t.text("layout.site_nav")) {
                        @for (key, href, label) in nav {
                            @if key == page.nav {
                                a href=(href) aria-current="page" { (label) }
                            } @else {
                                a href=(href) { (label) }
                            }
                        }
                    }
                    // The search page has its own form; every other page has this one (`/` focuses it).
                    @if page.nav != "search" {
                        form.site-search action="/search" method="get" role="search" {
                            label.visually-hidden for="site-q" { (t.text("layout.search_label")) }
                            input #site-q type="search" name="q" placeholder=(t.text("layout.search_placeholder")) maxlength="200";
                        }
                    }
                    @if page.live_path.is_some() {
                        span #live-status .live-status data-state="offline" role="status" aria-live="polite" {
                            span.dot {} span.label { (t.text("js.state.offline")) } span.readers {}
                        }
                    }
                }
                div.page.with-aside[aside.is_some()] {
                    main #main tabindex="-1" { (body) }
                    @if let Some(aside) = aside {
                        aside.sidebar aria-label=(t.text("layout.sidebar")) { (aside) }
                    }
                }
                footer.site {
                    p {
                        (cfg.planet_description) " · "
                        a href="/feed.atom" { "Atom" } " · "
                        a href="/feed.rss" { "RSS 2.0" } " · "
                        @if cfg.enable_rss10 { a href="/feed.rss10" { "RSS 1.0" } " · " }
                        a href="/feeds.opml" { "OPML" } " · "
                        @if cfg.enable_foaf { a href="/foafroll.xml" { "FOAF" } " · " }
                        (t.text("layout.powered"))
                        @if cfg.show_admin_link { " · " a href="/admin" { (t.text("layout.admin")) } }
                    }
                    // The operator's line (`FOOTER_TEXT`): plain text, escaped by maud.
                    @if let Some(text) = &cfg.footer_text { p.footer-text { (text) } }
                    p.keys-hint hidden { button #keys-open type="button" { (t.text("layout.keys_button")) } (rich(t, "layout.keys_press", &[("key", html! { kbd { "?" } })])) }
                }
            }
        }
    }
}
