//! Feed lifecycle, for handlers and cron alike.
//!
//! Add (a feed, or a site's page and its announced feeds), set a member's name, face, link
//! and filter, hold and resume, remove, refresh, import, and the watchdog over due feeds.

use serde::Serialize;
use worker::Env;

use crate::core::domain::{FeedStatus, Member};
use crate::core::feed::discover::{self, FeedLink};
use crate::core::fetch::{check_url, FetchOutcome};
use crate::core::ingest::{self, Change, MemberPatch, RefreshOutcome, RefreshReport};
use crate::core::view_models::{FeedDetail, FeedView};
use crate::edge::error::{AppError, AppResult};
use crate::edge::fetcher::{fetch_feed, FetchRequest};
use crate::edge::{d1, env, objects::rpc};

/// At most this many feeds in one OPML import.
pub const MAX_OPML_FEEDS: usize = 200;
/// Feeds cron's watchdog looks at per run at most: with its two D1 queries, well inside
/// the 50 subrequests of one invocation; a backlog (a big import) drains over a few runs.
const WATCHDOG_PER_RUN: u32 = 40;
/// Feeds of an OPML import that start fetching at once; the watchdog adopts the rest.
const ADOPT_IN_IMPORT: usize = 20;

#[derive(Serialize)]
pub struct Created {
    pub feed: FeedView,
    pub refresh: RefreshReport,
}

/// What adding a URL came to.
pub enum Addition {
    /// Subscribed (the URL's own feed, or the one feed its page announces).
    Created(Created),
    /// The URL is a web page announcing several feeds: the caller picks one.
    Choose { page: String, feeds: Vec<FeedLink> },
}

/// Adds a feed: validated by a real fetch and parse before it is kept. A web page (a
/// blog's home page) is read for the feeds it announces: one is subscribed, several are
/// offered to choose from (see [`discover`]).
pub async fn add(env: &Env, url: &str, actor: &str) -> AppResult<Addition> {
    match subscribe(env, url, actor).await? {
        Ok(created) => Ok(Addition::Created(created)),
        Err(page) => discover(env, &page, actor).await,
    }
}

/// Subscribes one URL, or says it is an HTML page (`Err(url)`, nothing kept).
async fn subscribe(env: &Env, url: &str, actor: &str) -> AppResult<Result<Created, String>> {
    let cfg = env::config(env);
    let url = check_url(url, cfg.allow_private_feeds)
        .map_err(|e| AppError::Unprocessable(e.to_string()))?
        .to_string();
    let db = env::db(env)?;
    let already = || AppError::Conflict(format!("{url} is already subscribed"));
    if d1::feed_by_url(&db, &url).await?.is_some() {
        return Err(already());
    }
    let now = env::now_ms();
    let id = d1::feed_create(&db, &url, now).await?.ok_or_else(already)?;
    let report = rpc::feed_init(env, id, &url).await?;
    if !report.outcome.found_a_feed() {
        // Not a feed we can read: forget it entirely and say why.
        if let Err(e) = rpc::feed_delete(env, id).await {
            worker::console_warn!("feed {id}: forgetting its object failed: {e}");
        }
        d1::feed_forget(&db, id).await?;
        if report.html_page {
            return Ok(Err(url));
        }
        let why = report
            .error
            .unwrap_or_else(|| "the feed could not be read".into());
        return Err(AppError::Unprocessable(format!("{url}: {why}")));
    }
    d1::audit_record(&db, now, actor, "feed.create", Some(id), Some(&url)).await?;
    let feed = d1::feed_by_id(&db, id)
        .await?
        .ok_or_else(|| AppError::Internal(format!("feed {id} vanished after insert")))?;
    Ok(Ok(Created {
        feed,
        refresh: report,
    }))
}

/// The feeds a web page announces (`<link rel="alternate">` of RSS, Atom, JSON Feed),
/// else the first of the common paths (`/feed`, `/rss.xml`, … relative to the page) that
/// answers with a feed. Every fetch goes through the fetcher's SSRF guard; at most one
/// for the page and [`discover::COMMON_PATHS`] probes (in parallel), then the first fetch
/// of the feed chosen. One feed found is subscribed; several are offered.
async fn discover(env: &Env, page: &str, actor: &str) -> AppResult<Addition> {
    let cfg = &env::config(env);
    let fetch = |url: String| async move {
        let req = FetchRequest::unconditional(&url, cfg, env::now_ms());
        fetch_feed(&req).await.outcome
    };
    let FetchOutcome::Fetched {
        body, final_url, ..
    } = fetch(page.to_string()).await
    else {
        return Err(AppError::Unprocessable(format!(
            "{page} is a web page, not a feed, and reading it again for its feeds failed"
        )));
    };
    let base = url::Url::parse(&final_url)
        .map_err(|e| AppError::Unprocessable(format!("{final_url}: {e}")))?;
    let allowed = |u: &str| check_url(u, cfg.allow_private_feeds).is_ok();
    let mut links = discover::feed_links(&String::from_utf8_lossy(&body), &base);
    links.retain(|l| allowed(&l.url));
    if links.len() > 1 {
        return Ok(Addition::Choose {
            page: page.to_string(),
            feeds: links,
        });
    }
    let found = match links.pop() {
        Some(one) => Some(one.url),
        None => {
            let urls: Vec<String> = discover::common_urls(&base)
                .into_iter()
                .filter(|u| allowed(u))
                .collect();
            let probes = futures::future::join_all(urls.iter().cloned().map(fetch)).await;
            urls.into_iter().zip(probes).find_map(|(u, f)| match f {
                FetchOutcome::Fetched { body, .. } if discover::looks_like_feed(&body) => Some(u),
                _ => None,
            })
        }
    };
    let Some(feed) = found else {
        return Err(AppError::Unprocessable(format!(
            "{page} is a web page that announces no feed (no <link rel=\"alternate\"> of RSS, \
             Atom or JSON Feed type), and none of its common feed paths ({}) answered with one",
            discover::COMMON_PATHS.join(", ")
        )));
    };
    match subscribe(env, &feed, actor).await? {
        Ok(created) => Ok(Addition::Created(created)),
        Err(_) => Err(AppError::Unprocessable(format!(
            "{page} announces {feed}, but that is a web page too, not a feed"
        ))),
    }
}

/// A feed with its filter, or a 404.
pub async fn detail(env: &Env, id: i64) -> AppResult<FeedDetail> {
    d1::feed_detail_by_id(&env::db(env)?, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no feed {id}")))
}

/// Sets a member's name, face, site link or filter (D1 first, then the feed's object,
/// whose live frames and ingest use them).
pub async fn configure(
    env: &Env,
    id: i64,
    patch: MemberPatch,
    actor: &str,
) -> AppResult<FeedDetail> {
    let before = detail(env, id).await?;
    let member: Member = patch
        .apply(before.member())
        .map_err(|e| AppError::Unprocessable(e.to_string()))?;
    let db = env::db(env)?;
    d1::feed_set_member(&db, id, &member, (actor, env::now_ms())).await?;
    let change = Change::Settings {
        settings: member.settings(),
    };
    rpc::feed_change(env, id, change).await?;
    detail(env, id).await
}

/// Pauses a feed by hand (`hold`) or resumes it: its object first (which refuses while a
/// refresh runs), then D1's row. A resumed feed fetches at once.
pub async fn hold(env: &Env, id: i64, held: bool, actor: &str) -> AppResult<FeedDetail> {
    detail(env, id).await?;
    let change = if held { Change::Hold } else { Change::Resume };
    let changed = rpc::feed_change(env, id, change).await?;
    if changed.status_changed {
        let db = env::db(env)?;
        d1::feed_set_status(&db, id, &changed, (actor, env::now_ms())).await?;
    }
    detail(env, id).await
}

/// Removes a feed, its object's state and its entries.
pub async fn remove(env: &Env, id: i64, actor: &str) -> AppResult<()> {
    let db = env::db(env)?;
    let feed = existing(&db, id).await?;
    rpc::feed_delete(env, id).await?;
    Ok(d1::feed_delete(&db, id, &feed.url, actor, env::now_ms()).await?)
}

/// Fetches a feed now (also one that is paused or gone: the admin's retry), and records
/// who asked; a feed held by hand is not fetched (409: resume it first).
pub async fn refresh(env: &Env, id: i64, actor: &str) -> AppResult<RefreshReport> {
    let db = env::db(env)?;
    existing(&db, id).await?;
    let report = rpc::feed_refresh(env, id).await?;
    if report.status == FeedStatus::Held && report.outcome == RefreshOutcome::Skipped {
        let why = report.error.unwrap_or_default();
        return Err(AppError::Conflict(why));
    }
    // After the fact: the fetch happened whether or not this record is written.
    let (summary, now) = (report.summary(), env::now_ms());
    let detail = Some(summary.as_str());
    if let Err(e) = d1::audit_record(&db, now, actor, "feed.refresh", Some(id), detail).await {
        worker::console_error!("audit: refresh of feed {id} by {actor} not recorded: {e}");
    }
    Ok(report)
}

async fn existing(db: &worker::D1Database, id: i64) -> AppResult<FeedView> {
    d1::feed_by_id(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no feed {id}")))
}

/// One URL of an import that was not added, and why.
#[derive(Serialize)]
pub struct Skipped {
    pub url: String,
    pub reason: String,
    /// Skipped because it is already subscribed (not refused).
    #[serde(skip)]
    pub already: bool,
}

#[derive(Serialize)]
pub struct Imported {
    pub added: Vec<Added>,
    pub skipped: Vec<Skipped>,
}

impl Imported {
    /// The report feed by feed, as the admin page shows it.
    pub fn lines(&self) -> Vec<crate::core::membership::ImportLine> {
        use crate::core::membership::ImportLine;
        let added = self.added.iter().map(|a| ImportLine::Added {
            id: a.id,
            url: a.url.clone(),
        });
        let skipped = self.skipped.iter().map(|s| match s.already {
            true => ImportLine::AlreadyThere { url: s.url.clone() },
            false => ImportLine::Refused {
                url: s.url.clone(),
                reason: s.reason.clone(),
            },
        });
        added.chain(skipped).collect()
    }
}

#[derive(Serialize)]
pub struct Added {
    pub id: i64,
    pub url: String,
}

/// Imports an OPML subscription list: every new, allowed URL becomes a feed row in one
/// D1 batch, overdue at once; cron's watchdog adopts them a few per run, and each then
/// fetches on its own alarm (no call per feed here: one invocation has 50 subrequests).
///
/// Each outline's `title` (else `text`) becomes the member's display name, its face
/// attribute (`core::syndication::FACE_ATTRIBUTES`) the face and `htmlUrl` the site link;
/// a face or link that is not an absolute http(s) URL (a Venus face file name) is left
/// out, the feed still added. Feeds already subscribed are left as they are.
pub async fn import_opml(env: &Env, opml: &str, actor: &str) -> AppResult<Imported> {
    let outlines = crate::core::syndication::parse_opml(opml)
        .map_err(|e| AppError::Unprocessable(e.to_string()))?;
    if outlines.len() > MAX_OPML_FEEDS {
        return Err(AppError::Unprocessable(format!(
            "{} feeds in one import; at most {MAX_OPML_FEEDS}",
            outlines.len()
        )));
    }
    let cfg = env::config(env);
    let mut out = Imported {
        added: Vec::new(),
        skipped: Vec::new(),
    };
    let mut allowed: Vec<(String, Member)> = Vec::new();
    for o in outlines {
        match check_url(&o.url, cfg.allow_private_feeds) {
            Ok(u) if !allowed.iter().any(|(a, _)| *a == u.as_str()) => {
                let member = crate::core::membership::member_of(&o);
                allowed.push((u.to_string(), member));
            }
            Ok(u) => out.skipped.push(Skipped {
                url: u.to_string(),
                reason: "listed twice".into(),
                already: false,
            }),
            Err(e) => out.skipped.push(Skipped {
                url: o.url,
                reason: e.to_string(),
                already: false,
            }),
        }
    }
    let db = env::db(env)?;
    let now = env::now_ms();
    let ids = d1::feeds_create(&db, &allowed, now).await?;
    let mut settings = std::collections::HashMap::new();
    for ((url, member), id) in allowed.into_iter().zip(ids) {
        if let Some(id) = id {
            settings.insert(id, member.settings());
        }
        match id {
            Some(id) => out.added.push(Added { id, url }),
            None => out.skipped.push(Skipped {
                url,
                reason: "already subscribed".into(),
                already: true,
            }),
        }
    }
    // The first few start fetching now; the watchdog adopts the rest.
    let first: Vec<(i64, &str, ingest::FeedSettings)> = out
        .added
        .iter()
        .take(ADOPT_IN_IMPORT)
        .map(|a| {
            (
                a.id,
                a.url.as_str(),
                settings.remove(&a.id).unwrap_or_default(),
            )
        })
        .collect();
    adopt(env, &db, &first).await?;
    let detail = format!("{} added", out.added.len());
    d1::audit_record(&db, now, actor, "opml.import", None, Some(&detail)).await?;
    Ok(out)
}

/// Asks these feeds' objects to adopt themselves or re-arm (in parallel), then writes
/// the deadlines they report to D1 in one batch.
async fn adopt(
    env: &Env,
    db: &worker::D1Database,
    feeds: &[(i64, &str, ingest::FeedSettings)],
) -> AppResult<()> {
    let calls = feeds
        .iter()
        .map(|(id, url, settings)| rpc::feed_ensure(env, *id, url, settings.clone()));
    let mut deadlines = Vec::new();
    for ((id, _, _), r) in feeds.iter().zip(futures::future::join_all(calls).await) {
        match r {
            Ok(ensured) => deadlines.push((*id, ensured.overdue_at)),
            Err(e) => worker::console_error!("watchdog: feed {id}: {e}"),
        }
    }
    Ok(d1::feeds_set_overdue(db, &deadlines).await?)
}

/// Cron's watchdog: the feeds past their D1 deadline (a few per run, so one cron
/// invocation stays inside its subrequest budget) are asked to adopt themselves or
/// re-arm their alarm, and their new deadlines are written in one batch.
///
/// At most `limit` feeds (and never more than its own per-run bound): cron gives it what
/// the membership sync left of the invocation's subrequests.
pub async fn ensure_due(env: &Env, now: i64, limit: usize) -> AppResult<usize> {
    let limit = (limit as u32).min(WATCHDOG_PER_RUN);
    if limit == 0 {
        return Ok(0);
    }
    let db = env::db(env)?;
    let due = d1::feeds_overdue(&db, now, limit).await?;
    let feeds: Vec<_> = due
        .iter()
        .map(|f| (f.id, f.url.as_str(), f.settings()))
        .collect();
    adopt(env, &db, &feeds).await?;
    Ok(due.len())
}
