//! OCI image layout directories (the bundled demo): `oci-layout`, `index.json`,
//! `blobs/sha256/<hex>`.
//!
//! Each entry of `index.json` is named by its `org.opencontainers.image.ref.name`
//! annotation: `"<repository>:<tag>"`, or a bare tag of the configured repository.

use std::io::{Read, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::manifest::{self, Descriptor, ImageIndex};
use super::{BlobBody, ByteRange, FetchedManifest, SourceError};
use crate::config::{SourceKind, SourceSettings};

/// The annotation naming a reference in a layout's `index.json`.
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Bytes read per chunk when streaming a blob file.
const CHUNK: usize = 64 * 1024;

/// A layout source.
pub struct LayoutSource {
    path: PathBuf,
    repository: String,
    /// The references of the last read of `index.json`. Listing repositories or tags
    /// reads the file again; resolving a tag uses the last read, so a pass sees one
    /// version of the file and does not read it once per tag.
    last_read: Mutex<Option<Arc<[NamedRef]>>>,
}

/// One named reference of the layout.
#[derive(Debug, PartialEq)]
struct NamedRef {
    repository: String,
    tag: String,
    digest: String,
}

impl LayoutSource {
    /// Checks the settings (no I/O).
    pub fn new(settings: &SourceSettings) -> Result<Self, SourceError> {
        match &settings.kind {
            SourceKind::Layout { path, repository } => Ok(LayoutSource {
                path: path.clone(),
                repository: repository.clone(),
                last_read: Mutex::new(None),
            }),
            SourceKind::Registry { .. } => Err(SourceError::Unsupported {
                source_name: settings.name.clone(),
                feature: "a registry as a layout".to_owned(),
            }),
        }
    }

    /// `oci-layout:<path>`.
    pub fn registry_name(&self) -> String {
        format!("oci-layout:{}", self.path.display())
    }

    /// Repositories named by the layout's references.
    pub fn repositories(&self) -> Result<Vec<String>, SourceError> {
        let mut names: Vec<String> = self
            .read_references()?
            .iter()
            .map(|r| r.repository.clone())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Tags of a repository.
    pub fn tags(&self, repository: &str) -> Result<Vec<String>, SourceError> {
        let mut tags: Vec<String> = self
            .read_references()?
            .iter()
            .filter(|r| r.repository == repository)
            .map(|r| r.tag.clone())
            .collect();
        if tags.is_empty() {
            return Err(SourceError::NotFound {
                repository: repository.to_owned(),
                what: "repository".to_owned(),
            });
        }
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    /// The digest a tag points to, from `index.json`.
    pub fn manifest_digest(&self, repository: &str, tag: &str) -> Result<String, SourceError> {
        self.references()?
            .iter()
            .find(|r| r.repository == repository && r.tag == tag)
            .map(|r| r.digest.clone())
            .ok_or_else(|| SourceError::NotFound {
                repository: repository.to_owned(),
                what: tag.to_owned(),
            })
    }

    /// A manifest by tag or digest, digest-checked; read and parsed on the blocking pool,
    /// so a crawl reads several at once.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<FetchedManifest, SourceError> {
        let digest = if reference.contains(':') {
            reference.to_owned()
        } else {
            self.references()?
                .iter()
                .find(|r| r.repository == repository && r.tag == reference)
                .map(|r| r.digest.clone())
                .ok_or_else(|| SourceError::NotFound {
                    repository: repository.to_owned(),
                    what: reference.to_owned(),
                })?
        };
        let path = self.blob_path(repository, &digest)?;
        let (repository, reference) = (repository.to_owned(), reference.to_owned());
        on_blocking_pool(path, move |path| {
            let bytes = read_blob(path, &repository, &digest, manifest::MAX_MANIFEST_BYTES)?;
            FetchedManifest::parse(digest, bytes, None).map_err(|reason| {
                SourceError::InvalidManifest {
                    repository,
                    reference,
                    reason,
                }
            })
        })
        .await
    }

    /// A whole blob up to `limit` bytes, digest-checked; read on the blocking pool.
    pub async fn blob(
        &self,
        repository: &str,
        digest: &str,
        limit: u64,
    ) -> Result<Bytes, SourceError> {
        let path = self.blob_path(repository, digest)?;
        let (repository, digest) = (repository.to_owned(), digest.to_owned());
        on_blocking_pool(path, move |path| {
            read_blob(path, &repository, &digest, limit)
        })
        .await
    }

    /// Opens a blob for streaming, whole or one range, in 64 KiB chunks.
    pub async fn open_blob(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        range: Option<ByteRange>,
    ) -> Result<BlobBody, SourceError> {
        let path = self.blob_path(repository, digest)?;
        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| open_error(repository, digest, &path, e))?;
        let (start, length) = match range {
            Some(r) => (r.start, r.end.saturating_sub(r.start) + 1),
            None => (0, size),
        };
        file.seek(SeekFrom::Start(start))
            .await
            .map_err(|e| layout_error(&path, e))?;
        let stream = futures::stream::unfold((file, length), |(mut file, remaining)| async move {
            if remaining == 0 {
                return None;
            }
            let mut buf = vec![0; CHUNK.min(remaining as usize)];
            match file.read(&mut buf).await {
                Ok(0) => Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "blob file ended early",
                    )),
                    (file, 0),
                )),
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), (file, remaining - n as u64)))
                }
                Err(e) => Some((Err(e), (file, 0))),
            }
        });
        Ok(BlobBody {
            stream: stream.boxed(),
            length,
        })
    }

    /// The layout's named references as last read from `index.json` (read now if never).
    fn references(&self) -> Result<Arc<[NamedRef]>, SourceError> {
        let last = self.lock_last_read().clone();
        match last {
            Some(references) => Ok(references),
            None => self.read_references(),
        }
    }

    /// Reads the layout's named references from `index.json`.
    fn read_references(&self) -> Result<Arc<[NamedRef]>, SourceError> {
        let path = self.path.join("index.json");
        let bytes = std::fs::read(&path).map_err(|e| layout_error(&path, e))?;
        let index: ImageIndex =
            serde_json::from_slice(&bytes).map_err(|e| SourceError::Layout {
                path: path.display().to_string(),
                reason: format!("invalid index.json: {e}"),
            })?;
        let references: Arc<[NamedRef]> = index
            .manifests
            .iter()
            .filter_map(|d| named_ref(d, &self.repository))
            .collect();
        *self.lock_last_read() = Some(references.clone());
        Ok(references)
    }

    fn lock_last_read(&self) -> std::sync::MutexGuard<'_, Option<Arc<[NamedRef]>>> {
        self.last_read.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The file of a blob; digests other than well-formed sha256 are refused.
    fn blob_path(&self, repository: &str, digest: &str) -> Result<PathBuf, SourceError> {
        match digest.strip_prefix("sha256:") {
            Some(hex) if manifest::is_sha256_digest(digest) => {
                Ok(self.path.join("blobs").join("sha256").join(hex))
            }
            _ => Err(SourceError::NotFound {
                repository: repository.to_owned(),
                what: format!("blob {digest:?}"),
            }),
        }
    }
}

/// A whole blob file up to `limit` bytes, checked against its digest.
fn read_blob(
    path: &Path,
    repository: &str,
    digest: &str,
    limit: u64,
) -> Result<Bytes, SourceError> {
    let file = std::fs::File::open(path).map_err(|e| open_error(repository, digest, path, e))?;
    // Room for the whole file up front: grown by doubling, a config of half a megabyte
    // would be copied several times over.
    let size = file.metadata().map_or(0, |m| m.len()).min(limit + 1);
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| layout_error(path, e))?;
    if bytes.len() as u64 > limit {
        let size = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        return Err(SourceError::TooLarge {
            repository: repository.to_owned(),
            digest: digest.to_owned(),
            size,
            limit,
        });
    }
    if manifest::sha256_digest(&bytes) != digest {
        return Err(SourceError::DigestMismatch {
            repository: repository.to_owned(),
            digest: digest.to_owned(),
        });
    }
    Ok(Bytes::from(bytes))
}

/// Runs the reading (and hashing, parsing) of the file at `path` off the async workers.
async fn on_blocking_pool<T: Send + 'static>(
    path: PathBuf,
    read: impl FnOnce(&Path) -> Result<T, SourceError> + Send + 'static,
) -> Result<T, SourceError> {
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || read(&path))
        .await
        .unwrap_or_else(|e| {
            Err(SourceError::Layout {
                path: shown,
                reason: format!("reading task failed: {e}"),
            })
        })
}

fn open_error(repository: &str, digest: &str, path: &Path, e: std::io::Error) -> SourceError {
    if e.kind() == std::io::ErrorKind::NotFound {
        SourceError::NotFound {
            repository: repository.to_owned(),
            what: digest.to_owned(),
        }
    } else {
        layout_error(path, e)
    }
}

/// The repository, tag and digest an `index.json` entry names, if it has a valid name.
fn named_ref(descriptor: &Descriptor, default_repository: &str) -> Option<NamedRef> {
    let name = descriptor.annotations.get(REF_NAME)?;
    let (repository, tag) = match name.rsplit_once(':') {
        Some((repository, tag)) => (repository, tag),
        None => (default_repository, name.as_str()),
    };
    if repository.is_empty() || tag.is_empty() || !manifest::is_sha256_digest(&descriptor.digest) {
        return None;
    }
    Some(NamedRef {
        repository: repository.to_owned(),
        tag: tag.to_owned(),
        digest: descriptor.digest.clone(),
    })
}

fn layout_error(path: &Path, e: std::io::Error) -> SourceError {
    SourceError::Layout {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn descriptor(name: Option<&str>, digest: &str) -> Descriptor {
        Descriptor {
            media_type: manifest::OCI_MANIFEST.to_owned(),
            digest: digest.to_owned(),
            size: 2,
            annotations: name
                .map(|n| [(REF_NAME.to_owned(), n.to_owned())].into())
                .unwrap_or_default(),
            artifact_type: None,
            platform: None,
        }
    }

    #[test]
    fn reference_names() {
        let d = manifest::sha256_digest(b"{}");
        let full = named_ref(&descriptor(Some("pastis-demo:sample"), &d), "demo").unwrap();
        assert_eq!(
            (full.repository.as_str(), full.tag.as_str()),
            ("pastis-demo", "sample")
        );
        let bare = named_ref(&descriptor(Some("v1"), &d), "demo").unwrap();
        assert_eq!(
            (bare.repository.as_str(), bare.tag.as_str()),
            ("demo", "v1")
        );
        let nested = named_ref(&descriptor(Some("org/eo/pastis:full"), &d), "demo").unwrap();
        assert_eq!(nested.repository, "org/eo/pastis");
        assert!(named_ref(&descriptor(None, &d), "demo").is_none());
        assert!(named_ref(&descriptor(Some("x:"), &d), "demo").is_none());
        assert!(named_ref(&descriptor(Some("x:y"), "sha256:../../etc/passwd"), "demo").is_none());
    }

    #[test]
    fn a_pass_resolves_tags_from_the_index_it_listed() {
        let dir = tempfile::tempdir().unwrap();
        let write_index = |digest: &str| {
            let index = ImageIndex {
                schema_version: 2,
                media_type: Some(manifest::OCI_INDEX.to_owned()),
                artifact_type: None,
                manifests: vec![descriptor(Some("v1"), digest)],
                annotations: BTreeMap::new(),
            };
            std::fs::write(
                dir.path().join("index.json"),
                serde_json::to_vec(&index).unwrap(),
            )
            .unwrap();
        };
        let (first, second) = (
            manifest::sha256_digest(b"first"),
            manifest::sha256_digest(b"second"),
        );
        write_index(&first);
        let layout = LayoutSource {
            path: dir.path().to_owned(),
            repository: "demo".to_owned(),
            last_read: Mutex::new(None),
        };
        assert_eq!(layout.manifest_digest("demo", "v1").unwrap(), first);
        assert_eq!(layout.tags("demo").unwrap(), ["v1"]);
        write_index(&second);
        assert_eq!(layout.manifest_digest("demo", "v1").unwrap(), first);
        assert_eq!(layout.tags("demo").unwrap(), ["v1"]);
        assert_eq!(layout.manifest_digest("demo", "v1").unwrap(), second);
        assert!(layout.manifest_digest("demo", "v2").is_err());
    }
}
