//! Test artifacts pushed to a real registry over its API: the real PASTIS configs with
//! synthetic tar layers whose digests are written into them, a STAC-Item-config artifact,
//! an empty-config artifact, one artifact under two tags (and a referrers fallback tag
//! beside them), and an image index with two children.

use std::collections::BTreeMap;

use futures::{StreamExt, stream};
use serde_json::{Value, json};
use sha2::Digest;

use super::registry::{OCI_INDEX, OCI_MANIFEST, TestRegistry};

/// Media type of an uncompressed tar layer.
pub const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// Config media type ORAS gives the PASTIS configs.
pub const IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The PASTIS artifacts' artifactType.
pub const PASTIS_TYPE: &str = "application/vnd.whatever.v1+tar";

/// What was pushed, for the tests to check against.
#[derive(Default)]
pub struct Pushed {
    /// Layer bytes by partition id (`patch_id` or `tile`), per repository.
    pub layers: BTreeMap<(String, String), Vec<u8>>,
    /// Partition ids of the sample artifact.
    pub sample_ids: Vec<String>,
    /// Number of Items expected per collection.
    pub expected: BTreeMap<String, usize>,
    /// Digest of the image index tagged `multi-platform:v1`.
    pub index_digest: String,
}

fn pastis(name: &str) -> Value {
    let path = format!("{}/tests/data/pastis/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(&path).expect("PASTIS config copied into tests/data"))
        .unwrap()
}

/// A small, unique uncompressed tar standing in for one PASTIS layer.
pub fn synthetic_tar(id: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    let files = [
        (
            format!("DATA_S2/S2_{id}.npy"),
            format!("S2 series of patch {id}").repeat(8),
        ),
        (
            format!("ANNOTATIONS/TARGET_{id}.npy"),
            format!("target of {id}"),
        ),
    ];
    for (path, content) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        builder
            .append_data(&mut header, path, content.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Rewrites each partition's `layer_digest` to a synthetic layer and pushes the artifact.
async fn push_partitioned(
    registry: &TestRegistry,
    pushed: &mut Pushed,
    repo: &str,
    tag: &str,
    mut config: Value,
    array: &str,
    id_key: &str,
) -> Vec<String> {
    let mut layers = Vec::new();
    let mut ids = Vec::new();
    for partition in config[array].as_array_mut().unwrap() {
        let id = partition[id_key].as_str().unwrap().to_owned();
        let bytes = pushed
            .layers
            .entry((repo.to_owned(), id.clone()))
            .or_insert_with(|| synthetic_tar(&id))
            .clone();
        partition["layer_digest"] = json!(digest(&bytes));
        layers.push((format!("{tag}/{id}.tar"), bytes));
        ids.push(id);
    }
    let config = serde_json::to_vec(&config).unwrap();
    // Push the layers concurrently first, so the manifest push only uploads the config.
    stream::iter(layers.iter())
        .for_each_concurrent(16, |(_, bytes)| async move {
            registry.push_blob(repo, bytes).await;
        })
        .await;
    let layer_refs: Vec<(&str, &[u8], Option<&str>)> = layers
        .iter()
        .map(|(title, bytes)| (TAR, bytes.as_slice(), Some(title.as_str())))
        .collect();
    registry
        .push_artifact(
            repo,
            tag,
            Some(PASTIS_TYPE),
            (IMAGE_CONFIG, &config),
            &layer_refs,
        )
        .await;
    ids
}

/// Pushes every fixture artifact; returns what to expect.
pub async fn push_all(registry: &TestRegistry) -> Pushed {
    let mut pushed = Pushed::default();

    // pastis-2433: the 3-patch sample and the 2,433-patch full config; sample ⊂ full.
    let sample = pastis("sample-config.json");
    pushed.sample_ids = push_partitioned(
        registry,
        &mut pushed,
        "pastis-2433",
        "sample",
        sample,
        "patches",
        "patch_id",
    )
    .await;
    let full = pastis("config-2433.json");
    let full_ids = push_partitioned(
        registry,
        &mut pushed,
        "pastis-2433",
        "full",
        full,
        "patches",
        "patch_id",
    )
    .await;
    pushed.expected.insert("pastis-2433".into(), full_ids.len());

    // pastis-t4: 4 tiles with integer dates keyed by sensor.
    let t4 = pastis("config-t4.json");
    let tiles = push_partitioned(
        registry,
        &mut pushed,
        "pastis-t4",
        "full",
        t4,
        "tiles",
        "tile",
    )
    .await;
    pushed.expected.insert("pastis-t4".into(), tiles.len());

    // A STAC Item as config, with its COG-like layer named by title.
    let layer = scene_cog();
    let item = json!({
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "scene-1",
        "geometry": {"type": "Polygon", "coordinates": [[[2.0, 48.0], [3.0, 48.0], [3.0, 49.0], [2.0, 49.0], [2.0, 48.0]]]},
        "bbox": [2.0, 48.0, 3.0, 49.0],
        "properties": {"datetime": "2023-06-01T10:00:00Z", "platform": "sentinel-2a"},
        "links": [],
        "assets": {"visual": {"href": "./visual.tif", "type": "image/tiff; application=geotiff; profile=cloud-optimized", "roles": ["data"]}}
    });
    registry
        .push_artifact(
            "stac-item",
            "v1",
            Some("application/vnd.stac.item+json"),
            ("application/geo+json", &serde_json::to_vec(&item).unwrap()),
            &[(
                "image/tiff; application=geotiff; profile=cloud-optimized",
                &layer,
                Some("visual.tif"),
            )],
        )
        .await;
    pushed
        .layers
        .insert(("stac-item".into(), "scene-1".into()), layer);
    pushed.expected.insert("stac-item".into(), 1);

    // An empty-config artifact (DataONE style) and one artifact under two tags.
    let readme = b"# A generic package\n".to_vec();
    registry
        .push_artifact(
            "generic",
            "latest",
            Some("application/vnd.example.readme.v1"),
            ("application/vnd.oci.empty.v1+json", b"{}"),
            &[("text/markdown", &readme, Some("README.md"))],
        )
        .await;
    pushed.expected.insert("generic".into(), 1);
    let data = b"two tags, one artifact".to_vec();
    for tag in ["v1.0", "stable"] {
        registry
            .push_artifact(
                "two-tags",
                tag,
                Some("application/vnd.example.data.v1"),
                ("application/vnd.oci.empty.v1+json", b"{}"),
                &[("application/octet-stream", &data, Some("data.bin"))],
            )
            .await;
    }
    pushed.expected.insert("two-tags".into(), 1);

    // A referrers fallback tag (`sha256-<hex>`, what registries without the referrers
    // API hold signatures under) is never mapped to an Item of its own.
    let two_tags = registry.manifest_digest("two-tags", "v1.0").await;
    let signature = registry
        .artifact_manifest(
            "two-tags",
            Some("application/vnd.dev.cosign.artifact.sig.v1+json"),
            ("application/vnd.oci.empty.v1+json", b"{}"),
            &[(
                "application/vnd.dev.cosign.simplesigning.v1+json",
                b"signature",
                None,
            )],
        )
        .await;
    let fallback_tag = two_tags.replace(':', "-");
    registry
        .push_manifest("two-tags", &fallback_tag, OCI_MANIFEST, &signature)
        .await;

    // An image index: every child manifest is an artifact, not a platform pick.
    let mut children = Vec::new();
    for (arch, body) in [
        ("amd64", &b"amd64 build"[..]),
        ("arm64", &b"arm64 build"[..]),
    ] {
        let child = registry
            .artifact_manifest(
                "multi-platform",
                Some("application/vnd.example.tool.v1"),
                ("application/vnd.oci.empty.v1+json", b"{}"),
                &[("application/octet-stream", body, Some("tool"))],
            )
            .await;
        let digest = registry
            .push_manifest("multi-platform", &digest(&child), OCI_MANIFEST, &child)
            .await;
        children.push(json!({
            "mediaType": OCI_MANIFEST, "digest": digest, "size": child.len(),
            "platform": {"os": "linux", "architecture": arch}
        }));
    }
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children});
    pushed.index_digest = registry
        .push_manifest(
            "multi-platform",
            "v1",
            OCI_INDEX,
            &serde_json::to_vec(&index).unwrap(),
        )
        .await;
    pushed.expected.insert("multi-platform".into(), 2);
    pushed
}

/// A real 512×512 single-band COG over the STAC-Item fixture's footprint (2–3°E, 48–49°N).
pub fn scene_cog() -> Vec<u8> {
    use stac_oci::demo::cog::{Crs, GeoRef, Image, encode};
    let side = 512u32;
    let pixels: Vec<u8> = (0..side * side)
        .map(|i| ((i % side) ^ (i / side)) as u8)
        .collect();
    let image = Image {
        width: side,
        height: side,
        bands: 1,
        pixels: &pixels,
    };
    let pixel = 1.0 / f64::from(side);
    let geo = GeoRef {
        crs: Crs::Geographic(4326),
        origin_x: 2.0,
        origin_y: 49.0,
        pixel_width: pixel,
        pixel_height: pixel,
    };
    encode(&image, 128, &geo)
}

/// The gateway configuration serving every fixture of the registry at `url`: the PASTIS
/// repositories (Lambert-93 footprints) and the others.
pub fn gateway_config(url: &str) -> String {
    format!(
        r#"
[[sources]]
name = "pastis"
registry = "{url}"
repositories = ["pastis-*"]
crs = "EPSG:2154"

[[sources]]
name = "misc"
registry = "{url}"
repositories = ["stac-item", "generic", "two-tags", "multi-platform"]
"#
    )
}
