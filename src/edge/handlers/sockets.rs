//! WebSocket upgrades are handed, request and all, to the Durable Object that holds the socket.

use worker::{Env, Request, Response};

use crate::edge::error::{AppError, AppResult};
use crate::edge::{env, rpc, store};

fn require_upgrade(req: &Request) -> AppResult<()> {
    let upgrade = req.headers().get("Upgrade")?.unwrap_or_default();
    if upgrade.eq_ignore_ascii_case("websocket") {
        Ok(())
    } else {
        Err(AppError::BadRequest(
            "this endpoint speaks WebSocket: send Upgrade: websocket".into(),
        ))
    }
}

/// `/ws`: the whole planet (optionally `?feeds=1,2`), held by the Room.
pub async fn room(req: Request, env: &Env) -> AppResult<Response> {
    require_upgrade(&req)?;
    // A new reader lands on a random shard; every shard gets every entry.
    let shards = env::room_shards(env);
    let shard = if shards > 1 {
        (uuid::Uuid::new_v4().as_u128() % u128::from(shards)) as u32
    } else {
        0
    };
    rpc::room_socket(env, shard, &req).await
}

/// `/feeds/{id}/ws`: one feed, held by its FeedObject.
pub async fn feed(req: Request, env: &Env, id: i64) -> AppResult<Response> {
    require_upgrade(&req)?;
    if store::feed_by_id(&env::db(env)?, id).await?.is_none() {
        return Err(AppError::NotFound(format!("there is no feed {id}")));
    }
    rpc::feed_socket(env, id, &req).await
}
