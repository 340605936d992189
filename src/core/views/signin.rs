//! Signing in as yourself: the signed-out `/admin` page (the providers first, the admin
//! token after), the page a provider's callback answers with, and the admin list.
//!
//! Every word is the catalogs' (`[signin]` in `locales/*.toml`).

use maud::{html, Markup};

use super::admin::admin_layout;
use super::rich;
use crate::core::auth::admins::{Admin, Source};
use crate::core::config::Config;
use crate::core::i18n::Tr;
use crate::core::time::iso_time;

/// The ways to sign in this planet offers: GitHub, and the OpenID Connect provider's name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInOptions {
    pub github: bool,
    pub oidc: Option<String>,
}

/// The signed-out `/admin`: "Sign in with GitHub" and "Sign in with <provider>" first, then
/// the admin token for operators.
pub fn signin_page(cfg: &Config, options: &SignInOptions, error: Option<&str>) -> Markup {
    let t = cfg.tr();
    let any = options.github || options.oidc.is_some();
    admin_layout(
        cfg,
        html! {
            @if let Some(e) = error { p.error role="alert" { (e) } }
            @if any {
                section.signin aria-labelledby="signin-heading" {
                    h2 #signin-heading { (t.text("signin.heading")) }
                    p { (t.fill("signin.intro", &[("planet", &cfg.planet_name)])) }
                    ul.signin-providers {
                        @if options.github {
                            li { a.signin-button href="/auth/github" data-provider="github" { (t.fill("signin.with", &[("provider", "GitHub")])) } }
                        }
                        @if let Some(name) = &options.oidc {
                            li { a.signin-button href="/auth/oidc" data-provider="oidc" { (t.fill("signin.with", &[("provider", name)])) } }
                        }
                    }
                }
            }
            section.signin-token aria-labelledby="token-heading" {
                @if any {
                    h2 #token-heading { (t.text("signin.or_token")) }
                    p { small { (t.text("signin.token_note")) } }
                } @else {
                    h2 #token-heading { (t.text("signin.with_token")) }
                }
                form.admin method="post" action="/admin/login" {
                    label { (t.text("admin.token")) input type="password" name="token" autocomplete="current-password" required; }
                    " " button type="submit" { (t.text("admin.sign_in")) }
                }
            }
        },
    )
}

/// What a sign-in through a provider came to.
pub enum SignInOutcome<'a> {
    /// Signed in: the page moves on to `/admin` (the session cookie is `SameSite=Strict`,
    /// so it must be a same-site navigation from this page, not the provider's redirect).
    Welcome { who: &'a str },
    /// Not an admin of this planet, or the email is not verified.
    Refused { who: &'a str, why: &'a str },
    /// Bad or broken input: what went wrong, in words.
    Failed { why: &'a str },
}

/// The page the callback answers with (200 on success, else the error's status).
pub fn signin_result_page(cfg: &Config, outcome: &SignInOutcome) -> Markup {
    let t = cfg.tr();
    let body = match outcome {
        SignInOutcome::Welcome { who } => html! {
            // A same-site navigation: the Strict session cookie goes with it.
            meta http-equiv="refresh" content="0; url=/admin";
            h2 { (t.text("signin.signed_in")) }
            p role="status" { (rich(t, "signin.signed_in_as", &[("who", html! { strong { (who) } })])) }
            p { a href="/admin" { (t.text("signin.continue")) } }
        },
        SignInOutcome::Refused { who, why } => html! {
            h2 { (t.text("signin.not_admin")) }
            p role="alert" { (rich(t, "signin.refused", &[("who", html! { strong { (who) } }), ("why", html! { (why) })])) }
            p { (t.fill("signin.ask", &[("planet", &cfg.planet_name)])) }
            p { a href="/admin" { (t.text("signin.back")) } }
        },
        SignInOutcome::Failed { why } => html! {
            h2 { (t.text("signin.failed")) }
            p.error role="alert" { (t.fill("signin.nothing", &[("why", why)])) }
            p { a href="/admin" { (t.text("signin.back")) } }
        },
    };
    admin_layout(cfg, body)
}

/// The admin list on `/admin`: who may sign in, who added them, a form to add one, and a
/// remove button for the ones added here (`ADMINS` rows are changed in the setting).
pub fn admins_section(t: Tr, rows: &[Admin], problems: &[String], csrf: &str) -> Markup {
    html! {
        section.admins aria-labelledby="admins-heading" {
            h2 #admins-heading { (t.text("signin.admins")) }
            p { small { (t.text("signin.admins_note")) } }
            @if rows.is_empty() {
                p { (t.text("signin.admins_none")) }
            } @else {
                ul.admin-list {
                    @for a in rows {
                        li data-admin=(a.id) {
                            code { (a.rule.text()) }
                            @if let Some(id) = a.github_id { " " small { (t.fill("signin.github_user", &[("id", &id.to_string())])) } }
                            " " small {
                                @match a.source {
                                    Source::Config => (t.text("signin.from_setting")),
                                    Source::Admin => { (t.fill("signin.added_by", &[("who", a.added_by.as_deref().unwrap_or("?"))])) " " time datetime=(iso_time(a.added_at)) { (t.human_time(a.added_at)) } },
                                }
                            }
                            @if a.source == Source::Admin {
                                form.inline method="post" action=(format!("/admin/admins/{}/delete", a.id)) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { (t.text("signin.remove")) }
                                }
                            }
                        }
                    }
                }
            }
            @if !problems.is_empty() {
                ul.attention { @for p in problems { li { (p) } } }
            }
            form.admin method="post" action="/admin/admins" {
                input type="hidden" name="csrf" value=(csrf);
                label { (t.text("signin.add_label")) " " input type="text" name="rule" required maxlength="254" placeholder="github:583231, ada@example.org, *@example.org"; }
                " " button type="submit" { (t.text("signin.add")) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::auth::admins::AdminRule;

    #[test]
    fn providers_come_first_and_the_token_stays_for_operators() {
        let cfg = Config::default();
        let none = signin_page(&cfg, &SignInOptions::default(), None).into_string();
        assert!(none.contains(r#"name="token""#) && !none.contains("/auth/"));
        let both = SignInOptions {
            github: true,
            oidc: Some("Example <ID>".into()),
        };
        let html = signin_page(&cfg, &both, Some("oops")).into_string();
        let github = html.find(r#"href="/auth/github""#).expect("github");
        let oidc = html.find(r#"href="/auth/oidc""#).expect("oidc");
        let token = html.find(r#"name="token""#).expect("token");
        assert!(github < oidc && oidc < token, "{html}");
        assert!(html.contains("Sign in with Example &lt;ID&gt;"));
        assert!(html.contains(r#"role="alert">oops"#));
    }

    #[test]
    fn the_callback_page_moves_on_to_admin_only_when_signed_in() {
        let cfg = Config::default();
        let ok = signin_result_page(
            &cfg,
            &SignInOutcome::Welcome {
                who: "github:octocat",
            },
        )
        .into_string();
        assert!(ok.contains(r#"http-equiv="refresh" content="0; url=/admin""#));
        let no = signin_result_page(
            &cfg,
            &SignInOutcome::Refused {
                who: "eve@x.example",
                why: "you are not an admin of this planet",
            },
        )
        .into_string();
        assert!(no.contains("Not an admin of this planet") && !no.contains("refresh"));
    }

    #[test]
    fn seeded_admins_have_no_remove_button() {
        let rows = [
            Admin {
                id: 1,
                rule: AdminRule::GitHubId(5),
                github_id: None,
                source: Source::Config,
                added_by: None,
                added_at: 0,
            },
            Admin {
                id: 2,
                rule: AdminRule::Email("a@b.example".into()),
                github_id: None,
                source: Source::Admin,
                added_by: Some("github:x".into()),
                added_at: 0,
            },
        ];
        let html = admins_section(Tr::default(), &rows, &[], "t").into_string();
        assert!(!html.contains("/admin/admins/1/delete"));
        assert!(html.contains("/admin/admins/2/delete"));
        assert!(html.contains("added by github:x"));
    }
}
