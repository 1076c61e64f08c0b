//! `pastis-demo:full` and `:sample`: PASTIS-style partitioned artifacts.
//!
//! As published with ORAS: a JSON config that indexes the partitions (`patches`, each
//! with its footprint in EPSG:2154 metres, which the config does not say, and the
//! digest of its layer) and one uncompressed tar layer per patch holding the PASTIS
//! member layout at toy sizes. `:sample` holds two of `:full`'s four layers, the
//! same blobs. The patch ids, parcel counts and footprints are those of real PASTIS
//! patches (see `data/pastis/`).

use std::io;

use serde_json::{Value, json};

use super::cog::{self, Crs, GeoRef, Image};
use super::layout::LayoutWriter;
use super::{CREATED, TITLE, noise, npy};
use crate::source::Descriptor;
use crate::source::manifest::OCI_MANIFEST;

/// The repository of the PASTIS demo artifacts.
pub const REPOSITORY: &str = "pastis-demo";
/// Artifact type of the PASTIS demo manifests.
pub const ARTIFACT_TYPE: &str = "application/vnd.pastis.dataset.v1";
/// Media type of the patch layers.
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// Side of the toy SPOT image in pixels (real ones are 1280 at 1 m).
const SPOT_SIDE: u32 = 256;
/// Side of the toy Sentinel-2 and annotation arrays (real ones are 128).
const GRID: usize = 16;

/// A real PASTIS patch: id, parcel count and footprint ring (EPSG:2154).
struct Patch {
    id: &'static str,
    parcels: u32,
    ring: [[f64; 2]; 5],
}

/// Patches 10000–10003 of PASTIS, as in `data/pastis/config-2433.json`.
const PATCHES: [Patch; 4] = [
    Patch {
        id: "10000",
        parcels: 119,
        ring: [
            [391504.7355450863, 6956805.915242429],
            [392781.90612797183, 6956707.2616562415],
            [392683.2488295328, 6955430.101275591],
            [391406.092152948, 6955528.748381898],
            [391504.7355450863, 6956805.915242429],
        ],
    },
    Patch {
        id: "10001",
        parcels: 111,
        ring: [
            [367628.56220450543, 6880296.821825237],
            [368905.0648159213, 6880198.702347059],
            [368806.9426942048, 6878922.20777039],
            [367530.4507529661, 6879020.321867251],
            [367628.56220450543, 6880296.821825237],
        ],
    },
    Patch {
        id: "10002",
        parcels: 131,
        ring: [
            [388950.37506799435, 6957003.180599397],
            [390227.55850683403, 6956904.554892058],
            [390128.92902673554, 6955627.381606417],
            [388851.7595056589, 6955726.000943417],
            [388950.37506799435, 6957003.180599397],
        ],
    },
    Patch {
        id: "10003",
        parcels: 75,
        ring: [
            [455228.3257593493, 6917189.740296384],
            [456504.7375425294, 6917090.61972383],
            [456405.61548533785, 6915814.218582644],
            [455129.2158208204, 6915913.330007959],
            [455228.3257593493, 6917189.740296384],
        ],
    },
];

/// Adds `pastis-demo:full` (four patches) and `pastis-demo:sample` (the first two).
pub fn add(layout: &mut LayoutWriter) -> io::Result<()> {
    let layers = PATCHES
        .iter()
        .map(|p| layer(layout, p))
        .collect::<io::Result<Vec<_>>>()?;
    add_artifact(layout, &layers, "full")?;
    add_artifact(layout, &layers[..2], "sample")
}

/// Adds one manifest whose config indexes `layers` (patch, descriptor pairs).
fn add_artifact(
    layout: &mut LayoutWriter,
    layers: &[(&Patch, Descriptor)],
    tag: &str,
) -> io::Result<()> {
    let patches: Vec<Value> = layers
        .iter()
        .map(|(patch, layer)| {
            json!({
                "patch_id": patch.id,
                "parcel_count": patch.parcels,
                "temporal_coverage": { "start": "2018-09-24", "end": "2019-12-04" },
                "geometry": { "type": "MultiPolygon", "coordinates": [[patch.ring]] },
                "layer_digest": layer.digest,
                "layer_mediaType": layer.media_type,
            })
        })
        .collect();
    let config = json!({
        "dataset": "PASTIS-HD",
        "created_by": "IGN",
        "license": "etalab-2.0",
        "tile": "t30uxv",
        "patches": patches,
    });
    let config = layout.add_blob("application/json", serde_json::to_vec_pretty(&config)?);
    let layers: Vec<&Descriptor> = layers.iter().map(|(_, d)| d).collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": config,
        "layers": layers,
        "annotations": { "org.opencontainers.image.created": CREATED },
    });
    layout.add_manifest(&manifest, REPOSITORY, tag)
}

/// Builds and stores the tar layer of one patch, titled `sample/<id>.tar` as ORAS
/// titles a file pushed by that path.
fn layer<'p>(layout: &mut LayoutWriter, patch: &'p Patch) -> io::Result<(&'p Patch, Descriptor)> {
    let id = patch.id;
    let seed: u64 = id.parse().unwrap_or(0);
    let members = [
        (format!("ANNOTATIONS/ParcelIDs_{id}.npy"), parcel_ids(seed)),
        (format!("ANNOTATIONS/TARGET_{id}.npy"), target(seed)),
        (format!("DATA_S2/S2_{id}.npy"), sentinel2(seed)),
        (
            format!("DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/SPOT6_RVB_1M00_2019_{id}.tif"),
            spot(patch, seed),
        ),
    ];
    let mut tar = tar::Builder::new(Vec::new());
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, bytes) in &members {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        tar.append_data(&mut header, path, bytes.as_slice())?;
    }
    let mut descriptor = layout.add_blob(LAYER, tar.into_inner()?);
    descriptor
        .annotations
        .insert(TITLE.to_owned(), format!("sample/{id}.tar"));
    Ok((patch, descriptor))
}

/// Parcel id of a grid cell: 4×4-cell parcels numbered from the patch id.
fn parcel_of(seed: u64, row: usize, col: usize) -> i16 {
    (seed % 1000) as i16 * 16 + (row / 4 * 4 + col / 4) as i16
}

/// `ParcelIDs_<id>.npy`: `<i2` (16, 16).
fn parcel_ids(seed: u64) -> Vec<u8> {
    let values: Vec<i16> = (0..GRID * GRID)
        .map(|i| parcel_of(seed, i / GRID, i % GRID))
        .collect();
    npy::i16_array(&[GRID, GRID], &values)
}

/// `TARGET_<id>.npy`: `|u1` (3, 16, 16): crop class per parcel (0–19), then two
/// instance-like channels.
fn target(seed: u64) -> Vec<u8> {
    let mut values = Vec::with_capacity(3 * GRID * GRID);
    for channel in 0..3u64 {
        for i in 0..GRID * GRID {
            let parcel = parcel_of(seed, i / GRID, i % GRID) as u64;
            values.push((noise(seed * 3 + channel, parcel) % 20) as u8);
        }
    }
    npy::u8_array(&[3, GRID, GRID], &values)
}

/// `S2_<id>.npy`: `<i2` (3 dates, 10 bands, 16, 16) of reflectance-like values.
fn sentinel2(seed: u64) -> Vec<u8> {
    let shape = [3, 10, GRID, GRID];
    let values: Vec<i16> = (0..shape.iter().product::<usize>() as u64)
        .map(|i| (noise(seed, i) % 3000) as i16)
        .collect();
    npy::i16_array(&shape, &values)
}

/// `SPOT6_RVB_1M00_2019_<id>.tif`: an RGB COG of fields over the patch's bounding box.
fn spot(patch: &Patch, seed: u64) -> Vec<u8> {
    let (min_x, max_y) = patch
        .ring
        .iter()
        .fold((f64::MAX, f64::MIN), |(x, y), p| (x.min(p[0]), y.max(p[1])));
    let (max_x, min_y) = patch
        .ring
        .iter()
        .fold((f64::MIN, f64::MAX), |(x, y), p| (x.max(p[0]), y.min(p[1])));
    let pixel = (max_x - min_x).max(max_y - min_y) / f64::from(SPOT_SIDE);
    let side = SPOT_SIDE as usize;
    let mut pixels = Vec::with_capacity(side * side * 3);
    for y in 0..side {
        for x in 0..side {
            let field = noise(seed, (y / 32 * 8 + x / 32) as u64);
            let grain = noise(seed ^ 0x5eed, (y * side + x) as u64) % 16;
            for band in 0..3 {
                let base = (field >> (8 * band)) % 160 + 40;
                pixels.push((base + grain) as u8);
            }
        }
    }
    let image = Image {
        width: SPOT_SIDE,
        height: SPOT_SIDE,
        bands: 3,
        pixels: &pixels,
    };
    let geo = GeoRef {
        crs: Crs::Projected(2154),
        origin_x: min_x,
        origin_y: max_y,
        pixel_width: pixel,
        pixel_height: pixel,
    };
    cog::encode(&image, 128, &geo)
}
