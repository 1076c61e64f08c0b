//! OCI distribution registries: tag and catalog paging (`n`/`last` and `Link`),
//! manifests by tag or digest (size-capped, digest-checked), size-capped config blobs,
//! streamed asset blobs. Requests go through [`RegistryHttp`]; oci-client does only the
//! token flow.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use globset::{Glob, GlobSetBuilder};
use oci_client::Client;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;

use super::hot::HotRanges;
use super::http::{RegistryHttp, reqwest_error_without_url, status_error, unreachable};
use super::manifest::{self, ImageIndex, Manifest};
use super::metrics::{RegistryMetrics, RequestKind};
use super::{BlobBody, ByteRange, FetchedManifest, SourceError, blob};
use crate::config::{AssetMode, Credentials, SourceKind, SourceSettings};

mod client_access;

/// Page size asked for when listing tags and the catalog.
const PAGE_SIZE: usize = 1000;

/// A registry source.
pub struct RegistrySource {
    name: String,
    registry: String,
    repositories: Vec<String>,
    http: RegistryHttp,
    hot: HotRanges,
    assets: AssetMode,
}

/// A page of `/tags/list`.
#[derive(Deserialize)]
struct TagPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// A page of `/_catalog`.
#[derive(Deserialize)]
struct CatalogPage {
    #[serde(default)]
    repositories: Option<Vec<String>>,
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
        let http = RegistryHttp::new(base, registry.clone(), client, auth)?;
        Ok(RegistrySource {
            name: settings.name.clone(),
            registry,
            repositories: repositories.clone(),
            http,
            hot: HotRanges::default(),
            assets: settings.assets,
        })
    }

    /// How asset requests for this registry's blobs are answered.
    pub fn asset_mode(&self) -> AssetMode {
        self.assets
    }

    /// `host:port` of the registry.
    pub fn registry_name(&self) -> String {
        self.registry.clone()
    }

    /// Counts of the requests made to the registry so far.
    pub fn metrics(&self) -> &Arc<RegistryMetrics> {
        self.http.metrics()
    }

    /// Whether `repository` is configured by name or matched by a configured glob.
    pub fn serves(&self, repository: &str) -> bool {
        self.repositories.iter().any(|configured| {
            configured == repository
                || (configured.contains(['*', '?', '['])
                    && Glob::new(configured)
                        .is_ok_and(|g| g.compile_matcher().is_match(repository)))
        })
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
            let catalog = self.catalog().await?;
            names.extend(catalog.into_iter().filter(|name| set.is_match(name)));
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Every repository of the registry's catalog, all pages.
    async fn catalog(&self) -> Result<Vec<String>, SourceError> {
        let unsupported = || SourceError::Unsupported {
            source_name: self.name.clone(),
            feature: "repository listing (/v2/_catalog)".to_owned(),
        };
        let first = format!("v2/_catalog?n={PAGE_SIZE}");
        let pages = self.list(RequestKind::Catalog, "_catalog", PAGE_SIZE, first, |last| {
            format!("v2/_catalog?n={PAGE_SIZE}&last={last}")
        });
        match pages.await {
            Ok(names) => Ok(names),
            Err(SourceError::NotFound { .. }) => Err(unsupported()),
            Err(SourceError::Unreachable { reason, .. }) if reason.contains("405") => {
                Err(unsupported())
            }
            Err(other) => Err(other),
        }
    }

    /// All tags of a repository.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, SourceError> {
        self.tags_paged(repository, PAGE_SIZE).await
    }

    /// All tags, asking `page_size` at a time, following `Link` headers where given and
    /// else `last` after a full page, until a short page or one that brings nothing new.
    pub async fn tags_paged(
        &self,
        repository: &str,
        page_size: usize,
    ) -> Result<Vec<String>, SourceError> {
        check_name(repository)?;
        let first = format!("v2/{repository}/tags/list?n={page_size}");
        self.list(RequestKind::Tags, repository, page_size, first, |last| {
            format!("v2/{repository}/tags/list?n={page_size}&last={last}")
        })
        .await
    }

    /// Pages through a listing (`tags` or `repositories`), sorted and deduplicated.
    async fn list(
        &self,
        kind: RequestKind,
        repository: &str,
        page_size: usize,
        first: String,
        after: impl Fn(&str) -> String,
    ) -> Result<Vec<String>, SourceError> {
        let mut all = BTreeSet::new();
        let mut path = first;
        loop {
            let response = self
                .http
                .send(kind, repository, Method::GET, &path, HeaderMap::new())
                .await?;
            if response.status() != StatusCode::OK {
                return Err(status_error(response.status(), repository, kind.label()));
            }
            let link = next_link(response.headers());
            let body = read_limited(
                response,
                repository,
                manifest::MAX_MANIFEST_BYTES,
                kind.label(),
            )
            .await?;
            let page: Vec<String> = match kind {
                RequestKind::Catalog => serde_json::from_slice::<CatalogPage>(&body)
                    .map(|p| p.repositories.unwrap_or_default()),
                _ => serde_json::from_slice::<TagPage>(&body).map(|p| p.tags.unwrap_or_default()),
            }
            .map_err(|e| {
                unreachable(
                    repository,
                    &format!("invalid {} listing: {e}", kind.label()),
                )
            })?;
            // A short page without a `Link` is the last one; a full one may not be.
            let short = page.len() < page_size;
            let Some(last) = next_page(&mut all, page) else {
                break;
            };
            path = match link {
                Some(link) => link,
                None if short => break,
                None => after(&url_encode(&last)),
            };
        }
        Ok(all.into_iter().collect())
    }

    /// The digest a tag points to, from a manifest `HEAD` (`Docker-Content-Digest`),
    /// falling back to hashing the manifest when the registry does not send it.
    pub async fn manifest_digest(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<String, SourceError> {
        let response = self
            .manifest_request(RequestKind::ManifestHead, Method::HEAD, repository, tag)
            .await?;
        let header = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .filter(|d| manifest::is_sha256_digest(d))
            .map(str::to_owned);
        match header {
            Some(digest) => Ok(digest),
            None => Ok(self.manifest(repository, tag).await?.digest),
        }
    }

    /// A `HEAD` or `GET` of a manifest by tag or digest that answered 200.
    async fn manifest_request(
        &self,
        kind: RequestKind,
        method: Method,
        repository: &str,
        reference: &str,
    ) -> Result<reqwest::Response, SourceError> {
        check_name(repository)?;
        check_reference(repository, reference)?;
        let path = format!("v2/{repository}/manifests/{reference}");
        let response = self
            .http
            .send(kind, repository, method, &path, accept_manifests())
            .await?;
        if response.status() == StatusCode::OK {
            Ok(response)
        } else {
            Err(status_error(response.status(), repository, reference))
        }
    }

    /// A manifest by tag or digest.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<FetchedManifest, SourceError> {
        let response = self
            .manifest_request(RequestKind::ManifestGet, Method::GET, repository, reference)
            .await?;
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = read_limited(
            response,
            repository,
            manifest::MAX_MANIFEST_BYTES,
            reference,
        )
        .await?;
        let digest = manifest::sha256_digest(&bytes);
        if reference.contains(':') && digest != reference {
            return Err(SourceError::DigestMismatch {
                repository: repository.to_owned(),
                digest: reference.to_owned(),
            });
        }
        FetchedManifest::parse(digest, bytes.into(), content_type.as_deref()).map_err(|reason| {
            SourceError::InvalidManifest {
                repository: repository.to_owned(),
                reference: reference.to_owned(),
                reason,
            }
        })
    }

    /// The referrers index of a manifest (`GET /v2/<name>/referrers/<digest>`); `None`
    /// when the registry does not implement the API (404, 405 or not an index).
    pub async fn referrers(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<Option<ImageIndex>, SourceError> {
        check_name(repository)?;
        check_digest(repository, digest)?;
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(manifest::OCI_INDEX),
        );
        let path = format!("v2/{repository}/referrers/{digest}");
        let response = self
            .http
            .send(
                RequestKind::Referrers,
                repository,
                Method::GET,
                &path,
                headers,
            )
            .await?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED | StatusCode::BAD_REQUEST => {
                return Ok(None);
            }
            other => return Err(status_error(other, repository, "referrers")),
        }
        let body = read_limited(
            response,
            repository,
            manifest::MAX_MANIFEST_BYTES,
            "referrers",
        )
        .await?;
        match Manifest::parse(&body, Some(manifest::OCI_INDEX)) {
            Ok((Manifest::Index(index), _)) => Ok(Some(index)),
            _ => Ok(None),
        }
    }

    /// A whole blob up to `limit` bytes, digest-checked.
    pub async fn blob(
        &self,
        repository: &str,
        digest: &str,
        limit: u64,
    ) -> Result<Bytes, SourceError> {
        check_name(repository)?;
        check_digest(repository, digest)?;
        let bytes = blob::read_capped(&self.http, repository, digest, limit).await?;
        if manifest::sha256_digest(&bytes) != digest {
            return Err(SourceError::DigestMismatch {
                repository: repository.to_owned(),
                digest: digest.to_owned(),
            });
        }
        Ok(bytes)
    }

    /// Opens a blob for a client: small ranges come from the hot-range cache when
    /// read before, and are kept for next time.
    pub async fn open_blob_for_client(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        range: Option<ByteRange>,
    ) -> Result<BlobBody, SourceError> {
        let Some(range) = range.filter(|r| HotRanges::keeps(*r)) else {
            return self.open_blob(repository, digest, size, range).await;
        };
        let bytes = match self.hot.get(digest, range) {
            Some(bytes) => bytes,
            None => {
                let body = self
                    .open_blob(repository, digest, size, Some(range))
                    .await?;
                let mut bytes = bytes::BytesMut::with_capacity(body.length as usize);
                let mut stream = body.stream;
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|e| {
                        unreachable(repository, &format!("reading blob {digest}: {e}"))
                    })?;
                    bytes.extend_from_slice(&chunk);
                }
                let bytes = bytes.freeze();
                self.hot.insert(digest, range, bytes.clone());
                bytes
            }
        };
        let length = bytes.len() as u64;
        let stream = futures::stream::once(async move { Ok(bytes) }).boxed();
        Ok(BlobBody { stream, length })
    }

    /// Opens a blob for streaming.
    pub async fn open_blob(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        range: Option<ByteRange>,
    ) -> Result<BlobBody, SourceError> {
        check_name(repository)?;
        check_digest(repository, digest)?;
        blob::open(&self.http, repository, digest, size, range).await
    }
}

/// `Accept` for every manifest and index media type we read.
fn accept_manifests() -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&manifest::ACCEPTED.join(", ")) {
        headers.insert(header::ACCEPT, value);
    }
    headers
}

/// Reads a response body, refusing it above `limit` bytes.
async fn read_limited(
    response: reqwest::Response,
    repository: &str,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, SourceError> {
    let too_large = || SourceError::InvalidManifest {
        repository: repository.to_owned(),
        reference: what.to_owned(),
        reason: format!("response over the {limit}-byte limit"),
    };
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            unreachable(
                repository,
                &format!("reading {what}: {}", reqwest_error_without_url(&e)),
            )
        })?;
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit {
            return Err(too_large());
        }
    }
    Ok(body)
}

/// The target of a `Link: <…>; rel="next"` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|value| {
            value.split(',').find_map(|part| {
                let (target, params) = part.split_once(';')?;
                let is_next = params.split(';').any(|p| {
                    let p = p.trim().replace(' ', "");
                    p == "rel=\"next\"" || p == "rel=next"
                });
                let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
                is_next.then(|| target.trim_start_matches('/').to_owned())
            })
        })
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

/// Percent-encodes a query value (tags and repository names are nearly always plain).
fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Repository names as the distribution spec allows them: lowercase path components.
fn check_name(repository: &str) -> Result<(), SourceError> {
    let valid = !repository.is_empty()
        && repository.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        });
    if valid {
        Ok(())
    } else {
        Err(SourceError::NotFound {
            repository: repository.to_owned(),
            what: "repository".to_owned(),
        })
    }
}

/// A tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`) or a sha256 digest.
fn check_reference(repository: &str, reference: &str) -> Result<(), SourceError> {
    if reference.contains(':') {
        return check_digest(repository, reference);
    }
    let valid = !reference.is_empty()
        && reference.len() <= 128
        && !reference.starts_with(['.', '-'])
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(SourceError::NotFound {
            repository: repository.to_owned(),
            what: format!("tag {reference:?}"),
        })
    }
}

fn check_digest(repository: &str, digest: &str) -> Result<(), SourceError> {
    if manifest::is_sha256_digest(digest) {
        Ok(())
    } else {
        Err(SourceError::NotFound {
            repository: repository.to_owned(),
            what: format!("digest {digest:?}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

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

    #[test]
    fn link_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(next_link(&headers), None);
        headers.insert(
            header::LINK,
            HeaderValue::from_static("</v2/eo/data/tags/list?last=v2&n=2>; rel=\"next\""),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("v2/eo/data/tags/list?last=v2&n=2")
        );
        headers.insert(
            header::LINK,
            HeaderValue::from_static("</v2/x>; rel=\"prev\""),
        );
        assert_eq!(next_link(&headers), None);
    }

    #[test]
    fn names_and_references() {
        assert!(check_name("pastis-2433").is_ok());
        assert!(check_name("org/eo/s2_l2a.v1").is_ok());
        for bad in ["", "A", "x/../y", "x//y", "x?y", "x%2fy", "/x"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_reference("r", "v1.0").is_ok());
        assert!(check_reference("r", &manifest::sha256_digest(b"x")).is_ok());
        for bad in ["", "-x", ".x", "a/b", "a?b", "sha256:zz", &"t".repeat(129)] {
            assert!(check_reference("r", bad).is_err(), "{bad}");
        }
    }
}
