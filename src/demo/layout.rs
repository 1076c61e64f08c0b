//! Writing an OCI image layout directory (OCI image spec v1.1, `image-layout.md`).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde_json::{Value, json};

use crate::source::manifest::{OCI_INDEX, OCI_MANIFEST, sha256_digest};
use crate::source::{Annotations, Descriptor};

/// Annotation naming a reference of a layout's manifest.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A layout being assembled in memory: content-addressed blobs and tagged manifests.
#[derive(Default)]
pub struct LayoutWriter {
    /// Blob bytes by hex digest; a blob added twice is stored once.
    blobs: BTreeMap<String, Vec<u8>>,
    /// `index.json` entries, in the order added.
    references: Vec<Descriptor>,
}

impl LayoutWriter {
    /// Stores a blob and returns its descriptor (no annotations).
    pub fn add_blob(&mut self, media_type: &str, bytes: Vec<u8>) -> Descriptor {
        let digest = sha256_digest(&bytes);
        let descriptor = Descriptor {
            media_type: media_type.to_owned(),
            digest: digest.clone(),
            size: bytes.len() as u64,
            annotations: Annotations::default(),
            artifact_type: None,
            platform: None,
        };
        let hex = digest.trim_start_matches("sha256:").to_owned();
        self.blobs.insert(hex, bytes);
        descriptor
    }

    /// Stores an image manifest and references it from `index.json` as
    /// `<repository>:<tag>`.
    pub fn add_manifest(
        &mut self,
        manifest: &Value,
        repository: &str,
        tag: &str,
    ) -> io::Result<()> {
        let bytes = serde_json::to_vec(manifest)?;
        let mut descriptor = self.add_blob(OCI_MANIFEST, bytes);
        descriptor.artifact_type = manifest
            .get("artifactType")
            .and_then(Value::as_str)
            .map(str::to_owned);
        descriptor
            .annotations
            .insert(REF_NAME.to_owned(), format!("{repository}:{tag}"));
        self.references.push(descriptor);
        Ok(())
    }

    /// Writes `oci-layout`, `index.json` and `blobs/sha256/*` under `dir`, removing
    /// blobs there that this layout no longer holds (so a regenerated layout has no
    /// stale files). Other files in `dir` are left alone.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let blob_dir = dir.join("blobs").join("sha256");
        std::fs::create_dir_all(&blob_dir)?;
        for entry in std::fs::read_dir(&blob_dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let stale = name.to_str().is_some_and(|n| {
                n.len() == 64
                    && n.bytes().all(|b| b.is_ascii_hexdigit())
                    && !self.blobs.contains_key(n)
            });
            if stale && entry.file_type()?.is_file() {
                std::fs::remove_file(entry.path())?;
            }
        }
        for (hex, bytes) in &self.blobs {
            std::fs::write(blob_dir.join(hex), bytes)?;
        }
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        let index = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": self.references,
        });
        let mut bytes = serde_json::to_vec_pretty(&index)?;
        bytes.push(b'\n');
        std::fs::write(dir.join("index.json"), bytes)
    }
}
