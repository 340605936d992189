//! Who is an admin: sessions, CSRF tokens, the admin token, Access assertions.
//!
//! `session` signs sessions and CSRF tokens and holds the admin token's rules; `cf_access`
//! reads Cloudflare Access assertions.

pub mod cf_access;
pub mod session;
