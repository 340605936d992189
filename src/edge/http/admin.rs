//! The admin pages, behind a signed session and CSRF tokens.
//!
//! The session cookie (HttpOnly, SameSite=Strict) follows a sign-in with the admin token or
//! through Cloudflare Access (the session then names the person); every form carries a CSRF
//! token; the audit log is shown here.

use worker::{Env, Request, Response};

use super::pages::html;
use super::signin;
use super::{query_i64, read_capped};
use crate::core::audit::{AuditPage, AUDIT_PAGE_SIZE};
use crate::core::auth::admins::{removable, AdminRule, MAX_ADMINS};
use crate::core::auth::session::{self, COOKIE_NAME};
use crate::core::domain::FeedFilter;
use crate::core::feed::discover::FeedLink;
use crate::core::ingest::{MemberPatch, PlatformTrouble};
use crate::core::membership::ImportLine;
use crate::core::view_models::FeedHealthRow;
use crate::core::views;
use crate::edge::auth::{access_identity, check_token, usable_token};
use crate::edge::error::{AppError, AppResult};
use crate::edge::objects::rpc;
use crate::edge::{d1, env, jobs::lifecycle, jobs::membership_sync, jobs::refresh_all};

/// Admin forms are small: a bigger body is refused while it is read.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The session key, when the admin token may be used for this request (see [`usable_token`]).
pub(super) fn key(req: &Request, env: &Env) -> AppResult<[u8; 32]> {
    match usable_token(req, env) {
        Ok(t) => Ok(session::key_from_token(&t)),
        Err(AppError::Unauthorized) => Err(AppError::Forbidden(
            "set the ADMIN_TOKEN secret to use the admin pages".into(),
        )),
        Err(e) => Err(e),
    }
}

/// The session cookie value and who it names, when it is valid: signed with this key,
/// unexpired, and issued after its person last signed out (one D1 row, read only for a
/// value whose signature holds: a forged cookie costs nothing), and, for a named admin, while
/// the admin list still names them.
async fn current_session(
    req: &Request,
    env: &Env,
    key: &[u8; 32],
) -> AppResult<Option<(String, String)>> {
    let Some(header) = req.headers().get("Cookie").ok().flatten() else {
        return Ok(None);
    };
    let Some(value) = session::cookie(&header, COOKIE_NAME) else {
        return Ok(None);
    };
    let Some(holder) = session::holder(key, value, env::now_ms()) else {
        return Ok(None);
    };
    // One query: the person's last sign-out and, for a named admin, whether the row of the
    // admin list that let them in is still there (removing it ends the session at once).
    let (revoked_before, listed) =
        d1::session_standing(&env::db(env)?, &holder.actor, holder.admin).await?;
    let good = listed && session::not_revoked(value, revoked_before);
    Ok(good.then(|| (value.to_string(), holder.actor)))
}

/// A signed-in admin: the session key and value, who it is (the audit log's actor), and
/// the cookie to set when the session was just made (a Cloudflare Access sign-in).
struct Signed {
    key: [u8; 32],
    session: String,
    actor: String,
    set_cookie: Option<String>,
}

/// The admin behind a page request: a valid session, else a verified Cloudflare Access
/// assertion (a new session naming the person is made and the sign-in recorded), else
/// nobody. An assertion that does not verify is a 403 saying why.
async fn signed_in(req: &Request, env: &Env) -> AppResult<Option<Signed>> {
    let key = key(req, env)?;
    if let Some((session, actor)) = current_session(req, env, &key).await? {
        return Ok(Some(Signed {
            key,
            session,
            actor,
            set_cookie: None,
        }));
    }
    let Some(email) = access_identity(req, env).await? else {
        return Ok(None);
    };
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let now = env::now_ms();
    let value = session::issue_named(&key, now, &nonce, &email);
    record_session(env, now, &email, "session.start", Some("Cloudflare Access")).await;
    let cookie = cookie_header(req, &value, session::SESSION_TTL_MS / 1000)?;
    Ok(Some(Signed {
        key,
        session: value,
        actor: email,
        set_cookie: Some(cookie),
    }))
}

/// A cross-site form post is refused before anything else is read. `Origin: null` (a
/// sandboxed frame, a `data:` page) is refused too: the admin pages' own
/// `strict-origin-when-cross-origin` policy makes a browser send their real origin.
fn same_origin(req: &Request) -> AppResult<()> {
    let url = req.url()?;
    let own = url.origin().ascii_serialization();
    match req.headers().get("Origin")? {
        Some(o) if o != own => Err(AppError::Forbidden("cross-site request refused".into())),
        _ => Ok(()),
    }
}

async fn form(req: &mut Request) -> AppResult<Vec<(String, String)>> {
    let body = read_capped(req, MAX_FORM_BYTES).await?;
    Ok(url::form_urlencoded::parse(&body).into_owned().collect())
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

/// The session cookie for a new session (twelve hours).
pub(super) fn session_cookie(req: &Request, value: &str) -> AppResult<String> {
    cookie_header(req, value, session::SESSION_TTL_MS / 1000)
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
    let Some(s) = signed_in(req, env).await? else {
        return signin::signin_page(env, None, 200);
    };
    let flash: Option<String> = req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == "msg")
        .map(|(_, v)| v.chars().take(300).collect());
    let resp = dashboard(env, &s.key, &s.session, flash, None, None).await?;
    with_cookie(resp, s.set_cookie)
}

/// Records a sign-in or sign-out. Best effort: when D1 does not answer (a daily limit ran
/// out) the admin still gets in, to see the dashboard say so.
pub(super) async fn record_session(
    env: &Env,
    now: i64,
    actor: &str,
    action: &str,
    detail: Option<&str>,
) {
    let recorded = match env::db(env) {
        Ok(db) => d1::audit_record(&db, now, actor, action, None, detail).await,
        Err(e) => Err(e),
    };
    if let Err(e) = recorded {
        worker::console_error!("audit: {action} by {actor} not recorded: {e}");
    }
}

fn with_cookie(mut resp: Response, cookie: Option<String>) -> AppResult<Response> {
    if let Some(c) = cookie {
        resp.headers_mut().append("Set-Cookie", &c)?;
    }
    Ok(resp)
}

/// `/admin/audit`: who did what to which feed and when, newest first, paged with
/// `?before=<id>`.
pub async fn audit(req: &Request, env: &Env) -> AppResult<Response> {
    let cfg = env::config(env);
    let Some(s) = signed_in(req, env).await? else {
        return signin::signin_page(env, None, 200);
    };
    let before = query_i64(req, "before")?;
    let mut entries = d1::audit_page(&env::db(env)?, before, AUDIT_PAGE_SIZE + 1).await?;
    let older = (entries.len() > AUDIT_PAGE_SIZE as usize).then(|| {
        entries.truncate(AUDIT_PAGE_SIZE as usize);
        entries.last().map(|e| e.id)
    });
    let page = AuditPage {
        entries: &entries,
        older: older.flatten(),
        viewer: &s.actor,
    };
    let resp = html(views::admin_audit_page(&cfg, &page), 200, "no-store")?;
    with_cookie(resp, s.set_cookie)
}

/// `/admin/health`: a page of feeds (`?page=`, from 1) by severity, with what their objects
/// know now (last and next fetch), asked all at once; nothing is written to read them.
/// At most `HEALTH_PAGE_SIZE` object calls beside the session and page queries.
pub async fn health(req: &Request, env: &Env) -> AppResult<Response> {
    let cfg = env::config(env);
    let Some(s) = signed_in(req, env).await? else {
        return signin::signin_page(env, None, 200);
    };
    let page = query_i64(req, "page")?.unwrap_or(1);
    let page = u32::try_from(page.clamp(1, i64::from(views::HEALTH_MAX_PAGE))).unwrap_or(1);
    let size = views::HEALTH_PAGE_SIZE;
    let offset = (page - 1) * size;
    let mut feeds = d1::feeds_health_page(&env::db(env)?, offset, size + 1).await?;
    let more = feeds.len() > size as usize;
    feeds.truncate(size as usize);
    let ids: Vec<i64> = feeds.iter().map(|f| f.id).collect();
    let answers = rpc::feeds_describe(env, &ids).await;
    let rows: Vec<FeedHealthRow> = feeds
        .into_iter()
        .zip(answers)
        .map(|(feed, object)| FeedHealthRow { feed, object })
        .collect();
    let csrf = session::csrf_token(&s.key, &s.session);
    let view = views::HealthPage {
        rows: &rows,
        page,
        more,
        csrf: &csrf,
    };
    let resp = html(views::admin_health_page(&cfg, &view), 200, "no-store")?;
    with_cookie(resp, s.set_cookie)
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
    let (feeds, flash) = match d1::feeds_all_detailed(&env::db(env)?).await {
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
    let members = membership_sync::panel(env, upload).await;
    let applied = d1::schema_applied(&env::db(env)?).await.ok().flatten();
    let deployment = env::deployment(env, applied);
    let round = refresh_all::latest(env).await.ok().flatten();
    let admins = match signin::admin_list(env).await {
        Ok((rows, problems)) => Some(views::admins_section(
            env::lang(env),
            &rows,
            &problems,
            &csrf,
        )),
        Err(e) => {
            worker::console_error!("admins: the list could not be read: {e}");
            None
        }
    };
    let panels = views::Panels {
        membership: &members,
        deployment: &deployment,
        refresh: round.as_ref(),
        admins,
    };
    let page = views::admin_page(&cfg, &feeds, &csrf, flash.as_deref(), choices, &panels);
    html(page, 200, "no-store")
}

pub async fn login(mut req: Request, env: &Env) -> AppResult<Response> {
    same_origin(&req)?;
    let key = key(&req, env)?;
    let f = form(&mut req).await?;
    match check_token(&req, env, Some(field(&f, "token"))).await {
        Ok(()) => {}
        Err(AppError::Unauthorized) => {
            let cfg = env::config(env);
            let wrong = cfg.tr().text("admin.wrong_token");
            return signin::signin_page(env, Some(wrong), 401);
        }
        Err(e) => return Err(e),
    }
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let now = env::now_ms();
    let value = session::issue(&key, now, &nonce);
    let actor = session::TOKEN_ACTOR;
    record_session(env, now, actor, "session.start", Some("admin token")).await;
    redirect(
        "/admin",
        Some(cookie_header(&req, &value, session::SESSION_TTL_MS / 1000)?),
    )
}

/// Checks origin, session and CSRF token, then returns the form and who sent it.
async fn authorized_form(
    req: &mut Request,
    env: &Env,
) -> AppResult<(Vec<(String, String)>, String)> {
    let (f, s) = authorized(req, env).await?;
    Ok((f, s.actor))
}

/// [`authorized_form`], with the whole session (to render a page in answer).
async fn authorized(req: &mut Request, env: &Env) -> AppResult<(Vec<(String, String)>, Signed)> {
    same_origin(req)?;
    let key = key(req, env)?;
    let (session, actor) = current_session(req, env, &key)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let f = form(req).await?;
    if !session::csrf_ok(&key, &session, field(&f, "csrf")) {
        return Err(AppError::Forbidden(
            "the form's CSRF token is missing or stale; reload the page".into(),
        ));
    }
    let signed = Signed {
        key,
        session,
        actor,
        set_cookie: None,
    };
    Ok((f, signed))
}

fn back(msg: &str) -> AppResult<Response> {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("msg", msg)
        .finish();
    redirect(&format!("/admin?{q}"), None)
}

pub async fn logout(mut req: Request, env: &Env) -> AppResult<Response> {
    let (_, actor) = authorized_form(&mut req, env).await?;
    let now = env::now_ms();
    // Signing out revokes: this session and every other of this person, on every device.
    d1::session_revoke(&env::db(env)?, &actor, now).await?;
    record_session(env, now, &actor, "session.end", None).await;
    // Every cookie of ours goes: the session and a sign-in's state cookie, if one is left.
    let mut resp = redirect("/admin", Some(cookie_header(&req, "", 0)?))?;
    resp.headers_mut()
        .append("Set-Cookie", &signin::clear_state_cookie(&req)?)?;
    Ok(resp)
}

/// Adds a rule to the admin list (`github:<id or login>`, an email, `*@domain`,
/// `github-org:<name>`), audited by the admin who did.
pub async fn add_admin(mut req: Request, env: &Env) -> AppResult<Response> {
    let (f, actor) = authorized_form(&mut req, env).await?;
    let rule = match AdminRule::parse(field(&f, "rule")) {
        Ok(r) => r,
        Err(why) => {
            let why = why.to_string();
            return back(&env::lang(env).fill("flash.admin_not_added", &[("why", &why)]));
        }
    };
    let (rows, _) = signin::admin_list(env).await?;
    if rows.len() >= MAX_ADMINS {
        let why = env::lang(env).fill("flash.admin_list_full", &[("n", &MAX_ADMINS.to_string())]);
        return back(&env::lang(env).fill("flash.admin_not_added", &[("why", &why)]));
    }
    let db = env::db(env)?;
    if d1::admin_add(&db, &rule, &actor, env::now_ms()).await? {
        back(&env::lang(env).fill("flash.admin_added", &[("rule", &rule.text())]))
    } else {
        back(&env::lang(env).fill("flash.admin_already", &[("rule", &rule.text())]))
    }
}

/// Removes a row of the admin list an admin added (not one `ADMINS` seeded, nor the last):
/// the sessions it let in end at once.
pub async fn remove_admin(mut req: Request, env: &Env, id: i64) -> AppResult<Response> {
    let (_, actor) = authorized_form(&mut req, env).await?;
    let (rows, _) = signin::admin_list(env).await?;
    let Some(row) = rows.iter().find(|r| r.id == id) else {
        return back(env::lang(env).text("flash.admin_gone"));
    };
    if let Err(why) = removable(row, &rows) {
        let why = why.to_string();
        return back(&env::lang(env).fill("flash.admin_not_removed", &[("why", &why)]));
    }
    d1::admin_remove(&env::db(env)?, id, &actor, env::now_ms()).await?;
    back(&env::lang(env).fill("flash.admin_removed", &[("rule", &row.rule.text())]))
}

/// Adds a feed, or a site by its page: several feeds found are offered to pick from.
pub async fn add_feed(mut req: Request, env: &Env) -> AppResult<Response> {
    let (f, s) = authorized(&mut req, env).await?;
    match lifecycle::add(env, field(&f, "url"), &s.actor).await {
        Ok(lifecycle::Addition::Created(c)) => back(&env::lang(env).plural(
            "flash.added",
            c.refresh.new_entries as u64,
            &[("feed", &c.feed.display_title())],
        )),
        Ok(lifecycle::Addition::Choose { page, feeds }) => {
            let note =
                env::lang(env).plural("flash.choose", feeds.len() as u64, &[("page", &page)]);
            let choices = Some((page.as_str(), feeds.as_slice()));
            dashboard(env, &s.key, &s.session, Some(note), choices, None).await
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
    let (f, actor) = authorized_form(&mut req, env).await?;
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
    match lifecycle::configure(env, id, patch, &actor).await {
        Ok(d) => back(&env::lang(env).fill("flash.saved", &[("feed", &d.feed.display_title())])),
        Err(e @ (AppError::Unprocessable(_) | AppError::Conflict(_))) => back(&e.to_string()),
        Err(e) => Err(e),
    }
}

/// Pauses a feed by hand, or resumes it.
pub async fn hold_feed(mut req: Request, env: &Env, id: i64, held: bool) -> AppResult<Response> {
    let (_, actor) = authorized_form(&mut req, env).await?;
    match lifecycle::hold(env, id, held, &actor).await {
        Ok(d) if held => {
            back(&env::lang(env).fill("flash.paused", &[("feed", &d.feed.display_title())]))
        }
        Ok(d) => back(&env::lang(env).fill("flash.resumed", &[("feed", &d.feed.display_title())])),
        Err(e @ AppError::Conflict(_)) => back(&e.to_string()),
        Err(e) => Err(e),
    }
}

pub async fn refresh_feed(mut req: Request, env: &Env, id: i64) -> AppResult<Response> {
    let (_, actor) = authorized_form(&mut req, env).await?;
    match lifecycle::refresh(env, id, &actor).await {
        Ok(report) => back(&report.summary()),
        Err(e @ AppError::Conflict(_)) => back(&e.to_string()),
        Err(e) => Err(e),
    }
}

pub async fn delete_feed(mut req: Request, env: &Env, id: i64) -> AppResult<Response> {
    let (_, actor) = authorized_form(&mut req, env).await?;
    lifecycle::remove(env, id, &actor).await?;
    back(env::lang(env).text("flash.removed"))
}

/// An uploaded OPML file is at most this big (the multipart body, read with the cap).
const MAX_UPLOAD_BYTES: usize = 512 * 1024;

/// Imports an uploaded OPML file (`multipart/form-data`, CSRF-checked, size-capped while
/// read) and shows the dashboard with a line per feed: added, already there, refused and why.
pub async fn import_opml(mut req: Request, env: &Env) -> AppResult<Response> {
    same_origin(&req)?;
    let key = key(&req, env)?;
    let (s, actor) = current_session(&req, env, &key)
        .await?
        .ok_or(AppError::Unauthorized)?;
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
    match lifecycle::import_opml(env, &text, &actor).await {
        Ok(imported) => {
            let lines = imported.lines();
            let count = |f: fn(&ImportLine) -> bool| lines.iter().filter(|l| f(l)).count();
            let n = |c: usize| c.to_string();
            let note = env::lang(env).fill(
                "flash.imported",
                &[
                    (
                        "added",
                        &n(count(|l| matches!(l, ImportLine::Added { .. }))),
                    ),
                    (
                        "already",
                        &n(count(|l| matches!(l, ImportLine::AlreadyThere { .. }))),
                    ),
                    (
                        "refused",
                        &n(count(|l| matches!(l, ImportLine::Refused { .. }))),
                    ),
                ],
            );
            dashboard(env, &key, &s, Some(note), None, Some(lines)).await
        }
        Err(AppError::Unprocessable(why)) => {
            back(&env::lang(env).fill("flash.nothing_imported", &[("why", &why)]))
        }
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
    let (_, actor) = authorized_form(&mut req, env).await?;
    let n = membership_sync::confirm(env, &actor).await?;
    back(&env::lang(env).plural("flash.confirmed", n as u64, &[]))
}

/// Starts refreshing every active feed: the first batch now, the rest a batch per cron run
/// (the dashboard shows how far it is); a second start while one runs starts nothing.
pub async fn refresh_all(mut req: Request, env: &Env) -> AppResult<Response> {
    let (_, actor) = authorized_form(&mut req, env).await?;
    match refresh_all::start(env, &actor).await? {
        refresh_all::Asked::Started(round) => back(&views::round_progress(env::lang(env), &round)),
        refresh_all::Asked::Running(round) => back(&env::lang(env).fill(
            "flash.already_running",
            &[("progress", &views::round_progress(env::lang(env), &round))],
        )),
    }
}
