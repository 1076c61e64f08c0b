//! The gateway's own HTTP client for blob GETs: Range, redirects under our control,
//! `Authorization` never sent to another host.
//!
//! oci-client does the token flow; this client reuses the token it obtains but makes
//! the requests itself, because it must see status codes and `Content-Range`, stream
//! bodies, and decide per redirect hop whether credentials may be sent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use reqwest::header::{self, HeaderValue};
use reqwest::{StatusCode, redirect};
use tokio::sync::Mutex;
use url::Url;

use super::{BlobBody, ByteRange, SourceError};

/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 5;
/// How long a registry token is reused before asking again.
const TOKEN_TTL: Duration = Duration::from_secs(60);

/// Fetches blobs from one registry with the gateway's credentials.
pub struct BlobClient {
    http: reqwest::Client,
    base: Url,
    registry: String,
    oci: Arc<oci_client::Client>,
    auth: RegistryAuth,
    tokens: Mutex<HashMap<String, (Option<HeaderValue>, Instant)>>,
}

/// A blob response whose status has been checked: the body and what it covers.
struct Opened {
    response: reqwest::Response,
    /// Bytes of the body to skip before the requested range (upstream ignored `Range`).
    skip: u64,
}

impl BlobClient {
    /// A client for the registry at `base` (scheme, host, port), sharing `oci`'s token flow.
    pub fn new(
        base: Url,
        registry: String,
        oci: Arc<oci_client::Client>,
        auth: RegistryAuth,
    ) -> Result<Self, SourceError> {
        let http = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("stac-oci/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SourceError::Unreachable {
                repository: String::new(),
                reason: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(BlobClient {
            http,
            base,
            registry,
            oci,
            auth,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// Opens `digest` (of `size` bytes), whole or one range, as an exact-length stream.
    pub async fn open(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        range: Option<ByteRange>,
    ) -> Result<BlobBody, SourceError> {
        let length = range.map_or(size, |r| r.end.saturating_sub(r.start) + 1);
        let opened = self.get(repository, digest, range).await?;
        let stream = exact_slice(
            opened
                .response
                .bytes_stream()
                .map(|r| r.map_err(std::io::Error::other))
                .boxed(),
            opened.skip,
            length,
        );
        Ok(BlobBody { stream, length })
    }

    /// Reads a whole blob, refusing it above `limit` bytes without reading more than
    /// `limit + 1` of them.
    pub async fn read_capped(
        &self,
        repository: &str,
        digest: &str,
        limit: u64,
    ) -> Result<Bytes, SourceError> {
        let too_large = |size| SourceError::TooLarge {
            repository: repository.to_owned(),
            digest: digest.to_owned(),
            size,
            limit,
        };
        let opened = self.get(repository, digest, None).await?;
        if let Some(len) = opened.response.content_length().filter(|len| *len > limit) {
            return Err(too_large(len));
        }
        let mut body = Vec::new();
        let mut stream = opened.response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                unreachable(
                    repository,
                    &format!("reading blob {digest}: {}", reqwest_error_without_url(&e)),
                )
            })?;
            body.extend_from_slice(&chunk);
            if body.len() as u64 > limit {
                return Err(too_large(body.len() as u64));
            }
        }
        Ok(Bytes::from(body))
    }

    /// GETs a blob, following redirects, and checks the status against the range asked for.
    async fn get(
        &self,
        repository: &str,
        digest: &str,
        range: Option<ByteRange>,
    ) -> Result<Opened, SourceError> {
        let mut url = self
            .base
            .join(&format!("v2/{repository}/blobs/{digest}"))
            .map_err(|e| unreachable(repository, &format!("bad blob URL: {e}")))?;
        let mut authorization = self.authorization(repository, false).await?;
        let mut refreshed = false;
        let mut hops = 0;
        loop {
            let mut request = self.http.get(url.clone());
            if let Some(r) = range {
                request = request.header(header::RANGE, format!("bytes={}-{}", r.start, r.end));
            }
            if let Some(value) = authorization
                .as_ref()
                .filter(|_| same_origin(&self.base, &url))
            {
                request = request.header(header::AUTHORIZATION, value.clone());
            }
            let response = request.send().await.map_err(|e| {
                unreachable(
                    repository,
                    &format!("fetching blob {digest}: {}", reqwest_error_without_url(&e)),
                )
            })?;
            let status = response.status();
            if status.is_redirection() {
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(unreachable(
                        repository,
                        &format!("too many redirects for blob {digest}"),
                    ));
                }
                url = redirect_target(&url, &response).ok_or_else(|| {
                    unreachable(
                        repository,
                        &format!("redirect without a valid Location for blob {digest}"),
                    )
                })?;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED && !refreshed && same_origin(&self.base, &url) {
                refreshed = true;
                authorization = self.authorization(repository, true).await?;
                continue;
            }
            return check_status(response, repository, digest, range);
        }
    }

    /// The `Authorization` value for reading `repository`: a bearer token from the
    /// token flow, Basic credentials, or none. Cached briefly; `refresh` asks anew.
    async fn authorization(
        &self,
        repository: &str,
        refresh: bool,
    ) -> Result<Option<HeaderValue>, SourceError> {
        if let RegistryAuth::Bearer(token) = &self.auth {
            return Ok(Some(sensitive(&format!("Bearer {token}"))));
        }
        let mut tokens = self.tokens.lock().await;
        if !refresh
            && let Some((value, at)) = tokens.get(repository)
            && at.elapsed() < TOKEN_TTL
        {
            return Ok(value.clone());
        }
        let reference = Reference::with_tag(
            self.registry.clone(),
            repository.to_owned(),
            "latest".to_owned(),
        );
        let value = match self
            .oci
            .auth(&reference, &self.auth, RegistryOperation::Pull)
            .await
        {
            Ok(Some(token)) => Some(sensitive(&format!("Bearer {token}"))),
            Ok(None) => match &self.auth {
                RegistryAuth::Basic(user, password) => {
                    let encoded = base64::engine::general_purpose::STANDARD
                        .encode(format!("{user}:{password}"));
                    Some(sensitive(&format!("Basic {encoded}")))
                }
                _ => None,
            },
            Err(OciDistributionError::AuthenticationFailure(_)) => {
                return Err(SourceError::Denied {
                    repository: repository.to_owned(),
                });
            }
            Err(e) => return Err(unreachable(repository, &describe_oci_error(&e))),
        };
        tokens.insert(repository.to_owned(), (value.clone(), Instant::now()));
        Ok(value)
    }
}

/// Maps a blob response's status to the body to stream or an error.
fn check_status(
    response: reqwest::Response,
    repository: &str,
    digest: &str,
    range: Option<ByteRange>,
) -> Result<Opened, SourceError> {
    let status = response.status();
    match status {
        StatusCode::OK => Ok(Opened {
            skip: range.map_or(0, |r| r.start),
            response,
        }),
        StatusCode::PARTIAL_CONTENT => {
            let content_range = response
                .headers()
                .get(header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok());
            match (range, content_range) {
                (Some(r), Some(value)) if content_range_matches(value, r) => {
                    Ok(Opened { skip: 0, response })
                }
                _ => Err(unreachable(
                    repository,
                    &format!("blob {digest}: partial response does not cover the requested range"),
                )),
            }
        }
        StatusCode::NOT_FOUND => Err(SourceError::NotFound {
            repository: repository.to_owned(),
            what: digest.to_owned(),
        }),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(SourceError::Denied {
            repository: repository.to_owned(),
        }),
        other => Err(unreachable(
            repository,
            &format!("blob {digest}: registry answered {other}"),
        )),
    }
}

/// Whether a `Content-Range` value is `bytes start-end/…` for exactly the range asked.
fn content_range_matches(value: &str, range: ByteRange) -> bool {
    value
        .strip_prefix("bytes ")
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(span, _)| span.split_once('-'))
        .is_some_and(|(a, b)| {
            a.trim().parse() == Ok(range.start) && b.trim().parse() == Ok(range.end)
        })
}

/// The absolute URL a redirect response points to.
fn redirect_target(from: &Url, response: &reqwest::Response) -> Option<Url> {
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    let target = from.join(location).ok()?;
    matches!(target.scheme(), "http" | "https").then_some(target)
}

/// Whether two URLs share scheme, host and port: only then may credentials go along.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A header value marked sensitive so it is never logged.
fn sensitive(value: &str) -> HeaderValue {
    let mut value = HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

/// An `Unreachable` error for a repository.
fn unreachable(repository: &str, reason: &str) -> SourceError {
    SourceError::Unreachable {
        repository: repository.to_owned(),
        reason: reason.to_owned(),
    }
}

/// An oci-client error described without URLs (they may carry tokens) or bodies.
pub fn describe_oci_error(e: &OciDistributionError) -> String {
    match e {
        OciDistributionError::RequestError(e) => {
            let e = reqwest_error_without_url(e);
            format!("request failed: {e}")
        }
        OciDistributionError::ServerError { code, .. } => format!("registry answered HTTP {code}"),
        OciDistributionError::RegistryError { envelope, .. } => {
            format!("registry error: {envelope}")
        }
        OciDistributionError::UnauthorizedError { .. } => "not authorized".to_owned(),
        OciDistributionError::AuthenticationFailure(_) => "authentication failed".to_owned(),
        other => {
            let text = other.to_string();
            text.split(": url").next().unwrap_or(&text).to_owned()
        }
    }
}

/// A reqwest error's message with any URL stripped.
fn reqwest_error_without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Skips `skip` bytes of `stream`, then yields exactly `length` bytes, failing with
/// `UnexpectedEof` when the upstream body ends early.
pub fn exact_slice(
    stream: BoxStream<'static, Result<Bytes, std::io::Error>>,
    skip: u64,
    length: u64,
) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    futures::stream::unfold(Some((stream, skip, length)), |state| async move {
        let (mut stream, mut skip, mut remaining) = state?;
        if remaining == 0 {
            return None;
        }
        loop {
            match stream.next().await {
                Some(Ok(mut chunk)) => {
                    if skip >= chunk.len() as u64 {
                        skip -= chunk.len() as u64;
                        continue;
                    }
                    let _ = chunk.split_to(skip as usize);
                    skip = 0;
                    if chunk.len() as u64 > remaining {
                        chunk.truncate(remaining as usize);
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    remaining -= chunk.len() as u64;
                    return Some((Ok(chunk), Some((stream, skip, remaining))));
                }
                Some(Err(e)) => return Some((Err(e), None)),
                None => {
                    let e = std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "blob body ended early",
                    );
                    return Some((Err(e), None));
                }
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let base = Url::parse("http://127.0.0.1:5000/").unwrap();
        assert!(same_origin(
            &base,
            &Url::parse("http://127.0.0.1:5000/v2/x/blobs/y").unwrap()
        ));
        assert!(!same_origin(
            &base,
            &Url::parse("http://127.0.0.1:5001/v2/").unwrap()
        ));
        assert!(!same_origin(
            &base,
            &Url::parse("https://127.0.0.1:5000/v2/").unwrap()
        ));
        assert!(!same_origin(
            &base,
            &Url::parse("http://localhost:5000/v2/").unwrap()
        ));
        let https = Url::parse("https://ghcr.io/").unwrap();
        assert!(same_origin(
            &https,
            &Url::parse("https://ghcr.io:443/v2/").unwrap()
        ));
        assert!(!same_origin(
            &https,
            &Url::parse("https://pkg-containers.githubusercontent.com/x").unwrap()
        ));
    }

    #[test]
    fn content_ranges() {
        let r = ByteRange { start: 10, end: 19 };
        assert!(content_range_matches("bytes 10-19/100", r));
        assert!(content_range_matches("bytes 10-19/*", r));
        assert!(!content_range_matches("bytes 0-99/100", r));
        assert!(!content_range_matches("10-19/100", r));
        assert!(!content_range_matches("bytes x", r));
    }

    fn chunks(parts: &[&'static [u8]]) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
        futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
        .boxed()
    }

    async fn collect(
        stream: BoxStream<'static, Result<Bytes, std::io::Error>>,
    ) -> Result<Vec<u8>, std::io::Error> {
        let mut out = Vec::new();
        let mut stream = stream;
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn slices_exactly() {
        let all = collect(exact_slice(chunks(&[b"hello ", b"world"]), 0, 11))
            .await
            .unwrap();
        assert_eq!(all, b"hello world");
        let mid = collect(exact_slice(chunks(&[b"hello ", b"world"]), 4, 4))
            .await
            .unwrap();
        assert_eq!(mid, b"o wo");
        let tail = collect(exact_slice(chunks(&[b"hello ", b"world"]), 6, 5))
            .await
            .unwrap();
        assert_eq!(tail, b"world");
        let short = collect(exact_slice(chunks(&[b"hello"]), 0, 11)).await;
        assert_eq!(short.unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
