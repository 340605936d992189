//! WebSub subscriber callbacks: a hub verifies a feed's subscription (GET) or delivers its content (POST).

use worker::{Env, Request, Response};

use crate::edge::error::{AppError, AppResult};

pub async fn callback(_req: Request, _env: &Env, _feed_id: i64) -> AppResult<Response> {
    Err(AppError::NotFound("no such subscription".into()))
}
