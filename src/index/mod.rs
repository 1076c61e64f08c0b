//! The immutable, searchable snapshot of mapped Collections and Items. No I/O, no HTTP.
//!
//! [`Snapshot::build`] sorts and indexes once per crawl: Items by (collection, id), a
//! packed R-tree over their bboxes ([`spatial`]) and time ranges ([`temporal`]) that
//! counts without visiting ([`spacetime`]; a box alone by inclusion–exclusion over
//! sorted sides and corner counts, `area_count` and `dominance`), and their geometries
//! ([`geometry`]). [`search`] answers item searches page by page, with
//! [`token`]s that survive snapshot swaps: CQL2 [`filter`]s (their spatial and temporal
//! bounds pushed down), free [`text`], [`sort`] keys. [`queryables`] are derived once per
//! build; [`collections`] answers collection search; [`json`] keeps each Item as its
//! serialized JSON.

mod area_count;
pub mod arena;
mod coarse;
pub mod collections;
mod dominance;
pub mod filter;
pub mod geometry;
pub mod json;
pub mod queryables;
pub mod search;
pub mod sort;
pub mod spacetime;
pub mod spatial;
pub mod temporal;
pub mod text;
pub mod token;

pub use collections::{CollectionPage, CollectionSearch};
pub use search::{Page, Search, SortKey};
pub use spatial::Bbox;
pub use temporal::Interval;
pub use token::PageToken;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::mapping::{BlobRef, ItemLink, MappedCollection, MappedItem};
use queryables::Queryables;
use spacetime::SpaceTimeIndex;

/// One indexed Item: its JSON serialized once, the parts searches read, and the blobs
/// behind its assets. Shared (never copied) between the refresher, which keeps it for
/// incremental recrawls, and every snapshot it is part of.
#[derive(Debug)]
pub struct IndexedItem {
    /// Collection id.
    pub collection: Arc<str>,
    /// Item id, unique in its collection.
    pub id: String,
    /// Its bbox, from `bbox` or else from its geometry; `None` when it has neither.
    pub bbox: Option<Bbox>,
    /// Its geometry, when it says more than `bbox`: `None` when null, unreadable, or the
    /// very rectangle of `bbox` (searches then check the bbox).
    /// (Boxed: most Items of a tiled collection need none.)
    pub geometry: Option<Box<geo::Geometry<f64>>>,
    /// Its time range; `None` when it has no readable time.
    pub time: Option<Interval>,
    /// Links to other Items of its collection (versions).
    pub links: Box<[ItemLink]>,
    /// The blob behind each asset key, sorted by key.
    assets: Box<[(String, BlobRef)]>,
    /// Its JSON (with `collection`, without `links`).
    json: json::ItemJson,
}

impl IndexedItem {
    /// Reads the searchable parts of a mapped Item and serializes it.
    pub fn new(mapped: MappedItem) -> IndexedItem {
        let MappedItem {
            collection,
            id,
            mut item,
            shared_properties,
            footprint,
            assets,
            links,
        } = mapped;
        item.remove("links");
        item.entry("collection")
            .or_insert_with(|| Value::String(collection.to_string()));
        let (bbox, geometry) = match &footprint {
            Some(footprint) => (
                Bbox::from_values(&footprint.bbox).ok(),
                Some(footprint.geometry.to_geo()),
            ),
            None => {
                let geometry = item
                    .get("geometry")
                    .filter(|g| !g.is_null())
                    .and_then(|g| geometry::from_geojson(g).ok());
                let bbox = item
                    .get("bbox")
                    .and_then(Value::as_array)
                    .and_then(|values| values.iter().map(Value::as_f64).collect::<Option<Vec<_>>>())
                    .and_then(|values| Bbox::from_values(&values).ok())
                    .or_else(|| geometry.as_ref().and_then(Bbox::of_geometry));
                (bbox, geometry)
            }
        };
        let geometry = geometry
            .filter(|g| !bbox.is_some_and(|b| geometry::is_rectangle_of(g, &b)))
            .map(Box::new);
        let time = item
            .get("properties")
            .and_then(Value::as_object)
            .and_then(Interval::of_item);
        let json = json::ItemJson::new(&item, &shared_properties, footprint.as_ref());
        // What is kept is copied rather than moved: its allocations then sit with the
        // Item's other long-lived ones, not among the mapping's short-lived ones, whose
        // pages can then be given back.
        IndexedItem {
            collection: collection.clone(),
            id: id.as_str().to_owned(),
            bbox,
            geometry,
            time,
            links: links.iter().cloned().collect(),
            assets: assets.iter().map(|(k, b)| (k.clone(), b.clone())).collect(),
            json,
        }
    }

    /// Its JSON, serialized once: copied into responses as it is.
    pub fn json(&self) -> &json::ItemJson {
        &self.json
    }

    /// A top-level member of the Item JSON (`id` and `collection` included); `None`
    /// when it has none.
    pub fn member(&self, name: &str) -> Option<Value> {
        self.json.member(name)
    }

    /// One of its properties; `None` when it has none of that name.
    pub fn property(&self, name: &str) -> Option<Value> {
        self.json.property(name)
    }

    /// Those of its properties named in `names`.
    pub fn properties_named(&self, names: &[&str]) -> Map<String, Value> {
        names
            .iter()
            .filter_map(|name| Some((name.to_string(), self.property(name)?)))
            .collect()
    }

    /// The whole Item JSON (with `collection`, without `links`), local hrefs relative.
    pub fn to_map(&self) -> Map<String, Value> {
        self.json.to_map()
    }

    /// The blob behind an asset key.
    pub fn asset(&self, key: &str) -> Option<&BlobRef> {
        self.assets
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.assets[i].1)
    }

    /// Each asset key with its blob, sorted by key.
    pub fn assets(&self) -> impl Iterator<Item = (&str, &BlobRef)> {
        self.assets.iter().map(|(key, blob)| (key.as_str(), blob))
    }

    /// The (collection, id) key the snapshot is sorted by.
    fn key(&self) -> (&str, &str) {
        (&self.collection, &self.id)
    }
}

impl From<MappedItem> for Arc<IndexedItem> {
    fn from(mapped: MappedItem) -> Arc<IndexedItem> {
        Arc::new(IndexedItem::new(mapped))
    }
}

/// An immutable index of everything served; swapped atomically after each crawl.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Collections, sorted by id, unique.
    collections: Vec<MappedCollection>,
    /// Items, sorted by (collection, id), unique.
    items: Vec<Arc<IndexedItem>>,
    /// Each Item's bbox and time range by position, and the tree over them.
    space_time: SpaceTimeIndex,
    /// Queryables documents, derived from the Items' properties.
    queryables: Queryables,
    /// The (source, repository) pairs each collection's Items' blobs come from.
    repositories: BTreeMap<String, Vec<(String, String)>>,
}

impl Snapshot {
    /// Builds the index. Never fails: a duplicate key keeps its first entry, an Item whose
    /// geometry, bbox or time cannot be read is indexed without them.
    pub fn build<I: Into<Arc<IndexedItem>>>(
        mut collections: Vec<MappedCollection>,
        items: Vec<I>,
    ) -> Snapshot {
        collections.sort_by(|a, b| a.id.cmp(&b.id));
        collections.dedup_by(|later, first| later.id == first.id);
        let mut items: Vec<Arc<IndexedItem>> = items.into_iter().map(Into::into).collect();
        items.par_sort_by(|a, b| a.key().cmp(&b.key()));
        items.dedup_by(|later, first| later.key() == first.key());
        let (queryables, space_time) = rayon::join(
            || Queryables::build(&collections, &items),
            || SpaceTimeIndex::build(items.iter().map(|item| (item.bbox, item.time))),
        );
        let mut repositories: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for item in &items {
            let pairs = repositories.entry(item.collection.to_string()).or_default();
            for (_, blob) in item.assets() {
                if !pairs
                    .iter()
                    .any(|(s, r)| **s == *blob.source && **r == *blob.repository)
                {
                    pairs.push((blob.source.to_string(), blob.repository.to_string()));
                }
            }
        }
        Snapshot {
            collections,
            items,
            space_time,
            queryables,
            repositories,
        }
    }

    /// Every Collection, sorted by id.
    pub fn collections(&self) -> &[MappedCollection] {
        &self.collections
    }

    /// One Collection by id.
    pub fn collection(&self, id: &str) -> Option<&MappedCollection> {
        self.collections
            .binary_search_by(|c| c.id.as_str().cmp(id))
            .ok()
            .and_then(|i| self.collections.get(i))
    }

    /// One Item by collection and id.
    pub fn item(&self, collection: &str, id: &str) -> Option<&IndexedItem> {
        self.items
            .binary_search_by(|item| item.key().cmp(&(collection, id)))
            .ok()
            .and_then(|i| self.items.get(i))
            .map(Arc::as_ref)
    }

    /// The queryables JSON Schema over every Item, or over one collection's Items; `None`
    /// for an unknown collection. `$id` is left for the API to set.
    pub fn queryables(&self, collection: Option<&str>) -> Option<&Value> {
        self.queryables.get(collection)
    }

    /// The queryables JSON Schema over the Items of some collections only.
    pub fn queryables_of(&self, collections: &BTreeSet<String>) -> Value {
        self.queryables.over(collections)
    }

    /// How many Items are indexed.
    pub fn item_count(&self) -> usize {
        self.items.len()
    }

    /// How many Items one collection has.
    pub fn collection_item_count(&self, collection: &str) -> usize {
        self.collection_range(collection).len()
    }

    /// The (source, repository) pairs the blobs of a collection's Items come from;
    /// empty for an unknown collection or one without blobs.
    pub fn repositories(&self, collection: &str) -> &[(String, String)] {
        self.repositories.get(collection).map_or(&[], Vec::as_slice)
    }

    /// Positions of one collection's Items.
    fn collection_range(&self, collection: &str) -> Range<usize> {
        let start = self
            .items
            .partition_point(|item| &*item.collection < collection);
        let end = self
            .items
            .partition_point(|item| &*item.collection <= collection);
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn item(collection: &str, id: &str, body: Value) -> MappedItem {
        MappedItem {
            collection: collection.into(),
            id: id.into(),
            item: body.as_object().cloned().unwrap_or_default(),
            shared_properties: Default::default(),
            footprint: None,
            assets: BTreeMap::new(),
            links: Vec::new(),
        }
    }

    #[test]
    fn sorts_dedups_and_looks_up() {
        let collection = |id: &str| MappedCollection {
            id: id.into(),
            collection: json!({"id": id}).as_object().cloned().unwrap(),
        };
        let snapshot = Snapshot::build(
            vec![collection("b"), collection("a"), collection("b")],
            vec![
                item("b", "2", json!({"n": 1})),
                item("a", "9", json!({})),
                item("b", "2", json!({"n": 2})),
                item("b", "1", json!({})),
            ],
        );
        let ids: Vec<_> = snapshot
            .collections()
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(snapshot.collection("c").is_none());
        assert_eq!(snapshot.item_count(), 3);
        assert_eq!(snapshot.item("b", "2").unwrap().member("n"), Some(json!(1)));
        assert!(snapshot.item("a", "2").is_none());
        assert_eq!(snapshot.collection_range("b"), 1..3);
        assert_eq!(snapshot.collection_range("zz"), 3..3);
    }

    #[test]
    fn reads_bbox_geometry_and_time_once() {
        let point = json!({"type": "Point", "coordinates": [5.0, 6.0]});
        let snapshot = Snapshot::build(
            Vec::new(),
            vec![
                item(
                    "c",
                    "bbox",
                    json!({"bbox": [170, 0, -170, 1], "geometry": null}),
                ),
                item(
                    "c",
                    "geom",
                    json!({"geometry": point,
                    "properties": {"datetime": "2020-01-01T00:00:00Z"}}),
                ),
                item(
                    "c",
                    "none",
                    json!({"geometry": {"type": "Nope"}, "bbox": "x"}),
                ),
                item(
                    "c",
                    "rectangle",
                    json!({"geometry": {"type": "Polygon",
                        "coordinates": [[[0, 1], [2, 1], [2, 3], [0, 3], [0, 1]]]}}),
                ),
            ],
        );
        let bbox = snapshot.item("c", "bbox").unwrap();
        assert_eq!(bbox.bbox.unwrap().west, 170.0);
        assert!(bbox.geometry.is_none() && bbox.time.is_none());
        let geom = snapshot.item("c", "geom").unwrap();
        assert_eq!(geom.bbox.unwrap().east, 5.0);
        assert!(geom.time.is_some());
        assert!(geom.geometry.is_some());
        let none = snapshot.item("c", "none").unwrap();
        assert!(none.bbox.is_none() && none.geometry.is_none());
        let rectangle = snapshot.item("c", "rectangle").unwrap();
        assert_eq!(rectangle.bbox.unwrap().north, 3.0);
        assert!(rectangle.geometry.is_none(), "its bbox says as much");
    }

    #[test]
    fn a_footprint_is_indexed_and_written_as_its_geojson_would_be() {
        use crate::mapping::{Footprint, Geometry};
        let triangle = vec![[0.0, 0.0], [2.5, 0.0], [0.0, 1.0], [0.0, 0.0]];
        let rectangle = vec![[0.0, 1.0], [2.0, 1.0], [2.0, 3.0], [0.0, 3.0], [0.0, 1.0]];
        for (geometry, bbox) in [
            (
                Geometry::Rings("Polygon", vec![triangle]),
                [0.0, 0.0, 2.5, 1.0],
            ),
            (
                Geometry::MultiPolygon(vec![vec![rectangle]]),
                [0.0, 1.0, 2.0, 3.0],
            ),
            (Geometry::Point([-1.5, 2.0]), [-1.5, 2.0, -1.5, 2.0]),
        ] {
            let body = json!({"type": "Feature", "id": "i", "collection": "c",
                "properties": {"datetime": "2020-01-01T00:00:00Z"}, "assets": {}});
            let mut typed = item("c", "i", body.clone());
            typed.footprint = Some(Footprint {
                geometry: geometry.clone(),
                bbox,
            });
            let mut out = Vec::new();
            geometry.write_json(&mut out);
            let mut as_json = body.as_object().cloned().unwrap();
            as_json.shift_remove("properties");
            as_json.shift_remove("assets");
            as_json.insert("geometry".into(), serde_json::from_slice(&out).unwrap());
            as_json.insert("bbox".into(), json!(bbox));
            as_json.insert("properties".into(), body["properties"].clone());
            as_json.insert("assets".into(), json!({}));
            let (typed, as_json) = (
                IndexedItem::new(typed),
                IndexedItem::new(item("c", "i", Value::Object(as_json))),
            );
            assert_eq!(typed.bbox, as_json.bbox);
            assert_eq!(typed.geometry, as_json.geometry);
            assert_eq!(typed.time, as_json.time);
            // The same bytes, members in the same order, each found where it is.
            let text = |item: &IndexedItem| {
                let pieces = item.json().pieces().unwrap();
                let mut text = Vec::new();
                for piece in pieces {
                    if let json::Piece::Bytes(bytes) = piece {
                        text.extend_from_slice(bytes);
                    }
                }
                text
            };
            assert_eq!(text(&typed), text(&as_json));
            for name in ["geometry", "bbox", "properties", "assets", "id"] {
                assert_eq!(typed.member(name), as_json.member(name), "{name}");
                assert!(typed.member(name).is_some(), "{name}");
            }
            assert_eq!(
                typed.property("datetime"),
                Some(json!("2020-01-01T00:00:00Z"))
            );
        }
    }
}
