//! A stream wrapper that checks a blob's bytes against its digest as they pass.
//!
//! Hashing (SHA-256) is the costliest step of proxying a whole blob, so it does not run
//! on the task that writes to the client: chunks are forwarded as they arrive, and
//! cheap clones of them are gathered into batches that are hashed one at a time on
//! Tokio's blocking pool, concurrently with the forwarding. Only the final chunk waits
//! for the verdict.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

/// Bytes gathered before they are handed to the blocking pool as one hashing job:
/// large enough that the hand-over costs nothing next to the hashing (about a
/// millisecond of SHA-256), small enough to bound what is held (see [`Verified`]).
/// Upstream chunks from hyper are up to 408 KiB, so a batch is a few of them.
const BATCH: usize = 1 << 20;

/// What is left to hash when the body ends is hashed on the spot up to this size
/// (tens of microseconds); more goes to the blocking pool like any batch. Bodies this
/// small are thus checked without leaving the task.
const INLINE: usize = 64 << 10;

/// Passes a whole blob's bytes through while hashing them (SHA-256); if the stream
/// yields more or fewer than `size` bytes, or its hash is not `digest`, it ends with
/// an error instead of completing, so the client sees an aborted response rather
/// than a complete wrong body. Digests of other algorithms never verify.
///
/// The latest chunk is held back until the next one arrives or the check passes
/// (it is not waiting for its own hash): a failing body therefore always reaches the
/// client short of its `Content-Length` (an error after the last byte would come too
/// late to tell).
///
/// The hashing runs beside the forwarding, one [`BATCH`] at a time: while a batch is
/// hashed the next one gathers, and when that one is full before the hash is done,
/// forwarding waits. Besides what the HTTP layers buffer, the stream thus holds at
/// most two batches (each up to one chunk over [`BATCH`]), and once it is dropped the
/// blocking pool finishes at most the batch in hand. It must be polled within a Tokio
/// runtime, as response bodies are.
pub struct Verified {
    /// The upstream bytes.
    inner: BoxStream<'static, Result<Bytes, std::io::Error>>,
    /// The hash of the bytes before [`Verified::batch`]: here, or being brought up to
    /// date on the blocking pool.
    hasher: Hasher,
    /// Chunks passed on but not yet hashed (clones sharing the forwarded bytes).
    batch: Vec<Bytes>,
    /// Bytes in `batch`.
    batch_len: usize,
    /// Bytes seen so far.
    seen: u64,
    /// Expected total length.
    size: u64,
    /// Expected `sha256:<hex>`.
    digest: String,
    /// The latest chunk, not yet passed on.
    held: Option<Bytes>,
    /// Set once upstream has ended after exactly `size` bytes.
    ended: bool,
    /// Set once the stream has ended (or failed); it then yields nothing more.
    done: bool,
}

/// Where the running hash is.
enum Hasher {
    /// Idle, with every batch handed over so far hashed.
    Ready(Sha256),
    /// A batch is being hashed on the blocking pool, which hands the hash back.
    Busy(JoinHandle<Sha256>),
    /// Lost: the stream has failed, or the blocking pool did not hand it back.
    Gone,
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
            hasher: Hasher::Ready(Sha256::new()),
            batch: Vec::new(),
            batch_len: 0,
            seen: 0,
            size,
            digest: digest.to_owned(),
            held: None,
            ended: false,
            done: false,
        }
    }

    /// Waits for the hash to be idle and takes it.
    fn poll_hasher(&mut self, cx: &mut Context<'_>) -> Poll<Result<Sha256, String>> {
        if let Hasher::Busy(job) = &mut self.hasher {
            let result = ready!(Pin::new(job).poll(cx));
            self.hasher = Hasher::Gone;
            return Poll::Ready(result.map_err(|e| format!("hashing stopped: {e}")));
        }
        Poll::Ready(match std::mem::replace(&mut self.hasher, Hasher::Gone) {
            Hasher::Ready(hasher) => Ok(hasher),
            Hasher::Busy(_) | Hasher::Gone => Err("hashing stopped".to_owned()),
        })
    }

    /// Ends the stream with an error saying what did not match.
    fn fail(&mut self, what: String) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        self.done = true;
        self.held = None;
        self.batch = Vec::new();
        self.hasher = Hasher::Gone;
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
            if this.batch_len >= BATCH || (this.ended && this.batch_len > INLINE) {
                let mut hasher = match ready!(this.poll_hasher(cx)) {
                    Ok(hasher) => hasher,
                    Err(what) => return this.fail(what),
                };
                let batch = std::mem::take(&mut this.batch);
                this.batch_len = 0;
                this.hasher = Hasher::Busy(tokio::task::spawn_blocking(move || {
                    for chunk in &batch {
                        hasher.update(chunk);
                    }
                    hasher
                }));
            }
            if this.ended {
                let mut hasher = match ready!(this.poll_hasher(cx)) {
                    Ok(hasher) => hasher,
                    Err(what) => return this.fail(what),
                };
                for chunk in std::mem::take(&mut this.batch) {
                    hasher.update(&chunk);
                }
                let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
                if actual != this.digest {
                    return this.fail(format!("bytes hash to {actual}"));
                }
                this.done = true;
                return Poll::Ready(this.held.take().map(Ok));
            }
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => {
                    this.seen = this.seen.saturating_add(chunk.len() as u64);
                    if this.seen > this.size {
                        return this.fail(format!("more than {} bytes", this.size));
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    this.batch_len += chunk.len();
                    this.batch.push(chunk.clone());
                    if let Some(previous) = this.held.replace(chunk) {
                        return Poll::Ready(Some(Ok(previous)));
                    }
                }
                Some(Err(e)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    if this.seen != this.size {
                        return this.fail(format!("{} of {} bytes", this.seen, this.size));
                    }
                    this.ended = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

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

    /// `len` bytes that differ from one position to the next.
    fn content(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 253) as u8).collect()
    }

    /// `bytes` in chunks of `chunk` bytes, as upstream items.
    fn chunked(bytes: &[u8], chunk: usize) -> Vec<Result<Bytes, std::io::Error>> {
        bytes
            .chunks(chunk)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect()
    }

    /// Runs `sent`, cut in chunks of `chunk` bytes, through the check for a blob of
    /// `content`; returns the bytes passed and whether the stream ended with an error.
    async fn run_large(sent: &[u8], chunk: usize, content: &[u8]) -> (Vec<u8>, bool) {
        let chunks: Vec<&[u8]> = sent.chunks(chunk).collect();
        run(&chunks, content).await
    }

    #[tokio::test]
    async fn large_good_bytes_pass_unchanged() {
        // Whole batches, a batch and a byte, and a remainder too large to hash inline.
        for len in [BATCH, BATCH + 1, 3 * BATCH + INLINE + 5] {
            let blob = content(len);
            for chunk in [16 << 10, 7_001, len] {
                let (out, failed) = run_large(&blob, chunk, &blob).await;
                assert!(!failed, "{len} bytes in chunks of {chunk}");
                assert!(out == blob, "{len} bytes in chunks of {chunk}");
            }
        }
    }

    #[tokio::test]
    async fn chunks_pass_before_the_body_ends() {
        // Upstream stalls after its last byte: everything before the final chunk is
        // already through, and the final chunk waits for the end.
        let blob = content(2 * BATCH + 100);
        let items = chunked(&blob, 16 << 10);
        let count = items.len();
        let mut s = Verified::new(
            stream::iter(items).chain(stream::pending()).boxed(),
            &sha256_digest(&blob),
            blob.len() as u64,
        );
        let mut out = Vec::new();
        for _ in 1..count {
            match s.next().await {
                Some(Ok(b)) => out.extend_from_slice(&b),
                other => panic!("expected a chunk, got {other:?}"),
            }
        }
        assert_eq!(out.len(), blob.len() - 100);
        let stalled = tokio::time::timeout(Duration::from_millis(50), s.next()).await;
        assert!(
            stalled.is_err(),
            "the final chunk must wait for the body's end"
        );
    }

    #[tokio::test]
    async fn large_altered_bytes_fail_before_the_last_byte() {
        let blob = content(3 * BATCH + 1000);
        for at in [0, BATCH + 17, blob.len() - 1] {
            let mut altered = blob.clone();
            altered[at] ^= 1;
            let (out, failed) = run_large(&altered, 16 << 10, &blob).await;
            assert!(failed, "altered at {at}");
            // Everything but the final chunk (the last 1000 bytes) went through.
            assert_eq!(out.len(), blob.len() - 1000, "altered at {at}");
            assert!(out[..] == altered[..out.len()]);
        }
    }

    #[tokio::test]
    async fn large_short_and_long_bytes_fail() {
        let blob = content(2 * BATCH + 10);
        let (out, failed) = run_large(&blob[..blob.len() - 1], 16 << 10, &blob).await;
        assert!(failed);
        assert!(out.len() < blob.len());
        let mut long = blob.clone();
        long.push(0);
        let (out, failed) = run_large(&long, 16 << 10, &blob).await;
        assert!(failed);
        assert!(out.len() < blob.len());
    }

    /// Bytes that keep `_alive` while any view of them exists.
    struct Tracked {
        _alive: Arc<()>,
        bytes: Vec<u8>,
    }

    impl AsRef<[u8]> for Tracked {
        fn as_ref(&self) -> &[u8] {
            &self.bytes
        }
    }

    #[tokio::test]
    async fn a_dropped_stream_lets_go_of_every_chunk() {
        // Upstream sends 2.5 MiB of a 4 MiB blob, then stalls; the client goes away.
        let alive = Arc::new(());
        let items: Vec<Result<Bytes, std::io::Error>> = (0..40)
            .map(|_| {
                Ok(Bytes::from_owner(Tracked {
                    _alive: Arc::clone(&alive),
                    bytes: vec![7; 64 << 10],
                }))
            })
            .collect();
        let mut s = Verified::new(
            stream::iter(items).chain(stream::pending()).boxed(),
            &sha256_digest(b"never"),
            4 << 20,
        );
        // The 40th chunk is held back, waiting for more.
        for _ in 0..39 {
            assert!(matches!(s.next().await, Some(Ok(_))));
        }
        assert!(Arc::strong_count(&alive) > 1, "unhashed chunks are held");
        drop(s);
        // The batch on the blocking pool finishes and frees its chunks; nothing else
        // holds them.
        tokio::time::timeout(Duration::from_secs(10), async {
            while Arc::strong_count(&alive) > 1 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("every chunk released");
    }
}
