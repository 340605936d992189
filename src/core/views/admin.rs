//! The admin pages: sign-in, the feed dashboard and the audit log.

use maud::{html, Markup};

use super::public::{status_label, status_text};
use super::{layout, rich, Page};
use crate::core::audit::AuditPage;
use crate::core::config::Config;
use crate::core::domain::FeedStatus;
use crate::core::feed::discover::FeedLink;
use crate::core::fetch::public_url;
use crate::core::i18n::Tr;
use crate::core::ingest::round::RefreshRound;
use crate::core::membership::MembershipPanel;
use crate::core::time::iso_time;
use crate::core::view_models::{Deployment, FeedDetail};

pub(super) fn admin_layout(cfg: &Config, body: Markup) -> Markup {
    let t = cfg.tr();
    let page = Page {
        title: t.text("admin.title"),
        live_path: None,
        nav: "",
    };
    layout(cfg, &page, html! { h1 { (t.text("admin.title")) } (body) })
}

/// Where a feed stands in the admin's list: the ones that need a look first (failing,
/// gone, paused by failures, then paused by hand), then the rest; the order within each
/// kept (by name).
pub(super) fn attention_rank(status: FeedStatus) -> u8 {
    match status {
        FeedStatus::Failing => 0,
        FeedStatus::Gone => 1,
        FeedStatus::Paused => 2,
        FeedStatus::Held => 3,
        FeedStatus::Active => 4,
    }
}

/// The feeds in the admin's order (see [`attention_rank`]).
fn attention_first(feeds: &[FeedDetail]) -> Vec<&FeedDetail> {
    let mut ordered: Vec<&FeedDetail> = feeds.iter().collect();
    ordered.sort_by_key(|d| attention_rank(d.feed.status));
    ordered
}

/// The dashboard's sections beside the feeds: the membership file, this deployment, and
/// the newest round of "refresh all feeds".
pub struct Panels<'a> {
    pub membership: &'a MembershipPanel,
    pub deployment: &'a Deployment,
    pub refresh: Option<&'a RefreshRound>,
    /// The admin list (who may sign in with GitHub or OpenID Connect), rendered.
    pub admins: Option<Markup>,
}

/// The admin dashboard: add (a feed, or a site's page), name, filter, pause, resume,
/// refresh and remove feeds, or refresh them all; failing, gone, paused and held feeds
/// listed first with their last error and a retry. Every form carries the CSRF token.
/// `choices`: the feeds a page just added announced, to pick one from.
pub fn admin_page(
    cfg: &Config,
    feeds: &[FeedDetail],
    csrf: &str,
    flash: Option<&str>,
    choices: Option<(&str, &[FeedLink])>,
    panels: &Panels,
) -> Markup {
    let post = |id: i64, action: &str| format!("/admin/feeds/{id}/{action}");
    let feeds = attention_first(feeds);
    let troubled = feeds
        .iter()
        .filter(|d| attention_rank(d.feed.status) < attention_rank(FeedStatus::Active))
        .count();
    let t = cfg.tr();
    admin_layout(
        cfg,
        html! {
            nav.admin-nav aria-label=(t.text("admin.title")) { a href="/admin/health" { (t.text("admin.feed_health")) } " " a href="/admin/audit" { (t.text("admin.audit_log")) } }
            @if let Some(f) = flash { p.flash role="status" { (f) } }
            @if troubled > 0 {
                p.attention { (t.plural("admin.attention", troubled as u64, &[])) }
            }
            @if let Some((page, links)) = choices {
                section.choices aria-label=(t.text("admin.feeds_found")) {
                    p { (t.fill("admin.announces", &[("page", &public_url(page))])) }
                    ul {
                        @for l in links {
                            li {
                                form.admin method="post" action="/admin/feeds" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="url" value=(l.url);
                                    button type="submit" { (t.fill("admin.add_kind", &[("kind", l.kind)])) }
                                    " " @if !l.title.is_empty() { (l.title) " · " } small { (public_url(&l.url)) }
                                }
                            }
                        }
                    }
                }
            }
            form.admin method="post" action="/admin/feeds" {
                input type="hidden" name="csrf" value=(csrf);
                label { (t.text("admin.url")) input type="url" name="url" required placeholder="https://example.com/feed.xml"; }
                " " button type="submit" { (t.text("admin.add_feed")) }
            }
            (refresh_all_section(t, panels.refresh, csrf))
            (super::membership_section(t, panels.membership, csrf))
            table.feeds {
                thead { tr { th { (t.text("admin.feed")) } th { (t.text("feeds.health")) } th { (t.text("feeds.entries")) } th { (t.text("admin.actions")) } } }
                tbody {
                    @for d in feeds {
                        @let f = &d.feed;
                        @let attention = attention_rank(f.status) < attention_rank(FeedStatus::Active);
                        tr data-feed=(f.id) data-status=(f.status.as_str()) class=[attention.then_some("attention")] {
                            td {
                                a href=(format!("/feeds/{}", f.id)) { (f.display_title()) } br; small { (f.url) }
                                details.edit {
                                    summary { (t.text("admin.edit")) }
                                    form.admin method="post" action=(post(f.id, "edit")) {
                                        input type="hidden" name="csrf" value=(csrf);
                                        label { (t.text("admin.display_name")) input type="text" name="display_name" maxlength="200" value=(f.display_name.as_deref().unwrap_or("")) placeholder=(f.title); }
                                        label { (t.text("admin.face")) input type="url" name="face_url" value=(f.face_url.as_deref().unwrap_or("")); }
                                        label { (t.text("admin.site_link")) input type="url" name="home_url" value=(f.home_url.as_deref().unwrap_or("")) placeholder=(f.site_url.as_deref().unwrap_or("")); }
                                        label { (t.text("admin.only_categories")) input type="text" name="categories" value=(d.filter.categories.join(", ")); }
                                        label { (t.text("admin.only_words")) input type="text" name="words" value=(d.filter.words.join(", ")); }
                                        label { input type="checkbox" name="excerpt_only" value="1" checked[d.filter.excerpt_only]; (t.text("admin.excerpts")) }
                                        button type="submit" { (t.text("admin.save")) }
                                    }
                                }
                            }
                            td { span class=(format!("health {}", status_label(f))) { (status_text(t, status_label(f))) }
                                 @if f.consecutive_failures > 0 { " · " (t.plural("admin.failed_in_a_row", f.consecutive_failures.unsigned_abs(), &[])) }
                                 @if let Some(err) = &f.last_error { br; span.error { (err) } }
                                 @if attention { @if let Some(at) = f.last_fetch_at { br; small { (rich(t, "admin.last_tried", &[("time", html! { time datetime=(iso_time(at)) { (t.human_time(at)) } })])) } } } }
                            td { (f.entry_count) }
                            td {
                                @if f.status != FeedStatus::Held {
                                    form method="post" action=(post(f.id, "refresh")) {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" { @if attention { (t.text("admin.retry")) } @else { (t.text("admin.refresh")) } }
                                    }
                                }
                                @let (act, label) = if f.status == FeedStatus::Held { ("resume", t.text("admin.resume")) } else { ("pause", t.text("admin.pause")) };
                                form method="post" action=(post(f.id, act)) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { (label) }
                                }
                                form method="post" action=(post(f.id, "delete")) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { (t.text("admin.remove")) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(a) = &panels.admins { (a) }
            (deployment_section(t, panels.deployment))
            form method="post" action="/admin/logout" {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { (t.text("admin.sign_out")) }
            }
        },
    )
}

/// "Refresh all feeds": the button, or how far the running round is; the last round's
/// outcome under it.
fn refresh_all_section(t: Tr, round: Option<&RefreshRound>, csrf: &str) -> Markup {
    html! {
        section.refresh-all aria-label=(t.text("admin.refresh_all")) {
            @match round {
                Some(r) if r.running() => p role="status" { (round_progress(t, r)) },
                _ => {
                    form.admin method="post" action="/admin/refresh" {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { (t.text("admin.refresh_all")) }
                        " " small { (t.text("admin.refresh_all_note")) }
                    }
                    @if let Some(r) = round {
                        @if let Some(at) = r.finished_at {
                            p { small { (round_progress(t, r)) " " (rich(t, "admin.finished", &[("time", html! { time datetime=(iso_time(at)) { (t.human_time(at)) } })])) } }
                        }
                    }
                },
            }
        }
    }
}

/// How far a round of "refresh all feeds" got, in the planet's language (the words of
/// `RefreshRound::progress`, which the audit log and the API keep in English).
pub fn round_progress(t: Tr, r: &RefreshRound) -> String {
    let news = t.plural("round.new_entries", u64::from(r.new_entries), &[]);
    let failed = match r.failed {
        0 => String::new(),
        n => t.plural("round.failed", u64::from(n), &[]),
    };
    let done = t.number(u64::from(r.done));
    if r.running() {
        t.fill(
            "round.running",
            &[
                ("done", &done),
                ("total", &t.number(u64::from(r.of_total()))),
                ("news", &news),
                ("failed", &failed),
            ],
        )
    } else {
        t.fill(
            "round.finished",
            &[("done", &done), ("news", &news), ("failed", &failed)],
        )
    }
}

/// What this deployment knows of itself (as `/healthz` says it): the build, the schema
/// against the newest migration, and a problem in words for each missing binding.
fn deployment_section(t: Tr, d: &Deployment) -> Markup {
    html! {
        section.deployment aria-label=(t.text("admin.deployment")) {
            h2 { (t.text("admin.deployment")) }
            p {
                (rich(t, "admin.build", &[
                    ("version", html! { (d.build.version) }),
                    ("commit", html! { code { (d.build.commit) } }),
                    ("schema", html! { code { (d.schema.applied.as_deref().unwrap_or(t.text("admin.unknown"))) } }),
                ]))
                @if !d.schema.current { (rich(t, "admin.expects", &[("latest", html! { code { (d.schema.latest) } })])) }
                "."
            }
            @if d.problems.is_empty() {
                p { (t.text("admin.bindings_ok")) }
            } @else {
                ul.attention { @for p in &d.problems { li { (p) } } }
            }
        }
    }
}

/// `/admin/audit`: who did what to which feed and when, newest first, with a link to
/// older records.
pub fn admin_audit_page(cfg: &Config, page: &AuditPage) -> Markup {
    let t = cfg.tr();
    admin_layout(
        cfg,
        html! {
            nav.admin-nav aria-label=(t.text("admin.title")) { a href="/admin" { (t.text("nav.feeds")) } }
            h2 { (t.text("admin.audit_log")) }
            p { (rich(t, "admin.signed_in_as", &[("who", html! { strong { (page.viewer) } })])) }
            @if page.entries.is_empty() {
                p { (t.text("admin.nothing_recorded")) }
            } @else {
                table.audit {
                    thead { tr { th { (t.text("admin.when")) } th { (t.text("admin.who")) } th { (t.text("admin.what")) } th { (t.text("admin.feed")) } th { (t.text("admin.detail")) } } }
                    tbody {
                        @for e in page.entries {
                            tr data-audit=(e.id) {
                                td data-label=(t.text("admin.when")) { time datetime=(iso_time(e.at)) { (t.human_time(e.at)) } }
                                td data-label=(t.text("admin.who")) { (e.actor) }
                                td data-label=(t.text("admin.what")) { code { (e.action) } }
                                td data-label=(t.text("admin.feed")) {
                                    @match (e.feed_id, &e.feed_title) {
                                        (Some(id), Some(title)) => a href=(format!("/feeds/{id}")) { (title) },
                                        (Some(id), None) => { (t.fill("admin.removed", &[("id", &id.to_string())])) },
                                        (None, _) => {},
                                    }
                                }
                                td data-label=(t.text("admin.detail")) { @if let Some(d) = &e.detail { small { (d) } } }
                            }
                        }
                    }
                }
            }
            @if let Some(older) = page.older {
                nav.pager { a rel="next" href=(format!("/admin/audit?before={older}")) { (t.text("admin.older")) } }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::view_models::FeedView;
    use crate::core::views::public::tests::member;

    #[test]
    fn the_admin_sees_feeds_in_trouble_first_with_their_error_and_a_retry() {
        let with = |id: i64, status: FeedStatus, error: Option<&str>| FeedDetail {
            feed: FeedView {
                status,
                last_error: error.map(Into::into),
                consecutive_failures: if status == FeedStatus::Active { 0 } else { 4 },
                ..member(id, Some(&format!("M{id}")), None)
            },
            filter: Default::default(),
        };
        let feeds = [
            with(1, FeedStatus::Active, None),
            with(2, FeedStatus::Held, None),
            with(3, FeedStatus::Paused, Some("HTTP 500")),
            with(4, FeedStatus::Active, None),
            with(5, FeedStatus::Failing, Some("timed out <after 20 s>")),
            with(6, FeedStatus::Gone, Some("HTTP 410")),
        ];
        let panel = crate::core::membership::MembershipPanel::default();
        let build = crate::core::view_models::Build {
            version: "0.1.0".into(),
            commit: "abc123def456".into(),
        };
        let deployment = Deployment::judge(
            build,
            "0012_session_revocations.sql",
            Some("0011_secrets.sql".into()),
            &[("DB", true), ("PLANET_LIMIT", false)],
            &["FAILING_AFTER: \"x\" is not a whole number from 1 to 1000; using 3".into()],
        );
        let running = RefreshRound {
            total: 1000,
            done: 120,
            ..Default::default()
        };
        let panels = Panels {
            membership: &panel,
            deployment: &deployment,
            refresh: Some(&running),
            admins: None,
        };
        let html = admin_page(&Config::default(), &feeds, "t", None, None, &panels).into_string();
        assert!(
            html.contains("Refreshing all feeds: 120 of 1,000"),
            "{html}"
        );
        assert!(
            !html.contains("action=\"/admin/refresh\""),
            "no second start while one runs"
        );
        let idle = Panels {
            refresh: None,
            admins: None,
            ..panels
        };
        let idle = admin_page(&Config::default(), &feeds, "t", None, None, &idle).into_string();
        assert!(idle.contains("action=\"/admin/refresh\""));
        assert!(html.contains("PLANET_LIMIT: not bound"), "{html}");
        assert!(
            html.contains("config: FAILING_AFTER: &quot;x&quot; is not a whole number"),
            "{html}"
        );
        assert!(html.contains("this build expects <code>0012_session_revocations.sql</code>"));
        let order: Vec<i64> = html
            .split("data-feed=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next()?.parse().ok())
            .collect();
        assert_eq!(
            order,
            vec![5, 6, 3, 2, 1, 4],
            "trouble first, names kept in order"
        );
        assert!(html.contains("4 feeds need a look"), "{html}");
        assert!(
            html.contains("timed out &lt;after 20 s&gt;"),
            "the error, escaped"
        );
        let row = |id: i64| {
            let start = html.find(&format!("data-feed=\"{id}\"")).expect("row");
            let end = html[start..].find("</tr>").expect("end") + start;
            html[start..end].to_string()
        };
        assert!(row(5).contains("Retry now") && row(5).contains("class=\"attention\""));
        assert!(row(3).contains("Retry now"));
        assert!(row(1).contains(">Refresh<") && !row(1).contains("attention"));
        assert!(
            !row(2).contains("/refresh") && row(2).contains("Resume"),
            "a feed held by hand is resumed, not refreshed"
        );
        assert!(html.contains(r#"href="/admin/audit""#));
        assert!(html.contains(r#"href="/admin/health""#));
    }

    #[test]
    fn the_audit_log_says_who_did_what_and_escapes_it() {
        use crate::core::audit::AuditEntry;
        let entries = [
            AuditEntry {
                id: 9,
                at: 1_700_000_000_000,
                actor: "ada@example.com".into(),
                action: "feed.create".into(),
                feed_id: Some(3),
                feed_title: Some("<b>Ann</b>".into()),
                detail: Some("https://x.example/<script>".into()),
            },
            AuditEntry {
                id: 8,
                at: 1_699_000_000_000,
                actor: "api".into(),
                action: "feed.delete".into(),
                feed_id: Some(2),
                feed_title: None,
                detail: None,
            },
        ];
        let page = AuditPage {
            entries: &entries,
            older: Some(8),
            viewer: "ada@example.com",
        };
        let html = admin_audit_page(&Config::default(), &page).into_string();
        assert!(html.contains("ada@example.com") && html.contains("feed.create"));
        assert!(
            html.contains(r#"<a href="/feeds/3">&lt;b&gt;Ann&lt;/b&gt;</a>"#),
            "{html}"
        );
        assert!(html.contains("#2 (removed)"));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
        assert!(html.contains(r#"href="/admin/audit?before=8""#));
        assert!(html.find("data-audit=\"9\"") < html.find("data-audit=\"8\""));
    }
}
