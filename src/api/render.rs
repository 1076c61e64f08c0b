//! Snapshot entries rendered for a request: links added, asset hrefs made absolute,
//! and the JSON responses with their media types.
//!
//! Items and ItemCollections are written as bytes from each Item's JSON serialized once
//! per snapshot ([`write_item`]); the `fields` extension, which reshapes Items, goes
//! through [`item`] and a `Value`.

use std::borrow::Cow;

use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::access::Reader;
use super::fields::Fields;
use super::landing::{QUERYABLES_REL, SCHEMA_JSON};
use super::links::{Base, GEO_JSON, JSON, collection_path, push_item_segment};
use crate::index::json::Piece;
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

/// A JSON response of bytes already serialized, with the given media type.
pub fn respond_bytes(media_type: &'static str, bytes: Vec<u8>) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static(media_type))],
        bytes,
    )
        .into_response()
}

/// Writes an Item as [`item`] renders it, copying its serialized JSON and writing only
/// the hrefs and links; `base_text` is the base URL as the inside of a JSON string
/// ([`json_text`]), made once per response.
fn write_item(
    out: &mut Vec<u8>,
    base: &Base,
    base_text: &str,
    reader: &Reader,
    indexed: &IndexedItem,
) {
    let Some(pieces) = indexed.json().pieces() else {
        let _ = serde_json::to_writer(&mut *out, &item(base, reader, indexed));
        return;
    };
    for piece in pieces {
        match piece {
            Piece::Bytes(bytes) => out.extend_from_slice(bytes),
            Piece::Href(mut relative) => {
                while let [b'/', rest @ ..] = relative {
                    relative = rest;
                }
                if reader.signs_hrefs() {
                    let path = format!("/{}", String::from_utf8_lossy(relative));
                    let _ = serde_json::to_writer(&mut *out, &reader.asset_href(base, &path));
                } else {
                    // The relative href needs no escapes (see `Piece::Href`).
                    out.push(b'"');
                    out.extend_from_slice(base_text.as_bytes());
                    out.push(b'/');
                    out.extend_from_slice(relative);
                    out.push(b'"');
                }
            }
        }
    }
    out.extend_from_slice(b",\"links\":");
    write_item_links(out, base_text, indexed);
    out.push(b'}');
}

/// One Item as a response body.
pub fn item_bytes(base: &Base, reader: &Reader, indexed: &IndexedItem) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    write_item(&mut out, base, &json_text(&base.0), reader, indexed);
    out
}

/// An Item with its links and absolute (when access control is on, signed) asset hrefs.
pub fn item(base: &Base, reader: &Reader, indexed: &IndexedItem) -> Value {
    let mut item = indexed.to_map();
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
    item.insert("links".into(), Value::Array(item_links(base, indexed)));
    Value::Object(item)
}

/// An Item's links: self, parent, collection, root, members (when it has tar members)
/// and its versions.
fn item_links(base: &Base, indexed: &IndexedItem) -> Vec<Value> {
    let mut links = Vec::with_capacity(5 + indexed.links.len());
    each_link(indexed, |rel, path, media_type| {
        links.push(base.link(rel, path, media_type));
    });
    links
}

/// Writes the JSON array [`item_links`] makes, straight as bytes; `base_text` as for
/// [`write_item`].
fn write_item_links(out: &mut Vec<u8>, base_text: &str, indexed: &IndexedItem) {
    out.push(b'[');
    let mut first = true;
    each_link(indexed, |rel, path, media_type| {
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(b"{\"rel\":\"");
        out.extend_from_slice(json_text(rel).as_bytes());
        out.extend_from_slice(b"\",\"href\":\"");
        out.extend_from_slice(base_text.as_bytes());
        // Paths are made of percent-encoded segments: nothing in them needs escaping.
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(b"\",\"type\":\"");
        out.extend_from_slice(media_type.as_bytes());
        out.extend_from_slice(b"\"}");
    });
    out.push(b']');
}

/// Calls `link` with each link of an Item as (relation, path from the base, media
/// type). The Item's and its Collection's paths are made once, of percent-encoded
/// segments; media types are constants.
fn each_link(indexed: &IndexedItem, mut link: impl FnMut(&str, &str, &str)) {
    let mut item = collection_path(&indexed.collection);
    let collection_len = item.len();
    push_item_segment(&mut item, &indexed.id);
    let collection = &item[..collection_len];
    link("self", &item, GEO_JSON);
    link("parent", collection, JSON);
    link("collection", collection, JSON);
    link("root", "/", JSON);
    if indexed.assets().any(|(_, blob)| blob.member.is_some()) {
        link("members", &format!("{item}/members"), JSON);
    }
    for version in &indexed.links {
        let mut path = collection.to_owned();
        push_item_segment(&mut path, &version.item);
        link(&version.rel, &path, GEO_JSON);
    }
}

/// `text` as the inside of a JSON string: borrowed when it needs no escapes.
fn json_text(text: &str) -> Cow<'_, str> {
    // Without an early exit, so that the check runs on whole vectors of bytes.
    let plain = text.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    });
    if plain {
        return Cow::Borrowed(text);
    }
    match serde_json::to_string(text) {
        Ok(quoted) => Cow::Owned(quoted[1..quoted.len() - 1].to_owned()),
        Err(_) => Cow::Borrowed(""),
    }
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

/// An ItemCollection for one page as bytes, each Item written by [`write_item`]; `links`
/// are added after self and root.
pub fn item_collection_bytes(
    base: &Base,
    reader: &Reader,
    page: &Page<'_>,
    self_href: String,
    links: Vec<Value>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + 4096 * page.items.len());
    out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"numberMatched\":");
    out.extend_from_slice(page.number_matched.to_string().as_bytes());
    out.extend_from_slice(b",\"numberReturned\":");
    out.extend_from_slice(page.items.len().to_string().as_bytes());
    out.extend_from_slice(b",\"features\":[");
    let base_text = json_text(&base.0);
    for (n, indexed) in page.items.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write_item(&mut out, base, &base_text, reader, indexed);
    }
    out.extend_from_slice(b"],\"links\":");
    write_page_links(&mut out, &base_text, &self_href, &links);
    out.push(b'}');
    out
}

/// Writes the JSON array [`page_links`] makes, self and root straight as bytes;
/// `base_text` as for [`write_item`].
fn write_page_links(out: &mut Vec<u8>, base_text: &str, self_href: &str, links: &[Value]) {
    out.extend_from_slice(b"[{\"rel\":\"self\",\"href\":\"");
    out.extend_from_slice(json_text(self_href).as_bytes());
    out.extend_from_slice(b"\",\"type\":\"");
    out.extend_from_slice(GEO_JSON.as_bytes());
    out.extend_from_slice(b"\"},{\"rel\":\"root\",\"href\":\"");
    out.extend_from_slice(base_text.as_bytes());
    out.extend_from_slice(b"/\",\"type\":\"");
    out.extend_from_slice(JSON.as_bytes());
    out.extend_from_slice(b"\"}");
    for link in links {
        out.push(b',');
        let _ = serde_json::to_writer(&mut *out, link);
    }
    out.push(b']');
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
    json!({
        "type": "FeatureCollection",
        "numberMatched": page.number_matched,
        "numberReturned": features.len(),
        "features": features,
        "links": page_links(base, self_href, links),
    })
}

/// The links of an ItemCollection: self, root, then `links`.
fn page_links(base: &Base, self_href: String, links: Vec<Value>) -> Vec<Value> {
    let mut all = vec![
        json!({"rel": "self", "href": self_href, "type": GEO_JSON}),
        base.link("root", "/", JSON),
    ];
    all.extend(links);
    all
}
