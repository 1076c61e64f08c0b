//! Pure mapping of crawled artifacts to STAC Collections and Items (DESIGN §3).
//! No I/O, no async, no HTTP.

use std::collections::BTreeMap;

/// Options for mapping one repository, from its source's settings.
#[derive(Debug, Clone, Default)]
pub struct MappingOptions {
    /// CRS of footprints in configs that do not name one (e.g. `EPSG:2154`).
    pub crs: Option<String>,
}

/// The registry blob behind an asset: what the asset proxy may fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    /// Name of the configured source holding the blob.
    pub source: String,
    /// Repository holding the blob.
    pub repository: String,
    /// `sha256:…`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type, served as `Content-Type`.
    pub media_type: String,
    /// The file name the href ends with (URL-safe).
    pub file_name: String,
}

/// A mapped STAC Item and the blobs behind its assets.
#[derive(Debug, Clone)]
pub struct MappedItem {
    /// Collection id.
    pub collection: String,
    /// Item id, unique in its collection, URL-safe, stable across recrawls.
    pub id: String,
    /// The STAC Item JSON without `links`; each asset's `href` is the relative path
    /// `collections/{collection}/items/{id}/assets/{key}/{file_name}`.
    pub item: serde_json::Map<String, serde_json::Value>,
    /// Blob behind each asset key.
    pub assets: BTreeMap<String, BlobRef>,
}

/// A mapped STAC Collection (without `links` and with extents computed from its Items).
#[derive(Debug, Clone)]
pub struct MappedCollection {
    /// Collection id.
    pub id: String,
    /// The STAC Collection JSON without `links`.
    pub collection: serde_json::Map<String, serde_json::Value>,
}

/// An artifact that could not be mapped; the rest of its repository still is.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{repository}@{digest}: {reason}")]
pub struct MappingError {
    /// Repository of the artifact.
    pub repository: String,
    /// Manifest digest of the artifact.
    pub digest: String,
    /// What is wrong, naming the field.
    pub reason: String,
}

/// Everything mapped from one repository.
#[derive(Debug, Clone)]
pub struct MappedRepository {
    /// The repository's Collection.
    pub collection: MappedCollection,
    /// Its Items, one per artifact or partition, deduplicated.
    pub items: Vec<MappedItem>,
    /// Artifacts that could not be mapped.
    pub errors: Vec<MappingError>,
}

use crate::crawl::Artifact;

/// Maps every artifact of one repository (all its tags) to a Collection and Items.
pub fn map_repository(
    _repository: &str,
    _artifacts: &[Artifact],
    _options: &MappingOptions,
) -> MappedRepository {
    todo!()
}
