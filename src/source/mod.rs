//! Speaking OCI: registries and image layouts. Knows nothing of STAC.
//!
//! A [`Source`] lists repositories and tags, fetches manifests and (size-capped) blobs,
//! and opens blobs for streaming with an optional byte range for the asset proxy.

pub mod blob;
pub mod hot;
pub mod http;
pub mod layout;
pub mod manifest;
pub mod metrics;
pub mod registry;

pub use manifest::{Annotations, Descriptor, ImageIndex, ImageManifest, Manifest};

use bytes::Bytes;
use futures::stream::BoxStream;

use crate::config::{SourceKind, SourceSettings};

/// A failure talking to a source; says which repository, reference or digest.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source could not be reached or answered with a server error.
    #[error("registry unreachable for {repository}: {reason}")]
    Unreachable {
        /// Repository being read.
        repository: String,
        /// What failed (no credentials, no URLs with tokens).
        reason: String,
    },
    /// The source refused our credentials.
    #[error("access denied to {repository}")]
    Denied {
        /// Repository being read.
        repository: String,
    },
    /// A manifest, blob, repository or tag does not exist.
    #[error("{what} not found in {repository}")]
    NotFound {
        /// Repository being read.
        repository: String,
        /// The reference or digest.
        what: String,
    },
    /// A blob is larger than the cap for its use.
    #[error("blob {digest} in {repository} is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Repository being read.
        repository: String,
        /// The blob.
        digest: String,
        /// Its size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// A manifest or index that is not valid OCI JSON.
    #[error("invalid manifest {reference} in {repository}: {reason}")]
    InvalidManifest {
        /// Repository being read.
        repository: String,
        /// Tag or digest.
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// Bytes that do not hash to their digest.
    #[error("digest mismatch for {digest} in {repository}")]
    DigestMismatch {
        /// Repository being read.
        repository: String,
        /// The expected digest.
        digest: String,
    },
    /// A listing that needs a feature the source lacks (e.g. `/v2/_catalog`).
    #[error("{feature} unsupported by source {source_name}")]
    Unsupported {
        /// The source.
        source_name: String,
        /// The feature.
        feature: String,
    },
    /// Local file-system failure for a layout source.
    #[error("layout {path}: {reason}")]
    Layout {
        /// Path involved.
        path: String,
        /// What failed.
        reason: String,
    },
}

/// A fetched manifest: its bytes, digest and media type.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    /// `sha256:…` of `bytes`.
    pub digest: String,
    /// The manifest's media type (from its JSON or the response's `Content-Type`).
    pub media_type: String,
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The manifest's bytes, as fetched.
    pub bytes: Bytes,
}

impl FetchedManifest {
    /// Parses fetched bytes whose digest is `digest`; see [`Manifest::parse`] for the
    /// role of `content_type`.
    pub fn parse(
        digest: String,
        bytes: Bytes,
        content_type: Option<&str>,
    ) -> Result<FetchedManifest, String> {
        let (manifest, media_type) = Manifest::parse(&bytes, content_type)?;
        Ok(FetchedManifest {
            digest,
            media_type,
            manifest,
            bytes,
        })
    }
}

/// A single byte range, already resolved against the blob's size: `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte, inclusive.
    pub end: u64,
}

/// An opened blob body: exactly the requested bytes, streamed.
pub struct BlobBody {
    /// The bytes (the whole blob, or the requested range).
    pub stream: BoxStream<'static, Result<Bytes, std::io::Error>>,
    /// Number of bytes the stream yields.
    pub length: u64,
}

/// A configured source of artifacts.
pub enum Source {
    /// An OCI distribution registry.
    Registry(Box<registry::RegistrySource>),
    /// An OCI image layout directory.
    Layout(layout::LayoutSource),
}

impl Source {
    /// Builds the source for one `[[sources]]` entry (no I/O).
    pub fn new(settings: &SourceSettings) -> Result<Self, SourceError> {
        match &settings.kind {
            SourceKind::Registry { .. } => Ok(Source::Registry(Box::new(
                registry::RegistrySource::new(settings)?,
            ))),
            SourceKind::Layout { .. } => Ok(Source::Layout(layout::LayoutSource::new(settings)?)),
        }
    }

    /// The registry host (`127.0.0.1:5000`) or `oci-layout:<path>`, for provenance.
    pub fn registry_name(&self) -> String {
        match self {
            Source::Registry(r) => r.registry_name(),
            Source::Layout(l) => l.registry_name(),
        }
    }

    /// Counts of the requests made to a registry so far (`None` for layouts).
    pub fn metrics(&self) -> Option<&std::sync::Arc<metrics::RegistryMetrics>> {
        match self {
            Source::Registry(r) => Some(r.metrics()),
            Source::Layout(_) => None,
        }
    }

    /// Whether its manifests and blobs are local files (a layout), which a crawl reads
    /// again rather than keep copies of.
    pub fn is_local(&self) -> bool {
        matches!(self, Source::Layout(_))
    }

    /// Whether a repository is one this source is configured to crawl (by name or glob).
    pub fn serves(&self, repository: &str) -> bool {
        match self {
            Source::Registry(r) => r.serves(repository),
            Source::Layout(_) => false,
        }
    }

    /// Repositories named or matched by the configured names/globs.
    pub async fn repositories(&self) -> Result<Vec<String>, SourceError> {
        match self {
            Source::Registry(r) => r.repositories().await,
            Source::Layout(l) => l.repositories(),
        }
    }

    /// Every tag of a repository (all pages).
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, SourceError> {
        match self {
            Source::Registry(r) => r.tags(repository).await,
            Source::Layout(l) => l.tags(repository),
        }
    }

    /// A manifest or index by tag or digest.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<FetchedManifest, SourceError> {
        match self {
            Source::Registry(r) => r.manifest(repository, reference).await,
            Source::Layout(l) => l.manifest(repository, reference).await,
        }
    }

    /// The digest a tag points to, without fetching the manifest (`HEAD` on registries).
    pub async fn manifest_digest(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<String, SourceError> {
        match self {
            Source::Registry(r) => r.manifest_digest(repository, tag).await,
            Source::Layout(l) => l.manifest_digest(repository, tag),
        }
    }

    /// The referrers of a manifest through the OCI 1.1 referrers API; `None` when the
    /// source does not offer the API (then the `sha256-<hex>` fallback tag is the way).
    pub async fn referrers(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<Option<ImageIndex>, SourceError> {
        match self {
            Source::Registry(r) => r.referrers(repository, digest).await,
            Source::Layout(_) => Ok(None),
        }
    }

    /// A whole blob, refused with [`SourceError::TooLarge`] above `limit` bytes, digest-checked.
    pub async fn blob(
        &self,
        repository: &str,
        digest: &str,
        limit: u64,
    ) -> Result<Bytes, SourceError> {
        match self {
            Source::Registry(r) => r.blob(repository, digest, limit).await,
            Source::Layout(l) => l.blob(repository, digest, limit).await,
        }
    }

    /// Opens a blob for a client (the asset proxy): like [`Source::open_blob`], with
    /// small ranges of registry blobs answered from, and kept in, the hot-range cache.
    pub async fn open_blob_for_client(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        range: Option<ByteRange>,
    ) -> Result<BlobBody, SourceError> {
        match self {
            Source::Registry(r) => {
                r.open_blob_for_client(repository, digest, size, range)
                    .await
            }
            Source::Layout(l) => l.open_blob(repository, digest, size, range).await,
        }
    }

    /// Opens a blob of known `size` for streaming, whole or one range.
    pub async fn open_blob(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        range: Option<ByteRange>,
    ) -> Result<BlobBody, SourceError> {
        match self {
            Source::Registry(r) => r.open_blob(repository, digest, size, range).await,
            Source::Layout(l) => l.open_blob(repository, digest, size, range).await,
        }
    }
}
