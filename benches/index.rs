//! The index at scale: building a snapshot of synthetic PASTIS-like Items (100,000 and
//! 1,000,000), and bbox searches on 1,000,000 of them — small (1°) and continent-sized
//! (30°) boxes, with and without a one-year datetime. Run with
//! `cargo bench --bench index`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use stac_oci::index::{Bbox, Interval, Search, Snapshot};
use stac_oci::mapping::{MappedCollection, MappedItem};

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
            let Value::Object(item) = item else { unreachable!() };
            MappedItem {
                collection: "pastis".into(),
                id,
                item,
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
    group.finish();
}

criterion_group!(benches, build, search);
criterion_main!(benches);
