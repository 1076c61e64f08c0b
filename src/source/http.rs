//! The gateway's own HTTP client for one registry: every request the gateway makes to it
//! (tags, catalog, manifests, blobs) goes through [`RegistryHttp::send`].
//!
//! oci-client does the token flow; this client reuses the token it obtains but makes the
//! requests itself, because it must see status codes and headers (`Link`,
//! `Docker-Content-Digest`, `Content-Range`, `Retry-After`), stream bodies, and decide per
//! redirect hop whether credentials may be sent: `Authorization` goes only to the
//! registry's own origin. Transient failures (connection errors, 429, 502–504) are
//! retried with exponential backoff and jitter, honouring `Retry-After`. Crawl requests
//! share a per-registry concurrency bound; asset reads (driven by clients) do not.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, redirect};
use tokio::sync::{Mutex, Semaphore};
use url::Url;

use super::SourceError;
use super::metrics::{RegistryMetrics, RequestKind};

/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 5;
/// How long a registry token is reused before asking again.
const TOKEN_TTL: Duration = Duration::from_secs(60);
/// Retries of a transient failure after the first attempt.
const MAX_RETRIES: u32 = 4;
/// First backoff delay; doubled on each retry.
const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// Longest wait before a retry, whatever `Retry-After` asks.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// Crawl requests in flight at once per registry.
pub const CRAWL_CONCURRENCY: usize = 16;

/// Where a request ended.
pub enum Sent {
    /// The registry (or a same-origin redirect) answered.
    Answered(reqwest::Response),
    /// The registry redirected to another origin, which was not contacted.
    Elsewhere(Url),
}

/// The HTTP side of one registry, with the gateway's credentials.
pub struct RegistryHttp {
    http: reqwest::Client,
    base: Url,
    registry: String,
    oci: Arc<oci_client::Client>,
    auth: RegistryAuth,
    tokens: Mutex<HashMap<String, (Option<HeaderValue>, Instant)>>,
    crawl_permits: Semaphore,
    metrics: Arc<RegistryMetrics>,
}

impl RegistryHttp {
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
            .map_err(|e| unreachable("", &format!("cannot build HTTP client: {e}")))?;
        Ok(RegistryHttp {
            http,
            base,
            registry,
            oci,
            auth,
            tokens: Mutex::new(HashMap::new()),
            crawl_permits: Semaphore::new(CRAWL_CONCURRENCY),
            metrics: Arc::new(RegistryMetrics::default()),
        })
    }

    /// Counts of the requests made so far, by kind and status.
    pub fn metrics(&self) -> &Arc<RegistryMetrics> {
        &self.metrics
    }

    /// Sends a request for `path` (relative to the registry root, e.g.
    /// `v2/<repo>/tags/list?n=100`, or an absolute URL from a `Link` header), following
    /// redirects and retrying transient failures. Any final status is returned as is.
    pub async fn send(
        &self,
        kind: RequestKind,
        repository: &str,
        method: Method,
        path: &str,
        headers: HeaderMap,
    ) -> Result<reqwest::Response, SourceError> {
        match self
            .send_until(kind, repository, method, path, headers, false)
            .await?
        {
            Sent::Answered(response) => Ok(response),
            Sent::Elsewhere(_) => Err(unreachable(repository, "unexpected redirect")),
        }
    }

    /// A GET of `path` for its first byte only, where a redirect to another origin (the
    /// registry's storage, e.g. a presigned object-store URL) is returned instead of
    /// followed.
    pub async fn locate(
        &self,
        kind: RequestKind,
        repository: &str,
        path: &str,
    ) -> Result<Sent, SourceError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_static("bytes=0-0"));
        self.send_until(kind, repository, Method::GET, path, headers, true)
            .await
    }

    /// The registry's root URL (`http://host:port/`).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The plain HTTP client (no redirects followed, no credentials attached).
    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }

    async fn send_until(
        &self,
        kind: RequestKind,
        repository: &str,
        method: Method,
        path: &str,
        headers: HeaderMap,
        stop_elsewhere: bool,
    ) -> Result<Sent, SourceError> {
        let start = self
            .base
            .join(path)
            .map_err(|e| unreachable(repository, &format!("bad request path: {e}")))?;
        if !same_origin(&self.base, &start) {
            return Err(unreachable(
                repository,
                "refusing a request to another host",
            ));
        }
        let _permit = match kind {
            RequestKind::Blob => None,
            _ => self.crawl_permits.acquire().await.ok(),
        };
        let mut authorization = self.authorization(repository, false).await?;
        let mut refreshed = false;
        let mut attempt = 0;
        let mut url = start.clone();
        let mut hops = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if let Some(value) = authorization
                .as_ref()
                .filter(|_| same_origin(&self.base, &url))
            {
                request = request.header(header::AUTHORIZATION, value.clone());
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) if attempt < MAX_RETRIES && (e.is_connect() || e.is_timeout()) => {
                    self.metrics.record(kind, 0);
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                    url = start.clone();
                    continue;
                }
                Err(e) => {
                    self.metrics.record(kind, 0);
                    return Err(unreachable(repository, &reqwest_error_without_url(&e)));
                }
            };
            let status = response.status();
            self.metrics.record(kind, status.as_u16());
            if status.is_redirection() && response.headers().contains_key(header::LOCATION) {
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(unreachable(repository, "too many redirects"));
                }
                url = redirect_target(&url, &response)
                    .ok_or_else(|| unreachable(repository, "redirect to an invalid location"))?;
                if stop_elsewhere && !same_origin(&self.base, &url) {
                    return Ok(Sent::Elsewhere(url));
                }
                continue;
            }
            if status == StatusCode::UNAUTHORIZED && !refreshed && same_origin(&self.base, &url) {
                refreshed = true;
                authorization = self.authorization(repository, true).await?;
                url = start.clone();
                continue;
            }
            if is_transient(status) && attempt < MAX_RETRIES {
                attempt += 1;
                let wait = retry_after(response.headers()).unwrap_or_else(|| backoff(attempt));
                tokio::time::sleep(wait.min(MAX_RETRY_WAIT)).await;
                url = start.clone();
                continue;
            }
            return Ok(Sent::Answered(response));
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

/// Maps a final non-success status to a [`SourceError`] about `what` in `repository`.
pub fn status_error(status: StatusCode, repository: &str, what: &str) -> SourceError {
    match status {
        StatusCode::NOT_FOUND => SourceError::NotFound {
            repository: repository.to_owned(),
            what: what.to_owned(),
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SourceError::Denied {
            repository: repository.to_owned(),
        },
        other => unreachable(repository, &format!("{what}: registry answered {other}")),
    }
}

/// Whether a status is worth retrying.
fn is_transient(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// The wait a `Retry-After` header asks for: seconds, or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Exponential backoff with jitter for retry number `attempt` (from 1).
fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF_BASE * 2u32.saturating_pow(attempt.saturating_sub(1));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    // Up to +50 %, from the clock's low bits: enough to spread simultaneous retries.
    base + base.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

/// The absolute URL a redirect response points to.
fn redirect_target(from: &Url, response: &reqwest::Response) -> Option<Url> {
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    let target = from.join(location).ok()?;
    matches!(target.scheme(), "http" | "https").then_some(target)
}

/// Whether two URLs share scheme, host and port: only then may credentials go along.
pub fn same_origin(a: &Url, b: &Url) -> bool {
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
pub fn unreachable(repository: &str, reason: &str) -> SourceError {
    SourceError::Unreachable {
        repository: repository.to_owned(),
        reason: reason.to_owned(),
    }
}

/// An oci-client error described without URLs (they may carry tokens) or bodies.
pub fn describe_oci_error(e: &OciDistributionError) -> String {
    match e {
        OciDistributionError::RequestError(e) => {
            format!("request failed: {}", reqwest_error_without_url(e))
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

/// A reqwest error's message and causes with any URL stripped.
pub fn reqwest_error_without_url(e: &reqwest::Error) -> String {
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
    fn retry_after_values() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn backoff_grows_with_jitter() {
        for attempt in 1..=4 {
            let base = BACKOFF_BASE * 2u32.pow(attempt - 1);
            let wait = backoff(attempt);
            assert!(
                wait >= base && wait <= base.mul_f64(1.5),
                "{attempt}: {wait:?}"
            );
        }
    }
}
