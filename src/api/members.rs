//! `GET /collections/{c}/items/{i}/members`: every file inside the Item's tar layers,
//! including those beyond the ones its `assets` list, with the href that serves each.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::access::Reader;
use super::error::ApiError;
use super::extract::Path;
use super::links::{Base, GEO_JSON, JSON, item_path};
use super::render::respond;
use super::state::AppState;

/// The member listing of one Item; an unknown collection or Item is a 404.
pub async fn list(
    State(state): State<AppState>,
    base: Base,
    reader: Reader,
    Path((collection, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot.load();
    let item = snapshot
        .item(&collection, &id)
        .filter(|_| reader.may_read(&collection))
        .ok_or_else(|| ApiError::not_found(format!("item `{id}` in collection `{collection}`")))?;
    let path = item_path(&collection, &id);
    let members: Vec<serde_json::Value> = item
        .assets()
        .filter_map(|(key, blob)| {
            let member = blob.member.as_ref()?;
            let href = reader.asset_href(&base, &format!("{path}/assets/{key}/{}", blob.file_name));
            Some(json!({
                "key": key,
                "path": member.path,
                "href": href,
                "type": &*blob.media_type,
                "file:size": blob.size,
            }))
        })
        .collect();
    let body = json!({
        "numberMatched": members.len(),
        "members": members,
        "links": [
            base.link("self", &format!("{path}/members"), JSON),
            base.link("item", &path, GEO_JSON),
        ],
    });
    Ok(respond(JSON, body))
}
