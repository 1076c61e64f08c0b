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
mod draft;
mod generic;
mod geometry;
mod ids;
mod layer_item;
mod partition;
mod provenance;
mod referrers;
mod stac_config;
mod tar_members;
mod time;
mod versions;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};

use self::draft::{Context, Draft};

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
    /// Name of the configured source holding the blob.
    pub source: String,
    /// Repository holding the blob.
    pub repository: String,
    /// `sha256:…`.
    pub digest: String,
    /// Size in bytes of what the asset serves (the blob, or one member of it).
    pub size: u64,
    /// Media type, served as `Content-Type`.
    pub media_type: String,
    /// The file name the href ends with (URL-safe).
    pub file_name: String,
    /// For a file inside a tar layer: which, and where its bytes start in the blob.
    pub member: Option<TarMember>,
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
    /// Collection id.
    pub collection: String,
    /// Item id, unique in its collection, URL-safe, stable across recrawls.
    pub id: String,
    /// The STAC Item JSON without `links`; each asset's `href` is the relative path
    /// `collections/{collection}/items/{id}/assets/{key}/{file_name}`.
    pub item: serde_json::Map<String, serde_json::Value>,
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
pub struct MappedRepository {
    /// The repository's Collection.
    pub collection: MappedCollection,
    /// Its Items, one per artifact or partition, deduplicated.
    pub items: Vec<MappedItem>,
    /// Artifacts that could not be mapped.
    pub errors: Vec<MappingError>,
}

use crate::crawl::Artifact;

/// Maps every artifact of one repository (all its tags) to a Collection and Items.
#[tracing::instrument(skip_all, fields(repository))]
pub fn map_repository(
    repository: &str,
    artifacts: &[Artifact],
    options: &MappingOptions,
) -> MappedRepository {
    let collection_id = ids::collection_id(repository);
    let mut ordered: Vec<&Artifact> = artifacts.iter().filter(|a| !is_referrer(a)).collect();
    ordered.sort_by(|a, b| {
        let bytes = |a: &Artifact| a.layers.iter().map(|l| l.size).sum::<u64>();
        bytes(b)
            .cmp(&bytes(a))
            .then_with(|| b.layers.len().cmp(&a.layers.len()))
            .then_with(|| a.digest.cmp(&b.digest))
    });

    let mut drafts: Vec<Draft> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut configs = Vec::new();
    let mut errors = Vec::new();
    let results = crate::parallel::map(ordered.clone(), |a| map_artifact(a, options));
    for (artifact, result) in ordered.iter().zip(results) {
        match result {
            Ok(Mapped {
                drafts: mapped,
                config_fields,
            }) => {
                configs.extend(config_fields);
                for draft in mapped {
                    match by_key.get(&draft.key) {
                        Some(&i) => drafts[i].tags.extend(draft.tags),
                        None => {
                            by_key.insert(draft.key.clone(), drafts.len());
                            drafts.push(draft);
                        }
                    }
                }
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

    let mut extent = collection::Extent::default();
    for draft in &drafts {
        extent.add(draft.bbox, draft.time.interval());
    }
    let collection = collection::build(&collection_id, repository, &ordered, &configs, &extent);
    let versions = versions::versions_of(&drafts);
    let mut used = HashSet::with_capacity(drafts.len());
    let named: Vec<(Draft, String)> = drafts
        .into_iter()
        .map(|draft| {
            let id = unique_id(&draft, &mut used);
            (draft, id)
        })
        .collect();
    let mut items: Vec<MappedItem> =
        crate::parallel::map(named, |(draft, id)| draft.finish(&collection_id, id));
    versions::apply(&mut items, &versions);
    MappedRepository {
        collection,
        items,
        errors,
    }
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

/// The draft's preferred id, or, when taken, one suffixed with its digest's hex.
fn unique_id(draft: &Draft, used: &mut HashSet<String>) -> String {
    if used.insert(draft.id.clone()) {
        return draft.id.clone();
    }
    let base = format!("{}-{}", draft.id, ids::digest_hex(&draft.unique, 12));
    let mut id = base.clone();
    let mut n = 2;
    while !used.insert(id.clone()) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

#[cfg(test)]
mod tests;
