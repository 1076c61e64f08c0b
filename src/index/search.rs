//! Item search over a [`Snapshot`]: filters, a stable (collection, id) order, paging.

use std::collections::BTreeSet;

use geo::{Geometry, Intersects};

use super::{Bbox, IndexedItem, Interval, PageToken, Snapshot};

/// A validated search; every filter given must match (logical AND).
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Items whose bbox intersects this box.
    pub bbox: Option<Bbox>,
    /// Items whose geometry (or else bbox) intersects this geometry.
    pub intersects: Option<Geometry<f64>>,
    /// Items whose time range overlaps this interval.
    pub datetime: Option<Interval>,
    /// Items with one of these ids.
    pub ids: Option<Vec<String>>,
    /// Items in one of these collections.
    pub collections: Option<Vec<String>>,
    /// Page size.
    pub limit: usize,
    /// Start strictly after this key.
    pub token: Option<PageToken>,
}

/// One page of results.
#[derive(Debug)]
pub struct Page<'a> {
    /// The Items of this page, in (collection, id) order.
    pub items: Vec<&'a IndexedItem>,
    /// How many Items match in all, across pages.
    pub number_matched: usize,
    /// Where the next page starts, when there is one.
    pub next: Option<PageToken>,
}

impl Search {
    /// Whether an Item passes every non-positional filter and the exact geometry check.
    fn matches(
        &self,
        item: &IndexedItem,
        ids: Option<&BTreeSet<&str>>,
        collections: Option<&BTreeSet<&str>>,
    ) -> bool {
        if ids.is_some_and(|ids| !ids.contains(item.mapped.id.as_str())) {
            return false;
        }
        if collections.is_some_and(|c| !c.contains(item.mapped.collection.as_str())) {
            return false;
        }
        if let Some(query) = &self.datetime
            && !item.time.is_some_and(|time| time.overlaps(query))
        {
            return false;
        }
        if let Some(query) = &self.intersects {
            let exact = match (&item.geometry, item.bbox) {
                (Some(geometry), _) => geometry.intersects(query),
                (None, Some(bbox)) => bbox.to_geometry().intersects(query),
                (None, None) => false,
            };
            if !exact {
                return false;
            }
        }
        true
    }
}

impl Snapshot {
    /// Runs a search and returns the page after `search.token`.
    pub fn search(&self, search: &Search) -> Page<'_> {
        let ids: Option<BTreeSet<&str>> = search
            .ids
            .as_ref()
            .map(|ids| ids.iter().map(String::as_str).collect());
        let collections: Option<BTreeSet<&str>> = search
            .collections
            .as_ref()
            .map(|c| c.iter().map(String::as_str).collect());
        let start = search.token.as_ref().map_or(0, |token| {
            self.items.partition_point(|item| {
                item.key() <= (token.collection.as_str(), token.id.as_str())
            })
        });

        let mut number_matched = 0;
        let mut items = Vec::new();
        let mut more = false;
        for position in self.candidates(search, collections.as_ref()) {
            let Some(item) = self.items.get(position) else {
                continue;
            };
            if !search.matches(item, ids.as_ref(), collections.as_ref()) {
                continue;
            }
            number_matched += 1;
            if position >= start {
                if items.len() < search.limit {
                    items.push(item);
                } else {
                    more = true;
                }
            }
        }
        let next = match items.last() {
            Some(last) if more => Some(PageToken {
                collection: last.mapped.collection.clone(),
                id: last.mapped.id.clone(),
            }),
            _ => None,
        };
        Page {
            items,
            number_matched,
            next,
        }
    }

    /// Positions worth checking, ascending: from the R-tree when the search is spatial,
    /// else the ranges of the requested collections, else everything.
    fn candidates(&self, search: &Search, collections: Option<&BTreeSet<&str>>) -> Vec<usize> {
        let query_box = search.intersects.as_ref().map(Bbox::of_geometry);
        match (search.bbox, query_box) {
            (_, Some(None)) => Vec::new(),
            (Some(bbox), Some(Some(shape))) => {
                let within: BTreeSet<usize> = self.spatial.candidates(&shape).into_iter().collect();
                let mut positions = self.spatial.candidates(&bbox);
                positions.retain(|p| within.contains(p));
                positions
            }
            (Some(bbox), None) | (None, Some(Some(bbox))) => self.spatial.candidates(&bbox),
            (None, None) => match collections {
                Some(collections) => collections
                    .iter()
                    .flat_map(|c| self.collection_range(c))
                    .collect(),
                None => (0..self.items.len()).collect(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::MappedItem;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    /// A small deterministic generator (xorshift), so failures replay.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn range(&mut self, low: f64, high: f64) -> f64 {
            low + (high - low) * (self.below(1_000_000) as f64 / 1_000_000.0)
        }
    }

    fn mapped(collection: &str, id: &str, body: Value) -> MappedItem {
        MappedItem {
            collection: collection.into(),
            id: id.into(),
            item: body.as_object().cloned().unwrap(),
            assets: BTreeMap::new(),
            links: Vec::new(),
        }
    }

    fn time(day: u64) -> String {
        format!("2020-01-{:02}T00:00:00Z", day + 1)
    }

    /// A few hundred Items: some without geometry, some crossing the antimeridian, some
    /// with a time range, some with no time.
    fn generated() -> Vec<MappedItem> {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        (0..400)
            .map(|n| {
                let collection = format!("c{}", rng.below(4));
                let (west, south) = (rng.range(-180.0, 175.0), rng.range(-90.0, 80.0));
                let (east, north) = (west + rng.range(0.0, 5.0), south + rng.range(0.0, 10.0));
                let east = if rng.below(10) == 0 {
                    -179.0 + rng.range(0.0, 5.0)
                } else {
                    east
                };
                let geometry = if rng.below(8) == 0 || west > east {
                    json!(null)
                } else {
                    json!({"type": "Polygon", "coordinates": [[[west, south], [east, south],
                        [east, north], [west, north], [west, south]]]})
                };
                let bbox = if geometry.is_null() && rng.below(2) == 0 {
                    json!(null)
                } else {
                    json!([west, south, east, north])
                };
                let day = rng.below(28);
                let properties = match rng.below(4) {
                    0 => json!({"datetime": null}),
                    1 => json!({"datetime": null, "start_datetime": time(day),
                        "end_datetime": time((day + rng.below(3)).min(27))}),
                    _ => json!({"datetime": time(day)}),
                };
                let mut body = json!({"geometry": geometry, "properties": properties});
                if !bbox.is_null() {
                    body["bbox"] = bbox;
                }
                mapped(&collection, &format!("item-{n:03}"), body)
            })
            .collect()
    }

    /// The obvious answer: every Item checked by hand, with no index.
    fn brute_force<'a>(snapshot: &'a Snapshot, search: &Search) -> Vec<&'a str> {
        let boxes = |b: &Bbox| b.parts();
        let overlap = |a: [[f64; 2]; 2], b: [[f64; 2]; 2]| {
            a[0][0] <= b[1][0] && b[0][0] <= a[1][0] && a[0][1] <= b[1][1] && b[0][1] <= a[1][1]
        };
        snapshot
            .items
            .iter()
            .filter(|item| {
                let bbox_ok = search.bbox.is_none_or(|q| {
                    item.bbox.is_some_and(|b| {
                        boxes(&b)
                            .iter()
                            .any(|p| boxes(&q).iter().any(|r| overlap(*p, *r)))
                    })
                });
                let time_ok = search.datetime.is_none_or(|q| {
                    item.time.is_some_and(|t| {
                        t.start.is_none_or(|s| q.end.is_none_or(|e| s <= e))
                            && q.start.is_none_or(|s| t.end.is_none_or(|e| s <= e))
                    })
                });
                let ids_ok = search
                    .ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&item.mapped.id));
                let collections_ok = search
                    .collections
                    .as_ref()
                    .is_none_or(|c| c.contains(&item.mapped.collection));
                let shape_ok = search
                    .intersects
                    .as_ref()
                    .is_none_or(|q| match &item.geometry {
                        Some(g) => g.intersects(q),
                        None => item.bbox.is_some_and(|b| b.to_geometry().intersects(q)),
                    });
                bbox_ok && time_ok && ids_ok && collections_ok && shape_ok
            })
            .map(|item| item.mapped.id.as_str())
            .collect()
    }

    /// Every page in turn, following `next`.
    fn all_pages<'a>(snapshot: &'a Snapshot, search: &Search) -> (Vec<&'a str>, usize) {
        let mut search = search.clone();
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = snapshot.search(&search);
            assert!(page.items.len() <= search.limit);
            assert_eq!(page.number_matched, brute_force(snapshot, &search).len());
            seen.extend(page.items.iter().map(|i| i.mapped.id.as_str()));
            pages += 1;
            match page.next {
                Some(token) => search.token = Some(token),
                None => return (seen, pages),
            }
        }
    }

    fn bbox(values: [f64; 4]) -> Option<Bbox> {
        Some(Bbox::from_values(&values).unwrap())
    }

    fn interval(text: &str) -> Option<Interval> {
        Some(Interval::parse(text).unwrap())
    }

    #[test]
    fn matches_brute_force_on_generated_items() {
        let snapshot = Snapshot::build(Vec::new(), generated());
        let triangle = crate::index::geometry::from_geojson(&json!({"type": "Polygon",
            "coordinates": [[[-60, -40], [60, -40], [0, 50], [-60, -40]]]}))
        .unwrap();
        let searches = [
            Search::default(),
            Search {
                bbox: bbox([-30.0, -30.0, 30.0, 30.0]),
                ..Default::default()
            },
            Search {
                bbox: bbox([170.0, -90.0, -170.0, 90.0]),
                ..Default::default()
            },
            Search {
                bbox: bbox([-180.0, -90.0, 180.0, 90.0]),
                ..Default::default()
            },
            Search {
                datetime: interval("../2020-01-05T00:00:00Z"),
                ..Default::default()
            },
            Search {
                datetime: interval("2020-01-20T00:00:00Z/.."),
                ..Default::default()
            },
            Search {
                datetime: interval("2020-01-10T00:00:00Z"),
                ..Default::default()
            },
            Search {
                collections: Some(vec!["c2".into(), "c0".into(), "nope".into()]),
                ..Default::default()
            },
            Search {
                ids: Some(vec!["item-007".into(), "item-300".into(), "x".into()]),
                ..Default::default()
            },
            Search {
                intersects: Some(triangle.clone()),
                ..Default::default()
            },
            Search {
                intersects: Some(triangle),
                bbox: bbox([0.0, -90.0, 180.0, 90.0]),
                collections: Some(vec!["c1".into()]),
                datetime: interval("2020-01-03T00:00:00Z/2020-01-20T00:00:00Z"),
                ..Default::default()
            },
        ];
        for (n, search) in searches.into_iter().enumerate() {
            let expected = brute_force(&snapshot, &search);
            assert!(
                n == 8 || n == 10 || expected.len() > 5,
                "search {n} too narrow"
            );
            for limit in [1, 7, 1000] {
                let search = Search {
                    limit,
                    ..search.clone()
                };
                let (seen, pages) = all_pages(&snapshot, &search);
                assert_eq!(seen, expected, "search {n}, limit {limit}");
                assert_eq!(pages, expected.len().div_ceil(limit).max(1), "search {n}");
            }
        }
    }

    #[test]
    fn items_without_footprint_match_only_non_spatial_searches() {
        let snapshot = Snapshot::build(
            Vec::new(),
            vec![mapped(
                "c",
                "bare",
                json!({"geometry": null, "properties": {
                "datetime": "2020-01-01T00:00:00Z"}}),
            )],
        );
        let found = |search: Search| {
            snapshot
                .search(&Search {
                    limit: 10,
                    ..search
                })
                .items
                .len()
        };
        assert_eq!(found(Search::default()), 1);
        assert_eq!(
            found(Search {
                ids: Some(vec!["bare".into()]),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            found(Search {
                datetime: interval("../.."),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            found(Search {
                bbox: bbox([-180.0, -90.0, 180.0, 90.0]),
                ..Default::default()
            }),
            0
        );
    }

    #[test]
    fn token_continues_after_its_key_in_a_new_snapshot() {
        let items = |ids: &[&str]| {
            ids.iter()
                .map(|id| mapped("c", id, json!({"geometry": null})))
                .collect::<Vec<_>>()
        };
        let old = Snapshot::build(Vec::new(), items(&["a", "b", "c", "d"]));
        let first = old.search(&Search {
            limit: 2,
            ..Default::default()
        });
        let token = first.next.unwrap();
        assert_eq!(token.id, "b");
        // "b" is gone and "bb" is new in the next crawl: paging goes on after "b".
        let new = Snapshot::build(Vec::new(), items(&["a", "bb", "c", "d"]));
        let page = new.search(&Search {
            limit: 10,
            token: Some(token),
            ..Default::default()
        });
        let ids: Vec<_> = page.items.iter().map(|i| i.mapped.id.as_str()).collect();
        assert_eq!(ids, ["bb", "c", "d"]);
        assert_eq!(page.number_matched, 4);
        assert!(page.next.is_none());
    }
}
