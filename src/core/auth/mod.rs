//! Who is an admin: signed sessions, CSRF tokens and the admin token's rules, and Cloudflare Access assertions.

pub mod cf_access;
pub mod session;
