//! The admin page's membership section.
//!
//! The membership file (`PLANET_OPML`) and what its last sync did, removals awaiting
//! confirmation, members held for having left, and the OPML upload with its per-feed report.

use maud::{html, Markup};

use super::rich;

use crate::core::fetch::{public_text, public_url};
use crate::core::i18n::Tr;
use crate::core::membership::{ImportLine, MembershipPanel, Named, SyncReport, CAPS};

fn member(n: &Named) -> Markup {
    html! {
        @if let Some(id) = n.id {
            a href=(format!("/feeds/{id}")) { @if n.name.is_empty() { (public_url(&n.url)) } @else { (n.name) } }
        } @else {
            (public_url(&n.url))
        }
        @if !n.name.is_empty() { " " small { (public_url(&n.url)) } }
    }
}

fn members(what: &str, kind: &str, list: &[Named]) -> Markup {
    html! {
        @if !list.is_empty() {
            details data-sync=(kind) open {
                summary { (what) " (" (list.len()) ")" }
                ul { @for n in list { li { (member(n)) } } }
            }
        }
    }
}

/// `SyncReport::summary` in the planet's language (the audit log keeps the English).
fn summary(t: Tr, r: &SyncReport) -> String {
    let n = |v: usize| t.number(v as u64);
    t.fill(
        "membership.summary",
        &[
            ("listed", &n(r.listed)),
            ("added", &n(r.added.len())),
            ("updated", &n(r.updated.len())),
            ("left", &n(r.left.len())),
            ("pending", &n(r.pending.len())),
            ("back", &n(r.rejoined.len())),
            ("deleted", &n(r.deleted.len())),
            ("refused", &n(r.refused.len())),
        ],
    )
}

fn report(t: Tr, r: &SyncReport) -> Markup {
    html! {
        @if let Some(e) = &r.error {
            p.error data-sync="error" { (t.fill("membership.unreadable", &[("error", &public_text(e))])) }
        } @else {
            p data-sync="summary" { (summary(t, r)) "." }
            (members(t.text("membership.added"), "added", &r.added))
            (members(t.text("membership.updated"), "updated", &r.updated))
            (members(t.text("membership.left"), "left", &r.left))
            (members(t.text("membership.rejoined"), "rejoined", &r.rejoined))
            (members(t.text("membership.deleted"), "deleted", &r.deleted))
            @if !r.refused.is_empty() {
                details data-sync="refused" open {
                    summary { (t.text("membership.refused")) " (" (r.refused.len()) ")" }
                    ul { @for x in &r.refused { li { (public_url(&x.url)) ": " (x.reason) } } }
                }
            }
        }
        @if !r.errors.is_empty() {
            details data-sync="errors" open {
                summary { (t.text("membership.errors")) " (" (r.errors.len()) ")" }
                ul { @for e in &r.errors { li { (public_text(e)) } } }
            }
        }
    }
}

/// `14 days`, `6 hours`, `90 seconds`: the grace period in its largest whole unit.
fn grace(t: Tr, ms: i64) -> String {
    let s = (ms / 1000).unsigned_abs();
    match s {
        s if s >= 86_400 && s % 86_400 == 0 => t.plural("membership.days", s / 86_400, &[]),
        s if s >= 3_600 && s % 3_600 == 0 => t.plural("membership.hours", s / 3_600, &[]),
        s if s >= 60 && s % 60 == 0 => t.plural("membership.minutes", s / 60, &[]),
        s => t.plural("membership.seconds", s, &[]),
    }
}

/// The membership section of the admin page.
pub fn membership_section(t: Tr, p: &MembershipPanel, csrf: &str) -> Markup {
    let pending: &[Named] = p
        .latest
        .as_ref()
        .filter(|r| r.ok())
        .or(p.last_ok.as_ref())
        .map_or(&[], |r| &r.pending);
    html! {
        section.membership #membership aria-labelledby="membership-h" {
            h2 #membership-h { (t.text("membership.title")) }
            @match &p.source {
                None => p { (rich(t, "membership.no_file", &[("var", html! { code { "PLANET_OPML" } }), ("assets", html! { code { "assets/" } })])) },
                Some(Err(e)) => p.error { (e) },
                Some(Ok(src)) => p { (rich(t, "membership.source", &[("source", html! { code { (src) } }), ("grace", html! { (grace(t, p.grace_ms)) })])) },
            }
            @if let Some(r) = &p.latest {
                h3 { (t.fill("membership.last_sync", &[("time", &t.human_time(r.at))])) @if r.checked_at != r.at { (t.fill("membership.found_again", &[("time", &t.human_time(r.checked_at))])) } }
                (report(t, r))
            }
            @if let Some(r) = &p.last_ok {
                h3 { (t.fill("membership.last_ok", &[("time", &t.human_time(r.at))])) }
                (report(t, r))
            }
            @if !pending.is_empty() {
                div.pending data-sync="pending" {
                    p { (t.plural("membership.pending", pending.len() as u64, &[("cap", &CAPS.remove.to_string())])) }
                    ul { @for n in pending { li { (member(n)) } } }
                    form.admin method="post" action="/admin/membership/confirm" {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { (t.text("membership.confirm")) }
                    }
                }
            }
            @if !p.leaving.is_empty() {
                details data-sync="leaving" {
                    summary { (t.text("membership.leaving")) " (" (p.leaving.len()) ")" }
                    ul { @for (n, until) in &p.leaving { li { (member(n)) (t.fill("membership.deleted_after", &[("time", &t.human_time(*until))])) } } }
                }
            }
            h3 { (t.text("membership.import")) }
            form.admin method="post" action="/admin/opml" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(csrf);
                label { (t.text("membership.opml_file")) input type="file" name="opml" accept=".opml,.xml,text/x-opml,text/xml,application/xml" required; }
                " " button type="submit" { (t.text("membership.import_button")) }
            }
            @if let Some(lines) = &p.upload {
                table.import {
                    caption { (t.text("membership.import_caption")) }
                    thead { tr { th { (t.text("admin.feed")) } th { (t.text("membership.result")) } } }
                    tbody {
                        @for l in lines {
                            @match l {
                                ImportLine::Added { id, url } => tr data-import="added" {
                                    td { a href=(format!("/feeds/{id}")) { (public_url(url)) } }
                                    td { (t.text("membership.import_added")) }
                                },
                                ImportLine::AlreadyThere { url } => tr data-import="already" {
                                    td { (public_url(url)) } td { (t.text("membership.import_already")) }
                                },
                                ImportLine::Refused { url, reason } => tr data-import="refused" {
                                    td { (public_url(url)) } td { (t.fill("membership.import_refused", &[("reason", reason.as_str())])) }
                                },
                            }
                        }
                    }
                }
            }
        }
    }
}
