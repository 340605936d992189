//! The admin pages: a signed session cookie (HttpOnly, SameSite=Strict) after signing in with the admin token, and a CSRF token on every form.

use futures::StreamExt;
use worker::{Env, Request, Response};

use super::pages::html;
use crate::core::feed::discover::FeedLink;
use crate::core::ingest::{FeedFilter, MemberPatch, PlatformTrouble};
use crate::core::membership::ImportLine;
use crate::core::session::{self, COOKIE_NAME};
use crate::core::views;
use crate::edge::auth::{check_token, usable_token};
use crate::edge::error::{AppError, AppResult};
use crate::edge::{env, feeds, membership, store};

/// Admin forms are small: a bigger body is refused while it is read.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The session key, when the admin token may be used for this request (see [`usable_token`]).
fn key(req: &Request, env: &Env) -> AppResult<[u8; 32]> {
    match usable_token(req, env) {
        Ok(t) => Ok(session::key_from_token(&t)),
        Err(AppError::Unauthorized) => Err(AppError::Forbidden(
            "set the ADMIN_TOKEN secret to use the admin pages".into(),
        )),
        Err(e) => Err(e),
    }
}

/// The session cookie value, when it is valid.
fn current_session(req: &Request, key: &[u8; 32]) -> Option<String> {
    let header = req.headers().get("Cookie").ok().flatten()?;
    let value = session::cookie(&header, COOKIE_NAME)?;
    session::verify(key, value, env::now_ms()).then(|| value.to_string())
}

/// A cross-site form post is refused before anything else is read.
fn same_origin(req: &Request) -> AppResult<()> {
    let url = req.url()?;
    let own = url.origin().ascii_serialization();
    match req.headers().get("Origin")? {
        Some(o) if o != own && o != "null" => {
            Err(AppError::Forbidden("cross-site request refused".into()))
        }
        _ => Ok(()),
    }
}

async fn form(req: &mut Request) -> AppResult<Vec<(String, String)>> {
    let body = read_capped(req, MAX_FORM_BYTES).await?;
    Ok(url::form_urlencoded::parse(&body).into_owned().collect())
}

/// The request body, read chunk by chunk and refused (413) as soon as it passes `cap`
/// bytes: a huge or never-ending body is never buffered whole.
async fn read_capped(req: &mut Request, cap: usize) -> AppResult<Vec<u8>> {
    let declared = req
        .headers()
        .get("Content-Length")?
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(AppError::TooLarge);
    }
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let mut stream = req.stream()?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > cap {
            return Err(AppError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn redirect(to: &str, cookie: Option<String>) -> AppResult<Response> {
    let mut resp = Response::empty()?.with_status(303);
    let h = resp.headers_mut();
    h.set("Location", to)?;
    h.set("Cache-Control", "no-store")?;
    if let Some(c) = cookie {
        h.append("Set-Cookie", &c)?;
    }
    Ok(resp)
}

fn cookie_header(req: &Request, value: &str, max_age_s: i64) -> AppResult<String> {
    let secure = if req.url()?.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    Ok(format!(
        "{COOKIE_NAME}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
}

pub async fn page(req: &Request, env: &Env) -> AppResult<Response> {
    let key = key(req, env)?;
    let Some(s) = current_session(req, &key) else {
        let cfg = env::config(env);
        return html(views::admin_login_page(&cfg, None), 200, "no-store");
    };
    let flash: Option<String> = req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == "msg")
        .map(|(_, v)| v.chars().take(300).collect());
    dashboard(env, &key, &s, flash, None, None).await
}

/// The dashboard, with a notice, and with the feeds a page announced to choose from.
async fn dashboard(
    env: &Env,
    key: &[u8; 32],
    session: &str,
    flash: Option<String>,
    choices: Option<(&str, &[FeedLink])>,
    upload: Option<Vec<ImportLine>>,
) -> AppResult<Response> {
    let cfg = env::config(env);
    // When D1 does not answer (a daily limit ran out), the page says so instead of failing.
    let (feeds, flash) = match store::feeds_all_detailed(&env::db(env)?).await {
        Ok(feeds) => (feeds, flash),
        Err(e) => {
            let trouble = PlatformTrouble::of(&e.to_string());
            let note = format!(
                "Degraded: {}. Feeds hold their refreshes and try again {}; nothing is lost.",
                trouble.describe(),
                trouble.when_retried()
            );
            (Vec::new(), Some(note))
        }
    };
    let csrf = session::csrf_token(key, session);
    let members = membership::panel(env, upload).await;
    let page = views::admin_page(&cfg, &feeds, &csrf, flash.as_deref(), choices, &members);
    html(page, 200, "no-store")
}

pub async fn login(mut req: Request, env: &Env) -> AppResult<Response> {
    same_origin(&req)?;
    let cfg = env::config(env);
    let key = key(&req, env)?;
    let f = form(&mut req).await?;
    match check_token(&req, env, Some(field(&f, "token"))).await {
        Ok(()) => {}
        Err(AppError::Unauthorized) => {
            return html(
                views::admin_login_page(&cfg, Some("That token is not right.")),
                401,
                "no-store",
            )
        }
        Err(e) => return Err(e),
    }
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let value = session::issue(&key, env::now_ms(), &nonce);
    redirect(
        "/admin",
        Some(cookie_header(&req, &value, session::SESSION_TTL_MS / 1000)?),
    )
}

/// Checks origin, session and CSRF token, then returns the form.
async fn authorized_form(req: &mut Request, env: &Env) -> AppResult<Vec<(String, String)>> {
    Ok(authorized(req, env).await?.0)
}

/// [`authorized_form`], with the session key and value (to render a page in answer).
async fn authorized(
    req: &mut Request,
    env: &Env,
) -> AppResult<(Vec<(String, String)>, [u8; 32], String)> {
    same_origin(req)?;
    let key = key(req, env)?;
    let s = current_session(req, &key).ok_or(AppError::Unauthorized)?;
    let f = form(req).await?;
    if !session::csrf_ok(&key, &s, field(&f, "csrf")) {
        return Err(AppError::Forbidden(
            "the form's CSRF token is missing or stale; reload the page".into(),
        ));
    }
    Ok((f, key, s))
}

fn back(msg: &str) -> AppResult<Response> {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("msg", msg)
        .finish();
    redirect(&format!("/admin?{q}"), None)
}

pub async fn logout(mut req: Request, env: &Env) -> AppResult<Response> {
    authorized_form(&mut req, env).await?;
    redirect("/admin", Some(cookie_header(&req, "", 0)?))
}

/// Adds a feed, or a site by its page: several feeds found are offered to pick from.
pub async fn add_feed(mut req: Request, env: &Env) -> AppResult<Response> {
    let (f, key, s) = authorized(&mut req, env).await?;
    match feeds::add(env, field(&f, "url"), "admin").await {
        Ok(feeds::Addition::Created(c)) => back(&format!(
            "Added {} with {} entries.",
            c.feed.display_title(),
            c.refresh.new_entries
        )),
        Ok(feeds::Addition::Choose { page, feeds }) => {
            let note = format!("{page} announces {} feeds: pick one.", feeds.len());
            dashboard(env, &key, &s, Some(note), Some((&page, &feeds)), None).await
        }
        Err(e @ (AppError::Unprocessable(_) | AppError::Conflict(_))) => back(&e.to_string()),
        Err(e) => Err(e),
    }
}

/// A comma-separated list as the filter's terms.
fn terms(list: &str) -> Vec<String> {
    list.split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Sets a member's name, face, site link and filter from the edit form (every field
/// sent: an empty one clears it).
pub async fn edit_feed(mut req: Request, env: &Env, id: i64) -> AppResult<Response> {
    let f = authorized_form(&mut req, env).await?;
    let patch = MemberPatch {
        display_name: Some(field(&f, "display_name").into()),
        face_url: Some(field(&f, "face_url").into()),
        home_url: Some(field(&f, "home_url").into()),
        filter: Some(FeedFilter {
            categories: terms(field(&f, "categories")),
            words: terms(field(&f, "words")),
            excerpt_only: !field(&f, "excerpt_only").is_empty(),
        }),
    };
    match feeds::configure(env, id, patch, "admin").await {
        Ok(d) => back(&format!("Saved {}.", d.feed.display_title())),
        Err(e @ (AppError::Unprocessable(_) | AppError::Conflict(_))) => back(&e.to_string()),
        Err(e) => Err(e),
    }
}

/// Pauses a feed by hand, or resumes it.
pub async fn hold_feed(mut req: Request, env: &Env, id: i64, held: bool) -> AppResult<Response> {
    authorized_form(&mut req, env).await?;
    match feeds::hold(env, id, held, "admin").await {
        Ok(d) if held => back(&format!("Paused {} by hand.", d.feed.display_title())),
        Ok(d) => back(&format!("Resumed {}.", d.feed.display_title())),
        Err(e @ AppError::Conflict(_)) => back(&e.to_string()),
        Err(e) => Err(e),
    }
}

pub async fn refresh_feed(mut req: Request, env: &Env, id: i64) -> AppResult<Response> {
    authorized_form(&mut req, env).await?;
    match feeds::refresh(env, id).await {
        Ok(report) => back(&report.summary()),
        Err(e @ AppError::Conflict(_)) => back(&e.to_string()),
        Err(e) => Err(e),
    }
}

pub async fn delete_feed(mut req: Request, env: &Env, id: i64) -> AppResult<Response> {
    authorized_form(&mut req, env).await?;
    feeds::remove(env, id, "admin").await?;
    back("Feed removed.")
}

/// An uploaded OPML file is at most this big (the multipart body, read with the cap).
const MAX_UPLOAD_BYTES: usize = 512 * 1024;

/// Imports an uploaded OPML file (`multipart/form-data`, CSRF-checked, size-capped while
/// read) and shows the dashboard with a line per feed: added, already there, refused and why.
pub async fn import_opml(mut req: Request, env: &Env) -> AppResult<Response> {
    same_origin(&req)?;
    let key = key(&req, env)?;
    let s = current_session(&req, &key).ok_or(AppError::Unauthorized)?;
    let body = read_capped(&mut req, MAX_UPLOAD_BYTES).await?;
    let form = multipart(&req, &body).await?;
    let csrf = match form.get("csrf") {
        Some(worker::FormEntry::Field(v)) => v,
        _ => String::new(),
    };
    if !session::csrf_ok(&key, &s, &csrf) {
        return Err(AppError::Forbidden(
            "the form's CSRF token is missing or stale; reload the page".into(),
        ));
    }
    let text = match form.get("opml") {
        Some(worker::FormEntry::File(f)) => String::from_utf8_lossy(&f.bytes().await?).into_owned(),
        Some(worker::FormEntry::Field(v)) => v,
        None => String::new(),
    };
    match feeds::import_opml(env, &text, "admin").await {
        Ok(imported) => {
            let lines = imported.lines();
            let count = |f: fn(&ImportLine) -> bool| lines.iter().filter(|l| f(l)).count();
            let note = format!(
                "Imported the OPML file: {} added, {} already there, {} refused.",
                count(|l| matches!(l, ImportLine::Added { .. })),
                count(|l| matches!(l, ImportLine::AlreadyThere { .. })),
                count(|l| matches!(l, ImportLine::Refused { .. })),
            );
            dashboard(env, &key, &s, Some(note), None, Some(lines)).await
        }
        Err(AppError::Unprocessable(why)) => back(&format!("Nothing imported: {why}")),
        Err(e) => Err(e),
    }
}

/// A multipart body already read (with its cap) as form data, parsed by the runtime.
async fn multipart(req: &Request, body: &[u8]) -> AppResult<worker::FormData> {
    let content_type = req.headers().get("Content-Type")?.unwrap_or_default();
    if !content_type.starts_with("multipart/form-data") {
        return Err(AppError::BadRequest(
            "send the file as multipart/form-data".into(),
        ));
    }
    let headers = worker::Headers::new();
    headers.set("Content-Type", &content_type)?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_headers(headers)
        .with_body(Some(worker::js_sys::Uint8Array::from(body).into()));
    let mut copy = Request::new_with_init(req.url()?.as_str(), &init)?;
    copy.form_data()
        .await
        .map_err(|e| AppError::BadRequest(format!("not a readable form: {e}")))
}

/// Confirms the removals the last membership sync left pending (past its per-run cap).
pub async fn confirm_removals(mut req: Request, env: &Env) -> AppResult<Response> {
    authorized_form(&mut req, env).await?;
    let n = membership::confirm(env, "admin").await?;
    back(&format!(
        "Confirmed {n} removals: those members are held now, and deleted after the grace period."
    ))
}
