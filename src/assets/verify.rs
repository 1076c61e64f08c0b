//! A stream wrapper that checks a blob's bytes against its digest as they pass.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use sha2::{Digest, Sha256};

/// Passes a whole blob's bytes through while hashing them (SHA-256); if the stream
/// yields more or fewer than `size` bytes, or its hash is not `digest`, it ends with
/// an error instead of completing, so the client sees an aborted response rather
/// than a complete wrong body. Digests of other algorithms never verify.
///
/// The latest chunk is held back until the next one arrives or the check passes:
/// a failing body therefore always reaches the client short of its
/// `Content-Length` (an error after the last byte would come too late to tell).
pub struct Verified {
    /// The upstream bytes.
    inner: BoxStream<'static, Result<Bytes, std::io::Error>>,
    /// Hash of the bytes seen so far.
    hasher: Sha256,
    /// Bytes seen so far.
    seen: u64,
    /// Expected total length.
    size: u64,
    /// Expected `sha256:<hex>`.
    digest: String,
    /// The latest chunk, not yet passed on.
    held: Option<Bytes>,
    /// Set once the stream has ended (or failed); it then yields nothing more.
    done: bool,
}

impl Verified {
    /// Wraps the full body of the blob `digest` of `size` bytes.
    pub fn new(
        inner: BoxStream<'static, Result<Bytes, std::io::Error>>,
        digest: &str,
        size: u64,
    ) -> Self {
        Verified {
            inner,
            hasher: Sha256::new(),
            seen: 0,
            size,
            digest: digest.to_owned(),
            held: None,
            done: false,
        }
    }

    /// Ends the stream with an error saying what did not match.
    fn fail(&mut self, what: String) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        self.done = true;
        tracing::warn!(digest = %self.digest, "blob integrity check failed: {what}");
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("blob {} failed its integrity check: {what}", self.digest),
        ))))
    }
}

impl Stream for Verified {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => {
                    this.seen = this.seen.saturating_add(chunk.len() as u64);
                    if this.seen > this.size {
                        return this.fail(format!("more than {} bytes", this.size));
                    }
                    this.hasher.update(&chunk);
                    if let Some(previous) = this.held.replace(chunk) {
                        return Poll::Ready(Some(Ok(previous)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    if this.seen != this.size {
                        return this.fail(format!("{} of {} bytes", this.seen, this.size));
                    }
                    let actual = format!("sha256:{}", hex::encode(this.hasher.clone().finalize()));
                    if actual != this.digest {
                        return this.fail(format!("bytes hash to {actual}"));
                    }
                    this.done = true;
                    return Poll::Ready(this.held.take().map(Ok));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::{StreamExt, stream};

    use super::*;
    use crate::source::manifest::sha256_digest;

    /// Runs `chunks` through the check for a blob of `content`; returns the bytes
    /// passed and whether the stream ended with an error.
    async fn run(chunks: &[&[u8]], content: &[u8]) -> (Vec<u8>, bool) {
        let items: Vec<Result<Bytes, std::io::Error>> = chunks
            .iter()
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let mut s = Verified::new(
            stream::iter(items).boxed(),
            &sha256_digest(content),
            content.len() as u64,
        );
        let mut out = Vec::new();
        let mut failed = false;
        while let Some(item) = s.next().await {
            match item {
                Ok(b) => out.extend_from_slice(&b),
                Err(_) => failed = true,
            }
        }
        (out, failed)
    }

    #[tokio::test]
    async fn good_bytes_pass() {
        assert_eq!(
            run(&[b"hello ", b"world"], b"hello world").await,
            (b"hello world".to_vec(), false)
        );
        assert_eq!(
            run(&[b"a", b"", b"b", b"c"], b"abc").await,
            (b"abc".to_vec(), false)
        );
        assert_eq!(run(&[], b"").await, (Vec::new(), false));
    }

    #[tokio::test]
    async fn altered_bytes_fail_at_the_end() {
        // The altered last chunk is never passed on.
        let (out, failed) = run(&[b"hello ", b"World"], b"hello world").await;
        assert_eq!(out, b"hello ");
        assert!(failed);
        let (out, failed) = run(&[b"hello World"], b"hello world").await;
        assert!(out.is_empty());
        assert!(failed);
    }

    #[tokio::test]
    async fn short_and_long_bytes_fail() {
        assert_eq!(run(&[b"hello "], b"hello world").await, (Vec::new(), true));
        let (out, failed) = run(&[b"hello world", b"!"], b"hello world").await;
        assert!(out.is_empty());
        assert!(failed);
    }

    #[tokio::test]
    async fn upstream_error_ends_the_stream() {
        let items: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"ab")),
            Err(std::io::Error::other("cut")),
            Ok(Bytes::from_static(b"c")),
        ];
        let s = Verified::new(stream::iter(items).boxed(), &sha256_digest(b"abc"), 3);
        let got: Vec<_> = s.collect().await;
        assert_eq!(got.len(), 1);
        assert!(got[0].is_err());
    }

    #[tokio::test]
    async fn other_algorithms_never_verify() {
        let items: Vec<Result<Bytes, std::io::Error>> = vec![Ok(Bytes::from_static(b"abc"))];
        let s = Verified::new(stream::iter(items).boxed(), "sha512:00", 3);
        let got: Vec<_> = s.collect().await;
        assert!(got.last().is_some_and(|r| r.is_err()));
    }
}
