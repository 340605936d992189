//! WebSocket upgrades are handed, request and all, to the Durable Object that holds the socket.

use worker::{Env, Request, Response};

use crate::core::routes::{client_key, shard_for, socket_origin_allowed};
use crate::edge::error::{AppError, AppResult};
use crate::edge::objects::{rpc, wire::SocketAsk};
use crate::edge::{d1, env};

/// An upgrade from this planet's pages or an API client, and who the client is.
fn check(req: &Request, env: &Env) -> AppResult<SocketAsk> {
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let upgrade = header("Upgrade").unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(AppError::BadRequest(
            "this endpoint speaks WebSocket: send Upgrade: websocket".into(),
        ));
    }
    let own = req.url()?.origin().ascii_serialization();
    if !socket_origin_allowed(header("Origin").as_deref(), &own) {
        return Err(AppError::Forbidden(
            "sockets may be opened only from this planet's own pages".into(),
        ));
    }
    Ok(SocketAsk {
        client: client_key(header("CF-Connecting-IP").as_deref()),
        capped: env::config(env).rate_limits,
    })
}

/// `/ws`: the whole planet (optionally `?feeds=1,2`), held by the Room; a client's
/// sockets all go to the shard its address hashes to, where the per-client cap
/// (`core::protocol::MAX_SOCKETS_PER_CLIENT`) counts them.
pub async fn room(req: Request, env: &Env) -> AppResult<Response> {
    let ask = check(&req, env)?;
    let shard = shard_for(&ask.client, env::room_shards(env));
    rpc::room_socket(env, shard, &req, &ask).await
}

/// `/feeds/{id}/ws`: one feed, held by its FeedObject.
pub async fn feed(req: Request, env: &Env, id: i64) -> AppResult<Response> {
    let ask = check(&req, env)?;
    if d1::feed_by_id(&env::db(env)?, id).await?.is_none() {
        return Err(AppError::NotFound(format!("there is no feed {id}")));
    }
    rpc::feed_socket(env, id, &req, &ask).await
}
