//! `GET /search` and `POST /search`: item search across Collections.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::access::Reader;
use super::error::ApiError;
use super::extract::{Json, Query};
use super::fields::Fields;
use super::links::{Base, GEO_JSON};
use super::params::{SearchQuery, body_fields, from_body};
use super::render::{item_collection, item_collection_bytes, respond, respond_bytes};
use super::state::AppState;
use crate::index::Page;

/// `GET /search`: lists are comma-separated; `next` is a URL carrying `token`.
pub async fn get(
    State(state): State<AppState>,
    base: Base,
    reader: Reader,
    Query(query): Query<SearchQuery>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot.load();
    let mut search = query.to_search(&state.server, || reader.queryables(&snapshot, None))?;
    reader.restrict(&mut search);
    let fields = query.fields()?;
    let page = snapshot.search(&search);
    let links = page
        .next
        .iter()
        .map(|next| {
            let href = base.page_href("/search", raw.as_deref(), Some(&next.encode()));
            json!({"rel": "next", "href": href, "type": GEO_JSON, "method": "GET"})
        })
        .collect();
    let self_href = base.page_href("/search", raw.as_deref(), None);
    Ok(page_response(
        &base, &reader, &page, fields, self_href, links,
    ))
}

/// `POST /search`: a JSON body; `next` is a POST link whose body carries `token`.
pub async fn post(
    State(state): State<AppState>,
    base: Base,
    reader: Reader,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot.load();
    let mut search = from_body(&body, &state.server, || reader.queryables(&snapshot, None))?;
    reader.restrict(&mut search);
    let fields = body_fields(&body)?;
    let page = snapshot.search(&search);
    let links = page
        .next
        .iter()
        .map(|next| {
            let mut next_body = body.clone();
            if let Some(fields) = next_body.as_object_mut() {
                fields.insert("token".into(), Value::String(next.encode()));
            }
            json!({
                "rel": "next",
                "href": base.href("/search"),
                "type": GEO_JSON,
                "method": "POST",
                "body": next_body,
                "merge": false,
            })
        })
        .collect();
    let self_href = base.href("/search");
    Ok(page_response(
        &base, &reader, &page, fields, self_href, links,
    ))
}

/// A page of results: bytes from the Items' serialized JSON, or, with `fields`, the
/// reshaped Items.
fn page_response(
    base: &Base,
    reader: &Reader,
    page: &Page<'_>,
    fields: Option<Fields>,
    self_href: String,
    links: Vec<Value>,
) -> Response {
    match fields {
        Some(fields) => respond(
            GEO_JSON,
            item_collection(base, reader, page, Some(&fields), self_href, links),
        ),
        None => respond_bytes(
            GEO_JSON,
            item_collection_bytes(base, reader, page, self_href, links),
        ),
    }
}
