//! Proxy mode (DESIGN §4): answer GET and HEAD for a blob, streaming its bytes from
//! the source without buffering.
//!
//! The life of an asset request:
//! 1. [`range::decide`] turns the conditionals and `Range` into a [`Decision`];
//! 2. `304`, `416` and every `HEAD` are answered here, with no upstream request;
//! 3. otherwise the blob (or one range of it) is opened with
//!    [`Source::open_blob_for_client`] (small ranges from the hot-range cache);
//!    an upstream failure becomes a JSON error that names neither registry nor
//!    credentials;
//! 4. the bytes stream to the client; a whole body passes through [`Verified`], which
//!    cuts the response off if the bytes do not hash to the digest.
//!
//! `answer` takes the opener as a function, so these steps are tested without a source.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::range::{self, Decision};
use super::verify::Verified;
use crate::mapping::BlobRef;
use crate::members::{Compression, decompress};
use crate::source::blob::exact_slice;
use crate::source::{BlobBody, ByteRange, Source, SourceError};

/// `Cache-Control` for blobs: content addressed by digest never changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Answers a GET or HEAD for one blob in proxy mode; any other method gets a 405.
#[tracing::instrument(skip_all, fields(repository = %blob.repository, digest = %blob.digest))]
pub async fn serve(
    source: &Source,
    blob: &BlobRef,
    method: &Method,
    headers: &HeaderMap,
) -> Response {
    let digest = &blob.digest.to_string();
    let Some(member) = &blob.member else {
        return answer(blob, method, headers, |range| {
            source.open_blob_for_client(&blob.repository, digest, blob.size, range)
        })
        .await;
    };
    if member.compression != Compression::None {
        // A file inside a compressed layer cannot be reached by range: it is sent
        // whole, decompressed from the layer's start, whatever `Range` asked.
        let mut headers = headers.clone();
        headers.remove(header::RANGE);
        let mut response = answer(blob, method, &headers, |_| async move {
            let layer = source
                .open_blob_for_client(&blob.repository, digest, member.layer_size, None)
                .await?;
            let tar = decompress::decompressed(layer.stream, member.compression);
            let stream = exact_slice(tar, member.offset, blob.size);
            Ok(BlobBody {
                stream,
                length: blob.size,
            })
        })
        .await;
        let out = response.headers_mut();
        out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
        return response;
    }
    // A file inside a plain tar layer: every request is a range of the layer.
    answer(blob, method, headers, |range| async move {
        if blob.size == 0 {
            let stream = futures::stream::empty().boxed();
            return Ok(BlobBody { stream, length: 0 });
        }
        let within = range.unwrap_or(ByteRange {
            start: 0,
            end: blob.size - 1,
        });
        let shifted = ByteRange {
            start: member.offset + within.start,
            end: member.offset + within.end,
        };
        source
            .open_blob_for_client(&blob.repository, digest, member.layer_size, Some(shifted))
            .await
    })
    .await
}

/// The steps of [`serve`], with `open` fetching the whole blob (`None`) or one range.
async fn answer<F, Fut>(blob: &BlobRef, method: &Method, headers: &HeaderMap, open: F) -> Response
where
    F: FnOnce(Option<ByteRange>) -> Fut,
    Fut: Future<Output = Result<BlobBody, SourceError>>,
{
    if method != Method::GET && method != Method::HEAD {
        let mut response = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "assets answer GET and HEAD only",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let etag = match blob.member.as_ref().map(|m| m.offset) {
        None => format!("\"{}\"", blob.digest),
        Some(offset) => format!("\"{}+{offset}\"", blob.digest),
    };
    let decision = range::decide(method, headers, blob.size, &etag);
    if decision == Decision::Ignored {
        tracing::debug!("ignoring a Range field we do not serve; sending the whole blob");
    }
    let range = match decision {
        Decision::NotModified => {
            return respond(StatusCode::NOT_MODIFIED, blob, &etag, Body::empty());
        }
        Decision::NotSatisfiable => {
            let mut response = error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "RangeNotSatisfiable",
                &format!("the asset is {} bytes long", blob.size),
            );
            insert(
                response.headers_mut(),
                header::CONTENT_RANGE,
                &format!("bytes */{}", blob.size),
            );
            return response;
        }
        Decision::Partial(r) => Some(r),
        Decision::Full | Decision::Ignored => None,
    };
    let (status, length) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.end - r.start + 1),
        None => (StatusCode::OK, blob.size),
    };
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        match stream(open(range).await, blob, range, length) {
            Ok(body) => body,
            Err(failure) => return failure.response(),
        }
    };
    let mut response = respond(status, blob, &etag, body);
    let out = response.headers_mut();
    insert(out, header::CONTENT_LENGTH, &length.to_string());
    if let Some(r) = range {
        insert(
            out,
            header::CONTENT_RANGE,
            &format!("bytes {}-{}/{}", r.start, r.end, blob.size),
        );
    }
    response
}

/// The body to send from an opened blob: a part of it as is, the whole of it
/// digest-checked; an upstream failure or a body of the wrong length is the
/// client's error response.
fn stream(
    opened: Result<BlobBody, SourceError>,
    blob: &BlobRef,
    range: Option<ByteRange>,
    length: u64,
) -> Result<Body, Upstream> {
    let opened = opened.map_err(|e| Upstream::from_source(&e))?;
    if opened.length != length {
        tracing::warn!(
            expected = length,
            got = opened.length,
            "source opened a body of the wrong length"
        );
        return Err(Upstream::Failed);
    }
    // A range that covers the whole blob (`bytes=0-`) is checked like a full body; a
    // file inside a tar has no digest of its own to check.
    let whole =
        blob.member.is_none() && range.is_none_or(|r| r.start == 0 && r.end + 1 == blob.size);
    Ok(if whole {
        Body::from_stream(Verified::new(
            opened.stream,
            &blob.digest.to_string(),
            blob.size,
        ))
    } else {
        Body::from_stream(opened.stream)
    })
}

/// A response with the headers every answer about a blob carries.
fn respond(status: StatusCode, blob: &BlobRef, etag: &str, body: Body) -> Response {
    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    insert(out, header::ETAG, etag);
    if status != StatusCode::NOT_MODIFIED {
        let content_type = HeaderValue::from_str(&blob.media_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
        out.insert(header::CONTENT_TYPE, content_type);
    }
    response
}

/// Sets a header whose value we built ourselves (digits, `sha256:` hex, ASCII text).
fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// Why upstream bytes cannot be sent. Only "not found" is told as such; everything
/// else is the registry's problem, told without URLs, names or reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upstream {
    /// The blob is not there: `404`.
    NotFound,
    /// Unreachable, credentials refused, or a bad answer: `502`.
    Failed,
}

impl Upstream {
    /// Classifies a source failure, logging its cause once.
    fn from_source(e: &SourceError) -> Self {
        if let SourceError::NotFound { .. } = e {
            tracing::info!(error = %e, "asset blob not found upstream");
            Upstream::NotFound
        } else {
            tracing::warn!(error = %e, "asset blob could not be opened");
            Upstream::Failed
        }
    }

    /// The client's error response.
    fn response(self) -> Response {
        match self {
            Upstream::NotFound => error(StatusCode::NOT_FOUND, "NotFound", "asset not found"),
            Upstream::Failed => error(
                StatusCode::BAD_GATEWAY,
                "BadGateway",
                "the registry holding this asset could not serve it",
            ),
        }
    }
}

/// A STAC API error body `{code, description}` with `status`.
fn error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = serde_json::json!({ "code": code, "description": description });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use bytes::Bytes;
    use futures::StreamExt;

    use super::*;
    use crate::source::manifest::sha256_digest;

    const CONTENT: &[u8] = b"hello world";

    fn blob() -> BlobRef {
        BlobRef {
            source: "demo".into(),
            repository: "secret-repo".into(),
            digest: sha256_digest(CONTENT).as_str().into(),
            size: CONTENT.len() as u64,
            media_type: "image/tiff; application=geotiff".into(),
            file_name: "hello.tif".into(),
            member: None,
        }
    }

    /// An opened body over `bytes` (as a source would stream it, in two chunks).
    fn body_of(bytes: &[u8]) -> Result<BlobBody, SourceError> {
        let (a, b) = bytes.split_at(bytes.len() / 2);
        let chunks = vec![Ok(Bytes::copy_from_slice(a)), Ok(Bytes::copy_from_slice(b))];
        Ok(BlobBody {
            stream: futures::stream::iter(chunks).boxed(),
            length: bytes.len() as u64,
        })
    }

    /// Answers a request over `content`, honouring the range like a source does;
    /// returns the response and whether the source was asked.
    async fn request(method: Method, pairs: &[(&str, &str)], content: &[u8]) -> (Response, bool) {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let asked = Cell::new(false);
        let response = answer(&blob(), &method, &headers, |range| {
            asked.set(true);
            let bytes = match range {
                Some(r) => content[r.start as usize..=r.end as usize].to_vec(),
                None => content.to_vec(),
            };
            async move { body_of(&bytes) }
        })
        .await;
        (response, asked.get())
    }

    fn head(r: &Response, name: header::HeaderName) -> &str {
        r.headers().get(name).unwrap().to_str().unwrap()
    }

    async fn body(r: Response) -> Result<Bytes, axum::Error> {
        axum::body::to_bytes(r.into_body(), usize::MAX).await
    }

    async fn json(r: Response) -> serde_json::Value {
        serde_json::from_slice(&body(r).await.unwrap()).unwrap()
    }

    #[tokio::test]
    async fn full_get() {
        let (r, asked) = request(Method::GET, &[], CONTENT).await;
        assert!(asked);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(head(&r, header::CONTENT_LENGTH), "11");
        assert_eq!(head(&r, header::ACCEPT_RANGES), "bytes");
        assert_eq!(
            head(&r, header::ETAG),
            format!("\"{}\"", sha256_digest(CONTENT))
        );
        assert_eq!(head(&r, header::CACHE_CONTROL), IMMUTABLE);
        assert_eq!(
            head(&r, header::CONTENT_TYPE),
            "image/tiff; application=geotiff"
        );
        assert_eq!(body(r).await.unwrap(), CONTENT);
    }

    #[tokio::test]
    async fn range_get() {
        let (r, _) = request(Method::GET, &[("range", "bytes=2-5")], CONTENT).await;
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(head(&r, header::CONTENT_RANGE), "bytes 2-5/11");
        assert_eq!(head(&r, header::CONTENT_LENGTH), "4");
        assert_eq!(body(r).await.unwrap(), &b"llo "[..]);
        let (r, _) = request(Method::GET, &[("range", "bytes=-3")], CONTENT).await;
        assert_eq!(head(&r, header::CONTENT_RANGE), "bytes 8-10/11");
        assert_eq!(body(r).await.unwrap(), &b"rld"[..]);
    }

    #[tokio::test]
    async fn head_is_local() {
        let (r, asked) = request(Method::HEAD, &[], CONTENT).await;
        assert!(!asked);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(head(&r, header::CONTENT_LENGTH), "11");
        assert_eq!(head(&r, header::ACCEPT_RANGES), "bytes");
        assert!(body(r).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn not_modified_and_unsatisfiable_are_local() {
        let etag = format!("\"{}\"", sha256_digest(CONTENT));
        let (r, asked) = request(Method::GET, &[("if-none-match", &etag)], CONTENT).await;
        assert!(!asked);
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(head(&r, header::ETAG), etag);
        let (r, asked) = request(Method::GET, &[("range", "bytes=11-")], CONTENT).await;
        assert!(!asked);
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(head(&r, header::CONTENT_RANGE), "bytes */11");
        assert_eq!(json(r).await["code"], "RangeNotSatisfiable");
    }

    #[tokio::test]
    async fn corrupt_full_body_is_cut_off() {
        let (r, _) = request(Method::GET, &[], b"hello World").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(body(r).await.is_err());
    }

    #[tokio::test]
    async fn whole_range_is_checked_too() {
        let (r, _) = request(Method::GET, &[("range", "bytes=0-")], b"hello World").await;
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        assert!(body(r).await.is_err());
        // A part cannot be checked: it passes as is.
        let (r, _) = request(Method::GET, &[("range", "bytes=0-4")], b"hello World").await;
        assert_eq!(body(r).await.unwrap(), &b"hello"[..]);
    }

    #[tokio::test]
    async fn wrong_length_is_bad_gateway() {
        let (r, _) = request(Method::GET, &[], b"hello").await;
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    }

    #[tokio::test]
    async fn upstream_errors() {
        let cases = [
            (
                SourceError::NotFound {
                    repository: "secret-repo".into(),
                    what: "blob".into(),
                },
                StatusCode::NOT_FOUND,
                "NotFound",
            ),
            (
                SourceError::Denied {
                    repository: "secret-repo".into(),
                },
                StatusCode::BAD_GATEWAY,
                "BadGateway",
            ),
            (
                SourceError::Unreachable {
                    repository: "secret-repo".into(),
                    reason: "connect to http://registry.internal:5000 failed".into(),
                },
                StatusCode::BAD_GATEWAY,
                "BadGateway",
            ),
        ];
        for (error, status, code) in cases {
            let headers = HeaderMap::new();
            let r = answer(
                &blob(),
                &Method::GET,
                &headers,
                |_| async move { Err(error) },
            )
            .await;
            assert_eq!(r.status(), status);
            let text = String::from_utf8(body(r).await.unwrap().to_vec()).unwrap();
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(value["code"], code);
            assert!(value["description"].is_string());
            assert!(
                !text.contains("secret-repo") && !text.contains("registry.internal"),
                "{text}"
            );
        }
    }

    #[tokio::test]
    async fn other_methods_are_refused() {
        let (r, asked) = request(Method::POST, &[], CONTENT).await;
        assert!(!asked);
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(head(&r, header::ALLOW), "GET, HEAD");
    }

    /// Over real HTTP: HEAD keeps its `Content-Length`, and a corrupt whole body
    /// reaches the client as an aborted transfer, not a complete response.
    #[tokio::test]
    async fn over_http() {
        async fn handle(method: Method, headers: HeaderMap) -> Response {
            let corrupt = headers.contains_key("x-corrupt");
            answer(&blob(), &method, &headers, |_| async move {
                body_of(if corrupt { b"hello World" } else { CONTENT })
            })
            .await
        }
        let app = axum::Router::new().route("/blob", axum::routing::any(handle));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/blob", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();

        let r = client.head(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-length"], "11");

        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.bytes().await.unwrap(), CONTENT);

        // Depending on when the check fails, the connection drops before or after the
        // head; either way the client never gets a complete body.
        let corrupt = client.get(&url).header("x-corrupt", "1").send().await;
        if let Ok(r) = corrupt {
            assert!(r.bytes().await.is_err());
        }
    }
}
