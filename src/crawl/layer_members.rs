//! Member indexes of a manifest's tar layers, cached by layer digest: a layer is indexed
//! once, whichever artifacts and tags share it. Plain tars are read with Range requests
//! over their headers only; `tar+gzip` and `tar+zstd` layers by one streaming pass
//! (up to [`MAX_COMPRESSED_BYTES`]). A layer that is not a readable tar gets its reason
//! instead (cached too); a failed read is retried next pass.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Bytes, BytesMut};
use futures::{StreamExt, stream};
use tracing::warn;

use super::CrawlCache;
use crate::members::{self, Compression, LayerIndex, decompress};
use crate::source::{ByteRange, Descriptor, Source, SourceError};

/// Tar layers indexed at once per artifact.
const CONCURRENCY: usize = 8;
/// Members indexed per layer at most.
const MAX_MEMBERS: usize = 100_000;
/// Compressed layers larger than this are not listed (it would mean reading them whole).
pub const MAX_COMPRESSED_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// The member index of each tar layer, by digest.
pub async fn index_layers(
    source: &Source,
    cache: &CrawlCache,
    repository: &str,
    layers: &[Descriptor],
) -> BTreeMap<String, Result<LayerIndex, String>> {
    let mut seen = BTreeSet::new();
    // Owned, so the futures below borrow nothing from the iterator.
    let tars: Vec<(Descriptor, Compression)> = layers
        .iter()
        .filter(|l| seen.insert(l.digest.clone()))
        .filter_map(|l| Some((l.clone(), members::tar_compression(l)?)))
        .collect();
    stream::iter(tars)
        .map(|(layer, compression)| async move {
            let index = match cache.members(&layer.digest) {
                Some(cached) => Some(cached),
                None => index_layer(source, cache, repository, &layer, compression).await,
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
    compression: Compression,
) -> Option<Result<LayerIndex, String>> {
    let read_failed = AtomicBool::new(false);
    let members = match compression {
        Compression::None => {
            let read = |offset: u64, length: u64| {
                let read_failed = &read_failed;
                async move {
                    let range = ByteRange {
                        start: offset,
                        end: offset + length - 1,
                    };
                    read_range(source, repository, layer, range)
                        .await
                        .map_err(|e| {
                            read_failed.store(true, Ordering::Relaxed);
                            e.to_string()
                        })
                }
            };
            members::tar::index(layer.size, read, MAX_MEMBERS).await
        }
        _ if layer.size > MAX_COMPRESSED_BYTES => Err(format!(
            "compressed layer of {} bytes, over the {MAX_COMPRESSED_BYTES}-byte listing limit",
            layer.size
        )),
        _ => match source
            .open_blob(repository, &layer.digest, layer.size, None)
            .await
        {
            Ok(body) => {
                let stream = decompress::decompressed(body.stream, compression);
                members::tar::index_stream(stream, MAX_MEMBERS).await
            }
            Err(error) => {
                read_failed.store(true, Ordering::Relaxed);
                Err(error.to_string())
            }
        },
    };
    let result = members.map(|members| LayerIndex {
        compression,
        members: Arc::new(members),
    });
    if let Err(error) = &result {
        warn!(%repository, layer = %layer.digest, %error, "tar layer not indexed");
    }
    if read_failed.load(Ordering::Relaxed) {
        return None;
    }
    cache.insert_members(&layer.digest, result.clone());
    Some(result)
}

/// One range of a layer, collected.
async fn read_range(
    source: &Source,
    repository: &str,
    layer: &Descriptor,
    range: ByteRange,
) -> Result<Bytes, SourceError> {
    let body = source
        .open_blob(repository, &layer.digest, layer.size, Some(range))
        .await?;
    let mut bytes = BytesMut::with_capacity(body.length as usize);
    let mut stream = body.stream;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| SourceError::Unreachable {
            repository: repository.to_owned(),
            reason: e.to_string(),
        })?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}
