//! Pure mapping of crawled artifacts to STAC Collections and Items (DESIGN §3).
//! No I/O, no async, no HTTP.
//!
//! Each artifact goes through the rules in order, the first that matches wins:
//! 1. config is a STAC Item (`stac_config.rs`);
//! 2. config is an ItemCollection of STAC Items (`stac_config.rs`);
//! 3. config is a partition index, one Item per partition (`partition.rs`);
//! 4. layers are STAC Items (`layer_item.rs`);
//! 5. anything else, one generic Item (`generic.rs`).
//!
//! A rule that matches but finds the artifact malformed fails that artifact alone, with a
//! [`MappingError`] naming the field; the rest of the repository still maps.
//!
//! Deduplication: artifacts are mapped largest first (total layer bytes, then layer count,
//! then digest), so when a partition's layer is already mapped (PASTIS `:sample` ⊂
//! `:full`) the Item keeps the larger artifact's `oci:digest` and gains the other's tags.
//! Ids: an Item whose preferred id is taken by a different Item is suffixed with
//! `-<12 hex>` of its layer (partition) or manifest digest.
//! Artifacts are mapped in batches, and an Item is finished (and handed on, e.g. to be
//! indexed) as soon as no later artifact can merge into it (`merge.rs`), so the
//! repository's Items are never all held as JSON trees at once.
//!
//! Footprints are reprojected to EPSG:4326 from the CRS the config names (`crs`/`epsg`)
//! or, failing that, [`MappingOptions::crs`]; supported: EPSG:4326, 4258, 4171, 3857,
//! 2154, 326xx, 327xx and 25828–25838. Generic artifacts take a footprint from the
//! manifest annotations `org.stacspec.geometry` (GeoJSON) or `org.stacspec.bbox`
//! (`minx,miny,maxx,maxy`), in the CRS `org.stacspec.crs`. An Item with no known time
//! gets `datetime: null` with the open period `0001-01-01T00:00:00Z`..`9999-12-31T23:59:59Z`
//! (valid STAC 1.0.0) and is left out of the Collection's temporal extent.

mod collection;
mod crs;
mod digest;
mod draft;
mod field;
mod generic;
mod geometry;
mod ids;
mod layer_item;
mod merge;
mod partition;
mod provenance;
mod referrers;
mod stac_config;
mod tar_members;
mod time;
mod versions;

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::{Map, Value};

pub use self::digest::BlobDigest;
use self::draft::{Context, Draft};
pub use self::geometry::{Footprint, Geometry};
use self::merge::Merger;

/// Options for mapping one repository, from its source's settings.
#[derive(Debug, Clone)]
pub struct MappingOptions {
    /// CRS of footprints in configs that do not name one (e.g. `EPSG:2154`).
    pub crs: Option<String>,
    /// Files of tar layers listed among an Item's assets at most (all stay servable).
    pub max_member_assets: usize,
}

impl Default for MappingOptions {
    fn default() -> Self {
        MappingOptions {
            crs: None,
            max_member_assets: crate::config::DEFAULT_MAX_MEMBER_ASSETS,
        }
    }
}

/// The registry blob behind an asset: what the asset proxy may fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    /// Name of the configured source holding the blob (shared by the artifact's blobs).
    pub source: Arc<str>,
    /// Repository holding the blob (shared by the artifact's blobs).
    pub repository: Arc<str>,
    /// `sha256:…`.
    pub digest: BlobDigest,
    /// Size in bytes of what the asset serves (the blob, or one member of it).
    pub size: u64,
    /// Media type, served as `Content-Type` (shared by the artifact's blobs of that type).
    pub media_type: Arc<str>,
    /// The file name the href ends with (URL-safe).
    pub file_name: String,
    /// For a file inside a tar layer: which, and where its bytes start in the blob
    /// (boxed: most assets are whole blobs, and every Item keeps its blob refs).
    pub member: Option<Box<TarMember>>,
}

/// A file inside a tar layer, served as a byte range of the layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarMember {
    /// Its path in the archive.
    pub path: String,
    /// Where its bytes start in the (decompressed) layer.
    pub offset: u64,
    /// How the layer is stored: a compressed layer's member is served whole.
    pub compression: crate::members::Compression,
    /// The layer's own size.
    pub layer_size: u64,
}

/// A mapped STAC Item and the blobs behind its assets.
#[derive(Debug, Clone)]
pub struct MappedItem {
    /// Collection id (shared by the collection's Items).
    pub collection: Arc<str>,
    /// Item id, unique in its collection, URL-safe, stable across recrawls.
    pub id: String,
    /// The STAC Item JSON without `links`, and without `geometry` and `bbox` when it has a
    /// `footprint`; each asset's `href` is the relative path
    /// `collections/{collection}/items/{id}/assets/{key}/{file_name}`.
    pub item: serde_json::Map<String, serde_json::Value>,
    /// Properties of its artifact (the `oci:*` provenance), shared by the artifact's Items
    /// rather than copied into each: they belong in `item`'s `properties`, but for those
    /// named there too.
    pub shared_properties: Arc<serde_json::Map<String, serde_json::Value>>,
    /// Its `geometry` and `bbox` as the mapping read them, kept typed rather than as JSON:
    /// the index writes them and searches by them without reading them back.
    pub footprint: Option<Footprint>,
    /// Blob behind each asset key.
    pub assets: BTreeMap<String, BlobRef>,
    /// Links to other Items of the same collection (versions).
    pub links: Vec<ItemLink>,
}

/// A link from an Item to another Item of its collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLink {
    /// The relation, e.g. `predecessor-version`.
    pub rel: String,
    /// The other Item's id.
    pub item: String,
}

/// A mapped STAC Collection (without `links` and with extents computed from its Items).
#[derive(Debug, Clone)]
pub struct MappedCollection {
    /// Collection id.
    pub id: String,
    /// The STAC Collection JSON without `links`.
    pub collection: serde_json::Map<String, serde_json::Value>,
}

/// An artifact that could not be mapped; the rest of its repository still is.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{repository}@{digest}: {reason}")]
pub struct MappingError {
    /// Repository of the artifact.
    pub repository: String,
    /// Manifest digest of the artifact.
    pub digest: String,
    /// What is wrong, naming the field.
    pub reason: String,
}

/// Everything mapped from one repository.
#[derive(Debug, Clone)]
pub struct MappedRepository<I = MappedItem> {
    /// The repository's Collection.
    pub collection: MappedCollection,
    /// Its Items, one per artifact or partition, deduplicated, in the order their
    /// artifacts are mapped (as given by [`map_repository_into`]'s `finish`).
    pub items: Vec<I>,
    /// Artifacts that could not be mapped.
    pub errors: Vec<MappingError>,
}

use crate::crawl::Artifact;

/// Artifacts mapped at once, weighed by their layers (plus one each): bounds the drafts
/// held as JSON besides those a later artifact may still merge into.
const BATCH_WEIGHT: usize = 16_384;

/// Maps every artifact of one repository (all its tags) to a Collection and Items.
pub fn map_repository(
    repository: &str,
    artifacts: Vec<Artifact>,
    options: &MappingOptions,
) -> MappedRepository {
    map_repository_into(repository, artifacts, options, |item| item)
}

/// [`map_repository`], each Item passed through `finish` (e.g. to index it) as soon as
/// no other artifact can change it: the repository's Items are never all held as JSON,
/// and each artifact lets go of what only mapping reads once it is mapped.
#[tracing::instrument(skip_all, fields(repository))]
pub fn map_repository_into<T: Send>(
    repository: &str,
    artifacts: Vec<Artifact>,
    options: &MappingOptions,
    finish: impl Fn(MappedItem) -> T + Sync,
) -> MappedRepository<T> {
    map_in_batches(repository, artifacts, options, BATCH_WEIGHT, &finish)
}

/// [`map_repository_into`], mapping artifacts in batches of `batch_weight`.
fn map_in_batches<T: Send>(
    repository: &str,
    artifacts: Vec<Artifact>,
    options: &MappingOptions,
    batch_weight: usize,
    finish: &(impl Fn(MappedItem) -> T + Sync),
) -> MappedRepository<T> {
    let collection_id = ids::collection_id(repository);
    let mut ordered = artifacts;
    ordered.retain(|a| !is_referrer(a));
    ordered.sort_by_cached_key(|a| {
        let bytes: u64 = a.layers.iter().map(|l| l.size).sum();
        (Reverse(bytes), Reverse(a.layers.len()), a.digest.clone())
    });

    let mut configs = Vec::new();
    let mut errors = Vec::new();
    let map_batch = |ordered: &[Artifact], start: usize| {
        (start < ordered.len()).then(|| {
            let batch = start..batch_end(ordered, start, batch_weight);
            let results = ordered[batch.clone()]
                .par_iter()
                .map(|a| map_artifact(a, options))
                .collect();
            (batch, results)
        })
    };
    // The merger learns where each digest last appears while the first batch is mapped.
    let (mut mapped, mut merger): (Option<MappedBatch>, _) = rayon::join(
        || map_batch(&ordered, 0),
        || Merger::new(&collection_id, &ordered),
    );
    while let Some((batch, results)) = mapped.take() {
        let done = &ordered[batch.clone()];
        // A batch's drafts are merged here, one artifact after another, while the next
        // batch is mapped on the other threads: merging alone would leave a core idle.
        let merge = || {
            for ((position, artifact), result) in batch.clone().zip(done).zip(results) {
                match result {
                    Ok(Mapped {
                        drafts,
                        config_fields,
                    }) => {
                        configs.extend(config_fields);
                        merger.add(position, drafts);
                    }
                    Err(reason) => {
                        tracing::debug!(digest = %artifact.digest, %reason, "artifact not mapped");
                        errors.push(MappingError {
                            repository: repository.to_owned(),
                            digest: artifact.digest.clone(),
                            reason,
                        });
                    }
                }
            }
            merger.settle(batch.end, finish);
        };
        (mapped, ()) = rayon::join(|| map_batch(&ordered, batch.end), merge);
        ordered[batch]
            .iter_mut()
            .for_each(Artifact::release_mapping_inputs);
    }
    let (items, extent) = merger.into_items(finish);
    let collection = collection::build(&collection_id, repository, &ordered, &configs, &extent);
    MappedRepository {
        collection,
        items,
        errors,
    }
}

/// A batch of artifacts (their places in mapping order), each mapped or not.
type MappedBatch = (Range<usize>, Vec<Result<Mapped, String>>);

/// Where the batch of artifacts starting at `start` ends: at least one artifact, then
/// as many as fit in `weight` (one plus its layers each).
fn batch_end(artifacts: &[Artifact], start: usize, weight: usize) -> usize {
    let mut total = 0;
    let mut end = start;
    for artifact in &artifacts[start..] {
        total += 1 + artifact.layers.len();
        if end > start && total > weight {
            break;
        }
        end += 1;
    }
    end
}

/// What the rule chain makes of one artifact.
struct Mapped {
    /// Its Items.
    drafts: Vec<Draft>,
    /// The Collection fields of its config, when that is a partition index.
    config_fields: Option<Map<String, Value>>,
}

/// One artifact through the rule chain.
fn map_artifact(artifact: &Artifact, options: &MappingOptions) -> Result<Mapped, String> {
    let mut ctx = Context::new(artifact, options);
    let mut mapped = map_by_rules(&mut ctx)?;
    referrers::attach(&ctx, &mut mapped.drafts);
    tar_members::attach(&ctx, &mut mapped.drafts);
    Ok(mapped)
}

/// The first of the mapping rules that applies to the artifact.
fn map_by_rules(ctx: &mut Context<'_>) -> Result<Mapped, String> {
    let artifact = ctx.artifact;
    let config = parse_config(artifact)?;
    if let Some(config) = &config {
        if let Some(mapped) = stac_config::map(ctx, config) {
            return mapped.map(|drafts| Mapped {
                drafts,
                config_fields: None,
            });
        }
        if let Some(mapped) = partition::map(ctx, config) {
            let config_fields = Some(collection::config_fields(config));
            return mapped.map(|drafts| Mapped {
                drafts,
                config_fields,
            });
        }
    }
    if let Some(mapped) = layer_item::map(ctx) {
        return mapped.map(|drafts| Mapped {
            drafts,
            config_fields: None,
        });
    }
    let draft = generic::map(ctx, config.as_ref())?;
    Ok(Mapped {
        drafts: vec![draft],
        config_fields: None,
    })
}

/// The config blob as JSON: `None` when absent, empty or not JSON by media type; an error
/// when a JSON media type holds something else.
fn parse_config(artifact: &Artifact) -> Result<Option<Value>, String> {
    let Some(blob) = artifact.config_blob.as_ref().filter(|b| !b.is_empty()) else {
        return Ok(None);
    };
    match serde_json::from_slice(blob) {
        Ok(value) => Ok(Some(value)),
        Err(e)
            if artifact
                .config
                .media_type
                .to_ascii_lowercase()
                .contains("json") =>
        {
            Err(format!("config: invalid JSON ({e})"))
        }
        Err(_) => Ok(None),
    }
}

/// Whether an artifact is only reachable through referrer fallback tags (a signature,
/// an SBOM…): never an Item of its own.
fn is_referrer(artifact: &Artifact) -> bool {
    !artifact.tags.is_empty() && artifact.tags.iter().all(|t| ids::is_referrer_tag(t))
}

#[cfg(test)]
mod tests;
