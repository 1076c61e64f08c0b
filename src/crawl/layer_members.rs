//! Member indexes of a manifest's uncompressed tar layers, read from the registry with
//! Range requests over the tar headers only, and cached by layer digest: a layer is
//! indexed once, whichever artifacts and tags share it. A layer that is not a readable
//! tar gets its reason instead (cached too); a failed read is retried next pass.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Bytes, BytesMut};
use futures::{StreamExt, stream};
use tracing::warn;

use super::CrawlCache;
use crate::members::{self, Member};
use crate::source::{ByteRange, Descriptor, Source};

/// Tar layers indexed at once per artifact.
const CONCURRENCY: usize = 8;
/// Members indexed per layer at most.
const MAX_MEMBERS: usize = 100_000;

/// The member index of each tar layer, by digest.
pub async fn index_layers(
    source: &Source,
    cache: &CrawlCache,
    repository: &str,
    layers: &[Descriptor],
) -> BTreeMap<String, Result<Arc<Vec<Member>>, String>> {
    let mut seen = std::collections::BTreeSet::new();
    // Owned, so the futures below borrow nothing from the iterator.
    let tars: Vec<Descriptor> = layers
        .iter()
        .filter(|l| members::is_tar(l) && seen.insert(l.digest.clone()))
        .cloned()
        .collect();
    stream::iter(tars)
        .map(|layer| async move {
            let index = match cache.members(&layer.digest) {
                Some(cached) => Some(cached),
                None => index_layer(source, cache, repository, &layer).await,
            };
            (layer.digest.clone(), index)
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|(digest, index)| async move { index.map(|i| (digest, i)) })
        .collect()
        .await
}

/// Indexes one layer; `None` when reading it failed (nothing cached, tried next pass).
async fn index_layer(
    source: &Source,
    cache: &CrawlCache,
    repository: &str,
    layer: &Descriptor,
) -> Option<Result<Arc<Vec<Member>>, String>> {
    let read_failed = AtomicBool::new(false);
    let read = |offset: u64, length: u64| {
        let read_failed = &read_failed;
        async move {
            let range = ByteRange {
                start: offset,
                end: offset + length - 1,
            };
            let read = async {
                let body = source
                    .open_blob(repository, &layer.digest, layer.size, Some(range))
                    .await?;
                let mut bytes = BytesMut::with_capacity(body.length as usize);
                let mut stream = body.stream;
                while let Some(chunk) = stream.next().await {
                    bytes.extend_from_slice(&chunk.map_err(|e| {
                        crate::source::SourceError::Unreachable {
                            repository: repository.to_owned(),
                            reason: e.to_string(),
                        }
                    })?);
                }
                Ok::<Bytes, crate::source::SourceError>(bytes.freeze())
            };
            read.await.map_err(|e| {
                read_failed.store(true, Ordering::Relaxed);
                e.to_string()
            })
        }
    };
    let result = members::tar::index(layer.size, read, MAX_MEMBERS)
        .await
        .map(Arc::new);
    if read_failed.load(Ordering::Relaxed) {
        if let Err(error) = &result {
            warn!(%repository, layer = %layer.digest, %error, "tar layer not indexed");
        }
        return None;
    }
    if let Err(error) = &result {
        warn!(%repository, layer = %layer.digest, %error, "tar layer not readable");
    }
    cache.insert_members(&layer.digest, result.clone());
    Some(result)
}
