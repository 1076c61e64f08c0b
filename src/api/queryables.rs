//! `/queryables` and `/collections/{c}/queryables`: the JSON Schema of the properties a
//! filter may name (OGC API Features Part 3), derived from the indexed Items.

use std::borrow::Cow;

use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

use super::access::Reader;
use super::error::ApiError;
use super::extract::Path;
use super::landing::SCHEMA_JSON;
use super::links::{Base, collection_path};
use super::render::respond;
use super::state::AppState;

/// `GET /queryables`: what every Item may be filtered on.
pub async fn global(
    State(state): State<AppState>,
    base: Base,
    reader: Reader,
) -> Result<Response, ApiError> {
    let schema = reader
        .queryables(&state.snapshot.load(), None)
        .map(Cow::into_owned)
        .ok_or_else(|| ApiError::Internal("no global queryables".into()))?;
    Ok(respond(
        SCHEMA_JSON,
        with_id(schema, base.href("/queryables")),
    ))
}

/// `GET /collections/{c}/queryables`: what one Collection's Items may be filtered on, or a
/// 404 naming the Collection.
pub async fn collection(
    State(state): State<AppState>,
    base: Base,
    reader: Reader,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let schema = reader
        .queryables(&state.snapshot.load(), Some(&id))
        .map(Cow::into_owned)
        .ok_or_else(|| ApiError::not_found(format!("collection `{id}`")))?;
    let href = base.href(&format!("{}/queryables", collection_path(&id)));
    Ok(respond(SCHEMA_JSON, with_id(schema, href)))
}

/// The schema with `$id` set to the URL it is served at.
fn with_id(mut schema: Value, href: String) -> Value {
    if let Some(object) = schema.as_object_mut() {
        object.insert("$id".into(), Value::String(href));
    }
    schema
}
