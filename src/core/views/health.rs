//! `/admin/health`: the feed-health view, a page of feeds with what D1 and their objects know.

use std::cmp::Reverse;

use maud::{html, Markup};

use super::admin::{admin_layout, attention_rank};
use super::public::{status_label, status_text};
use super::rich;
use crate::core::config::Config;
use crate::core::domain::FeedStatus;
use crate::core::i18n::Tr;
use crate::core::time::iso_time;
use crate::core::view_models::{FeedHealthRow, ObjectHealth};

/// Feeds a page of the view shows: each is one object call (a subrequest), and a page must
/// stay well inside the Free plan's 50 per invocation beside its D1 queries.
pub const HEALTH_PAGE_SIZE: u32 = 40;

/// Pages past this one are not served (41,000 feeds is past any planet's size).
pub const HEALTH_MAX_PAGE: u32 = 1000;

/// A page of the feed-health view. `page` counts from 1; `more`: a next page exists.
pub struct HealthPage<'a> {
    pub rows: &'a [FeedHealthRow],
    pub page: u32,
    pub more: bool,
    pub csrf: &'a str,
}

/// The status and failures in a row to judge a feed by: its object's, when it answered
/// with a state (it is the newer), else D1's.
fn judged(r: &FeedHealthRow) -> (FeedStatus, i64) {
    match r.object {
        Some(o) if o.known => (o.status, i64::from(o.failures)),
        _ => (r.feed.status, r.feed.consecutive_failures),
    }
}

/// The rows by severity: failing, gone, paused, then held feeds, then by failures in a row
/// (most first), then by id.
pub fn by_severity(rows: &[FeedHealthRow]) -> Vec<&FeedHealthRow> {
    let mut ordered: Vec<&FeedHealthRow> = rows.iter().collect();
    ordered.sort_by_key(|r| {
        let (status, failures) = judged(r);
        (attention_rank(status), Reverse(failures), r.feed.id)
    });
    ordered
}

/// The last success: D1's (written only when a fetch changed something), or the object's
/// last fetch when that fetch is known to have succeeded (no failure since), whichever is
/// later.
pub fn last_success(r: &FeedHealthRow) -> Option<i64> {
    let fetched_ok = r
        .object
        .filter(|o| o.known && o.failures == 0)
        .and_then(|o| o.last_fetch_at);
    r.feed.last_success_at.max(fetched_ok)
}

fn when(t: Tr, at: i64) -> Markup {
    html! { time datetime=(iso_time(at)) { (t.human_time(at)) } }
}

fn last_fetch(t: Tr, r: &FeedHealthRow) -> Markup {
    match r.object {
        None => html! { span.unknown { (t.text("health.silent")) } },
        Some(ObjectHealth {
            last_fetch_at: Some(at),
            ..
        }) => when(t, at),
        Some(_) => html! {
            span.unknown { (t.text("health.restarted")) }
            @if let Some(at) = r.feed.last_fetch_at { br; small { (rich(t, "health.last_recorded", &[("time", when(t, at))])) } }
        },
    }
}

fn next_fetch(t: Tr, r: &FeedHealthRow) -> Markup {
    match r.object {
        None => html! { span.unknown { (t.text("health.silent")) } },
        Some(o) if !o.known => html! { span.unknown { (t.text("health.no_state")) } },
        Some(ObjectHealth {
            next_fetch_at: Some(at),
            ..
        }) => when(t, at),
        Some(_) => html! { (t.text("health.none_scheduled")) },
    }
}

/// The feed-health view: for each feed of the page, last fetch, last success, last new
/// entry, failures in a row, entries and next fetch, the error in words and a retry,
/// the worst first.
pub fn admin_health_page(cfg: &Config, page: &HealthPage) -> Markup {
    let rows = by_severity(page.rows);
    let t = cfg.tr();
    admin_layout(
        cfg,
        html! {
            nav.admin-nav aria-label=(t.text("admin.title")) { a href="/admin" { (t.text("nav.feeds")) } " " a href="/admin/audit" { (t.text("admin.audit_log")) } }
            h2 { (t.text("admin.feed_health")) }
            p { small { (t.text("health.intro")) } }
            @if rows.is_empty() {
                p { (t.text("health.no_feeds")) }
            } @else {
                table.feeds.health {
                    thead { tr {
                        th { (t.text("admin.feed")) } th { (t.text("feeds.health")) } th { (t.text("health.last_fetch")) } th { (t.text("health.last_success")) }
                        th { (t.text("health.last_new_entry")) } th { (t.text("feeds.entries")) } th { (t.text("health.next_fetch")) } th { (t.text("admin.actions")) }
                    } }
                    tbody {
                        @for r in rows {
                            @let f = &r.feed;
                            @let (status, failures) = judged(r);
                            @let attention = attention_rank(status) < attention_rank(FeedStatus::Active) || failures > 0;
                            tr data-feed=(f.id) data-status=(status.as_str()) class=[attention.then_some("attention")] {
                                td data-label=(t.text("admin.feed")) { a href=(format!("/feeds/{}", f.id)) { (f.display_title()) } br; small { (f.url) } }
                                td data-label=(t.text("feeds.health")) {
                                    span class=(format!("health {}", status.as_str())) {
                                        @if status == f.status { (status_text(t, status_label(f))) } @else { (status_text(t, status.as_str())) }
                                    }
                                    @if failures > 0 { " · " (t.plural("admin.failed_in_a_row", failures.unsigned_abs(), &[])) }
                                    @if let Some(err) = &f.last_error { br; span.error { (err) } }
                                }
                                td data-label=(t.text("health.last_fetch")) data-cell="last-fetch" { (last_fetch(t, r)) }
                                td data-label=(t.text("health.last_success")) { @match last_success(r) { Some(at) => (when(t, at)), None => (t.text("feeds.never")) } }
                                td data-label=(t.text("health.last_new_entry")) { @match f.last_changed_at { Some(at) => (when(t, at)), None => (t.text("health.none_yet")) } }
                                td data-label=(t.text("feeds.entries")) { (f.entry_count) }
                                td data-label=(t.text("health.next_fetch")) data-cell="next-fetch" { (next_fetch(t, r)) }
                                td data-label=(t.text("admin.actions")) {
                                    @if status != FeedStatus::Held {
                                        form method="post" action=(format!("/admin/feeds/{}/refresh", f.id)) {
                                            input type="hidden" name="csrf" value=(page.csrf);
                                            button type="submit" { (t.text("admin.retry")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            nav.pager {
                @if page.page > 1 { a rel="prev" href=(format!("/admin/health?page={}", page.page - 1)) { (t.text("health.previous")) } " " }
                @if page.more { a rel="next" href=(format!("/admin/health?page={}", page.page + 1)) { (t.text("health.next")) } }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::view_models::FeedView;
    use crate::core::views::public::tests::member;

    fn row(
        id: i64,
        status: FeedStatus,
        failures: i64,
        object: Option<ObjectHealth>,
    ) -> FeedHealthRow {
        FeedHealthRow {
            feed: FeedView {
                status,
                consecutive_failures: failures,
                last_fetch_at: None,
                last_success_at: Some(1_000),
                ..member(id, Some(&format!("M{id}")), None)
            },
            object,
        }
    }

    fn answered(
        status: FeedStatus,
        failures: u32,
        last: Option<i64>,
        next: Option<i64>,
    ) -> Option<ObjectHealth> {
        Some(ObjectHealth {
            known: true,
            last_fetch_at: last,
            next_fetch_at: next,
            status,
            failures,
        })
    }

    fn cell(html: &str, id: i64, name: &str) -> String {
        let start = html.find(&format!("data-feed=\"{id}\"")).expect("row");
        let end = html[start..].find("</tr>").expect("end") + start;
        let row = &html[start..end];
        let at = row.find(&format!("data-cell=\"{name}\"")).expect("cell");
        row[at..].split("</td>").next().unwrap_or("").to_string()
    }

    #[test]
    fn the_health_view_lists_the_worst_first_escapes_errors_and_says_what_is_unknown() {
        let ok = |id| {
            row(
                id,
                FeedStatus::Active,
                0,
                answered(
                    FeedStatus::Active,
                    0,
                    Some(1_700_000_000_000),
                    Some(1_700_000_600_000),
                ),
            )
        };
        let mut failing = row(
            5,
            FeedStatus::Failing,
            4,
            answered(
                FeedStatus::Failing,
                4,
                Some(1_700_000_000_000),
                Some(1_700_000_900_000),
            ),
        );
        failing.feed.last_error = Some("HTTP 500 <b>oops</b> & \"more\"".into());
        let rows = [
            ok(1),
            row(
                2,
                FeedStatus::Held,
                0,
                answered(FeedStatus::Held, 0, None, None),
            ),
            row(
                3,
                FeedStatus::Active,
                1,
                answered(FeedStatus::Active, 2, None, Some(1_700_000_000_000)),
            ),
            failing,
            row(6, FeedStatus::Gone, 9, None),
            // D1 still says active; the object (newer) says paused.
            row(
                7,
                FeedStatus::Active,
                0,
                answered(FeedStatus::Paused, 12, None, Some(1_700_090_000_000)),
            ),
            row(8, FeedStatus::Active, 0, Some(ObjectHealth::default())),
        ];
        let page = HealthPage {
            rows: &rows,
            page: 2,
            more: true,
            csrf: "tok",
        };
        let html = admin_health_page(&Config::default(), &page).into_string();
        let order: Vec<i64> = html
            .split("data-feed=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next()?.parse().ok())
            .collect();
        assert_eq!(
            order,
            vec![5, 6, 7, 2, 3, 1, 8],
            "failing, gone, paused, held, then by failures"
        );
        assert!(
            html.contains("HTTP 500 &lt;b&gt;oops&lt;/b&gt; &amp; &quot;more&quot;"),
            "{html}"
        );
        assert!(!html.contains("<b>oops"));
        assert!(html.contains("4 failed in a row") && html.contains("12 failed in a row"));
        // Known: times. Unknown: said in words.
        assert!(cell(&html, 1, "last-fetch").contains("<time datetime="));
        assert!(cell(&html, 1, "next-fetch").contains("<time datetime="));
        assert!(cell(&html, 3, "last-fetch").contains("not known since the object restarted"));
        assert!(cell(&html, 6, "last-fetch").contains("object did not answer"));
        assert!(cell(&html, 6, "next-fetch").contains("object did not answer"));
        assert!(cell(&html, 2, "next-fetch").contains("none scheduled"));
        assert!(cell(&html, 8, "next-fetch").contains("object holds no state"));
        // Retry: the existing refresh form with the CSRF token; none for a feed held by hand.
        assert!(html.contains(r#"action="/admin/feeds/5/refresh""#));
        assert!(html.contains(r#"name="csrf" value="tok""#));
        assert!(!html.contains(r#"action="/admin/feeds/2/refresh""#));
        assert!(
            html.contains(r#"href="/admin/health?page=3""#)
                && html.contains(r#"href="/admin/health?page=1""#)
        );
    }

    #[test]
    fn a_fetch_known_to_have_succeeded_counts_as_the_last_success() {
        let fetched = row(
            1,
            FeedStatus::Active,
            0,
            answered(FeedStatus::Active, 0, Some(5_000), None),
        );
        assert_eq!(last_success(&fetched), Some(5_000));
        let failed = row(
            1,
            FeedStatus::Failing,
            1,
            answered(FeedStatus::Failing, 1, Some(5_000), None),
        );
        assert_eq!(
            last_success(&failed),
            Some(1_000),
            "D1's: the last fetch failed"
        );
        assert_eq!(
            last_success(&row(1, FeedStatus::Active, 0, None)),
            Some(1_000)
        );
    }
}
