//! The bundled demo: an OCI image layout generated reproducibly by our own code.
//!
//! [`write_demo_layout`] writes the same bytes on every run (fixed timestamps, sorted
//! JSON keys, pseudo-random pixels from fixed seeds), a little over 1 MB in all:
//! - `pastis-demo:full` and `:sample`: PASTIS-style partitioned artifacts
//!   ([`pastis`]), with real COGs and `.npy` arrays inside their tar layers;
//! - `stac-item-demo:v1`: a STAC Item config over two COG layers ([`stac_item`]);
//! - `generic-demo:latest`: an empty-config artifact with a README ([`readme`]).
//!
//! Each reference in `index.json` carries `org.opencontainers.image.ref.name` =
//! `<repository>:<tag>`.

pub mod cog;
pub mod layout;
pub mod npy;
pub mod pastis;
pub mod readme;
pub mod stac_item;

use std::path::Path;

/// The `org.opencontainers.image.title` annotation (ORAS sets it on each file layer).
pub const TITLE: &str = "org.opencontainers.image.title";
/// The fixed creation time of every demo artifact.
pub const CREATED: &str = "2024-05-01T00:00:00Z";

/// Writes the demo OCI image layout into `dir` (created if missing); blobs of an
/// earlier demo that this one no longer holds are removed.
pub fn write_demo_layout(dir: &Path) -> std::io::Result<()> {
    let mut layout = layout::LayoutWriter::default();
    pastis::add(&mut layout)?;
    stac_item::add(&mut layout)?;
    readme::add(&mut layout)?;
    layout.write(dir)
}

/// A pseudo-random number for position `index` of stream `seed` (SplitMix64), so
/// demo pixels look like data yet are the same on every run and platform.
fn noise(seed: u64, index: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(index)
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Read;
    use std::path::PathBuf;

    use super::*;
    use crate::source::manifest::{ImageIndex, ImageManifest, sha256_digest};

    /// Every file under `dir`, by path relative to it.
    fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    todo.push(path);
                } else {
                    let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                    out.insert(rel, std::fs::read(&path).unwrap());
                }
            }
        }
        out
    }

    fn blob(files: &BTreeMap<PathBuf, Vec<u8>>, digest: &str) -> Vec<u8> {
        let hex = digest.strip_prefix("sha256:").unwrap();
        files[&Path::new("blobs/sha256").join(hex)].clone()
    }

    fn generated() -> BTreeMap<PathBuf, Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        write_demo_layout(dir.path()).unwrap();
        files(dir.path())
    }

    /// The manifests of `index.json` by reference name.
    fn manifests(files: &BTreeMap<PathBuf, Vec<u8>>) -> BTreeMap<String, ImageManifest> {
        let index: ImageIndex = serde_json::from_slice(&files[Path::new("index.json")]).unwrap();
        index
            .manifests
            .iter()
            .map(|d| {
                let name = d.annotations[layout::REF_NAME].clone();
                let m: ImageManifest = serde_json::from_slice(&blob(files, &d.digest)).unwrap();
                assert_eq!(d.artifact_type, m.artifact_type);
                (name, m)
            })
            .collect()
    }

    #[test]
    fn reproducible_and_small() {
        let a = generated();
        assert_eq!(a, generated());
        let total: usize = a.values().map(Vec::len).sum();
        assert!(total < 5 * 1024 * 1024, "{total} bytes");
        assert_eq!(
            a[Path::new("oci-layout")],
            br#"{"imageLayoutVersion":"1.0.0"}"#
        );
    }

    #[test]
    fn regenerating_removes_stale_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join("blobs/sha256").join("0".repeat(64));
        std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
        std::fs::write(&stale, b"old").unwrap();
        write_demo_layout(dir.path()).unwrap();
        assert!(!stale.exists());
        assert_eq!(files(dir.path()), generated());
    }

    #[test]
    fn blobs_are_content_addressed_and_references_resolve() {
        let files = generated();
        for (path, bytes) in &files {
            if let Ok(hex) = path.strip_prefix("blobs/sha256") {
                assert_eq!(sha256_digest(bytes), format!("sha256:{}", hex.display()));
            }
        }
        let manifests = manifests(&files);
        let names: Vec<&str> = manifests.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "generic-demo:latest",
                "pastis-demo:full",
                "pastis-demo:sample",
                "stac-item-demo:v1"
            ]
        );
        for m in manifests.values() {
            assert_eq!(m.schema_version, 2);
            assert_eq!(
                m.media_type.as_deref(),
                Some(crate::source::manifest::OCI_MANIFEST)
            );
            for d in std::iter::once(&m.config).chain(&m.layers) {
                assert_eq!(blob(&files, &d.digest).len() as u64, d.size);
            }
        }
    }

    #[test]
    fn pastis_configs_index_their_layers() {
        let files = generated();
        let manifests = manifests(&files);
        let full = &manifests["pastis-demo:full"];
        let sample = &manifests["pastis-demo:sample"];
        assert_eq!(full.artifact_type.as_deref(), Some(pastis::ARTIFACT_TYPE));
        assert_eq!(full.layers.len(), 4);
        assert_eq!(sample.layers[..], full.layers[..2]);
        let config: serde_json::Value =
            serde_json::from_slice(&blob(&files, &full.config.digest)).unwrap();
        assert_eq!(config["dataset"], "PASTIS-HD");
        let patches = config["patches"].as_array().unwrap();
        assert_eq!(patches.len(), 4);
        for (patch, layer) in patches.iter().zip(&full.layers) {
            let id = patch["patch_id"].as_str().unwrap();
            assert_eq!(patch["layer_digest"], layer.digest.as_str());
            assert_eq!(layer.annotations[TITLE], format!("sample/{id}.tar"));
            assert_eq!(patch["geometry"]["type"], "MultiPolygon");
        }
    }

    #[test]
    fn pastis_layer_holds_the_member_layout_and_a_cog() {
        let files = generated();
        let full = &manifests(&files)["pastis-demo:full"];
        let tar_bytes = blob(&files, &full.layers[0].digest);
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let mut members = BTreeMap::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            assert_eq!(entry.header().mtime().unwrap(), 0);
            assert_eq!(entry.header().mode().unwrap(), 0o644);
            let path = entry.path().unwrap().display().to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            members.insert(path, bytes);
        }
        let names: Vec<&str> = members.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "ANNOTATIONS/ParcelIDs_10000.npy",
                "ANNOTATIONS/TARGET_10000.npy",
                "DATA_S2/S2_10000.npy",
                "DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/SPOT6_RVB_1M00_2019_10000.tif",
            ]
        );
        assert!(members["DATA_S2/S2_10000.npy"].starts_with(b"\x93NUMPY\x01\x00"));
        let tif = &members["DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/SPOT6_RVB_1M00_2019_10000.tif"];
        let (tags, _) = cog::tests::parse(tif);
        assert_eq!(tags[&256].1, [256.0]);
        assert_eq!(tags[&277].1, [3.0]);
        assert!(
            tags[&34735].1[4..]
                .chunks(4)
                .any(|k| k == [3072.0, 0.0, 1.0, 2154.0])
        );
        // The tiepoint is the patch's north-west bounding-box corner.
        assert_eq!(tags[&33922].1[3..5], [391406.092152948, 6956805.915242429]);
    }

    #[test]
    fn stac_item_assets_name_its_layers() {
        let files = generated();
        let m = &manifests(&files)["stac-item-demo:v1"];
        assert_eq!(m.config.media_type, "application/geo+json");
        let item: serde_json::Value =
            serde_json::from_slice(&blob(&files, &m.config.digest)).unwrap();
        assert_eq!(item["type"], "Feature");
        let titles: Vec<&str> = m
            .layers
            .iter()
            .map(|l| l.annotations[TITLE].as_str())
            .collect();
        assert_eq!(titles, ["red.tif", "nir.tif"]);
        for (key, title) in [("red", "red.tif"), ("nir", "nir.tif")] {
            assert_eq!(item["assets"][key]["href"], title);
        }
        for layer in &m.layers {
            assert_eq!(layer.media_type, stac_item::COG);
            let (tags, _) = cog::tests::parse(&blob(&files, &layer.digest));
            assert!(
                tags[&34735].1[4..]
                    .chunks(4)
                    .any(|k| k == [2048.0, 0.0, 1.0, 4326.0])
            );
        }
    }

    #[test]
    fn generic_artifact_has_the_empty_config() {
        let files = generated();
        let m = &manifests(&files)["generic-demo:latest"];
        assert_eq!(
            m.config.digest,
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(m.config.media_type, readme::EMPTY);
        assert_eq!(m.artifact_type.as_deref(), Some(readme::ARTIFACT_TYPE));
        assert_eq!(m.layers[0].media_type, "text/markdown");
        assert_eq!(m.layers[0].annotations[TITLE], "README.md");
        assert_eq!(m.annotations["org.opencontainers.image.created"], CREATED);
        assert!(
            m.annotations
                .contains_key("org.opencontainers.image.description")
        );
    }
}
