//! The index at scale: building a snapshot of synthetic PASTIS-like Items (100,000 and
//! 1,000,000); searches on 1,000,000 of them: small (1°) and continent-sized (30°) boxes,
//! with and without a one-year datetime, and `intersects` triangles; CQL2 filters
//! evaluated on the candidates of a box; writing a page of 10 and 1,000 Items as the API
//! does; and the load bench's search mix on the index alone at 10,000, 100,000 and
//! 1,000,000 Items; and mapping PASTIS-like artifacts (a config of 1,000 patches each)
//! to the Items the index keeps, as a crawl's start-up does. Run with
//! `cargo bench --bench index` (some groups: `cargo bench --bench index -- "search mix|cql2"`).

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use stac_oci::api::access::Reader;
use stac_oci::api::links::Base;
use stac_oci::api::render;
use stac_oci::crawl::Artifact;
use stac_oci::index::{Bbox, IndexedItem, Interval, Search, Snapshot, filter};
use stac_oci::mapping::{MappedCollection, MappedItem, MappingOptions, map_repository_into};
use stac_oci::source::Descriptor;

/// A deterministic pseudo-random sequence (64-bit LCG), in [0, 1).
struct Random(u64);

impl Random {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` Items: 1 km-ish square footprints anywhere on land-ish latitudes, one datetime
/// in 2018–2023 each, a few properties like a PASTIS patch.
fn items(n: usize) -> Vec<MappedItem> {
    items_shaped(n, false)
}

/// [`items`], with a PASTIS patch's data asset (a relative gateway href) when `assets`.
fn items_shaped(n: usize, assets: bool) -> Vec<MappedItem> {
    let mut random = Random(42);
    (0..n)
        .map(|i| {
            let west = random.next() * 350.0 - 175.0;
            let south = random.next() * 140.0 - 70.0;
            let (east, north) = (west + 0.01, south + 0.01);
            let day = (random.next() * 365.0 * 6.0) as i64;
            let datetime = chrono::DateTime::from_timestamp(1_514_764_800 + day * 86_400, 0)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default();
            let id = format!("patch-{i:07}");
            let item = json!({
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": id,
                "collection": "pastis",
                "bbox": [west, south, east, north],
                "geometry": {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]},
                "properties": {"datetime": datetime, "parcel_count": i % 200, "tile": format!("t{}", i % 50)},
                "assets": {},
            });
            let Value::Object(mut item) = item else {
                unreachable!()
            };
            if assets {
                item.insert(
                    "assets".into(),
                    json!({"data": {
                        "href": format!("collections/pastis/items/{id}/assets/data/full/{i}.tar"),
                        "type": "application/vnd.oci.image.layer.v1.tar",
                        "title": format!("full/{i}.tar"),
                        "roles": ["data"],
                        "file:size": 33_554_432,
                        "oci:digest": format!("sha256:{i:064x}"),
                    }}),
                );
            }
            MappedItem {
                collection: "pastis".into(),
                id,
                item,
                shared_properties: Default::default(),
                footprint: None,
                assets: BTreeMap::new(),
                links: Vec::new(),
            }
        })
        .collect()
}

fn collection() -> MappedCollection {
    let mut collection = Map::new();
    collection.insert("id".into(), json!("pastis"));
    MappedCollection {
        id: "pastis".into(),
        collection,
    }
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    for n in [100_000, 1_000_000] {
        let all = items(n);
        group.bench_function(format!("{n} items"), |b| {
            b.iter_batched(
                || all.clone(),
                |items| black_box(Snapshot::build(vec![collection()], items)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn search(c: &mut Criterion) {
    let snapshot = Snapshot::build(vec![collection()], items(1_000_000));
    let year = Interval::parse("2020-01-01T00:00:00Z/2020-12-31T23:59:59Z").unwrap();
    let mut group = c.benchmark_group("search 1M");
    for (name, side) in [("1° bbox", 1.0), ("30° bbox", 30.0)] {
        for with_time in [false, true] {
            let mut random = Random(7);
            let label = if with_time {
                format!("{name} + one year")
            } else {
                name.to_owned()
            };
            group.bench_function(label, |b| {
                b.iter(|| {
                    let west = random.next() * (350.0 - side) - 175.0;
                    let south = random.next() * (140.0 - side) - 70.0;
                    let bbox =
                        Bbox::from_values(&[west, south, west + side, south + side]).unwrap();
                    let search = Search {
                        bbox: Some(bbox),
                        datetime: with_time.then_some(year),
                        limit: 10,
                        ..Search::default()
                    };
                    black_box(snapshot.search(&search).number_matched)
                })
            });
        }
    }
    // `intersects` with a triangle over the lower-left half of a box: each candidate's
    // geometry is checked exactly.
    for (name, side) in [("1° triangle", 1.0), ("30° triangle", 30.0)] {
        let mut random = Random(11);
        group.bench_function(format!("intersects, {name}"), |b| {
            b.iter(|| {
                let west = random.next() * (350.0 - side) - 175.0;
                let south = random.next() * (140.0 - side) - 70.0;
                let triangle = geo::Polygon::new(
                    geo::LineString::from(vec![
                        (west, south),
                        (west + side, south),
                        (west, south + side),
                        (west, south),
                    ]),
                    Vec::new(),
                );
                let search = Search {
                    intersects: Some(triangle.into()),
                    limit: 10,
                    ..Search::default()
                };
                black_box(snapshot.search(&search).number_matched)
            })
        });
    }
    group.finish();
}

/// The load bench's search mix (random 1–30° boxes anywhere, 25 % with a one-year
/// datetime, `limit=10`) on the index alone, at 10,000, 100,000 and 1,000,000 Items: how
/// the exact `numberMatched` makes a search's cost grow with the index.
fn mix(c: &mut Criterion) {
    let year = Interval::parse("2019-01-01T00:00:00Z/2019-12-31T23:59:59Z").unwrap();
    let mut group = c.benchmark_group("search mix");
    for n in [10_000, 100_000, 1_000_000] {
        let snapshot = Snapshot::build(vec![collection()], items(n));
        let mut random = Random(42);
        group.bench_function(format!("{n} Items"), |b| {
            b.iter(|| {
                let size = 1.0 + (random.next() * 30.0).floor();
                let west = -180.0 + (random.next() * (361.0 - size)).floor();
                let south = -80.0 + (random.next() * (161.0 - size)).floor();
                let bbox = Bbox::from_values(&[west, south, west + size, south + size]).unwrap();
                let search = Search {
                    bbox: Some(bbox),
                    datetime: (random.next() < 0.25).then_some(year),
                    limit: 10,
                    ..Search::default()
                };
                black_box(snapshot.search(&search).number_matched)
            })
        });
    }
    group.finish();
}

/// CQL2 filters on the candidates of a 30° box (about 18,000 of 1,000,000 Items), next to
/// the same search without a filter; and one evaluation on one Item.
fn cql2(c: &mut Criterion) {
    let snapshot = Snapshot::build(vec![collection()], items(1_000_000));
    let bbox = Bbox::from_values(&[0.0, 0.0, 30.0, 30.0]).unwrap();
    let mut group = c.benchmark_group("cql2 1M");
    for (name, text) in [
        ("30° bbox, no filter", None),
        ("30° bbox, parcel_count > 100", Some("parcel_count > 100")),
        (
            "30° bbox, parcel_count > 100 AND tile = 't7'",
            Some("parcel_count > 100 AND tile = 't7'"),
        ),
    ] {
        let search = Search {
            bbox: Some(bbox),
            filter: text.map(|t| cql2::parse_text(t).unwrap()),
            limit: 10,
            ..Search::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| black_box(snapshot.search(&search).number_matched))
        });
    }
    let expr = cql2::parse_text("parcel_count > 100 AND tile = 't7'").unwrap();
    let item = snapshot.item("pastis", "patch-0000007").unwrap();
    group.bench_function("one Item, parcel_count > 100 AND tile = 't7'", |b| {
        b.iter(|| black_box(filter::matches(&expr, item)))
    });
    // The same evaluation as `cql2` alone does it, on a copy of the whole Item JSON (how
    // `filter::matches` worked before 2026-12-01), for comparison in the same run.
    let whole = item.to_map();
    group.bench_function(
        "one Item, parcel_count > 100 AND tile = 't7', cql2 on the whole Item",
        |b| {
            b.iter(|| {
                let mut json = whole.clone();
                json.entry("id")
                    .or_insert_with(|| Value::String(item.id.clone()));
                json.entry("collection")
                    .or_insert_with(|| Value::String(item.collection.to_string()));
                black_box(
                    expr.clone()
                        .matches(Some(&Value::Object(json)))
                        .unwrap_or(false),
                )
            })
        },
    );
    group.finish();
}

/// A page as `/search` answers it, for a page of 10 and of 1,000 Items: assembled from
/// each Item's bytes, serialised once when it is indexed (the default), and as a `Value`
/// tree then serialised (the path with `fields`).
fn serialise(c: &mut Criterion) {
    let snapshot = Snapshot::build(vec![collection()], items_shaped(10_000, true));
    let base = Base("http://127.0.0.1:8080".into());
    let reader = Reader::everything();
    let mut group = c.benchmark_group("serialise");
    for limit in [10, 1000] {
        let search = Search {
            limit,
            ..Search::default()
        };
        let page = snapshot.search(&search);
        let href = format!("{}/search?limit={limit}", base.0);
        let bytes =
            || render::item_collection_bytes(&base, &reader, &page, href.clone(), Vec::new());
        group.throughput(criterion::Throughput::Bytes(bytes().len() as u64));
        group.bench_function(format!("page of {limit} Items, bytes"), |b| {
            b.iter(|| black_box(bytes().len()))
        });
        group.bench_function(format!("page of {limit} Items, Value tree"), |b| {
            b.iter(|| {
                let value =
                    render::item_collection(&base, &reader, &page, None, href.clone(), Vec::new());
                black_box(serde_json::to_vec(&value).unwrap().len())
            })
        });
    }
    group.finish();
}

/// `n` artifacts like the load bench's generated layout: a config listing 1,000 patches
/// (`patch_id`, `parcel_count`, `temporal_coverage`, a MultiPolygon `geometry`,
/// `layer_digest`), one layer per patch.
fn pastis_artifacts(n: usize) -> Vec<Artifact> {
    let mut random = Random(3);
    (0..n)
        .map(|a| {
            let (patches, layers): (Vec<Value>, Vec<Descriptor>) = (0..1000)
                .map(|p| {
                    let id = a * 1000 + p;
                    let west = random.next() * 350.0 - 175.0;
                    let south = random.next() * 140.0 - 70.0;
                    let (east, north) = (west + 0.0115, south + 0.0115);
                    let digest = format!("sha256:{:064x}", id);
                    let patch = json!({
                        "patch_id": id.to_string(),
                        "parcel_count": id % 200,
                        "temporal_coverage": {"start": "2019-03-02", "end": "2019-11-27"},
                        "geometry": {"type": "MultiPolygon", "coordinates": [[[[west, north],
                            [east, north], [east, south], [west, south], [west, north]]]]},
                        "layer_digest": digest,
                        "layer_mediaType": "application/vnd.example.pastis.patch.v1",
                    });
                    let layer = json!({
                        "mediaType": "application/vnd.example.pastis.patch.v1",
                        "digest": digest,
                        "size": 33_554_432,
                        "annotations": {"org.opencontainers.image.title": format!("full/{id}.npz")},
                    });
                    (patch, serde_json::from_value(layer).unwrap())
                })
                .unzip();
            let config = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "dataset": "PASTIS-like (generated)",
                "patches": patches,
            });
            let config = serde_json::to_vec(&config).unwrap();
            Artifact {
                source: "scale".into(),
                registry: "oci-layout:/data/scale".into(),
                repository: "pastis-scale".into(),
                tags: vec![format!("a{a:04}")],
                digest: format!("sha256:{:064x}", 1_000_000_000 + a),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                artifact_type: Some("application/vnd.whatever.v1+tar".into()),
                config: serde_json::from_value(json!({
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": format!("sha256:{:064x}", 2_000_000_000 + a),
                    "size": config.len(),
                }))
                .unwrap(),
                config_blob: Some(config.into()),
                layers,
                layer_documents: BTreeMap::new(),
                annotations: BTreeMap::new(),
                index_digest: None,
                platform: None,
                referrers: Vec::new(),
                layer_members: BTreeMap::new(),
            }
        })
        .collect()
}

/// Mapping 8 PASTIS-like artifacts (8,000 Items) to the Items the index keeps, their
/// JSON written once: what a start-up spends most of its CPU on.
fn map(c: &mut Criterion) {
    let artifacts = pastis_artifacts(8);
    let options = MappingOptions::default();
    let mut group = c.benchmark_group("map");
    group.sample_size(20);
    group.throughput(criterion::Throughput::Elements(8_000));
    group.bench_function("8 artifacts of 1,000 patches, to indexed Items", |b| {
        b.iter_batched(
            || artifacts.clone(),
            |artifacts| {
                let mapped =
                    map_repository_into("pastis-scale", artifacts, &options, IndexedItem::new);
                assert_eq!(mapped.items.len(), 8_000);
                mapped
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, build, search, mix, cql2, serialise, map);
criterion_main!(benches);
