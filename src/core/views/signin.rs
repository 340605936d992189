//! Signing in as yourself: the signed-out `/admin` page (the providers first, the admin
//! token after), the page a provider's callback answers with, and the admin list.
//!
//! Interface strings are kept together here, as literals, for the move to the catalogs.

use maud::{html, Markup};

use super::admin::admin_layout;
use crate::core::auth::admins::{Admin, Source};
use crate::core::config::Config;
use crate::core::time::{human_time, iso_time};

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
                    h2 #signin-heading { "Sign in" }
                    p { "Admins of " (cfg.planet_name) " sign in as themselves." }
                    ul.signin-providers {
                        @if options.github {
                            li { a.signin-button href="/auth/github" data-provider="github" { "Sign in with GitHub" } }
                        }
                        @if let Some(name) = &options.oidc {
                            li { a.signin-button href="/auth/oidc" data-provider="oidc" { "Sign in with " (name) } }
                        }
                    }
                }
            }
            section.signin-token aria-labelledby="token-heading" {
                @if any {
                    h2 #token-heading { "Or with the admin token" }
                    p { small { "For the planet's operators: the token set as the ADMIN_TOKEN secret." } }
                } @else {
                    h2 #token-heading { "Sign in with the admin token" }
                }
                // These two strings are the catalogs' already (admin.token, admin.sign_in).
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
    let body = match outcome {
        SignInOutcome::Welcome { who } => html! {
            // A same-site navigation: the Strict session cookie goes with it.
            meta http-equiv="refresh" content="0; url=/admin";
            h2 { "Signed in" }
            p role="status" { "Signed in as " strong { (who) } "." }
            p { a href="/admin" { "Continue to the admin page" } }
        },
        SignInOutcome::Refused { who, why } => html! {
            h2 { "Not an admin of this planet" }
            p role="alert" { "You signed in as " strong { (who) } ", but " (why) "." }
            p { "Ask an admin of " (cfg.planet_name) " to add you, then sign in again." }
            p { a href="/admin" { "Back to sign-in" } }
        },
        SignInOutcome::Failed { why } => html! {
            h2 { "Sign-in did not work" }
            p.error role="alert" { "Nothing was signed in: " (why) }
            p { a href="/admin" { "Back to sign-in" } }
        },
    };
    admin_layout(cfg, body)
}

/// The admin list on `/admin`: who may sign in, who added them, a form to add one, and a
/// remove button for the ones added here (`ADMINS` rows are changed in the setting).
pub fn admins_section(rows: &[Admin], problems: &[String], csrf: &str) -> Markup {
    html! {
        section.admins aria-labelledby="admins-heading" {
            h2 #admins-heading { "Admins" }
            p { small { "Who may sign in with GitHub or OpenID Connect. Removing an admin signs them out at once." } }
            @if rows.is_empty() {
                p { "Nobody yet: only the admin token and Cloudflare Access sign in." }
            } @else {
                ul.admin-list {
                    @for a in rows {
                        li data-admin=(a.id) {
                            code { (a.rule.text()) }
                            @if let Some(id) = a.github_id { " " small { "(GitHub user " (id) ")" } }
                            " " small {
                                @match a.source {
                                    Source::Config => "from ADMINS",
                                    Source::Admin => { "added by " (a.added_by.as_deref().unwrap_or("?")) " " time datetime=(iso_time(a.added_at)) { (human_time(a.added_at)) } },
                                }
                            }
                            @if a.source == Source::Admin {
                                form.inline method="post" action=(format!("/admin/admins/{}/delete", a.id)) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { "Remove" }
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
                label { "Add an admin " input type="text" name="rule" required maxlength="254" placeholder="github:583231, ada@example.org, *@example.org"; }
                " " button type="submit" { "Add admin" }
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
        let html = admins_section(&rows, &[], "t").into_string();
        assert!(!html.contains("/admin/admins/1/delete"));
        assert!(html.contains("/admin/admins/2/delete"));
        assert!(html.contains("added by github:x"));
    }
}
