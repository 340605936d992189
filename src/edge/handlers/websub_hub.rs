//! Orrery's own WebSub hub (`POST /websub`): subscribe and unsubscribe requests for the planet's feeds.

use worker::{Env, Request, Response};

use crate::edge::error::{AppError, AppResult};

pub async fn request(_req: Request, _env: &Env) -> AppResult<Response> {
    Err(AppError::NotFound("this planet runs no hub yet".into()))
}
