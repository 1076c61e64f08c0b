//! `GET /search` and `POST /search`: item search across Collections.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::access::Reader;
use super::error::ApiError;
use super::extract::{Json, Query};
use super::links::{Base, GEO_JSON};
use super::params::{SearchQuery, body_fields, from_body};
use super::render::{item_collection, respond};
use super::state::AppState;

/// `GET /search`: lists are comma-separated; `next` is a URL carrying `token`.
pub async fn get(
    State(state): State<AppState>,
    base: Base,
    reader: Reader,
    Query(query): Query<SearchQuery>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot.load();
    let mut search = query.to_search(&state.server, reader.queryables(&snapshot, None).as_ref())?;
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
    Ok(respond(
        GEO_JSON,
        item_collection(&base, &reader, &page, fields.as_ref(), self_href, links),
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
    let mut search = from_body(
        &body,
        &state.server,
        reader.queryables(&snapshot, None).as_ref(),
    )?;
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
    Ok(respond(
        GEO_JSON,
        item_collection(
            &base,
            &reader,
            &page,
            fields.as_ref(),
            base.href("/search"),
            links,
        ),
    ))
}
