//! Item search over a [`Snapshot`]: filters (bbox, intersects, datetime, ids, collections,
//! CQL2, free text), a stable (collection, id) or `sortby` order, keyset paging.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::Arc;

use geo::{Geometry, Intersects};
use serde_json::Value;

use super::sort::{self, SortPosition};
use super::spacetime::{Count, FANOUT, Smallest, Window};
use super::{Bbox, IndexedItem, Interval, PageToken, Snapshot, filter, text};

/// How many entries a scan in position order reads in the time the tree walk for a
/// page takes per entry of its area it reads, nodes and heap included: measured with the
/// index bench's `search 1M` and `search mix` (4, 8, 16 and 32 tried; 8 did best).
const TREE_ENTRY_COST: usize = 8;

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
    /// A CQL2 filter (parsed from text or JSON by the API layer; already validated).
    pub filter: Option<cql2::Expr>,
    /// Free-text terms (`q`): an Item matches when any term occurs, case-insensitively, in its
    /// id, title, description or keywords.
    pub q: Option<Vec<String>>,
    /// Sort keys, first key first; empty means the default (collection, id) order.
    pub sortby: Vec<SortKey>,
}

/// One sort key of `sortby`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// The field as clients send it (`datetime`, `properties.datetime`, `id`,
    /// `eo:cloud_cover`…); a leading `properties.` is ignored.
    pub field: String,
    /// Descending rather than ascending.
    pub descending: bool,
}

/// One page of results.
#[derive(Debug)]
pub struct Page<'a> {
    /// The Items of this page, in (collection, id) order or in `sortby` order.
    pub items: Vec<&'a IndexedItem>,
    /// How many Items match in all, across pages.
    pub number_matched: usize,
    /// Where the next page starts, when there is one.
    pub next: Option<PageToken>,
}

impl Search {
    /// Whether an Item passes every non-positional filter and the exact checks, cheapest
    /// first: ids, collections, time, the `datetime` bounds of the filter, free text, the
    /// exact geometry, then the CQL2 filter itself.
    fn matches(&self, item: &IndexedItem, sets: &Sets<'_>) -> bool {
        if sets
            .ids
            .as_ref()
            .is_some_and(|ids| !ids.contains(item.id.as_str()))
        {
            return false;
        }
        if sets
            .collections
            .as_ref()
            .is_some_and(|c| !c.contains(&*item.collection))
        {
            return false;
        }
        if let Some(query) = &self.datetime
            && !item.time.is_some_and(|time| time.overlaps(query))
        {
            return false;
        }
        if let Some(bounds) = &sets.datetime_bounds
            && !filter::datetime_may_match(bounds, item)
        {
            return false;
        }
        if let Some(terms) = &self.q
            && !text::matches(terms, &item.id, &item.properties_named(text::FIELDS))
        {
            return false;
        }
        if let Some(query) = &self.intersects {
            let exact = match (&item.geometry, item.bbox) {
                (Some(geometry), _) => geometry.intersects(query),
                (None, Some(bbox)) => bbox.intersects(query),
                (None, None) => false,
            };
            if !exact {
                return false;
            }
        }
        self.filter
            .as_ref()
            .is_none_or(|expr| filter::matches(expr, item))
    }
}

/// What a search needs ready before visiting Items.
struct Sets<'a> {
    /// The requested ids.
    ids: Option<BTreeSet<&'a str>>,
    /// The requested collections.
    collections: Option<BTreeSet<&'a str>>,
    /// The bounds the filter puts on `datetime`.
    datetime_bounds: Option<Interval>,
}

impl Snapshot {
    /// Runs a search and returns the page after `search.token`: in (collection, id) order,
    /// or in `sortby` order with ties broken by (collection, id).
    pub fn search(&self, search: &Search) -> Page<'_> {
        let sets = Sets {
            ids: search
                .ids
                .as_ref()
                .map(|ids| ids.iter().map(String::as_str).collect()),
            collections: search
                .collections
                .as_ref()
                .map(|c| c.iter().map(String::as_str).collect()),
            datetime_bounds: search.filter.as_ref().and_then(filter::datetime_bounds),
        };
        if search.sortby.is_empty()
            && let Some(page) = self.positional_page(search, sets.collections.as_ref())
        {
            return page;
        }
        let candidates = self.candidates(search, sets.collections.as_ref());
        if !search.sortby.is_empty() {
            let matching: Vec<&IndexedItem> = candidates
                .into_iter()
                .filter_map(|position| self.items.get(position).map(Arc::as_ref))
                .filter(|item| search.matches(item, &sets))
                .collect();
            let number_matched = matching.len();
            return sorted_page(matching, search).with_count(number_matched);
        }
        // In (collection, id) order, which is the order of positions: count every match,
        // keep the first `limit + 1` after the token, without sorting them all.
        let start = self.start_after(search.token.as_ref());
        let mut number_matched = 0;
        let mut after = Smallest::new(search.limit);
        for position in candidates {
            let Some(item) = self.items.get(position) else {
                continue;
            };
            if search.matches(item, &sets) {
                number_matched += 1;
                if position >= start {
                    after.push(position);
                }
            }
        }
        self.page_at(after.ascending(), search.limit, number_matched)
    }

    /// The page of a search that nothing but collections, a bbox and `datetime` narrow,
    /// in (collection, id) order: counted and found through the space-time index without
    /// reading any Item. `None` when the search needs more.
    fn positional_page(
        &self,
        search: &Search,
        collections: Option<&BTreeSet<&str>>,
    ) -> Option<Page<'_>> {
        if search.ids.is_some()
            || search.filter.is_some()
            || search.q.is_some()
            || search.intersects.is_some()
        {
            return None;
        }
        let window = Window::new(search.bbox.as_ref(), search.datetime.as_ref())?;
        let start = self.start_after(search.token.as_ref());
        // Ascending and disjoint: collections are ordered as their Items are.
        let ranges: Vec<Range<usize>> = match collections {
            Some(collections) => collections
                .iter()
                .map(|c| self.collection_range(c))
                .collect(),
            None => std::iter::once(0..self.items.len()).collect(),
        };
        // Collections holding every Item narrow nothing.
        let restricted = ranges.iter().map(Range::len).sum::<usize>() < self.items.len();
        let (number_matched, positions) = if window.is_everything() {
            let positions = ranges
                .iter()
                .flat_map(|range| range.start.max(start)..range.end)
                .take(search.limit.saturating_add(1))
                .collect();
            (ranges.iter().map(Range::len).sum(), positions)
        } else if !restricted && window.has_area() {
            let count = self.space_time.count(&window);
            (
                count.matched,
                self.first_in_window(&window, count, start, search.limit),
            )
        } else {
            let mut count = 0;
            let mut after = Smallest::new(search.limit);
            let mut take = |position: usize| {
                count += 1;
                if position >= start {
                    after.push(position);
                }
            };
            if window.has_area() {
                self.space_time.visit(&window, |position| {
                    // The first range not wholly before the position holds it, if any does.
                    let at = ranges.partition_point(|range| range.end <= position);
                    if ranges
                        .get(at)
                        .is_some_and(|range| range.contains(&position))
                    {
                        take(position);
                    }
                });
            } else {
                for position in ranges.iter().cloned().flatten() {
                    if self.space_time.contains(position, &window) {
                        take(position);
                    }
                }
            }
            (count, after.ascending())
        };
        Some(self.page_at(positions, search.limit, number_matched))
    }

    /// The first `limit + 1` positions from `start` in a window holding `count.matched`
    /// Items. Scanning positions in order finds them after about
    /// `(limit + 1) · items / matched` positions. The tree, opening nodes by their
    /// lowest position, goes through about `(limit + 1) · candidates / matched` of the
    /// candidates in the area (a `datetime` keeps `matched` of them), reading a leaf of
    /// [`FANOUT`] entries for each, and at most the whole area. The scan is taken when
    /// it reads fewer than [`TREE_ENTRY_COST`] times as many entries; when it runs long
    /// (matches bunched after `start`), the page is looked for through the tree.
    fn first_in_window(
        &self,
        window: &Window,
        count: Count,
        start: usize,
        limit: usize,
    ) -> Vec<usize> {
        let wanted = limit.saturating_add(1);
        if count.matched == 0 {
            return Vec::new();
        }
        let expected = wanted
            .saturating_mul(self.items.len())
            .div_ceil(count.matched);
        let budget = expected.saturating_mul(4);
        let through_tree = wanted
            .saturating_mul(count.candidates)
            .div_ceil(count.matched)
            .saturating_mul(FANOUT)
            .min(count.candidates);
        if expected < through_tree.saturating_mul(TREE_ENTRY_COST) {
            let mut found = Vec::with_capacity(wanted);
            let end = start.saturating_add(budget).min(self.items.len());
            for position in start..end {
                if self.space_time.contains(position, window) {
                    found.push(position);
                    if found.len() == wanted {
                        return found;
                    }
                }
            }
            if end == self.items.len() {
                return found;
            }
        }
        self.space_time
            .lowest_in(window, start, limit, count.matched)
    }

    /// The position of the first Item after a token's (collection, id); 0 without one.
    fn start_after(&self, token: Option<&PageToken>) -> usize {
        token.map_or(0, |token| {
            self.items
                .partition_point(|item| item.key() <= (&*token.collection, token.id.as_str()))
        })
    }

    /// The page of the first `limit` of `positions` (ascending, at most one more than
    /// `limit`), with a token when there is one more.
    fn page_at(&self, mut positions: Vec<usize>, limit: usize, number_matched: usize) -> Page<'_> {
        let more = positions.len() > limit;
        positions.truncate(limit);
        let items: Vec<&IndexedItem> = positions
            .iter()
            .filter_map(|&position| self.items.get(position).map(Arc::as_ref))
            .collect();
        let next = match items.last() {
            Some(last) if more => Some(PageToken {
                collection: last.collection.to_string(),
                id: last.id.clone(),
                sort: Vec::new(),
            }),
            _ => None,
        };
        Page {
            items,
            number_matched,
            next,
        }
    }

    /// Positions worth checking, each once, in no particular order: from the tree when
    /// the search or its filter is spatial, else the ranges of the requested
    /// collections, else everything.
    fn candidates(&self, search: &Search, collections: Option<&BTreeSet<&str>>) -> Vec<usize> {
        let mut boxes: Vec<Bbox> = search.bbox.into_iter().collect();
        if let Some(shape) = &search.intersects {
            match Bbox::of_geometry(shape) {
                Some(bbox) => boxes.push(bbox),
                None => return Vec::new(),
            }
        }
        boxes.extend(search.filter.as_ref().and_then(filter::envelope));
        let mut boxes = boxes.into_iter();
        let Some(first) = boxes.next() else {
            return match collections {
                Some(collections) => collections
                    .iter()
                    .flat_map(|c| self.collection_range(c))
                    .collect(),
                None => (0..self.items.len()).collect(),
            };
        };
        let mut positions = self.space_time.candidates(&first);
        for bbox in boxes {
            let within: BTreeSet<usize> = self.space_time.candidates(&bbox).into_iter().collect();
            positions.retain(|p| within.contains(p));
        }
        positions
    }
}

impl Page<'_> {
    /// The same page with its total count.
    fn with_count(self, number_matched: usize) -> Self {
        Page {
            number_matched,
            ..self
        }
    }
}

/// An Item with its sort values.
type Sorted<'a> = (Vec<Value>, &'a IndexedItem);

/// Where a sorted Item stands.
fn position<'e>((values, item): &'e Sorted<'_>) -> SortPosition<'e> {
    SortPosition {
        values: values.as_slice(),
        collection: &item.collection,
        id: item.id.as_str(),
    }
}

/// Sorts matching Items by `sortby` and returns the page after the token's position.
fn sorted_page<'a>(matching: Vec<&'a IndexedItem>, search: &Search) -> Page<'a> {
    let keys = &search.sortby;
    let mut entries: Vec<Sorted<'a>> = matching
        .into_iter()
        .map(|item| {
            let values = keys
                .iter()
                .map(|k| sort::value_of(item, &k.field))
                .collect();
            (values, item)
        })
        .collect();
    entries.sort_by(|a, b| sort::order(keys, position(a), position(b)));
    let start = search.token.as_ref().map_or(0, |token| {
        let after = SortPosition {
            values: &token.sort,
            collection: &token.collection,
            id: &token.id,
        };
        entries.partition_point(|entry| sort::order(keys, position(entry), after).is_le())
    });
    let rest = entries.get(start..).unwrap_or_default();
    let page: Vec<&Sorted<'a>> = rest.iter().take(search.limit).collect();
    let next = match page.last() {
        Some((values, last)) if rest.len() > page.len() => Some(PageToken {
            collection: last.collection.to_string(),
            id: last.id.clone(),
            sort: values.clone(),
        }),
        _ => None,
    };
    Page {
        items: page.into_iter().map(|(_, item)| *item).collect(),
        number_matched: 0,
        next,
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
            shared_properties: Default::default(),
            footprint: None,
            assets: BTreeMap::new(),
            links: Vec::new(),
        }
    }

    fn time(day: u64) -> String {
        format!("2020-01-{:02}T00:00:00Z", day + 1)
    }

    /// `count` Items: some without geometry, some crossing the antimeridian, some
    /// with a time range, some with no time.
    fn generated(count: usize) -> Vec<MappedItem> {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        (0..count)
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
                let mut properties = properties;
                let extra = &mut properties;
                if rng.below(10) != 0 {
                    extra["eo:cloud_cover"] = json!(rng.range(0.0, 100.0));
                }
                if rng.below(3) != 0 {
                    extra["gsd"] = json!([10, 20, 30, 60][rng.below(4) as usize]);
                }
                extra["platform"] =
                    json!(["sentinel-2a", "Sentinel-2B", "landsat-8"][rng.below(3) as usize]);
                extra["title"] = json!(format!(
                    "Tile {n} {}",
                    ["alpha", "beta"][rng.below(2) as usize]
                ));
                extra["keywords"] = json!([format!("key{}", n % 5)]);
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
                let ids_ok = search.ids.as_ref().is_none_or(|ids| ids.contains(&item.id));
                let collections_ok = search
                    .collections
                    .as_ref()
                    .is_none_or(|c| c.contains(&item.collection.to_string()));
                let shape_ok = search
                    .intersects
                    .as_ref()
                    .is_none_or(|q| match &item.geometry {
                        Some(g) => g.intersects(q),
                        None => item.bbox.is_some_and(|b| b.to_geometry().intersects(q)),
                    });
                bbox_ok && time_ok && ids_ok && collections_ok && shape_ok
            })
            .map(|item| item.id.as_str())
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
            seen.extend(page.items.iter().map(|i| i.id.as_str()));
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
    fn intersects_reads_the_geometry_where_the_bbox_cannot_decide() {
        // Triangles filling the lower-left (or upper-right) half of their bbox; the query
        // is the square [0, 0, 10, 10].
        let triangle = |w: f64, s: f64, side: f64| json!({"type": "Polygon", "coordinates": [[[w, s], [w + side, s], [w, s + side], [w, s]]]});
        let upper_right = |w: f64, s: f64, side: f64| {
            json!({"type": "Polygon", "coordinates":
                [[[w + side, s], [w + side, s + side], [w, s + side], [w + side, s]]]})
        };
        let items = vec![
            // Bbox inside the square.
            mapped("c", "inside", json!({"geometry": triangle(2.0, 2.0, 2.0)})),
            // Bbox overlaps the square's upper-right corner, the triangle does not.
            mapped(
                "c",
                "corner-miss",
                json!({"geometry": upper_right(9.8, 9.8, 1.0)}),
            ),
            // Bbox and triangle both overlap the square's left edge.
            mapped(
                "c",
                "edge-hit",
                json!({"geometry": triangle(-1.0, 4.0, 2.0)}),
            ),
            // Bbox outside.
            mapped(
                "c",
                "outside",
                json!({"geometry": triangle(20.0, 20.0, 2.0)}),
            ),
            // A rectangle, held as its bbox, with a corner in the square.
            mapped(
                "c",
                "rectangle",
                json!({"geometry": {"type": "Polygon",
                    "coordinates": [[[9.0, 9.0], [12.0, 9.0], [12.0, 12.0], [9.0, 12.0], [9.0, 9.0]]]}}),
            ),
            // No geometry: its bbox decides.
            mapped(
                "c",
                "bbox-only",
                json!({"geometry": null, "bbox": [9.5, 9.5, 11.0, 11.0]}),
            ),
            // A degenerate bbox (a point) is checked exactly.
            mapped(
                "c",
                "point",
                json!({"geometry": {"type": "Point", "coordinates": [5.0, 5.0]}}),
            ),
        ];
        let snapshot = Snapshot::build(Vec::new(), items);
        let square = crate::index::geometry::from_geojson(&json!({"type": "Polygon",
            "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}))
        .unwrap();
        let search = Search {
            intersects: Some(square),
            limit: 10,
            ..Default::default()
        };
        let ids: Vec<&str> = snapshot
            .search(&search)
            .items
            .iter()
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(
            ids,
            ["bbox-only", "edge-hit", "inside", "point", "rectangle"]
        );
        assert_eq!(ids, brute_force(&snapshot, &search));
    }

    #[test]
    fn matches_brute_force_on_generated_items() {
        let snapshot = Snapshot::build(Vec::new(), generated(400));
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

    /// The Items after `token` by brute force, in order, and the count of all matches.
    fn expected_after<'a>(snapshot: &'a Snapshot, search: &Search) -> (Vec<&'a str>, usize) {
        let all: BTreeSet<&str> = brute_force(snapshot, search).into_iter().collect();
        let after = snapshot
            .items
            .iter()
            .filter(|item| {
                search
                    .token
                    .as_ref()
                    .is_none_or(|token| item.key() > (&*token.collection, token.id.as_str()))
            })
            .map(|item| item.id.as_str())
            .filter(|id| all.contains(id))
            .collect();
        (after, all.len())
    }

    #[test]
    fn windows_counted_through_the_tree_page_as_a_check_one_by_one_does() {
        let snapshot = Snapshot::build(Vec::new(), generated(6_000));
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let times = [
            None,
            interval("2020-01-03T00:00:00Z/2020-01-09T00:00:00Z"),
            interval("../2020-01-02T00:00:00Z"),
            interval("../.."),
        ];
        let every = ["c0", "c1", "c2", "c3"].map(String::from).to_vec();
        let collections = [
            None,
            Some(vec!["c1".to_owned()]),
            Some(vec!["c3".into(), "c0".into()]),
            Some(every),
        ];
        for round in 0..256 {
            let side = [2.0, 30.0, 120.0, 400.0][round % 4];
            let (west, south) = (rng.range(-180.0, 180.0), rng.range(-90.0, 90.0));
            let area = [
                west,
                south,
                (west + side).min(180.0),
                (south + side).min(90.0),
            ];
            let mut search = Search {
                bbox: (round % 7 != 0).then(|| bbox(area)).flatten(),
                datetime: times[(round / 4) % 4],
                collections: collections[(round / 16) % 4].clone(),
                limit: [1, 3, 10, 50][(round / 64) % 4],
                ..Default::default()
            };
            if round % 5 == 0 {
                // Start after some Item, as the next page would.
                let at = snapshot.items.get((round * 13) % 6_000).unwrap();
                search.token = Some(PageToken {
                    collection: at.collection.to_string(),
                    id: at.id.clone(),
                    sort: Vec::new(),
                });
            }
            let page = snapshot.search(&search);
            let (after, count) = expected_after(&snapshot, &search);
            let ids: Vec<&str> = page.items.iter().map(|i| i.id.as_str()).collect();
            let first: Vec<&str> = after.iter().take(search.limit).copied().collect();
            assert_eq!(ids, first, "round {round}: {search:?}");
            assert_eq!(page.number_matched, count, "round {round}");
            assert_eq!(
                page.next.is_some(),
                after.len() > search.limit,
                "round {round}"
            );
        }
    }

    #[test]
    fn a_window_whose_matches_bunch_late_is_paged_in_order() {
        // The first half of the ids lie far from the window, the second half in it: a
        // scan in order from the start would run long before its first match.
        let items = (0..2_000)
            .map(|n| {
                let x = if n < 1_000 { 50.0 } else { -50.0 };
                mapped(
                    "c",
                    &format!("{n:04}"),
                    json!({"bbox": [x, 0.0, x + 0.1, 0.1], "properties": {"datetime": null}}),
                )
            })
            .collect();
        let snapshot = Snapshot::build(Vec::new(), items);
        let search = Search {
            bbox: bbox([-60.0, -1.0, -40.0, 1.0]),
            limit: 3,
            ..Default::default()
        };
        let page = snapshot.search(&search);
        let ids: Vec<&str> = page.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["1000", "1001", "1002"]);
        assert_eq!(page.number_matched, 1_000);
        let (seen, pages) = all_pages(
            &snapshot,
            &Search {
                limit: 300,
                ..search
            },
        );
        assert_eq!(seen.len(), 1_000);
        assert_eq!(pages, 4);
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
        let ids: Vec<_> = page.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["bb", "c", "d"]);
        assert_eq!(page.number_matched, 4);
        assert!(page.next.is_none());
    }

    /// Every page in turn under any search; checks the count is the same on each page.
    fn visit<'a>(snapshot: &'a Snapshot, search: &Search) -> (Vec<&'a IndexedItem>, usize) {
        let mut search = search.clone();
        let mut seen = Vec::new();
        let mut matched = None;
        for _ in 0..=snapshot.items.len() {
            let page = snapshot.search(&search);
            assert!(page.items.len() <= search.limit);
            assert!(matched.is_none_or(|m| m == page.number_matched));
            matched = Some(page.number_matched);
            seen.extend(page.items.iter().copied());
            match page.next {
                Some(token) => {
                    let text = token.encode();
                    search.token = Some(PageToken::decode(&text).unwrap());
                }
                None => return (seen, matched.unwrap_or(0)),
            }
        }
        panic!("paging does not end")
    }

    /// The Item's properties, read back from its JSON as a whole.
    fn props(item: &IndexedItem) -> serde_json::Map<String, Value> {
        match item.member("properties") {
            Some(Value::Object(properties)) => properties,
            _ => serde_json::Map::new(),
        }
    }

    fn number(item: &IndexedItem, key: &str) -> Option<f64> {
        props(item).get(key).and_then(Value::as_f64)
    }

    fn string(item: &IndexedItem, key: &str) -> Option<String> {
        props(item)
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// A date-time property, read by chrono directly.
    fn when(item: &IndexedItem, key: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        string(item, key)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.to_utc())
    }

    fn day(n: u32) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(&format!("2020-01-{n:02}T00:00:00Z"))
            .unwrap()
            .to_utc()
    }

    /// The Item's geometry read by the test itself with `geo`'s GeoJSON-free constructors.
    fn shape(item: &IndexedItem) -> Option<Geometry<f64>> {
        let geometry = item.member("geometry")?;
        let ring = geometry.get("coordinates")?.get(0)?;
        let points: Vec<(f64, f64)> = ring
            .as_array()?
            .iter()
            .map(|p| Some((p[0].as_f64()?, p[1].as_f64()?)))
            .collect::<Option<_>>()?;
        Some(Geometry::Polygon(geo::Polygon::new(points.into(), vec![])))
    }

    fn rect(w: f64, s: f64, e: f64, n: f64) -> Geometry<f64> {
        Geometry::Rect(geo::Rect::new((w, s), (e, n)))
    }

    type Check = Box<dyn Fn(&IndexedItem) -> bool>;

    fn cql_text(text: &str) -> Option<cql2::Expr> {
        Some(cql2::parse_text(text).unwrap())
    }

    fn cql_json(json: Value) -> Option<cql2::Expr> {
        Some(cql2::parse_json(&json.to_string()).unwrap())
    }

    /// Filters, free text and combinations, each with an independent predicate.
    fn filtered_cases() -> Vec<(Search, Check)> {
        let near = rect(-30.0, -30.0, 30.0, 30.0);
        let big = rect(-60.0, -60.0, 60.0, 60.0);
        let east = rect(0.0, 0.0, 90.0, 45.0);
        let pacific = geo::MultiPolygon::new(vec![
            geo::Rect::new((170.0, -90.0), (180.0, 90.0)).to_polygon(),
            geo::Rect::new((-180.0, -90.0), (-170.0, 90.0)).to_polygon(),
        ]);
        let with = |filter| Search {
            filter,
            ..Default::default()
        };
        let has = |item: &IndexedItem, key: &str| props(item).contains_key(key);
        vec![
            (
                with(cql_text("eo:cloud_cover < 30")),
                Box::new(|i| number(i, "eo:cloud_cover").is_some_and(|c| c < 30.0)),
            ),
            (
                with(cql_text("id = 'item-007' OR collection = 'c1'")),
                Box::new(|i| i.id == "item-007" || &*i.collection == "c1"),
            ),
            (
                with(cql_text("properties.gsd >= 30 AND platform <> 'landsat-8'")),
                Box::new(|i| {
                    number(i, "gsd").is_some_and(|g| g >= 30.0)
                        && string(i, "platform").as_deref() != Some("landsat-8")
                }),
            ),
            (
                with(cql_text("NOT (platform = 'landsat-8')")),
                Box::new(|i| string(i, "platform").as_deref() != Some("landsat-8")),
            ),
            (
                with(cql_text("gsd IS NULL")),
                Box::new(move |i| !has(i, "gsd")),
            ),
            (
                with(cql_text("platform LIKE 'sentinel%'")),
                Box::new(|i| string(i, "platform").as_deref() == Some("sentinel-2a")),
            ),
            (
                with(cql_text("CASEI(platform) = casei('SENTINEL-2B')")),
                Box::new(|i| string(i, "platform").as_deref() == Some("Sentinel-2B")),
            ),
            (
                with(cql_text("platform IN ('landsat-8', 'nope')")),
                Box::new(|i| string(i, "platform").as_deref() == Some("landsat-8")),
            ),
            (
                with(cql_text("eo:cloud_cover BETWEEN 20 AND 40")),
                Box::new(|i| {
                    number(i, "eo:cloud_cover").is_some_and(|c| (20.0..=40.0).contains(&c))
                }),
            ),
            (
                with(cql_text("eo:cloud_cover > gsd")),
                Box::new(
                    |i| matches!((number(i, "eo:cloud_cover"), number(i, "gsd")), (Some(c), Some(g)) if c > g),
                ),
            ),
            (
                with(cql_text("eo:cloud_cover * 2 + 1 > 101")),
                Box::new(|i| number(i, "eo:cloud_cover").is_some_and(|c| c * 2.0 + 1.0 > 101.0)),
            ),
            (
                with(cql_text("S_INTERSECTS(geometry, BBOX(-30, -30, 30, 30))")),
                Box::new(move |i| shape(i).is_some_and(|g| g.intersects(&near))),
            ),
            (
                with(cql_text(
                    "S_WITHIN(geometry, POLYGON((-60 -60, 60 -60, 60 60, -60 60, -60 -60)))",
                )),
                Box::new(move |i| shape(i).is_some_and(|g| geo::Within::is_within(&g, &big))),
            ),
            (
                with(cql_text("S_DISJOINT(geometry, BBOX(0, 0, 90, 45))")),
                Box::new(move |i| shape(i).is_some_and(|g| !g.intersects(&east))),
            ),
            (
                with(cql_text(
                    "S_INTERSECTS(geometry, MULTIPOLYGON(((170 -90, 180 -90, 180 90, 170 90, 170 -90)), ((-180 -90, -170 -90, -170 90, -180 90, -180 -90))))",
                )),
                Box::new(move |i| shape(i).is_some_and(|g| g.intersects(&pacific))),
            ),
            (
                with(cql_text("datetime <= TIMESTAMP('2020-01-05T00:00:00Z')")),
                Box::new(|i| when(i, "datetime").is_some_and(|t| t <= day(5))),
            ),
            (
                with(cql_text(
                    "T_AFTER(datetime, TIMESTAMP('2020-01-20T00:00:00Z'))",
                )),
                Box::new(|i| when(i, "datetime").is_some_and(|t| t > day(20))),
            ),
            (
                with(cql_text(
                    "T_INTERSECTS(datetime, INTERVAL('2020-01-05T00:00:00Z', '..'))",
                )),
                Box::new(|i| when(i, "datetime").is_some_and(|t| t >= day(5))),
            ),
            (
                with(cql_text(
                    "T_INTERSECTS(INTERVAL(start_datetime, end_datetime), INTERVAL('2020-01-10T00:00:00Z', '2020-01-12T00:00:00Z'))",
                )),
                Box::new(
                    |i| matches!((when(i, "start_datetime"), when(i, "end_datetime")), (Some(s), Some(e)) if s <= day(12) && e >= day(10)),
                ),
            ),
            (
                with(cql_json(json!({"op": "and", "args": [
                {"op": ">=", "args": [{"property": "eo:cloud_cover"}, 10]},
                {"op": "t_intersects", "args": [{"property": "datetime"},
                    {"interval": ["2020-01-05T00:00:00Z", "2020-01-10T00:00:00Z"]}]},
                {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [-120, -60, 120, 60]}]}]}))),
                Box::new(|i| {
                    number(i, "eo:cloud_cover").is_some_and(|c| c >= 10.0)
                        && when(i, "datetime").is_some_and(|t| t >= day(5) && t <= day(10))
                        && shape(i).is_some_and(|g| g.intersects(&rect(-120.0, -60.0, 120.0, 60.0)))
                }),
            ),
            (
                Search {
                    q: Some(vec!["ALPHA".into(), "key3".into()]),
                    ..Default::default()
                },
                Box::new(|i| {
                    string(i, "title").is_some_and(|t| t.contains("alpha"))
                        || i.id.ends_with('3')
                        || i.id.ends_with('8')
                }),
            ),
            (
                Search {
                    q: Some(vec!["beta".into()]),
                    bbox: Some(Bbox::from_values(&[170.0, -90.0, -170.0, 90.0]).unwrap()),
                    collections: Some(vec!["c0".into(), "c3".into()]),
                    filter: cql_text("gsd < 60 AND datetime >= TIMESTAMP('2020-01-03T00:00:00Z')"),
                    ..Default::default()
                },
                Box::new(|i| {
                    let b = i.bbox.is_some_and(|b| {
                        let (w, e) = (b.west, b.east);
                        w > e || e >= 170.0 || w <= -170.0
                    });
                    b && string(i, "title").is_some_and(|t| t.contains("beta"))
                        && ["c0", "c3"].contains(&&*i.collection)
                        && number(i, "gsd").is_some_and(|g| g < 60.0)
                        && when(i, "datetime").is_some_and(|t| t >= day(3))
                }),
            ),
        ]
    }

    #[test]
    fn filters_match_independent_predicates() {
        let snapshot = Snapshot::build(Vec::new(), generated(400));
        for (n, (search, check)) in filtered_cases().into_iter().enumerate() {
            let expected: Vec<&str> = snapshot
                .items
                .iter()
                .filter(|item| check(item))
                .map(|item| item.id.as_str())
                .collect();
            assert!(
                expected.len() >= 3 && expected.len() < snapshot.items.len(),
                "case {n} too narrow or too wide: {}",
                expected.len()
            );
            for limit in [4, 1000] {
                let (seen, matched) = visit(
                    &snapshot,
                    &Search {
                        limit,
                        ..search.clone()
                    },
                );
                let ids: Vec<&str> = seen.iter().map(|i| i.id.as_str()).collect();
                assert_eq!(ids, expected, "case {n}, limit {limit}");
                assert_eq!(matched, expected.len(), "case {n}");
            }
        }
    }

    #[test]
    fn an_item_the_filter_cannot_evaluate_does_not_match() {
        let snapshot = Snapshot::build(
            Vec::new(),
            vec![
                mapped(
                    "c",
                    "a",
                    json!({"geometry": null, "properties": {"n": "text"}}),
                ),
                mapped("c", "b", json!({"geometry": null, "properties": {"n": 2}})),
                mapped("c", "c", json!({"geometry": null, "properties": {}})),
            ],
        );
        let page = snapshot.search(&Search {
            limit: 10,
            filter: cql_text("n > 1"),
            ..Default::default()
        });
        let ids: Vec<_> = page.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!((ids, page.number_matched), (vec!["b"], 1));
    }

    /// The test's own order: a number descending or ascending, missing last, then the key.
    fn by_number(
        key: &'static str,
        descending: bool,
    ) -> impl Fn(&&IndexedItem, &&IndexedItem) -> std::cmp::Ordering {
        move |a, b| {
            let order = match (number(a, key), number(b, key)) {
                (Some(x), Some(y)) if descending => y.total_cmp(&x),
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            order.then_with(|| a.key().cmp(&b.key()))
        }
    }

    #[test]
    fn sorted_paging_visits_every_item_once_in_order() {
        let snapshot = Snapshot::build(Vec::new(), generated(400));
        let key = |field: &str, descending| SortKey {
            field: field.into(),
            descending,
        };
        for (sortby, filter) in [
            (vec![key("eo:cloud_cover", true)], None),
            (
                vec![key("properties.gsd", false), key("eo:cloud_cover", true)],
                cql_text("platform <> 'landsat-8'"),
            ),
        ] {
            let mut expected: Vec<&IndexedItem> = snapshot
                .items
                .iter()
                .map(Arc::as_ref)
                .filter(|i| {
                    filter.is_none() || string(i, "platform").as_deref() != Some("landsat-8")
                })
                .collect();
            expected.sort_by(|a, b| {
                if sortby.len() == 1 {
                    by_number("eo:cloud_cover", true)(a, b)
                } else {
                    let gsd = by_number("gsd", false)(a, b);
                    if number(a, "gsd") == number(b, "gsd") {
                        by_number("eo:cloud_cover", true)(a, b)
                    } else {
                        gsd
                    }
                }
            });
            let expected: Vec<&str> = expected.iter().map(|i| i.id.as_str()).collect();
            for limit in [1, 7, 1000] {
                let search = Search {
                    limit,
                    sortby: sortby.clone(),
                    filter: filter.clone(),
                    ..Default::default()
                };
                let (seen, matched) = visit(&snapshot, &search);
                let ids: Vec<&str> = seen.iter().map(|i| i.id.as_str()).collect();
                assert_eq!(ids, expected, "limit {limit}");
                assert_eq!(matched, expected.len());
            }
        }
    }

    #[test]
    fn sorts_by_datetime_with_missing_last() {
        let snapshot = Snapshot::build(Vec::new(), generated(400));
        let search = Search {
            limit: 13,
            sortby: vec![SortKey {
                field: "datetime".into(),
                descending: true,
            }],
            ..Default::default()
        };
        let (seen, _) = visit(&snapshot, &search);
        assert_eq!(seen.len(), snapshot.items.len());
        let times: Vec<_> = seen.iter().map(|i| when(i, "datetime")).collect();
        let first_missing = times.iter().position(Option::is_none).unwrap();
        assert!(times[first_missing..].iter().all(Option::is_none));
        assert!(times[..first_missing].windows(2).all(|w| w[0] >= w[1]));
    }
}
