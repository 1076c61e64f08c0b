//! An Item's JSON, serialized once when it is indexed and kept instead of a tree of
//! `Value`s: split where its local asset hrefs go, so a response is assembled by copying
//! bytes and writing only what depends on the request (the base URL and signature of
//! each href, and the links), with the place of each top-level member and of each
//! property noted so one can be read back without parsing the rest. The properties an
//! artifact's Items share (their provenance) are written once and kept by each of them.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::mapping::Footprint;

/// The serialized Item without its closing `}`, where its local hrefs are, and where
/// each top-level member and each property is. Its text is `bytes` with the `shared`
/// properties' text inserted at `shared_at`; every place noted is a place in that text.
#[derive(Debug)]
pub struct ItemJson {
    /// The Item as mapped (local hrefs relative), without its closing `}` and its shared
    /// properties; packed with other Items' ([`super::arena`]).
    bytes: Bytes,
    /// The first properties of the Item, written once for every Item that shares them.
    shared: Option<Arc<SharedJson>>,
    /// Where in the text the shared properties start.
    shared_at: u32,
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

/// Properties several Items share, written once: their members, comma-separated, without
/// the braces, and the place of each.
#[derive(Debug)]
struct SharedJson {
    text: Box<[u8]>,
    /// Each member, as a place in `text`.
    spans: Box<[Span]>,
}

impl SharedJson {
    /// The members of `properties` written; `None` when there are none (or over 4 GiB).
    fn of(properties: &Map<String, Value>) -> Option<SharedJson> {
        let mut written = Written::with_capacity(256);
        let mut spans = Vec::with_capacity(properties.len());
        written.object(properties.iter(), &mut spans);
        let text = written.bytes.get(1..written.bytes.len() - 1)?;
        let spans = spans
            .iter()
            .map(|span| {
                Some(Span {
                    value: span.value.checked_sub(1)?,
                    end: span.end - 1,
                })
            })
            .collect::<Option<Box<[Span]>>>()?;
        (!spans.is_empty() && spans.len() == properties.len()).then(|| SharedJson {
            text: Box::from(text),
            spans,
        })
    }

    /// The written text of the properties in the `Arc` this thread wrote last, or of new
    /// ones: an artifact's Items are indexed one after another.
    fn of_shared(properties: &Arc<Map<String, Value>>) -> Option<Arc<SharedJson>> {
        /// Properties, and their text.
        type Last = (Arc<Map<String, Value>>, Arc<SharedJson>);
        thread_local! {
            static LAST: RefCell<Option<Last>> = const { RefCell::new(None) };
        }
        if properties.is_empty() {
            return None;
        }
        LAST.with_borrow_mut(|last| {
            if let Some((map, json)) = last.as_ref()
                && Arc::ptr_eq(map, properties)
            {
                return Some(json.clone());
            }
            let json = Arc::new(SharedJson::of(properties)?);
            *last = Some((properties.clone(), json.clone()));
            Some(json)
        })
    }
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
        shared: &Arc<Map<String, Value>>,
        footprint: Option<&Footprint>,
    ) -> ItemJson {
        Written::of(item, shared, footprint).into_json()
    }

    /// The length of its text.
    fn len(&self) -> usize {
        self.bytes.len() + self.shared.as_ref().map_or(0, |shared| shared.text.len())
    }

    /// Where the part of the text holding `at` ends: the shared properties' start, their
    /// end, or the text's end.
    fn part_end(&self, at: usize) -> usize {
        let Some(shared) = &self.shared else {
            return self.len();
        };
        let (start, end) = (
            self.shared_at as usize,
            self.shared_at as usize + shared.text.len(),
        );
        if at < start {
            start
        } else if at < end {
            end
        } else {
            self.len()
        }
    }

    /// The text in `range`, which may span its parts (as `properties` does).
    fn whole_text(&self, range: Range<usize>) -> Cow<'_, [u8]> {
        if range.end <= self.part_end(range.start) {
            return Cow::Borrowed(self.text(range));
        }
        let mut text = Vec::with_capacity(range.len());
        let mut from = range.start;
        while from < range.end {
            let to = self.part_end(from).min(range.end);
            if to <= from {
                break;
            }
            text.extend_from_slice(self.text(from..to));
            from = to;
        }
        Cow::Owned(text)
    }

    /// The text in `range`, which lies within one part of it (its own bytes before the
    /// shared properties, those, or its own bytes after them).
    fn text(&self, range: Range<usize>) -> &[u8] {
        let at = self.shared_at as usize;
        let (part, offset): (&[u8], usize) = match &self.shared {
            Some(shared) if range.start >= at + shared.text.len() => (
                self.bytes.get(at..).unwrap_or_default(),
                at + shared.text.len(),
            ),
            Some(shared) if range.start >= at => (&shared.text, at),
            _ => (&self.bytes, 0),
        };
        part.get(range.start - offset..range.end.saturating_sub(offset))
            .unwrap_or_default()
    }

    /// The pieces, in order; the caller closes the object. `None` when the Item is not
    /// spliced and has to be rendered from [`ItemJson::to_map`].
    pub fn pieces(&self) -> Option<impl Iterator<Item = Piece<'_>>> {
        self.spliced.then(|| {
            let len = self.len();
            let mut from = 0;
            let mut hrefs = self.hrefs.iter().peekable();
            let mut in_href = None;
            std::iter::from_fn(move || {
                if let Some(href) = in_href.take() {
                    return Some(Piece::Href(href));
                }
                if from >= len && hrefs.peek().is_none() {
                    return None;
                }
                let to = self.part_end(from);
                match hrefs.peek() {
                    Some(href) if href.start as usize <= to => {
                        let (start, end) = (href.start as usize, href.end as usize);
                        in_href = Some(self.text(start + 1..end - 1));
                        hrefs.next();
                        let bytes = self.text(from..start);
                        from = end;
                        Some(Piece::Bytes(bytes))
                    }
                    _ => {
                        let bytes = self.text(from..to);
                        from = to;
                        Some(Piece::Bytes(bytes))
                    }
                }
            })
        })
    }

    /// One top-level member's value, read from the bytes; local hrefs as mapped.
    pub fn member(&self, name: &str) -> Option<Value> {
        let value = self.find(self.member_entries(), name)?;
        serde_json::from_slice(&self.whole_text(value)).ok()
    }

    /// One property's value, read from the bytes.
    pub fn property(&self, name: &str) -> Option<Value> {
        let value = self.find(self.property_entries(), name)?;
        serde_json::from_slice(&self.whole_text(value)).ok()
    }

    /// Each property's name and its value's JSON text.
    pub fn property_texts(&self) -> impl Iterator<Item = (Cow<'_, str>, &[u8])> {
        self.property_entries().filter_map(|(key, value)| {
            let raw = self.text(key);
            let name = match std::str::from_utf8(raw) {
                Ok(text) if !text.contains('\\') && text.len() >= 2 => {
                    Cow::Borrowed(&text[1..text.len() - 1])
                }
                _ => Cow::Owned(serde_json::from_slice::<String>(raw).ok()?),
            };
            Some((name, self.text(value)))
        })
    }

    /// The whole Item as mapped (local hrefs relative), read back from the bytes.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut text = Vec::with_capacity(self.len() + 1);
        match &self.shared {
            Some(shared) => {
                let (before, after) = self
                    .bytes
                    .split_at_checked(self.shared_at as usize)
                    .unwrap_or((&self.bytes, &[]));
                text.extend_from_slice(before);
                text.extend_from_slice(&shared.text);
                text.extend_from_slice(after);
            }
            None => text.extend_from_slice(&self.bytes),
        }
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
        let raw = self.text(quoted);
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
    /// The shared properties written, and where.
    shared: Option<(Arc<SharedJson>, usize)>,
    members: Vec<Span>,
    properties: Vec<Span>,
    hrefs: Vec<Href>,
    /// Cleared when a local href could not be noted.
    spliced: bool,
}

impl Written {
    fn of(
        item: &Map<String, Value>,
        shared: &Arc<Map<String, Value>>,
        footprint: Option<&Footprint>,
    ) -> Written {
        let mut written = Written::with_capacity(2048);
        written.members.reserve(item.len() + 2);
        written.item(item, shared, footprint);
        written
    }

    fn with_capacity(bytes: usize) -> Written {
        Written {
            bytes: Vec::with_capacity(bytes),
            shared: None,
            members: Vec::new(),
            properties: Vec::new(),
            hrefs: Vec::new(),
            spliced: true,
        }
    }

    /// Writes the Item's members, noting each in `members` (and each property in
    /// `properties`, the `shared` ones first); a footprint goes in as `geometry` and
    /// `bbox` just before `properties`.
    fn item(
        &mut self,
        item: &Map<String, Value>,
        shared: &Arc<Map<String, Value>>,
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
                Value::Object(own) if key == "properties" => self.properties(shared, own),
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

    /// Writes the `properties` object, the `shared` ones first: as the text they share
    /// with other Items, unless the Item names one of them.
    fn properties(&mut self, shared: &Arc<Map<String, Value>>, own: &Map<String, Value>) {
        let mut spans = Vec::with_capacity(shared.len() + own.len());
        let overridden = shared.keys().any(|name| own.contains_key(name));
        let written = (!overridden)
            .then(|| SharedJson::of_shared(shared))
            .flatten();
        match written {
            Some(json) => {
                self.bytes.push(b'{');
                let at = self.bytes.len();
                self.bytes.extend_from_slice(&json.text);
                let moved = |s: &Span| span(at + s.value as usize, at + s.end as usize);
                spans.extend(json.spans.iter().map_while(moved));
                self.members(own.iter(), json.spans.len(), &mut spans);
                self.bytes.push(b'}');
                self.shared = Some((json, at));
            }
            None if overridden => {
                let shared = shared.iter().filter(|(name, _)| !own.contains_key(*name));
                self.object(shared.chain(own), &mut spans);
            }
            None => self.object(own.iter(), &mut spans),
        }
        self.properties = spans;
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
        self.members(members, 0, spans);
        self.bytes.push(b'}');
    }

    /// Writes members of an object that has `before` members written already, noting each
    /// in `spans`.
    fn members<'a>(
        &mut self,
        members: impl Iterator<Item = (&'a String, &'a Value)>,
        before: usize,
        spans: &mut Vec<Span>,
    ) {
        for (n, (key, value)) in members.enumerate() {
            self.key(before + n, key);
            let value_at = self.bytes.len();
            let _ = serde_json::to_writer(&mut self.bytes, value);
            spans.extend(span(value_at, self.bytes.len()));
        }
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
    fn into_json(mut self) -> ItemJson {
        let members = u32::try_from(self.members.len()).ok();
        let (spans, members): (Box<[Span]>, u32) = match members {
            Some(count) if u32::try_from(self.bytes.len()).is_ok() => {
                let mut spans = self.members;
                spans.extend(self.properties);
                (Box::from(spans.as_slice()), count)
            }
            _ => (Box::from([]), 0),
        };
        let (shared, shared_at) = match self.shared {
            Some((json, at)) if !spans.is_empty() => {
                self.bytes.drain(at..at + json.text.len());
                (Some(json), at as u32)
            }
            _ => (None, 0),
        };
        ItemJson {
            bytes: super::arena::pack(&self.bytes),
            shared,
            shared_at,
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
        let json = ItemJson::new(&item, &Arc::default(), None);
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
        let json = ItemJson::new(&item, &Arc::default(), None);
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
        let json = ItemJson::new(&item, &Arc::default(), None);
        assert_eq!(json.property("a\"b"), Some(json!([1, {"c": null}])));
        assert_eq!(json.property("ü\\"), Some(json!(true)));
        let names: Vec<String> = json.property_texts().map(|(n, _)| n.into_owned()).collect();
        assert_eq!(names, ["a\"b", "ü\\"]);
        assert_eq!(json.to_map(), item);
    }

    #[test]
    fn shared_properties_are_written_once_and_read_as_the_items_own() {
        let shared = Arc::new(object(json!({"oci:digest": "sha256:ab", "oci:n": 1})));
        let href = "collections/c/items/i/assets/a/a.tif";
        let item = object(json!({
            "type": "Feature", "id": "i",
            "properties": {"n": 3, "datetime": null},
            "assets": {"a": {"href": href, "title": "a"}},
            "last": true,
        }));
        let whole = object(json!({
            "type": "Feature", "id": "i",
            "properties": {"oci:digest": "sha256:ab", "oci:n": 1, "n": 3, "datetime": null},
            "assets": {"a": {"href": href, "title": "a"}},
            "last": true,
        }));
        let json = ItemJson::new(&item, &shared, None);
        let other = ItemJson::new(&item, &shared, None);
        let (Some(a), Some(b)) = (&json.shared, &other.shared) else {
            panic!("the properties are not shared");
        };
        assert!(Arc::ptr_eq(a, b));
        assert!(
            !json
                .bytes
                .windows(10)
                .any(|w| w == b"sha256:ab\"".as_slice())
        );
        assert_eq!(json.to_map(), whole);
        let names: Vec<String> = json.property_texts().map(|(n, _)| n.into_owned()).collect();
        assert_eq!(names, ["oci:digest", "oci:n", "n", "datetime"]);
        assert_eq!(json.property("oci:digest"), Some(json!("sha256:ab")));
        assert_eq!(json.property("oci:n"), Some(json!(1)));
        assert_eq!(json.property("n"), Some(json!(3)));
        assert_eq!(json.property("datetime"), Some(Value::Null));
        assert_eq!(json.member("last"), Some(json!(true)));
        assert_eq!(json.member("properties"), Some(whole["properties"].clone()));
        let value = assemble(&json);
        assert_eq!(value["properties"], whole["properties"]);
        assert_eq!(
            value["assets"]["a"]["href"],
            format!("https://x.example/{href}")
        );
    }

    #[test]
    fn shared_properties_give_way_to_the_items_own() {
        let shared = Arc::new(object(
            json!({"oci:digest": "sha256:ab", "oci:kind": "shared"}),
        ));
        let item = object(json!({
            "id": "i", "properties": {"oci:kind": "own", "n": 3}, "assets": {}
        }));
        let json = ItemJson::new(&item, &shared, None);
        assert!(json.shared.is_none());
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
        let json = ItemJson::new(&item, &Arc::default(), None);
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
        let json = ItemJson::new(&item, &Arc::default(), None);
        assert!(json.pieces().is_none());
        assert_eq!(json.to_map(), item);
    }
}
