//! Provenance of Items and assets: `oci:*` properties and the file extension's `file:*`
//! fields of layer assets.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::ids::{digest_hex, sanitize};
use super::{BlobDigest, BlobRef};
use crate::crawl::Artifact;
use crate::source::Descriptor;

/// Schema URL of the STAC file extension, listed in `stac_extensions` when `file:*` is used.
pub const FILE_EXTENSION: &str = "https://stac-extensions.github.io/file/v2.1.0/schema.json";

/// The standard OCI title annotation (ORAS sets it to the pushed file's path).
pub const TITLE: &str = "org.opencontainers.image.title";
/// The standard OCI description annotation.
pub const DESCRIPTION: &str = "org.opencontainers.image.description";
/// The standard OCI creation-time annotation (RFC 3339).
pub const CREATED: &str = "org.opencontainers.image.created";
/// The standard OCI licenses annotation (an SPDX expression).
pub const LICENSES: &str = "org.opencontainers.image.licenses";

/// The `oci:*` Item properties of an artifact, except `oci:tags` (set once Items that
/// share a partition are merged).
pub fn oci_properties(artifact: &Artifact) -> Map<String, Value> {
    // Room for the time and a few more properties: a map that grows moves its entries.
    let mut properties = Map::with_capacity(16);
    properties.insert("oci:registry".to_owned(), json!(artifact.registry));
    properties.insert("oci:repository".to_owned(), json!(artifact.repository));
    properties.insert("oci:digest".to_owned(), json!(artifact.digest));
    let artifact_type = artifact
        .artifact_type
        .as_deref()
        .unwrap_or(&artifact.config.media_type);
    properties.insert("oci:artifact_type".to_owned(), json!(artifact_type));
    if let Some(index) = &artifact.index_digest {
        properties.insert("oci:index_digest".to_owned(), json!(index));
    }
    if let Some(platform) = &artifact.platform {
        properties.insert("oci:platform".to_owned(), platform.clone());
    }
    properties
}

/// The asset fields of a layer: `type`, `title`, `roles`, `file:size`, `file:checksum`.
pub fn layer_fields(layer: &Descriptor) -> Map<String, Value> {
    let mut fields = Map::with_capacity(5);
    fields.insert("type".to_owned(), json!(layer.media_type));
    if let Some(title) = layer.annotations.get(TITLE) {
        fields.insert("title".to_owned(), json!(title));
    }
    let role = if is_metadata(&layer.media_type) {
        "metadata"
    } else {
        "data"
    };
    fields.insert("roles".to_owned(), json!([role]));
    fields.insert("file:size".to_owned(), json!(layer.size));
    if let Some(checksum) = checksum(&layer.digest) {
        fields.insert("file:checksum".to_owned(), json!(checksum));
    }
    fields
}

/// The blob behind a layer asset, its names taken from `shared` where they are there.
pub fn blob_ref(shared: &SharedNames<'_>, layer: &Descriptor) -> BlobRef {
    BlobRef {
        source: shared.source.clone(),
        repository: shared.repository.clone(),
        digest: BlobDigest::from(layer.digest.as_str()),
        size: layer.size,
        media_type: shared.media_type(&layer.media_type),
        file_name: file_name(layer),
        member: None,
    }
}

/// The names an artifact's blob refs share, allocated once per artifact: every Item
/// keeps its blob refs for the snapshot's life.
pub struct SharedNames<'a> {
    source: Arc<str>,
    repository: Arc<str>,
    media_types: HashMap<&'a str, Arc<str>>,
}

impl<'a> SharedNames<'a> {
    /// The names of `artifact` and of its layers' media types.
    pub fn of(artifact: &'a Artifact) -> Self {
        let mut media_types = HashMap::new();
        for layer in &artifact.layers {
            media_types
                .entry(layer.media_type.as_str())
                .or_insert_with(|| Arc::from(layer.media_type.as_str()));
        }
        SharedNames {
            source: Arc::from(artifact.source.as_str()),
            repository: Arc::from(artifact.repository.as_str()),
            media_types,
        }
    }

    /// `media_type`, shared when a layer of the artifact has it.
    fn media_type(&self, media_type: &str) -> Arc<str> {
        self.media_types
            .get(media_type)
            .cloned()
            .unwrap_or_else(|| Arc::from(media_type))
    }
}

/// The multihash (hex) of an OCI digest: `1220<hex>` for sha256, `1340<hex>` for sha512.
pub fn checksum(digest: &str) -> Option<String> {
    let (algorithm, hex) = digest.split_once(':')?;
    let prefix = match (algorithm, hex.len()) {
        ("sha256", 64) => "1220",
        ("sha512", 128) => "1340",
        _ => return None,
    };
    hex.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| format!("{prefix}{}", hex.to_ascii_lowercase()))
}

/// The file name an asset href ends with: the last path component of the layer's title,
/// made URL-safe, else `<digest hex 12>.<extension from the media type>`.
pub fn file_name(layer: &Descriptor) -> String {
    layer
        .annotations
        .get(TITLE)
        .and_then(|title| title.rsplit(['/', '\\']).next())
        .and_then(sanitize)
        .unwrap_or_else(|| {
            format!(
                "{}.{}",
                digest_hex(&layer.digest, 12),
                extension(&layer.media_type)
            )
        })
}

fn extension(media_type: &str) -> &'static str {
    let media_type = media_type.to_ascii_lowercase();
    if media_type.contains("tiff") {
        "tif"
    } else if media_type.contains("tar") {
        "tar"
    } else if media_type.contains("json") {
        "json"
    } else {
        "bin"
    }
}

fn is_metadata(media_type: &str) -> bool {
    let media_type = media_type.to_ascii_lowercase();
    media_type.contains("json") || media_type.contains("stac")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Annotations;

    fn layer(media_type: &str, title: Option<&str>) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: format!("sha256:{}", "ab".repeat(32)),
            size: 42,
            annotations: title
                .map(|t| Annotations::from([(TITLE.to_owned(), t.to_owned())]))
                .unwrap_or_default(),
            artifact_type: None,
            platform: None,
        }
    }

    #[test]
    fn names_files() {
        assert_eq!(
            file_name(&layer(
                "application/vnd.oci.image.layer.v1.tar",
                Some("sample/10000.tar")
            )),
            "10000.tar"
        );
        assert_eq!(
            file_name(&layer("x", Some("a dir/my file?.tif"))),
            "my_file_.tif"
        );
        assert_eq!(
            file_name(&layer("application/vnd.oci.image.layer.v1.tar", None)),
            "abababababab.tar"
        );
        assert_eq!(
            file_name(&layer("image/tiff; application=geotiff", Some("dir/"))),
            "abababababab.tif"
        );
        assert_eq!(
            file_name(&layer("application/geo+json", None)),
            "abababababab.json"
        );
        assert_eq!(
            file_name(&layer("application/octet-stream", Some(".."))),
            "abababababab.bin"
        );
    }

    #[test]
    fn layer_asset_fields() {
        let fields = layer_fields(&layer(
            "application/vnd.oci.image.layer.v1.tar",
            Some("sample/10000.tar"),
        ));
        assert_eq!(fields["file:checksum"], format!("1220{}", "ab".repeat(32)));
        assert_eq!(fields["file:size"], 42);
        assert_eq!(fields["roles"], json!(["data"]));
        assert_eq!(fields["title"], "sample/10000.tar");
        assert_eq!(
            layer_fields(&layer("application/geo+json", None))["roles"],
            json!(["metadata"])
        );
        assert_eq!(checksum("sha256:abc"), None);
        assert_eq!(checksum("md5:abc"), None);
    }
}
