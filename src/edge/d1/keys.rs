//! Secrets the planet makes for itself: created once in D1, cached per isolate.

use std::cell::RefCell;

use serde::Deserialize;
use worker::{query, D1Database};

use super::{first, run, StoreResult};

thread_local! {
    static WEBSUB: RefCell<Option<String>> = const { RefCell::new(None) };
}

#[derive(Deserialize)]
struct Row {
    value: String,
}

/// The WebSub callback secret: read once per isolate; made (random, 256 bits) and stored
/// by the first caller ever (`INSERT OR IGNORE`, then read back: racing isolates agree).
pub async fn websub_secret(db: &D1Database) -> StoreResult<String> {
    if let Some(s) = WEBSUB.with(|c| c.borrow().clone()) {
        return Ok(s);
    }
    let read = || db.prepare("SELECT value FROM secrets WHERE name = 'websub'");
    let mut row: Option<Row> = first("websub_secret", read()).await?;
    if row.is_none() {
        let fresh = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let insert = query!(
            db,
            "INSERT OR IGNORE INTO secrets (name, value) VALUES ('websub', ?1)",
            &fresh
        )?;
        run("websub_secret_create", insert).await?;
        row = first("websub_secret", read()).await?;
    }
    let secret = row
        .map(|r| r.value)
        .ok_or_else(|| worker::Error::RustError("the websub secret did not persist".into()))?;
    WEBSUB.with(|c| *c.borrow_mut() = Some(secret.clone()));
    Ok(secret)
}
