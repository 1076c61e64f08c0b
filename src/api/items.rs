//! `/collections/{c}/items` and `/collections/{c}/items/{i}`.

use axum::extract::{RawQuery, State};
use axum::response::Response;

use super::access::Reader;
use super::error::ApiError;
use super::extract::{Path, Query};
use super::links::{Base, GEO_JSON, JSON, collection_path};
use super::params::SearchQuery;
use super::render::{item_bytes, item_collection, item_collection_bytes, respond, respond_bytes};
use super::state::AppState;

/// `GET /collections/{c}/items`: a page of one Collection's Items, with the parameters of
/// `GET /search` except `collections`, `ids` and `intersects`.
pub async fn list(
    State(state): State<AppState>,
    base: Base,
    reader: Reader,
    Path(collection): Path<String>,
    Query(query): Query<SearchQuery>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot.load();
    if snapshot.collection(&collection).is_none() || !reader.may_read(&collection) {
        return Err(ApiError::not_found(format!("collection `{collection}`")));
    }
    let query = SearchQuery {
        intersects: None,
        ids: None,
        collections: None,
        ..query
    };
    let queryables = || reader.queryables(&snapshot, Some(&collection));
    let mut search = query.to_search(&state.server, queryables)?;
    let fields = query.fields()?;
    search.collections = Some(vec![collection.clone()]);
    let page = snapshot.search(&search);
    let path = format!("{}/items", collection_path(&collection));
    let mut links = vec![
        base.link("parent", &collection_path(&collection), JSON),
        base.link("collection", &collection_path(&collection), JSON),
    ];
    if let Some(next) = &page.next {
        let href = base.page_href(&path, raw.as_deref(), Some(&next.encode()));
        links.push(serde_json::json!({"rel": "next", "href": href, "type": GEO_JSON}));
    }
    let self_href = base.page_href(&path, raw.as_deref(), None);
    Ok(match fields {
        Some(fields) => respond(
            GEO_JSON,
            item_collection(&base, &reader, &page, Some(&fields), self_href, links),
        ),
        None => respond_bytes(
            GEO_JSON,
            item_collection_bytes(&base, &reader, &page, self_href, links),
        ),
    })
}

/// `GET /collections/{c}/items/{i}`: one Item, or a 404 naming it.
pub async fn one(
    State(state): State<AppState>,
    base: Base,
    reader: Reader,
    Path((collection, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot.load();
    if snapshot.collection(&collection).is_none() || !reader.may_read(&collection) {
        return Err(ApiError::not_found(format!("collection `{collection}`")));
    }
    let found = snapshot
        .item(&collection, &id)
        .ok_or_else(|| ApiError::not_found(format!("item `{id}` in collection `{collection}`")))?;
    Ok(respond_bytes(GEO_JSON, item_bytes(&base, &reader, found)))
}
