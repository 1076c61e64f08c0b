//! An Item's JSON serialized once per snapshot (on first use), split where its local
//! asset hrefs go, so a response is assembled by copying bytes and writing only what
//! depends on the request: the base URL (and signature) of each href, and the links.

use std::ops::Range;

use serde_json::Value;

use crate::mapping::MappedItem;

/// The serialized Item without its closing `}`, and where the hrefs go.
#[derive(Debug)]
pub struct ItemJson {
    bytes: Vec<u8>,
    parts: Vec<Part>,
}

#[derive(Debug)]
enum Part {
    Bytes(Range<usize>),
    /// A local asset href: its path from `/`.
    Href(String),
}

/// One piece of a serialized Item, in order.
pub enum Piece<'a> {
    /// JSON text to copy as is.
    Bytes(&'a [u8]),
    /// Where the JSON string of a local asset's href goes: its path from `/`.
    Href(&'a str),
}

impl ItemJson {
    /// Serializes an Item (with `collection` set, without `links`) with a marker in place of each local
    /// asset href; `None` when a marker cannot be found exactly once (then the Item is
    /// rendered the slow way).
    pub fn of(mapped: &MappedItem) -> Option<ItemJson> {
        let mut item = mapped.item.clone();
        item.remove("links");
        item.entry("collection")
            .or_insert_with(|| Value::String(mapped.collection.clone()));
        let mut paths = Vec::new();
        if let Some(assets) = item.get_mut("assets").and_then(Value::as_object_mut) {
            for asset in assets.values_mut() {
                if let Some(href) = asset.get_mut("href")
                    && let Some(relative) = href.as_str().filter(|h| !h.contains("://"))
                {
                    paths.push(format!("/{}", relative.trim_start_matches('/')));
                    *href = Value::String(marker(paths.len() - 1));
                }
            }
        }
        let mut bytes = serde_json::to_vec(&item).ok()?;
        if bytes.pop() != Some(b'}') {
            return None;
        }
        let mut found: Vec<(usize, usize, usize)> = Vec::with_capacity(paths.len());
        for n in 0..paths.len() {
            let quoted = serde_json::to_vec(&marker(n)).ok()?;
            let mut at = find_all(&bytes, &quoted);
            let (Some(start), None) = (at.next(), at.next()) else {
                return None;
            };
            found.push((start, start + quoted.len(), n));
        }
        found.sort_unstable();
        let mut parts = Vec::with_capacity(2 * found.len() + 1);
        let mut from = 0;
        for (start, end, n) in found {
            parts.push(Part::Bytes(from..start));
            parts.push(Part::Href(std::mem::take(&mut paths[n])));
            from = end;
        }
        parts.push(Part::Bytes(from..bytes.len()));
        Some(ItemJson { bytes, parts })
    }

    /// The pieces, in order; the caller closes the object.
    pub fn pieces(&self) -> impl Iterator<Item = Piece<'_>> {
        self.parts.iter().map(|part| match part {
            Part::Bytes(range) => Piece::Bytes(&self.bytes[range.clone()]),
            Part::Href(path) => Piece::Href(path),
        })
    }
}

/// A string no Item holds: NUL-delimited, so serialized as `\u0000`.
fn marker(n: usize) -> String {
    format!("\u{0}stac-oci-href-{n}\u{0}")
}

fn find_all<'a>(haystack: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn assemble(json: &ItemJson) -> Value {
        let mut out = Vec::new();
        for piece in json.pieces() {
            match piece {
                Piece::Bytes(bytes) => out.extend_from_slice(bytes),
                Piece::Href(path) => {
                    out.extend_from_slice(format!("\"https://x.example{path}\"").as_bytes())
                }
            }
        }
        out.push(b'}');
        serde_json::from_slice(&out).unwrap()
    }

    fn mapped(item: Value) -> MappedItem {
        MappedItem {
            collection: "c".into(),
            id: "i".into(),
            item: item.as_object().cloned().unwrap(),
            assets: BTreeMap::new(),
            links: Vec::new(),
        }
    }

    #[test]
    fn splits_at_local_hrefs_only() {
        let item = mapped(json!({
            "type": "Feature", "id": "i", "properties": {"note": "a \"quoted\" href"},
            "assets": {
                "a": {"href": "collections/c/items/i/assets/a/a.tif"},
                "b": {"href": "https://elsewhere.example/b.tif"},
                "c": {"href": "collections/c/items/i/assets/c/c.npy", "title": "ü"},
            }
        }));
        let json = ItemJson::of(&item).unwrap();
        let hrefs: Vec<&str> = json
            .pieces()
            .filter_map(|p| match p {
                Piece::Href(path) => Some(path),
                Piece::Bytes(_) => None,
            })
            .collect();
        assert_eq!(
            hrefs,
            [
                "/collections/c/items/i/assets/a/a.tif",
                "/collections/c/items/i/assets/c/c.npy"
            ]
        );
        let value = assemble(&json);
        assert_eq!(value["collection"], "c");
        assert_eq!(
            value["assets"]["a"]["href"],
            "https://x.example/collections/c/items/i/assets/a/a.tif"
        );
        assert_eq!(
            value["assets"]["b"]["href"],
            "https://elsewhere.example/b.tif"
        );
        assert_eq!(value["assets"]["c"]["title"], "ü");
        assert_eq!(value["properties"]["note"], "a \"quoted\" href");
    }

    #[test]
    fn a_property_holding_a_marker_falls_back() {
        let item = mapped(json!({
            "type": "Feature", "id": "i", "properties": {"x": marker(0)},
            "assets": {"a": {"href": "collections/c/items/i/assets/a/a.tif"}}
        }));
        assert!(ItemJson::of(&item).is_none());
    }
}
