//! OCI distribution registries through `oci-client`: token flow, tag and catalog paging,
//! manifests, size-capped config blobs.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use globset::{Glob, GlobSetBuilder};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::blob::{BlobClient, describe_oci_error};
use super::manifest::{self, Manifest};
use super::{BlobBody, ByteRange, FetchedManifest, SourceError};
use crate::config::{Credentials, SourceKind, SourceSettings};

/// Page size asked for when listing tags and the catalog.
const PAGE_SIZE: usize = 1000;

/// A registry source.
pub struct RegistrySource {
    name: String,
    registry: String,
    repositories: Vec<String>,
    client: Arc<Client>,
    auth: RegistryAuth,
    blobs: BlobClient,
}

impl RegistrySource {
    /// Builds the client (no I/O).
    pub fn new(settings: &SourceSettings) -> Result<Self, SourceError> {
        let SourceKind::Registry {
            url,
            repositories,
            credentials,
        } = &settings.kind
        else {
            return Err(SourceError::Unsupported {
                source_name: settings.name.clone(),
                feature: "a layout as a registry".to_owned(),
            });
        };
        let host = url.host_str().unwrap_or_default();
        let registry = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let protocol = if url.scheme() == "http" {
            ClientProtocol::HttpsExcept(vec![registry.clone()])
        } else {
            ClientProtocol::Https
        };
        let client = Arc::new(Client::new(ClientConfig {
            protocol,
            platform_resolver: None,
            connect_timeout: Some(std::time::Duration::from_secs(10)),
            read_timeout: Some(std::time::Duration::from_secs(60)),
            user_agent: concat!("stac-oci/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        }));
        let auth = match credentials {
            Credentials::Anonymous => RegistryAuth::Anonymous,
            Credentials::Basic { username, password } => {
                RegistryAuth::Basic(username.clone(), password.clone())
            }
            Credentials::Bearer { token } => RegistryAuth::Bearer(token.clone()),
        };
        let mut base = url.clone();
        base.set_path("/");
        base.set_query(None);
        let blobs = BlobClient::new(base, registry.clone(), client.clone(), auth.clone())?;
        Ok(RegistrySource {
            name: settings.name.clone(),
            registry,
            repositories: repositories.clone(),
            client,
            auth,
            blobs,
        })
    }

    /// `host:port` of the registry.
    pub fn registry_name(&self) -> String {
        self.registry.clone()
    }

    /// Configured repositories, globs expanded through `/v2/_catalog`.
    pub async fn repositories(&self) -> Result<Vec<String>, SourceError> {
        let (globs, plain): (Vec<&String>, Vec<&String>) = self
            .repositories
            .iter()
            .partition(|r| r.contains(['*', '?', '[']));
        let mut names: Vec<String> = plain.into_iter().cloned().collect();
        if !globs.is_empty() {
            let mut builder = GlobSetBuilder::new();
            for glob in &globs {
                let glob = Glob::new(glob).map_err(|e| SourceError::Unsupported {
                    source_name: self.name.clone(),
                    feature: format!("repository pattern {glob:?}: {e}"),
                })?;
                builder.add(glob);
            }
            let set = builder.build().map_err(|e| SourceError::Unsupported {
                source_name: self.name.clone(),
                feature: format!("repository patterns: {e}"),
            })?;
            names.extend(
                self.catalog()
                    .await?
                    .into_iter()
                    .filter(|name| set.is_match(name)),
            );
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Every repository of the registry's catalog, all pages.
    async fn catalog(&self) -> Result<Vec<String>, SourceError> {
        let reference = self.reference("catalog", "latest");
        let mut all = BTreeSet::new();
        let mut last: Option<String> = None;
        loop {
            let page = self
                .client
                .catalog(&reference, &self.auth, Some(PAGE_SIZE), last.as_deref())
                .await
                .map_err(|e| match self.classify("_catalog", "the catalog", e) {
                    SourceError::NotFound { .. } => SourceError::Unsupported {
                        source_name: self.name.clone(),
                        feature: "repository listing (/v2/_catalog)".to_owned(),
                    },
                    other => other,
                })?;
            match next_page(&mut all, page.repositories) {
                Some(next) => last = Some(next),
                None => return Ok(all.into_iter().collect()),
            }
        }
    }

    /// All tags of a repository.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, SourceError> {
        self.tags_paged(repository, PAGE_SIZE).await
    }

    /// All tags, asking `page_size` at a time until a page brings nothing new.
    pub async fn tags_paged(
        &self,
        repository: &str,
        page_size: usize,
    ) -> Result<Vec<String>, SourceError> {
        let reference = self.reference(repository, "latest");
        let mut all = BTreeSet::new();
        let mut last: Option<String> = None;
        loop {
            let page = self
                .client
                .list_tags(&reference, &self.auth, Some(page_size), last.as_deref())
                .await
                .map_err(|e| self.classify(repository, "repository", e))?;
            match next_page(&mut all, page.tags) {
                Some(next) => last = Some(next),
                None => break,
            }
        }
        Ok(all.into_iter().collect())
    }

    /// A manifest by tag or digest.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<FetchedManifest, SourceError> {
        let is_digest = reference.contains(':');
        if is_digest && !manifest::is_sha256_digest(reference) {
            return Err(SourceError::InvalidManifest {
                repository: repository.to_owned(),
                reference: reference.to_owned(),
                reason: "only sha256 digests are supported".to_owned(),
            });
        }
        let oci_ref = if is_digest {
            Reference::with_digest(
                self.registry.clone(),
                repository.to_owned(),
                reference.to_owned(),
            )
        } else {
            self.reference(repository, reference)
        };
        let (bytes, _) = self
            .client
            .pull_manifest_raw(&oci_ref, &self.auth, manifest::ACCEPTED)
            .await
            .map_err(|e| self.classify(repository, reference, e))?;
        let digest = manifest::sha256_digest(&bytes);
        if is_digest && digest != reference {
            return Err(SourceError::DigestMismatch {
                repository: repository.to_owned(),
                digest: reference.to_owned(),
            });
        }
        let (manifest, media_type) =
            Manifest::parse(&bytes, None).map_err(|reason| SourceError::InvalidManifest {
                repository: repository.to_owned(),
                reference: reference.to_owned(),
                reason,
            })?;
        Ok(FetchedManifest {
            digest,
            media_type,
            manifest,
        })
    }

    /// The digest a tag points to, from a manifest `HEAD` (`Docker-Content-Digest`).
    pub async fn manifest_digest(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<String, SourceError> {
        let digest = self
            .client
            .fetch_manifest_digest(&self.reference(repository, tag), &self.auth)
            .await
            .map_err(|e| self.classify(repository, tag, e))?;
        if manifest::is_sha256_digest(&digest) {
            Ok(digest)
        } else {
            Err(SourceError::InvalidManifest {
                repository: repository.to_owned(),
                reference: tag.to_owned(),
                reason: format!("registry gave the digest {digest:?}, not a sha256 digest"),
            })
        }
    }

    /// A whole blob up to `limit` bytes, digest-checked.
    pub async fn blob(
        &self,
        repository: &str,
        digest: &str,
        limit: u64,
    ) -> Result<Bytes, SourceError> {
        self.check_digest_form(repository, digest)?;
        let bytes = self.blobs.read_capped(repository, digest, limit).await?;
        if manifest::sha256_digest(&bytes) != digest {
            return Err(SourceError::DigestMismatch {
                repository: repository.to_owned(),
                digest: digest.to_owned(),
            });
        }
        Ok(bytes)
    }

    /// Opens a blob for streaming.
    pub async fn open_blob(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        range: Option<ByteRange>,
    ) -> Result<BlobBody, SourceError> {
        self.check_digest_form(repository, digest)?;
        self.blobs.open(repository, digest, size, range).await
    }

    fn check_digest_form(&self, repository: &str, digest: &str) -> Result<(), SourceError> {
        if manifest::is_sha256_digest(digest) {
            Ok(())
        } else {
            Err(SourceError::NotFound {
                repository: repository.to_owned(),
                what: format!("blob {digest:?}"),
            })
        }
    }

    fn reference(&self, repository: &str, tag: &str) -> Reference {
        Reference::with_tag(self.registry.clone(), repository.to_owned(), tag.to_owned())
    }

    /// Maps an oci-client failure to a [`SourceError`] naming the repository and reference.
    fn classify(&self, repository: &str, what: &str, e: OciDistributionError) -> SourceError {
        let not_found = || SourceError::NotFound {
            repository: repository.to_owned(),
            what: what.to_owned(),
        };
        let denied = || SourceError::Denied {
            repository: repository.to_owned(),
        };
        match &e {
            OciDistributionError::ImageManifestNotFoundError(_) => not_found(),
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => denied(),
            OciDistributionError::ServerError { code: 404, .. } => not_found(),
            OciDistributionError::ServerError {
                code: 401 | 403, ..
            } => denied(),
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                if codes.iter().any(|c| {
                    matches!(
                        c,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::NotFound
                            | OciErrorCode::BlobUnknown
                    )
                }) {
                    not_found()
                } else if codes
                    .iter()
                    .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
                {
                    denied()
                } else if codes.iter().any(|c| matches!(c, OciErrorCode::Unsupported)) {
                    SourceError::Unsupported {
                        source_name: self.name.clone(),
                        feature: what.to_owned(),
                    }
                } else {
                    SourceError::Unreachable {
                        repository: repository.to_owned(),
                        reason: describe_oci_error(&e),
                    }
                }
            }
            _ => SourceError::Unreachable {
                repository: repository.to_owned(),
                reason: describe_oci_error(&e),
            },
        }
    }
}

/// Adds a listing page to `all`; returns the `last` to ask the next page from, or
/// `None` when the page brought no new names (the end, or a registry that ignores
/// `n`/`last` and answers everything every time).
fn next_page(all: &mut BTreeSet<String>, page: Vec<String>) -> Option<String> {
    let last = page.last().cloned();
    let mut new = false;
    for name in page {
        new |= all.insert(name);
    }
    if new { last } else { None }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::next_page;

    #[test]
    fn paging_stops_when_nothing_new() {
        let mut all = BTreeSet::new();
        assert_eq!(
            next_page(&mut all, vec!["a".into(), "b".into()]),
            Some("b".into())
        );
        assert_eq!(next_page(&mut all, vec!["c".into()]), Some("c".into()));
        assert_eq!(next_page(&mut all, vec![]), None);
        assert_eq!(
            next_page(&mut all, vec!["a".into(), "b".into(), "c".into()]),
            None
        );
        assert_eq!(all.into_iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}
