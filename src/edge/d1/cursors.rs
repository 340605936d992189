//! Page cursors looked up before a range read: one point read by primary key, then plain values an index can range over (a cursor that names nothing reads nothing more).

use serde::Deserialize;
use worker::{query, D1Database};

use super::feeds::{DetailRow, DETAIL_COLS, FEED_COLS};
use super::{first, rows, StoreResult};
use crate::core::view_models::{FeedDetail, FeedView};

/// Where an entry stands in a river (newest published first, ties by id).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct RiverCursor {
    pub published_at: Option<i64>,
    pub id: i64,
}

/// The river position of entry `id`; `None` when there is no such entry (pruned, or never).
pub async fn entry_position(db: &D1Database, id: i64) -> StoreResult<Option<RiverCursor>> {
    let stmt = query!(db, "SELECT published_at, id FROM entries WHERE id = ?1", id)?;
    first("entry_position", stmt).await
}

/// The name members are listed by (`/feeds`, `/api/feeds`, the admin page); the index
/// `feeds_by_name` (migrations/0010) is on exactly this expression, then `id`.
pub const FEED_NAME_KEY: &str = "lower(COALESCE(NULLIF(trim(display_name), ''), title))";

/// Where feed `id` stands in the list by name; `None` when there is no such feed.
pub async fn feed_position(db: &D1Database, id: i64) -> StoreResult<Option<(String, i64)>> {
    #[derive(Deserialize)]
    struct Row {
        name: String,
        id: i64,
    }
    let sql = format!("SELECT {FEED_NAME_KEY} AS name, id FROM feeds WHERE id = ?1");
    let row: Option<Row> = first("feed_position", query!(db, &sql, id)?).await?;
    Ok(row.map(|r| (r.name, r.id)))
}

/// `SELECT cols … FROM feeds` of a page by name after `after` (a position from
/// [`feed_position`]): the index serves both the order and the range (its first column
/// bounded on its own, which the planner needs for an expression).
fn feeds_page_sql(cols: &str, after: bool) -> String {
    let range = if after {
        format!("WHERE {FEED_NAME_KEY} >= ?1 AND ({FEED_NAME_KEY}, id) > (?1, ?2)")
    } else {
        "WHERE ?1 IS NULL AND ?2 IS NULL".into()
    };
    format!("SELECT {cols} {range} ORDER BY {FEED_NAME_KEY}, id LIMIT ?3")
}

/// At most `limit` feeds by name after `after`.
pub async fn feeds_page(
    db: &D1Database,
    after: Option<(String, i64)>,
    limit: u32,
) -> StoreResult<Vec<FeedView>> {
    let sql = feeds_page_sql(FEED_COLS, after.is_some());
    let (name, id) = after.map_or((None, None), |(n, i)| (Some(n), Some(i)));
    rows("feeds_page", query!(db, &sql, name, id, limit)?).await
}

/// At most `limit` feeds with their filters by name after `after` (the API).
pub async fn feeds_page_detailed(
    db: &D1Database,
    after: Option<(String, i64)>,
    limit: u32,
) -> StoreResult<Vec<FeedDetail>> {
    let sql = feeds_page_sql(DETAIL_COLS, after.is_some());
    let (name, id) = after.map_or((None, None), |(n, i)| (Some(n), Some(i)));
    let found: Vec<DetailRow> =
        rows("feeds_page_detailed", query!(db, &sql, name, id, limit)?).await?;
    Ok(found.into_iter().map(FeedDetail::from).collect())
}
