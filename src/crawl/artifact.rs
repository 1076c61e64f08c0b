//! What one crawl pass yields per manifest: plain data for the mapping stage.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::members::LayerIndex;
use crate::source::Descriptor;

/// One image manifest found by the crawl, with everything mapping needs and no I/O left to do.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Name of the configured source.
    pub source: String,
    /// Registry host (`127.0.0.1:5000`) or `oci-layout:<path>`.
    pub registry: String,
    /// Repository path, e.g. `eo/pastis-2433`.
    pub repository: String,
    /// Every tag that resolves to this manifest (directly or through an index), sorted.
    pub tags: Vec<String>,
    /// `sha256:…` of the image manifest.
    pub digest: String,
    /// The manifest's media type.
    pub media_type: String,
    /// `artifactType`, or the config media type when that is not the image config type.
    pub artifact_type: Option<String>,
    /// The config descriptor.
    pub config: Descriptor,
    /// The config blob, when fetched (absent for the empty config or when over the cap).
    pub config_blob: Option<Bytes>,
    /// The layers, in manifest order.
    pub layers: Vec<Descriptor>,
    /// Layers that may be STAC Items (`application/geo+json`, or annotated), fetched, by digest.
    pub layer_documents: BTreeMap<String, Bytes>,
    /// Manifest annotations.
    pub annotations: BTreeMap<String, String>,
    /// Digest of the image index this manifest was reached through, if any.
    pub index_digest: Option<String>,
    /// Platform of this manifest in its index, if any.
    pub platform: Option<serde_json::Value>,
    /// Artifacts that refer to this one (signatures, SBOMs, attestations).
    pub referrers: Vec<Referrer>,
    /// The files inside each uncompressed tar layer, by layer digest, or why the layer
    /// could not be indexed.
    pub layer_members: BTreeMap<String, Result<LayerIndex, String>>,
}

impl Artifact {
    /// Lets go of what only mapping reads (the config blob, the layers, the fetched layer
    /// documents and member indexes, the platform, the referrers), keeping what names the
    /// artifact and its annotations: called once it is mapped, so that a repository's
    /// artifacts are not all held whole until its last one is.
    pub fn release_mapping_inputs(&mut self) {
        self.config_blob = None;
        self.layers = Vec::new();
        self.layer_documents = BTreeMap::new();
        self.layer_members = BTreeMap::new();
        self.platform = None;
        self.referrers = Vec::new();
    }
}

/// An artifact whose `subject` is another one: found through the referrers API or the
/// `sha256-<hex>` fallback tag.
#[derive(Debug, Clone)]
pub struct Referrer {
    /// `sha256:…` of the referrer's manifest.
    pub digest: String,
    /// Its `artifactType` (or config media type).
    pub artifact_type: Option<String>,
    /// Its layers (the signature, the SBOM document…).
    pub layers: Vec<Descriptor>,
    /// Its manifest annotations.
    pub annotations: BTreeMap<String, String>,
}
