//! Collection search (STAC API collection-search): `bbox` against each Collection's
//! spatial extent, `datetime` against its temporal extent, free text, offset paging.

use serde_json::{Map, Value};

use super::temporal::instant;
use super::{Bbox, Interval, Snapshot, text};
use crate::mapping::MappedCollection;

/// A validated collection search; every filter given must match.
#[derive(Debug, Clone, Default)]
pub struct CollectionSearch {
    /// Collections any of whose `extent.spatial.bbox` boxes intersects this box.
    pub bbox: Option<Bbox>,
    /// Collections any of whose `extent.temporal.interval` intervals overlaps this one.
    pub datetime: Option<Interval>,
    /// Free-text terms matched in id, title, description and keywords.
    pub q: Option<Vec<String>>,
    /// Page size.
    pub limit: usize,
    /// How many matching Collections to skip.
    pub offset: usize,
}

/// One page of Collections.
#[derive(Debug)]
pub struct CollectionPage<'a> {
    /// The Collections of this page, by id.
    pub collections: Vec<&'a MappedCollection>,
    /// How many Collections match in all.
    pub number_matched: usize,
    /// The offset of the next page, when there is one.
    pub next_offset: Option<usize>,
}

impl CollectionSearch {
    /// Whether a Collection passes every filter.
    fn matches(&self, collection: &MappedCollection) -> bool {
        let json = &collection.collection;
        let extent = json.get("extent").and_then(Value::as_object);
        if let Some(query) = &self.bbox
            && !boxes(extent).any(|b| overlap(&b, query))
        {
            return false;
        }
        if let Some(query) = &self.datetime
            && !intervals(extent).any(|i| i.overlaps(query))
        {
            return false;
        }
        self.q
            .as_ref()
            .is_none_or(|terms| text::matches(terms, &collection.id, json))
    }
}

/// The readable boxes of `extent.spatial.bbox`.
fn boxes(extent: Option<&Map<String, Value>>) -> impl Iterator<Item = Bbox> + '_ {
    extent
        .and_then(|e| e.get("spatial"))
        .and_then(|s| s.get("bbox"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|b| {
            let values = b
                .as_array()?
                .iter()
                .map(Value::as_f64)
                .collect::<Option<Vec<_>>>()?;
            Bbox::from_values(&values).ok()
        })
}

/// The readable intervals of `extent.temporal.interval`; `null` ends are open.
fn intervals(extent: Option<&Map<String, Value>>) -> impl Iterator<Item = Interval> + '_ {
    extent
        .and_then(|e| e.get("temporal"))
        .and_then(|t| t.get("interval"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|pair| {
            let [start, end] = pair.as_array()?.as_slice() else {
                return None;
            };
            let bound = |v: &Value| match v {
                Value::Null => Some(None),
                Value::String(s) => instant(s).ok().map(Some),
                _ => None,
            };
            Some(Interval {
                start: bound(start)?,
                end: bound(end)?,
            })
        })
}

/// Whether two boxes share a point, either may cross the antimeridian.
fn overlap(a: &Bbox, b: &Bbox) -> bool {
    a.parts().iter().any(|[al, au]| {
        b.parts()
            .iter()
            .any(|[bl, bu]| al[0] <= bu[0] && bl[0] <= au[0] && al[1] <= bu[1] && bl[1] <= au[1])
    })
}

impl Snapshot {
    /// Runs a collection search: the page of matching Collections (by id) at `offset`.
    pub fn search_collections(&self, search: &CollectionSearch) -> CollectionPage<'_> {
        self.search_collections_among(search, |_| true)
    }

    /// Runs a collection search over the Collections whose ids pass `visible` only.
    pub fn search_collections_among(
        &self,
        search: &CollectionSearch,
        visible: impl Fn(&str) -> bool,
    ) -> CollectionPage<'_> {
        let matching: Vec<&MappedCollection> = self
            .collections
            .iter()
            .filter(|c| visible(&c.id) && search.matches(c))
            .collect();
        let number_matched = matching.len();
        let collections: Vec<_> = matching
            .into_iter()
            .skip(search.offset)
            .take(search.limit)
            .collect();
        let end = search.offset.saturating_add(collections.len());
        let next_offset = (!collections.is_empty() && end < number_matched).then_some(end);
        CollectionPage {
            collections,
            number_matched,
            next_offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn collection(id: &str, body: Value) -> MappedCollection {
        MappedCollection {
            id: id.into(),
            collection: body.as_object().cloned().unwrap(),
        }
    }

    fn snapshot() -> Snapshot {
        let extent = |bbox: Value, interval: Value| json!({"extent": {"spatial": {"bbox": bbox}, "temporal": {"interval": interval}}});
        let mut pacific = extent(
            json!([[170, -10, -170, 10]]),
            json!([["2020-01-01T00:00:00Z", null]]),
        );
        pacific["title"] = json!("Pacific tiles");
        let mut france = extent(
            json!([[-5, 41, 10, 51], [1, 43, 2, 44]]),
            json!([["2019-01-01T00:00:00Z", "2019-12-31T00:00:00Z"]]),
        );
        france["keywords"] = json!(["PASTIS", "crops"]);
        Snapshot::build(
            vec![
                collection("pacific", pacific),
                collection("france", france),
                collection("bare", json!({"description": "no extent"})),
            ],
            Vec::<crate::mapping::MappedItem>::new(),
        )
    }

    fn ids(snapshot: &Snapshot, search: CollectionSearch) -> Vec<String> {
        let search = CollectionSearch {
            limit: 100,
            ..search
        };
        let page = snapshot.search_collections(&search);
        assert_eq!(page.number_matched, page.collections.len());
        page.collections.iter().map(|c| c.id.clone()).collect()
    }

    #[test]
    fn filters_by_extent_and_text() {
        let snapshot = snapshot();
        let bbox = |v: [f64; 4]| Some(Bbox::from_values(&v).unwrap());
        let when = |t: &str| Some(Interval::parse(t).unwrap());
        assert_eq!(
            ids(&snapshot, CollectionSearch::default()),
            ["bare", "france", "pacific"]
        );
        let search = |search| ids(&snapshot, search);
        assert_eq!(
            search(CollectionSearch {
                bbox: bbox([-175.0, 0.0, -171.0, 1.0]),
                ..Default::default()
            }),
            ["pacific"]
        );
        assert_eq!(
            search(CollectionSearch {
                bbox: bbox([175.0, 0.0, -100.0, 60.0]),
                ..Default::default()
            }),
            ["pacific"]
        );
        assert_eq!(
            search(CollectionSearch {
                bbox: bbox([-180.0, -90.0, 180.0, 90.0]),
                ..Default::default()
            }),
            ["france", "pacific"]
        );
        assert_eq!(
            search(CollectionSearch {
                datetime: when("2030-01-01T00:00:00Z"),
                ..Default::default()
            }),
            ["pacific"]
        );
        assert_eq!(
            search(CollectionSearch {
                datetime: when("../2019-06-01T00:00:00Z"),
                ..Default::default()
            }),
            ["france"]
        );
        assert_eq!(
            search(CollectionSearch {
                q: Some(vec!["pastis".into(), "EXTENT".into()]),
                ..Default::default()
            }),
            ["bare", "france"]
        );
        assert_eq!(
            search(CollectionSearch {
                q: Some(vec!["pacific".into()]),
                datetime: when("2019-01-01T00:00:00Z"),
                ..Default::default()
            }),
            Vec::<String>::new()
        );
    }

    #[test]
    fn pages_by_offset() {
        let snapshot = snapshot();
        let page = |offset| {
            snapshot.search_collections(&CollectionSearch {
                limit: 2,
                offset,
                ..Default::default()
            })
        };
        let first = page(0);
        assert_eq!(first.collections.len(), 2);
        assert_eq!((first.number_matched, first.next_offset), (3, Some(2)));
        let second = page(2);
        assert_eq!(second.collections[0].id, "pacific");
        assert_eq!(second.next_offset, None);
        assert!(page(7).collections.is_empty());
    }
}
