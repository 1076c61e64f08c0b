//! `/collections` (with collection search: `bbox`, `datetime`, `q`, `limit`) and
//! `/collections/{c}`.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::access::Reader;
use super::error::ApiError;
use super::extract::{Path, Query};
use super::links::{Base, JSON};
use super::params::{self, bbox_text, interval, limit};
use super::render::{collection, respond};
use super::state::AppState;
use crate::config::ServerSettings;
use crate::index::CollectionSearch;

/// Collection search parameters of a `GET /collections` query string.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CollectionQuery {
    /// `minx,miny,maxx,maxy`: Collections whose spatial extent intersects it.
    pub bbox: Option<String>,
    /// An instant or interval: Collections whose temporal extent overlaps it.
    pub datetime: Option<String>,
    /// Free-text terms, comma-separated.
    pub q: Option<String>,
    /// Page size.
    pub limit: Option<String>,
    /// How many matching Collections to skip (from a `next` link).
    pub offset: Option<String>,
}

impl CollectionQuery {
    /// Validates the parameters into a collection search.
    pub fn to_search(&self, server: &ServerSettings) -> Result<CollectionSearch, ApiError> {
        let bbox = self.bbox.as_deref().map(bbox_text).transpose()?;
        let datetime = self.datetime.as_deref().map(interval).transpose()?;
        let q = self
            .q
            .as_deref()
            .map(params::list)
            .filter(|terms| !terms.is_empty());
        let limit_value = self
            .limit
            .as_deref()
            .map(|text| {
                text.trim()
                    .parse::<i64>()
                    .map_err(|_| ApiError::bad_parameter("limit", "expected a positive integer"))
            })
            .transpose()?;
        let offset = self
            .offset
            .as_deref()
            .map(|text| {
                text.trim().parse::<usize>().map_err(|_| {
                    ApiError::bad_parameter("offset", "expected a non-negative integer")
                })
            })
            .transpose()?
            .unwrap_or(0);
        Ok(CollectionSearch {
            bbox,
            datetime,
            q,
            limit: limit(limit_value, server)?,
            offset,
        })
    }
}

/// `GET /collections`: the Collections matching the collection search, a page at a time.
pub async fn list(
    State(state): State<AppState>,
    base: Base,
    reader: Reader,
    Query(query): Query<CollectionQuery>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let search = query.to_search(&state.server)?;
    let snapshot = state.snapshot.load();
    let page = snapshot.search_collections_among(&search, |id| reader.may_read(id));
    let collections: Vec<_> = page
        .collections
        .iter()
        .map(|c| collection(&base, c))
        .collect();
    let mut links = vec![
        json!({"rel": "self", "href": base.page_href("/collections", raw.as_deref(), None),
            "type": JSON}),
        base.link("root", "/", JSON),
        base.link("parent", "/", JSON),
    ];
    if let Some(next) = page.next_offset {
        let offset = next.to_string();
        let href = base.paged_href("/collections", raw.as_deref(), "offset", Some(&offset));
        links.push(json!({"rel": "next", "href": href, "type": JSON, "method": "GET"}));
    }
    Ok(respond(
        JSON,
        json!({
            "collections": collections,
            "links": links,
            "numberMatched": page.number_matched,
            "numberReturned": collections.len(),
        }),
    ))
}

/// `GET /collections/{c}`: one Collection, or a 404 naming it.
pub async fn one(
    State(state): State<AppState>,
    base: Base,
    reader: Reader,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot.load();
    let found = snapshot
        .collection(&id)
        .filter(|_| reader.may_read(&id))
        .ok_or_else(|| ApiError::not_found(format!("collection `{id}`")))?;
    Ok(respond(JSON, collection(&base, found)))
}
