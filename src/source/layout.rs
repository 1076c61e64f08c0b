//! OCI image layout directories (the bundled demo).

use bytes::Bytes;

use super::{BlobBody, ByteRange, FetchedManifest, SourceError};
use crate::config::SourceSettings;

/// A layout source.
pub struct LayoutSource {}

impl LayoutSource {
    /// Checks the settings (no I/O).
    pub fn new(_settings: &SourceSettings) -> Result<Self, SourceError> {
        todo!()
    }
    /// `oci-layout:<path>`.
    pub fn registry_name(&self) -> String {
        todo!()
    }
    /// Repositories named by the layout's references.
    pub fn repositories(&self) -> Result<Vec<String>, SourceError> {
        todo!()
    }
    /// Tags of a repository.
    pub fn tags(&self, _repository: &str) -> Result<Vec<String>, SourceError> {
        todo!()
    }
    /// A manifest by tag or digest.
    pub fn manifest(&self, _repository: &str, _reference: &str) -> Result<FetchedManifest, SourceError> {
        todo!()
    }
    /// A whole blob up to `limit` bytes.
    pub fn blob(&self, _repository: &str, _digest: &str, _limit: u64) -> Result<Bytes, SourceError> {
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
