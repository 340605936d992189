//! Who is an admin: sessions, CSRF tokens, the admin token, Access assertions.
//!
//! `session` signs sessions and CSRF tokens and holds the admin token's rules; `jwt` is the
//! one JWT verifier's pure part (Access assertions, OpenID Connect ID tokens); `cf_access`
//! reads Cloudflare Access assertions.

pub mod admins;
pub mod cf_access;
pub mod jwt;
pub mod session;
pub mod signin;
