//! OCI distribution registries through `oci-client`: token flow, tag and catalog paging,
//! manifests, size-capped config blobs.

use bytes::Bytes;

use super::{BlobBody, ByteRange, FetchedManifest, SourceError};
use crate::config::SourceSettings;

/// A registry source.
pub struct RegistrySource {}

impl RegistrySource {
    /// Builds the client (no I/O).
    pub fn new(_settings: &SourceSettings) -> Result<Self, SourceError> {
        todo!()
    }
    /// `host:port` of the registry.
    pub fn registry_name(&self) -> String {
        todo!()
    }
    /// Configured repositories, globs expanded through `/v2/_catalog`.
    pub async fn repositories(&self) -> Result<Vec<String>, SourceError> {
        todo!()
    }
    /// All tags of a repository.
    pub async fn tags(&self, _repository: &str) -> Result<Vec<String>, SourceError> {
        todo!()
    }
    /// A manifest by tag or digest.
    pub async fn manifest(&self, _repository: &str, _reference: &str) -> Result<FetchedManifest, SourceError> {
        todo!()
    }
    /// A whole blob up to `limit` bytes.
    pub async fn blob(&self, _repository: &str, _digest: &str, _limit: u64) -> Result<Bytes, SourceError> {
        todo!()
    }
    /// Opens a blob for streaming.
    pub async fn open_blob(
        &self,
        _repository: &str,
        _digest: &str,
        _size: u64,
        _range: Option<ByteRange>,
    ) -> Result<BlobBody, SourceError> {
        todo!()
    }
}
