//! `/collections` and `/collections/{c}`.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::error::ApiError;
use super::extract::Path;
use super::links::{Base, JSON};
use super::render::{collection, respond};
use super::state::AppState;

/// `GET /collections`: every Collection.
pub async fn list(State(state): State<AppState>, base: Base) -> Response {
    let snapshot = state.snapshot.load();
    let collections: Vec<_> = snapshot
        .collections()
        .iter()
        .map(|c| collection(&base, c))
        .collect();
    respond(
        JSON,
        json!({
            "collections": collections,
            "links": [base.link("self", "/collections", JSON), base.link("root", "/", JSON)],
        }),
    )
}

/// `GET /collections/{c}`: one Collection, or a 404 naming it.
pub async fn one(
    State(state): State<AppState>,
    base: Base,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot.load();
    let found = snapshot
        .collection(&id)
        .ok_or_else(|| ApiError::not_found(format!("collection `{id}`")))?;
    Ok(respond(JSON, collection(&base, found)))
}
