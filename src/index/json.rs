//! An Item's JSON, serialized once when it is indexed and kept instead of a tree of
//! `Value`s: split where its local asset hrefs go, so a response is assembled by copying
//! bytes and writing only what depends on the request (the base URL and signature of
//! each href, and the links), with the place of each top-level member and of each
//! property noted so one can be read back without parsing the rest.

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::mapping::Footprint;

/// The serialized Item without its closing `}`, where its local hrefs are, and where
/// each top-level member and each property is.
#[derive(Debug)]
pub struct ItemJson {
    /// The Item as mapped (local hrefs relative), without its closing `}`; packed with
    /// other Items' ([`super::arena`]).
    bytes: Bytes,
    /// Each local asset href's JSON string, in order; empty when not `spliced`.
    hrefs: Box<[Href]>,
    /// Each top-level member, then each member of `properties`.
    spans: Box<[Span]>,
    /// How many of `spans` are top-level members.
    members: u32,
    /// Whether each local href is in `hrefs`; when not (one could not be told apart from
    /// the rest of the Item), it has to be rendered as a tree.
    spliced: bool,
}

/// Where one member of an object is in the bytes: its value from `value` to `end`. Its
/// key (a JSON string) runs from just after the object's `{` or the previous member's
/// `,` (the JSON is compact) to `value - 1` (the `:`).
#[derive(Debug, Clone, Copy)]
struct Span {
    value: u32,
    end: u32,
}

/// Each member of an object, as the range of its key and of its value, from the spans of
/// its members and the place of its `{`.
fn entries(spans: &[Span], open: usize) -> impl Iterator<Item = (Range<usize>, Range<usize>)> {
    let mut key = open + 1;
    spans.iter().map(move |span| {
        let (value, end) = (span.value as usize, span.end as usize);
        let entry = (key..value.saturating_sub(1), value..end);
        key = end + 1;
        entry
    })
}

/// Where a local href's JSON string (quotes included) is in the bytes.
#[derive(Debug, Clone, Copy)]
struct Href {
    start: u32,
    end: u32,
}

/// One piece of a serialized Item, in order.
pub enum Piece<'a> {
    /// JSON text to copy as is.
    Bytes(&'a [u8]),
    /// Where the JSON string of a local asset's href goes: the href as mapped, relative
    /// to the API's root. Its text needs no escapes inside a JSON string (an Item whose
    /// hrefs would is not spliced).
    Href(&'a [u8]),
}

impl ItemJson {
    /// Serializes an Item (which should have `collection` and no `links`) with its
    /// footprint, if given, as its `geometry` and `bbox`, and `shared` properties written
    /// before its own (but for those its own name too), noting where each local asset
    /// href is. When an href needs escapes, the Item is kept unspliced.
    pub fn new(
        item: &Map<String, Value>,
        shared: &Map<String, Value>,
        footprint: Option<&Footprint>,
    ) -> ItemJson {
        Written::of(item, shared, footprint).into_json()
    }

    /// The pieces, in order; the caller closes the object. `None` when the Item is not
    /// spliced and has to be rendered from [`ItemJson::to_map`].
    pub fn pieces(&self) -> Option<impl Iterator<Item = Piece<'_>>> {
        self.spliced.then(|| {
            let mut from = 0;
            let mut hrefs = self.hrefs.iter();
            let mut next_href = None;
            std::iter::from_fn(move || {
                if let Some(href) = next_href.take() {
                    return Some(Piece::Href(href));
                }
                if from > self.bytes.len() {
                    return None;
                }
                match hrefs.next() {
                    Some(href) => {
                        let (start, end) = (href.start as usize, href.end as usize);
                        next_href = Some(&self.bytes[start + 1..end - 1]);
                        let bytes = &self.bytes[from..start];
                        from = end;
                        Some(Piece::Bytes(bytes))
                    }
                    None => {
                        let bytes = &self.bytes[from..];
                        from = self.bytes.len() + 1;
                        Some(Piece::Bytes(bytes))
                    }
                }
            })
        })
    }

    /// One top-level member's value, read from the bytes; local hrefs as mapped.
    pub fn member(&self, name: &str) -> Option<Value> {
        let value = self.find(self.member_entries(), name)?;
        serde_json::from_slice(&self.bytes[value]).ok()
    }

    /// One property's value, read from the bytes.
    pub fn property(&self, name: &str) -> Option<Value> {
        let value = self.find(self.property_entries(), name)?;
        serde_json::from_slice(&self.bytes[value]).ok()
    }

    /// Each property's name and its value's JSON text.
    pub fn property_texts(&self) -> impl Iterator<Item = (Cow<'_, str>, &[u8])> {
        self.property_entries().filter_map(|(key, value)| {
            let raw = &self.bytes[key];
            let name = match std::str::from_utf8(raw) {
                Ok(text) if !text.contains('\\') && text.len() >= 2 => {
                    Cow::Borrowed(&text[1..text.len() - 1])
                }
                _ => Cow::Owned(serde_json::from_slice::<String>(raw).ok()?),
            };
            Some((name, &self.bytes[value]))
        })
    }

    /// The whole Item as mapped (local hrefs relative), read back from the bytes.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut text = self.bytes.to_vec();
        text.push(b'}');
        serde_json::from_slice(&text).unwrap_or_default()
    }

    /// Each top-level member's key and value.
    fn member_entries(&self) -> impl Iterator<Item = (Range<usize>, Range<usize>)> {
        let spans = self.spans.get(..self.members as usize).unwrap_or_default();
        entries(spans, 0)
    }

    /// Each property's key and value; none when the Item has no `properties` object.
    fn property_entries(&self) -> impl Iterator<Item = (Range<usize>, Range<usize>)> {
        let spans = self.spans.get(self.members as usize..).unwrap_or_default();
        let open = self.find(self.member_entries(), "properties");
        let spans = if open.is_some() { spans } else { &[] };
        entries(spans, open.map_or(0, |value| value.start))
    }

    /// The value of the member of `entries` named `name`.
    fn find(
        &self,
        mut entries: impl Iterator<Item = (Range<usize>, Range<usize>)>,
        name: &str,
    ) -> Option<Range<usize>> {
        entries
            .find(|(key, _)| self.key_is(key.clone(), name))
            .map(|(_, value)| value)
    }

    /// Whether the JSON string at `quoted` is `name`.
    fn key_is(&self, quoted: Range<usize>, name: &str) -> bool {
        let raw = &self.bytes[quoted];
        if !raw.contains(&b'\\') {
            return raw.len() == name.len() + 2 && &raw[1..raw.len() - 1] == name.as_bytes();
        }
        serde_json::from_slice::<String>(raw).is_ok_and(|key| key == name)
    }
}

/// An Item written member by member (`properties` too), without its closing `}`, with
/// its local asset hrefs noted.
struct Written {
    bytes: Vec<u8>,
    members: Vec<Span>,
    properties: Vec<Span>,
    hrefs: Vec<Href>,
    /// Cleared when a local href could not be noted.
    spliced: bool,
}

impl Written {
    fn of(
        item: &Map<String, Value>,
        shared: &Map<String, Value>,
        footprint: Option<&Footprint>,
    ) -> Written {
        let mut written = Written {
            bytes: Vec::with_capacity(2048),
            members: Vec::with_capacity(item.len() + 2),
            properties: Vec::new(),
            hrefs: Vec::new(),
            spliced: true,
        };
        written.item(item, shared, footprint);
        written
    }

    /// Writes the Item's members, noting each in `members` (and each property in
    /// `properties`, the `shared` ones first); a footprint goes in as `geometry` and
    /// `bbox` just before `properties`.
    fn item(
        &mut self,
        item: &Map<String, Value>,
        shared: &Map<String, Value>,
        mut footprint: Option<&Footprint>,
    ) {
        self.bytes.push(b'{');
        for (key, value) in item {
            if key == "properties"
                && let Some(footprint) = footprint.take()
            {
                self.footprint(footprint);
            }
            self.key(self.members.len(), key);
            let value_at = self.bytes.len();
            match value {
                Value::Object(own) if key == "properties" => {
                    let shared = shared.iter().filter(|(name, _)| !own.contains_key(*name));
                    let mut spans = Vec::with_capacity(shared.clone().count() + own.len());
                    self.object(shared.chain(own), &mut spans);
                    self.properties = spans;
                }
                Value::Object(assets) if key == "assets" => self.assets(assets),
                _ => {
                    let _ = serde_json::to_writer(&mut self.bytes, value);
                }
            }
            self.note_member(value_at);
        }
        if let Some(footprint) = footprint {
            self.footprint(footprint);
        }
    }

    /// Writes the members `geometry` and `bbox` of a footprint.
    fn footprint(&mut self, footprint: &Footprint) {
        self.key(self.members.len(), "geometry");
        let value_at = self.bytes.len();
        footprint.geometry.write_json(&mut self.bytes);
        self.note_member(value_at);
        self.key(self.members.len(), "bbox");
        let value_at = self.bytes.len();
        let _ = serde_json::to_writer(&mut self.bytes, &footprint.bbox);
        self.note_member(value_at);
    }

    /// Notes the top-level member whose value was written from `value_at` to the end.
    /// Past 4 GiB it is noted as empty: [`Written::into_json`] then keeps no member.
    fn note_member(&mut self, value_at: usize) {
        let span = span(value_at, self.bytes.len());
        self.members.push(span.unwrap_or(Span { value: 0, end: 0 }));
    }

    /// Writes an object of these members with its closing `}`, noting each in `spans`.
    fn object<'a>(
        &mut self,
        members: impl Iterator<Item = (&'a String, &'a Value)>,
        spans: &mut Vec<Span>,
    ) {
        self.bytes.push(b'{');
        for (n, (key, value)) in members.enumerate() {
            self.key(n, key);
            let value_at = self.bytes.len();
            let _ = serde_json::to_writer(&mut self.bytes, value);
            spans.extend(span(value_at, self.bytes.len()));
        }
        self.bytes.push(b'}');
    }

    /// Writes the key of an object's `n`th member: the comma before it (but for the
    /// first), the key, and the colon.
    fn key(&mut self, n: usize, key: &str) {
        if n > 0 {
            self.bytes.push(b',');
        }
        let _ = serde_json::to_writer(&mut self.bytes, key);
        self.bytes.push(b':');
    }

    /// Writes the `assets` object, noting where the JSON string of each local href (one
    /// without `://`) is.
    fn assets(&mut self, assets: &Map<String, Value>) {
        self.bytes.push(b'{');
        for (n, (key, asset)) in assets.iter().enumerate() {
            self.key(n, key);
            let Value::Object(fields) = asset else {
                let _ = serde_json::to_writer(&mut self.bytes, asset);
                continue;
            };
            self.bytes.push(b'{');
            for (m, (name, value)) in fields.iter().enumerate() {
                self.key(m, name);
                let start = self.bytes.len();
                let _ = serde_json::to_writer(&mut self.bytes, value);
                if name == "href" && value.as_str().is_some_and(|h| !h.contains("://")) {
                    self.note_href(start);
                }
            }
            self.bytes.push(b'}');
        }
        self.bytes.push(b'}');
    }

    /// Notes the href whose JSON string was written from `start` to the end; one that
    /// needs escapes (or lies past 4 GiB) leaves the Item unspliced.
    fn note_href(&mut self, start: usize) {
        let end = self.bytes.len();
        let escaped = self
            .bytes
            .get(start..end)
            .is_none_or(|text| text.contains(&b'\\'));
        match (u32::try_from(start), u32::try_from(end)) {
            (Ok(start), Ok(end)) if !escaped => self.hrefs.push(Href { start, end }),
            _ => self.spliced = false,
        }
    }

    /// The [`ItemJson`] of these bytes; no member can be looked up in an Item over 4 GiB.
    /// Each part is copied, the bytes into the arena, the rest to an allocation of its own
    /// size: shrinking a buffer in place can leave it in a block up to twice as large
    /// (mimalloc keeps a block that is at least half used), and these are kept for the
    /// snapshot's life.
    fn into_json(self) -> ItemJson {
        let members = u32::try_from(self.members.len()).ok();
        let (spans, members) = match members {
            Some(count) if u32::try_from(self.bytes.len()).is_ok() => {
                let mut spans = self.members;
                spans.extend(self.properties);
                (Box::from(spans.as_slice()), count)
            }
            _ => (Box::from([]), 0),
        };
        ItemJson {
            bytes: super::arena::pack(&self.bytes),
            hrefs: if self.spliced {
                Box::from(self.hrefs.as_slice())
            } else {
                Box::from([])
            },
            spans,
            members,
            spliced: self.spliced,
        }
    }
}

/// A [`Span`], when its offsets fit.
fn span(value: usize, end: usize) -> Option<Span> {
    Some(Span {
        value: u32::try_from(value).ok()?,
        end: u32::try_from(end).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn assemble(json: &ItemJson) -> Value {
        let mut out = Vec::new();
        for piece in json.pieces().unwrap() {
            match piece {
                Piece::Bytes(bytes) => out.extend_from_slice(bytes),
                Piece::Href(path) => {
                    out.extend_from_slice(b"\"https://x.example/");
                    out.extend_from_slice(path);
                    out.push(b'"');
                }
            }
        }
        out.push(b'}');
        serde_json::from_slice(&out).unwrap()
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn splits_at_local_hrefs_only() {
        let item = object(json!({
            "type": "Feature", "id": "i", "collection": "c",
            "properties": {"note": "a \"quoted\" href"},
            "assets": {
                "a": {"href": "collections/c/items/i/assets/a/a.tif"},
                "b": {"href": "https://elsewhere.example/b.tif"},
                "c": {"href": "collections/c/items/i/assets/c/c.npy", "title": "ü"},
            }
        }));
        let json = ItemJson::new(&item, &Map::new(), None);
        let hrefs: Vec<&[u8]> = json
            .pieces()
            .unwrap()
            .filter_map(|p| match p {
                Piece::Href(path) => Some(path),
                Piece::Bytes(_) => None,
            })
            .collect();
        assert_eq!(
            hrefs,
            [
                b"collections/c/items/i/assets/a/a.tif".as_slice(),
                b"collections/c/items/i/assets/c/c.npy"
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
    fn reads_members_and_the_whole_item_back() {
        let item = object(json!({
            "type": "Feature", "id": "i", "collection": "c",
            "geometry": {"type": "Point", "coordinates": [1.5, -2.0]},
            "we\"ird": 1,
            "properties": {"n": 3, "t": "x"},
            "assets": {
                "a": {"href": "collections/c/items/i/assets/a/a.tif", "roles": ["data"]},
                "b": {"href": "https://elsewhere.example/b.tif"},
            }
        }));
        let json = ItemJson::new(&item, &Map::new(), None);
        assert_eq!(json.to_map(), item);
        assert_eq!(json.member("geometry"), Some(item["geometry"].clone()));
        assert_eq!(json.member("assets"), Some(item["assets"].clone()));
        assert_eq!(json.member("we\"ird"), Some(json!(1)));
        assert_eq!(json.member("id"), Some(json!("i")));
        assert_eq!(json.member("nope"), None);
        assert_eq!(json.member("ty"), None);
        assert_eq!(json.member("properties"), Some(item["properties"].clone()));
        assert_eq!(json.property("n"), Some(json!(3)));
        assert_eq!(json.property("t"), Some(json!("x")));
        assert_eq!(json.property("type"), None);
        let texts: Vec<(String, String)> = json
            .property_texts()
            .map(|(name, text)| (name.into_owned(), String::from_utf8_lossy(text).into()))
            .collect();
        assert_eq!(
            texts,
            [("n".into(), "3".into()), ("t".into(), "\"x\"".into())]
        );
    }

    #[test]
    fn properties_with_escaped_names_are_found() {
        let item = object(json!({
            "id": "i", "properties": {"a\"b": [1, {"c": null}], "ü\\": true}
        }));
        let json = ItemJson::new(&item, &Map::new(), None);
        assert_eq!(json.property("a\"b"), Some(json!([1, {"c": null}])));
        assert_eq!(json.property("ü\\"), Some(json!(true)));
        let names: Vec<String> = json.property_texts().map(|(n, _)| n.into_owned()).collect();
        assert_eq!(names, ["a\"b", "ü\\"]);
        assert_eq!(json.to_map(), item);
    }

    #[test]
    fn shared_properties_come_first_and_give_way_to_the_items_own() {
        let shared = object(json!({"oci:digest": "sha256:ab", "oci:kind": "shared"}));
        let item = object(json!({
            "id": "i", "properties": {"oci:kind": "own", "n": 3}, "assets": {}
        }));
        let json = ItemJson::new(&item, &shared, None);
        let names: Vec<String> = json.property_texts().map(|(n, _)| n.into_owned()).collect();
        assert_eq!(names, ["oci:digest", "oci:kind", "n"]);
        assert_eq!(json.property("oci:digest"), Some(json!("sha256:ab")));
        assert_eq!(json.property("oci:kind"), Some(json!("own")));
        assert_eq!(
            json.to_map()["properties"],
            json!({"oci:digest": "sha256:ab", "oci:kind": "own", "n": 3})
        );
        assert_eq!(json.member("assets"), Some(json!({})));
    }

    #[test]
    fn members_after_an_href_are_still_found() {
        let href = "collections/c/items/i/assets/a/a-long-file-name.tif";
        let item = object(json!({
            "id": "i",
            "assets": {
                "a": {"href": href},
                "b": {"href": "b.tif", "title": "b"},
            },
            "properties": {"echo": href, "n": 2},
            "last": [1, 2],
        }));
        let json = ItemJson::new(&item, &Map::new(), None);
        assert!(json.pieces().is_some());
        assert_eq!(json.to_map(), item);
        assert_eq!(json.member("assets"), Some(item["assets"].clone()));
        assert_eq!(json.member("last"), Some(json!([1, 2])));
        assert_eq!(json.property("echo"), Some(json!(href)));
        assert_eq!(json.property("n"), Some(json!(2)));
        let value = assemble(&json);
        assert_eq!(
            value["assets"]["a"]["href"],
            format!("https://x.example/{href}")
        );
        assert_eq!(value["assets"]["b"]["href"], "https://x.example/b.tif");
        assert_eq!(value["properties"]["echo"], href);
    }

    #[test]
    fn an_href_that_needs_escaping_is_kept_unspliced() {
        let item = object(json!({
            "id": "i", "assets": {"a": {"href": "odd\"name.tif"}}
        }));
        let json = ItemJson::new(&item, &Map::new(), None);
        assert!(json.pieces().is_none());
        assert_eq!(json.to_map(), item);
    }
}
