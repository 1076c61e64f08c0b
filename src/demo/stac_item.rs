//! `stac-item-demo:v1`: an artifact whose config is a STAC Item.
//!
//! The config's media type is `application/geo+json` (a STAC Item is a GeoJSON
//! Feature; the mapping recognises it by content). Its two assets name the two COG
//! layers by their titles, `red.tif` and `nir.tif`, which the gateway rewrites to its
//! own asset URLs.

use std::io;

use serde_json::json;

use super::cog::{self, Crs, GeoRef, Image};
use super::layout::LayoutWriter;
use super::{CREATED, TITLE, noise};
use crate::source::manifest::OCI_MANIFEST;

/// The repository of the STAC Item demo.
pub const REPOSITORY: &str = "stac-item-demo";
/// Artifact type of its manifest.
pub const ARTIFACT_TYPE: &str = "application/vnd.stac.item+json";
/// Media type of its COG layers and assets.
pub const COG: &str = "image/tiff; application=geotiff; profile=cloud-optimized";
/// Upper-left corner (lon, lat) of the scene, near Toulouse.
const ORIGIN: (f64, f64) = (1.40, 43.65);
/// Side of the scene in degrees.
const SIDE_DEG: f64 = 0.1;
/// The projection extension, for `proj:epsg`, `proj:shape` and `proj:transform`.
const PROJECTION: &str = "https://stac-extensions.github.io/projection/v1.1.0/schema.json";
/// Side of each band image in pixels.
const SIDE: u32 = 256;

/// Adds `stac-item-demo:v1`.
pub fn add(layout: &mut LayoutWriter) -> io::Result<()> {
    let red = band(layout, "red.tif", 1)?;
    let nir = band(layout, "nir.tif", 2)?;
    let (west, north) = ORIGIN;
    let (east, south) = (west + SIDE_DEG, north - SIDE_DEG);
    let asset = |title: &str, name: &str| json!({ "href": title, "type": COG, "title": name, "roles": ["data"] });
    let item = json!({
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [PROJECTION],
        "id": "toulouse-2024-05-01",
        "bbox": [west, south, east, north],
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
        },
        "properties": {
            "datetime": "2024-05-01T10:30:00Z",
            "title": "Demo scene near Toulouse",
            "description": "Synthetic red and near-infrared bands, for trying the gateway.",
            // What GDAL's STACIT driver needs to mosaic search results.
            "proj:epsg": 4326,
            "proj:shape": [SIDE, SIDE],
            "proj:transform": [SIDE_DEG / f64::from(SIDE), 0.0, west, 0.0, -SIDE_DEG / f64::from(SIDE), north],
        },
        "links": [],
        "assets": { "red": asset("red.tif", "Red"), "nir": asset("nir.tif", "Near infrared") },
    });
    let config = layout.add_blob("application/geo+json", serde_json::to_vec_pretty(&item)?);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": config,
        "layers": [red, nir],
        "annotations": { "org.opencontainers.image.created": CREATED },
    });
    layout.add_manifest(&manifest, REPOSITORY, "v1")
}

/// Stores one single-band COG layer in EPSG:4326, titled `title`.
fn band(
    layout: &mut LayoutWriter,
    title: &str,
    seed: u64,
) -> io::Result<crate::source::Descriptor> {
    let side = SIDE as usize;
    let pixels: Vec<u8> = (0..side * side)
        .map(|i| {
            let (y, x) = (i / side, i % side);
            let field = noise(seed, (y / 32 * 8 + x / 32) as u64) % 180;
            (field + noise(seed + 100, i as u64) % 24) as u8
        })
        .collect();
    let image = Image {
        width: SIDE,
        height: SIDE,
        bands: 1,
        pixels: &pixels,
    };
    let pixel = SIDE_DEG / f64::from(SIDE);
    let geo = GeoRef {
        crs: Crs::Geographic(4326),
        origin_x: ORIGIN.0,
        origin_y: ORIGIN.1,
        pixel_width: pixel,
        pixel_height: pixel,
    };
    let mut descriptor = layout.add_blob(COG, cog::encode(&image, 128, &geo));
    descriptor
        .annotations
        .insert(TITLE.to_owned(), title.to_owned());
    Ok(descriptor)
}
