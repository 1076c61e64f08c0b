//! `GET|HEAD /collections/{c}/items/{i}/assets/{key}/{file}`: finds the blob behind an
//! asset in the current snapshot and hands it to the asset proxy. Only blobs an indexed
//! Item references are ever fetched.

use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;

use super::error::ApiError;
use super::extract::Path;
use super::state::AppState;

/// Serves one asset's bytes (or headers, for HEAD); unknown item, key or file is a 404.
pub async fn asset(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path((collection, id, key, file)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let blob = {
        let snapshot = state.snapshot.load();
        let item = snapshot.item(&collection, &id).ok_or_else(|| {
            ApiError::not_found(format!("item `{id}` in collection `{collection}`"))
        })?;
        item.mapped
            .assets
            .get(&key)
            .filter(|blob| blob.file_name == file)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("asset `{key}/{file}` of item `{id}`")))?
    };
    let source = state.sources.get(&blob.source).ok_or_else(|| {
        ApiError::Internal(format!(
            "blob {} names unknown source `{}`",
            blob.digest, blob.source
        ))
    })?;
    Ok(crate::assets::serve(source, &blob, &method, &headers).await)
}
