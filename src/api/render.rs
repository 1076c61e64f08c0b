//! Snapshot entries rendered for a request: links added, asset hrefs made absolute,
//! and the JSON responses with their media types.

use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::access::Reader;
use super::fields::Fields;
use super::landing::{QUERYABLES_REL, SCHEMA_JSON};
use super::links::{Base, GEO_JSON, JSON, collection_path, item_path};
use crate::index::{IndexedItem, Page};
use crate::mapping::MappedCollection;

/// A JSON response with the given media type.
pub fn respond(media_type: &'static str, value: Value) -> Response {
    let mut response = axum::Json(value).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(media_type));
    response
}

/// An Item with its links and absolute (when access control is on, signed) asset hrefs.
pub fn item(base: &Base, reader: &Reader, indexed: &IndexedItem) -> Value {
    let mapped = &indexed.mapped;
    let mut item = mapped.item.clone();
    if let Some(assets) = item.get_mut("assets").and_then(Value::as_object_mut) {
        for asset in assets.values_mut() {
            if let Some(href) = asset.get_mut("href")
                && let Some(relative) = href.as_str().filter(|h| !h.contains("://"))
            {
                let path = format!("/{}", relative.trim_start_matches('/'));
                *href = Value::String(reader.asset_href(base, &path));
            }
        }
    }
    item.entry("collection")
        .or_insert_with(|| Value::String(mapped.collection.clone()));
    let collection = collection_path(&mapped.collection);
    let mut links = vec![
        base.link("self", &item_path(&mapped.collection, &mapped.id), GEO_JSON),
        base.link("parent", &collection, JSON),
        base.link("collection", &collection, JSON),
        base.link("root", "/", JSON),
    ];
    if mapped.assets.values().any(|blob| blob.member.is_some()) {
        let members = format!("{}/members", item_path(&mapped.collection, &mapped.id));
        links.push(base.link("members", &members, JSON));
    }
    links.extend(
        mapped
            .links
            .iter()
            .map(|l| base.link(&l.rel, &item_path(&mapped.collection, &l.item), GEO_JSON)),
    );
    item.insert("links".into(), Value::Array(links));
    Value::Object(item)
}

/// A Collection with its links.
pub fn collection(base: &Base, mapped: &MappedCollection) -> Value {
    let mut collection = mapped.collection.clone();
    let path = collection_path(&mapped.id);
    collection.insert(
        "links".into(),
        json!([
            base.link("self", &path, JSON),
            base.link("parent", "/", JSON),
            base.link("root", "/", JSON),
            base.link("items", &format!("{path}/items"), GEO_JSON),
            base.link(QUERYABLES_REL, &format!("{path}/queryables"), SCHEMA_JSON),
        ]),
    );
    Value::Object(collection)
}

/// An ItemCollection for one page, its Items reduced to `fields` when given; `links` are
/// added after self and root.
pub fn item_collection(
    base: &Base,
    reader: &Reader,
    page: &Page<'_>,
    fields: Option<&Fields>,
    self_href: String,
    links: Vec<Value>,
) -> Value {
    let features: Vec<Value> = page
        .items
        .iter()
        .map(|i| match fields {
            Some(fields) => fields.apply(item(base, reader, i)),
            None => item(base, reader, i),
        })
        .collect();
    let mut all_links = vec![
        json!({"rel": "self", "href": self_href, "type": GEO_JSON}),
        base.link("root", "/", JSON),
    ];
    all_links.extend(links);
    json!({
        "type": "FeatureCollection",
        "numberMatched": page.number_matched,
        "numberReturned": features.len(),
        "features": features,
        "links": all_links,
    })
}
