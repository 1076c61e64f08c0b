//! Blob reads for registries: whole (size-capped, for configs) or streamed with an
//! optional byte range (for the asset proxy), over [`RegistryHttp`].

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};

use super::http::{RegistryHttp, reqwest_error_without_url, status_error, unreachable};
use super::metrics::RequestKind;
use super::{BlobBody, ByteRange, SourceError};

/// A blob response whose status has been checked: the body and what it covers.
struct Opened {
    response: reqwest::Response,
    /// Bytes of the body to skip before the requested range (upstream ignored `Range`).
    skip: u64,
}

/// Opens `digest` (of `size` bytes), whole or one range, as an exact-length stream.
pub async fn open(
    http: &RegistryHttp,
    repository: &str,
    digest: &str,
    size: u64,
    range: Option<ByteRange>,
) -> Result<BlobBody, SourceError> {
    let length = range.map_or(size, |r| r.end.saturating_sub(r.start) + 1);
    let opened = get(http, repository, digest, range).await?;
    let metrics = std::sync::Arc::clone(http.metrics());
    let body = opened.response.bytes_stream().map(move |r| {
        if let Ok(chunk) = &r {
            metrics.add_blob_bytes(chunk.len() as u64);
        }
        r.map_err(std::io::Error::other)
    });
    let stream = exact_slice(body.boxed(), opened.skip, length);
    Ok(BlobBody { stream, length })
}

/// Reads a whole blob, refusing it above `limit` bytes without reading more than
/// `limit + 1` of them.
pub async fn read_capped(
    http: &RegistryHttp,
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
    let opened = get(http, repository, digest, None).await?;
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
        http.metrics().add_blob_bytes(chunk.len() as u64);
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit {
            return Err(too_large(body.len() as u64));
        }
    }
    Ok(Bytes::from(body))
}

/// GETs a blob and checks the status against the range asked for.
async fn get(
    http: &RegistryHttp,
    repository: &str,
    digest: &str,
    range: Option<ByteRange>,
) -> Result<Opened, SourceError> {
    let mut headers = HeaderMap::new();
    if let Some(r) = range
        && let Ok(value) = HeaderValue::from_str(&format!("bytes={}-{}", r.start, r.end))
    {
        headers.insert(header::RANGE, value);
    }
    let path = format!("v2/{repository}/blobs/{digest}");
    let response = http
        .send(RequestKind::Blob, repository, Method::GET, &path, headers)
        .await?;
    match response.status() {
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
        other => Err(status_error(other, repository, digest)),
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
