//! The admin page's membership section.
//!
//! The membership file (`PLANET_OPML`) and what its last sync did, removals awaiting
//! confirmation, members held for having left, and the OPML upload with its per-feed report.

use maud::{html, Markup};

use crate::core::fetch::{public_text, public_url};
use crate::core::membership::{ImportLine, MembershipPanel, Named, SyncReport, CAPS};
use crate::core::time::human_time;

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

fn report(r: &SyncReport) -> Markup {
    html! {
        @if let Some(e) = &r.error {
            p.error data-sync="error" { "The document could not be read, so nothing was changed: " (public_text(e)) }
        } @else {
            p data-sync="summary" { (r.summary()) "." }
            (members("Added", "added", &r.added))
            (members("Name, face or link updated", "updated", &r.updated))
            (members("Left the file, now held", "left", &r.left))
            (members("Back in the file, resumed", "rejoined", &r.rejoined))
            (members("Deleted after the grace period", "deleted", &r.deleted))
            @if !r.refused.is_empty() {
                details data-sync="refused" open {
                    summary { "Refused (" (r.refused.len()) ")" }
                    ul { @for x in &r.refused { li { (public_url(&x.url)) ": " (x.reason) } } }
                }
            }
        }
        @if !r.errors.is_empty() {
            details data-sync="errors" open {
                summary { "Errors, tried again next run (" (r.errors.len()) ")" }
                ul { @for e in &r.errors { li { (public_text(e)) } } }
            }
        }
    }
}

/// `14 days`, `6 hours`, `90 seconds`: the grace period in its largest whole unit.
fn grace(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s >= 3_600 && s % 3_600 == 0 => format!("{} hours", s / 3_600),
        s if s >= 60 && s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// The membership section of the admin page.
pub fn membership_section(p: &MembershipPanel, csrf: &str) -> Markup {
    let pending: &[Named] = p
        .latest
        .as_ref()
        .filter(|r| r.ok())
        .or(p.last_ok.as_ref())
        .map_or(&[], |r| &r.pending);
    html! {
        section.membership #membership aria-labelledby="membership-h" {
            h2 #membership-h { "Membership" }
            @match &p.source {
                None => p { "No membership file. Set " code { "PLANET_OPML" } " to the URL of an OPML document or a file under "
                            code { "assets/" } " and cron keeps the planet's feeds in step with it." },
                Some(Err(e)) => p.error { (e) },
                Some(Ok(src)) => p { "Members come from " code { (src) } ", synced by cron. A member who leaves it is held, its history kept "
                                     (grace(p.grace_ms)) ", then deleted." },
            }
            @if let Some(r) = &p.latest {
                h3 { "Last sync: " (human_time(r.at)) @if r.checked_at != r.at { " (the same found again " (human_time(r.checked_at)) ")" } }
                (report(r))
            }
            @if let Some(r) = &p.last_ok {
                h3 { "Last successful sync: " (human_time(r.at)) }
                (report(r))
            }
            @if !pending.is_empty() {
                div.pending data-sync="pending" {
                    p { (pending.len()) " members left the file past the " (CAPS.remove)
                        " a sync removes on its own; they stay until you confirm:" }
                    ul { @for n in pending { li { (member(n)) } } }
                    form.admin method="post" action="/admin/membership/confirm" {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Confirm these removals" }
                    }
                }
            }
            @if !p.leaving.is_empty() {
                details data-sync="leaving" {
                    summary { "Held for having left (" (p.leaving.len()) ")" }
                    ul { @for (n, until) in &p.leaving { li { (member(n)) " — deleted after " (human_time(*until)) } } }
                }
            }
            h3 { "Import an OPML file" }
            form.admin method="post" action="/admin/opml" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(csrf);
                label { "OPML file " input type="file" name="opml" accept=".opml,.xml,text/x-opml,text/xml,application/xml" required; }
                " " button type="submit" { "Import" }
            }
            @if let Some(lines) = &p.upload {
                table.import {
                    caption { "What the import did, feed by feed" }
                    thead { tr { th { "Feed" } th { "Result" } } }
                    tbody {
                        @for l in lines {
                            @match l {
                                ImportLine::Added { id, url } => tr data-import="added" {
                                    td { a href=(format!("/feeds/{id}")) { (public_url(url)) } }
                                    td { "added: its first fetch tells whether it is a feed (its health below)" }
                                },
                                ImportLine::AlreadyThere { url } => tr data-import="already" {
                                    td { (public_url(url)) } td { "already there" }
                                },
                                ImportLine::Refused { url, reason } => tr data-import="refused" {
                                    td { (public_url(url)) } td { "refused: " (reason) }
                                },
                            }
                        }
                    }
                }
            }
        }
    }
}
