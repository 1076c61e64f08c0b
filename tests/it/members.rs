//! Files inside tar layers served as byte ranges of the layer, read by GDAL.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::client::{get_json, registry_source};
use crate::support::fixtures::{TAR, scene_cog};
use crate::support::gateway::Gateway;
use crate::support::registry::TestRegistry;

const EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// An uncompressed tar of `files`, GNU headers.
fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, path, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_tar_layers_are_assets_gdal_reads_by_range() {
    let registry = TestRegistry::start().await;
    let cog = scene_cog();
    let filler: Vec<u8> = (0..4_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let npy = b"\x93NUMPY\x01\x00v\x00{'descr': '<i2'}".to_vec();
    let info = br#"{"tile": "t31tfj"}"#.to_vec();
    let long = format!("DATA/{}/scene.tif", "nested".repeat(20));
    let layer = tar_of(&[
        ("DATA/filler.bin", &filler),
        (&long, &cog),
        ("ANNOTATIONS/TARGET_1.npy", &npy),
        ("META/info.json", &info),
    ]);
    let kind = Some("application/vnd.example.tiles.v1");
    registry
        .push_artifact(
            "tiles",
            "v1",
            kind,
            (EMPTY, b"{}"),
            &[(TAR, &layer, Some("t31tfj.tar"))],
        )
        .await;
    // A tar cut in the middle of a member: the layer is served, its members are not.
    let cut = &layer[..layer.len() / 2];
    registry
        .push_artifact(
            "tiles",
            "broken",
            kind,
            (EMPTY, b"{}"),
            &[(TAR, cut, Some("cut.tar"))],
        )
        .await;

    let gateway = Gateway::start(&registry_source(&registry.url, &["tiles"], "")).await;
    let client = reqwest::Client::new();
    let page: Value = client
        .get(format!("{}/collections/tiles/items", gateway.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = page["features"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{page}");
    let good = items
        .iter()
        .find(|i| i["properties"]["oci:tags"] == json!(["v1"]))
        .unwrap();
    let broken = items
        .iter()
        .find(|i| i["properties"]["oci:tags"] == json!(["broken"]))
        .unwrap();
    let assets = good["assets"].as_object().unwrap();
    assert_eq!(
        assets.len(),
        5,
        "the layer and its four members: {assets:#?}"
    );
    let layer_asset = assets
        .values()
        .find(|a| a["oci:member_count"].is_number())
        .unwrap();
    assert_eq!(layer_asset["oci:member_count"], 4);
    let by_title = |title: &str| {
        assets
            .values()
            .find(|a| a["title"] == title)
            .unwrap_or_else(|| panic!("{title}"))
    };
    let tif = by_title(&long);
    assert_eq!(
        tif["type"],
        "image/tiff; application=geotiff; profile=cloud-optimized"
    );
    assert_eq!(tif["roles"], json!(["data"]));
    assert_eq!(tif["file:size"], cog.len());
    assert!(tif["href"].as_str().unwrap().ends_with("/scene.tif"));
    assert_eq!(
        by_title("ANNOTATIONS/TARGET_1.npy")["roles"],
        json!(["labels"])
    );
    assert_eq!(
        by_title("ANNOTATIONS/TARGET_1.npy")["type"],
        "application/x-npy"
    );
    assert_eq!(by_title("META/info.json")["roles"], json!(["metadata"]));
    let broken_layer = broken["assets"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert!(
        broken_layer["oci:members_error"]
            .as_str()
            .unwrap()
            .contains("past the layer's end"),
        "{broken}"
    );
    assert_eq!(broken["assets"].as_object().unwrap().len(), 1);

    // Whole member, a range of it, HEAD, and its own ETag.
    let info_href = by_title("META/info.json")["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = client.get(&info_href).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(r.bytes().await.unwrap().as_ref(), info.as_slice());
    let r = client
        .get(&info_href)
        .header("range", "bytes=2-5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 2-5/{}", info.len()).as_str()
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), &info[2..=5]);
    let r = client
        .head(tif["href"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-length"],
        cog.len().to_string().as_str()
    );
    assert_ne!(r.headers()["etag"].to_str().unwrap(), etag);
    let r = client
        .get(&info_href)
        .header("range", "bytes=100-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);

    // GDAL reads a window of the COG inside the tar: same pixels as the original file,
    // and the gateway fetched a small part of the 4 MB layer.
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original.tif");
    std::fs::write(&original, &cog).unwrap();
    let metrics = format!("{}/metrics", gateway.url);
    let bytes_before = metric(
        &client
            .get(&metrics)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "stac_oci_registry_blob_bytes_total",
    );
    let checksum = |source: &str, out: &str| {
        let out = dir.path().join(out);
        let status = Command::new("gdal_translate")
            .args(["-q", "-srcwin", "0", "0", "100", "100", source])
            .arg(&out)
            .env("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
            .status()
            .expect("gdal_translate (Debian gdal-bin) must be installed");
        assert!(status.success(), "gdal_translate {source}");
        let info = Command::new("gdalinfo")
            .arg("-checksum")
            .arg(&out)
            .output()
            .unwrap();
        String::from_utf8_lossy(&info.stdout)
            .lines()
            .find(|l| l.contains("Checksum="))
            .unwrap()
            .to_owned()
    };
    let remote = checksum(
        &format!("/vsicurl/{}", tif["href"].as_str().unwrap()),
        "remote.tif",
    );
    assert_eq!(remote, checksum(original.to_str().unwrap(), "local.tif"));
    let bytes_after = metric(
        &client
            .get(&metrics)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "stac_oci_registry_blob_bytes_total",
    );
    let fetched = bytes_after - bytes_before;
    assert!(
        fetched > 0.0 && fetched < layer.len() as f64 / 10.0,
        "fetched {fetched} of {} bytes",
        layer.len()
    );
    // Opening it again reads the same small ranges: all from the hot-range cache.
    let again = checksum(
        &format!("/vsicurl/{}", tif["href"].as_str().unwrap()),
        "again.tif",
    );
    assert_eq!(again, remote);
    let text = client
        .get(&metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bytes_again = metric(&text, "stac_oci_registry_blob_bytes_total");
    assert_eq!(
        bytes_again, bytes_after,
        "a second open went back to the registry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_member_is_listed_and_served_beyond_the_item_cap() {
    let registry = TestRegistry::start().await;
    let files: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| {
            (
                format!("DATA_S2/S2_{i:03}.npy"),
                format!("array {i}").into_bytes(),
            )
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, d)| (p.as_str(), d.as_slice()))
        .collect();
    let layer = tar_of(&refs);
    let kind = Some("application/vnd.example.tiles.v1");
    registry
        .push_artifact(
            "tiles",
            "v1",
            kind,
            (EMPTY, b"{}"),
            &[(TAR, &layer, Some("t.tar"))],
        )
        .await;
    let gateway = Gateway::start(&registry_source(
        &registry.url,
        &["tiles"],
        "max_member_assets = 10\n",
    ))
    .await;
    let page: Value = get_json(&format!("{}/collections/tiles/items", gateway.url)).await;
    let item = &page["features"][0];
    assert_eq!(
        item["assets"].as_object().unwrap().len(),
        11,
        "the layer and 10 members"
    );
    let members_link = item["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "members")
        .unwrap();
    let listing: Value = get_json(members_link["href"].as_str().unwrap()).await;
    assert_eq!(listing["numberMatched"], 40);
    let members = listing["members"].as_array().unwrap();
    for (member, (path, data)) in members.iter().zip(&files) {
        assert_eq!(member["path"], path.as_str());
        let body = reqwest::get(member["href"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(body.status(), 200, "{member}");
        assert_eq!(body.bytes().await.unwrap().as_ref(), data.as_slice());
    }
    let missing = format!("{}/collections/tiles/items/nope/members", gateway.url);
    assert_eq!(reqwest::get(missing).await.unwrap().status(), 404);
}

/// `bytes` compressed with gzip or zstd.
async fn compressed(bytes: &[u8], zstd: bool) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    if zstd {
        let mut encoder = async_compression::tokio::bufread::ZstdEncoder::new(bytes);
        encoder.read_to_end(&mut out).await.unwrap();
    } else {
        let mut encoder = async_compression::tokio::bufread::GzipEncoder::new(bytes);
        encoder.read_to_end(&mut out).await.unwrap();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_compressed_layers_are_listed_and_served_whole() {
    let registry = TestRegistry::start().await;
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let small = br#"{"tile": "t30uxv"}"#.to_vec();
    let tar = tar_of(&[("DATA/big.bin", &big), ("META/info.json", &small)]);
    let kind = Some("application/vnd.example.tiles.v1");
    let gz = compressed(&tar, false).await;
    let zst = compressed(&tar, true).await;
    let gzip_type = "application/vnd.oci.image.layer.v1.tar+gzip";
    let zstd_type = "application/vnd.oci.image.layer.v1.tar+zstd";
    registry
        .push_artifact(
            "packed",
            "gzip",
            kind,
            (EMPTY, b"{}"),
            &[(gzip_type, &gz, Some("t.tar.gz"))],
        )
        .await;
    registry
        .push_artifact(
            "packed",
            "zstd",
            kind,
            (EMPTY, b"{}"),
            &[(zstd_type, &zst, Some("t.tar.zst"))],
        )
        .await;
    let gateway = Gateway::start(&registry_source(&registry.url, &["packed"], "")).await;
    let page: Value = get_json(&format!("{}/collections/packed/items", gateway.url)).await;
    let items = page["features"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{page}");
    let client = reqwest::Client::new();
    for item in items {
        let assets = item["assets"].as_object().unwrap();
        assert_eq!(assets.len(), 3, "{item}");
        for (path, data) in [("DATA/big.bin", &big), ("META/info.json", &small)] {
            let asset = assets.values().find(|a| a["title"] == path).unwrap();
            assert_eq!(asset["file:size"], data.len());
            let href = asset["href"].as_str().unwrap();
            let r = client.get(href).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["accept-ranges"], "none");
            assert_eq!(r.bytes().await.unwrap().as_ref(), data.as_slice(), "{path}");
            // A range inside a compressed layer is answered with the whole member.
            let r = client
                .get(href)
                .header("range", "bytes=5-9")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.bytes().await.unwrap().len(), data.len());
        }
    }
}
