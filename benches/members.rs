//! Reading a window of a COG inside a 30 MB tar layer through the gateway: time and
//! registry bytes for GDAL opening the member and reading a 256×256 window, cold (first
//! open) and warm (hot-range cache), against the layer's size. Needs Debian's
//! `docker-registry` and `gdal-bin`. Run with `cargo bench --bench members`.

#[path = "../tests/it/support/gateway.rs"]
#[allow(dead_code)]
mod gateway;
#[path = "../tests/it/support/registry.rs"]
#[allow(dead_code)]
mod registry;

use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use stac_oci::demo::cog::{Crs, GeoRef, Image, encode};

const EMPTY: &str = "application/vnd.oci.empty.v1+json";
const TAR: &str = "application/vnd.oci.image.layer.v1.tar";

fn blob_bytes(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("stac_oci_registry_blob_bytes_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::main]
async fn main() {
    // A 2048×2048 single-band COG (4 MiB, 256×256 tiles) after 26 MB of other files.
    let side = 2048u32;
    let pixels: Vec<u8> = (0..side * side)
        .map(|i| ((i % side) ^ (i / side)) as u8)
        .collect();
    let image = Image {
        width: side,
        height: side,
        bands: 1,
        pixels: &pixels,
    };
    let geo = GeoRef {
        crs: Crs::Geographic(4326),
        origin_x: 2.0,
        origin_y: 49.0,
        pixel_width: 1e-4,
        pixel_height: 1e-4,
    };
    let cog = encode(&image, 256, &geo);
    let filler: Vec<u8> = (0..26_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in [
        ("DATA/other.bin", filler.as_slice()),
        ("DATA/scene.tif", cog.as_slice()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, path, data).unwrap();
    }
    let layer = builder.into_inner().unwrap();

    let registry = registry::TestRegistry::start().await;
    let kind = Some("application/vnd.example.tiles.v1");
    registry
        .push_artifact(
            "tiles",
            "v1",
            kind,
            (EMPTY, b"{}"),
            &[(TAR, &layer, Some("tile.tar"))],
        )
        .await;
    let gateway = gateway::Gateway::start(&format!(
        "[[sources]]\nname = \"r\"\nregistry = \"{}\"\nrepositories = [\"tiles\"]\n",
        registry.url
    ))
    .await;
    let page: Value = reqwest::get(format!("{}/collections/tiles/items", gateway.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let href = page["features"][0]["assets"]
        .as_object()
        .unwrap()
        .values()
        .find(|a| a["title"] == "DATA/scene.tif")
        .and_then(|a| a["href"].as_str())
        .unwrap()
        .to_owned();
    let metrics = format!("{}/metrics", gateway.url);
    let dir = tempfile::tempdir().unwrap();
    println!(
        "layer {:.1} MB, COG {:.1} MB",
        layer.len() as f64 / 1e6,
        cog.len() as f64 / 1e6
    );
    for pass in ["cold", "warm"] {
        let before = blob_bytes(&reqwest::get(&metrics).await.unwrap().text().await.unwrap());
        let started = Instant::now();
        let status = Command::new("gdal_translate")
            .args([
                "-q",
                "-srcwin",
                "512",
                "512",
                "256",
                "256",
                &format!("/vsicurl/{href}"),
            ])
            .arg(dir.path().join(format!("{pass}.tif")))
            .env("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
            .env("VSI_CACHE", "FALSE")
            .status()
            .expect("gdal_translate (Debian gdal-bin)");
        let elapsed = started.elapsed();
        assert!(status.success());
        let after = blob_bytes(&reqwest::get(&metrics).await.unwrap().text().await.unwrap());
        println!(
            "{pass}: open + 256×256 window in {elapsed:.1?}, registry bytes {:.0} ({:.3} % of the layer)",
            after - before,
            100.0 * (after - before) / layer.len() as f64
        );
    }
}
