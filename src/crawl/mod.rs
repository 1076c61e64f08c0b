//! One crawl pass over a source: repositories → tags → manifests (and every child of an
//! image index) → configs, yielding [`Artifact`]s and named per-artifact errors.
//! No STAC, no server types.

mod artifact;
pub mod cache;
pub mod filter;
mod layer_members;
mod referrers;
pub mod status;

pub use artifact::{Artifact, Referrer};
pub use cache::CrawlCache;

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use futures::{StreamExt, stream};
use tracing::{Instrument, info_span, warn};

use crate::config::SourceSettings;
use crate::source::{Descriptor, FetchedManifest, Manifest, Source, SourceError};
use status::CrawlIssue;

/// Manifests fetched at once per repository.
const CONCURRENCY: usize = 8;
/// Repositories crawled at once (the registry client bounds the requests in flight).
const REPOSITORY_CONCURRENCY: usize = 4;
/// Deepest nesting of image indexes followed.
const MAX_INDEX_DEPTH: usize = 2;
/// Artifacts with more layers than this are a crawl error.
const MAX_LAYERS: usize = 10_000;
/// Most STAC-Item layers fetched per artifact.
const MAX_LAYER_DOCUMENTS: usize = 64;
/// Media type of the OCI empty descriptor's blob (`{}`).
const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";
/// Config media types that say nothing about the artifact's kind.
const GENERIC_CONFIG_TYPES: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
    EMPTY_CONFIG,
];
/// Layer annotation marking a layer as a STAC Item document.
pub const STAC_ITEM_LAYER_ANNOTATION: &str = "org.stacspec.item";

/// The result of one pass over one source.
#[derive(Debug, Default)]
pub struct CrawlPass {
    /// Artifacts of every repository crawled successfully (possibly none).
    pub repositories: BTreeMap<String, Vec<Artifact>>,
    /// Repositories whose tags could not be listed: their last good state is kept.
    /// (A repository that does not exist is in neither list: its Items go.)
    pub failed_repositories: Vec<String>,
    /// Named errors, per repository or artifact.
    pub issues: Vec<CrawlIssue>,
    /// Whether the source's repositories could not be listed at all.
    pub failed: bool,
}

impl CrawlPass {
    /// Number of artifacts found.
    pub fn artifact_count(&self) -> usize {
        self.repositories.values().map(Vec::len).sum()
    }
}

/// Crawls every configured repository of a source once. Tags are resolved to digests
/// with a manifest `HEAD`; manifests and configs already in `cache` are not fetched again.
pub async fn run(source: &Source, settings: &SourceSettings, cache: &CrawlCache) -> CrawlPass {
    let span = info_span!("crawl", source = %settings.name);
    async {
        let mut pass = CrawlPass::default();
        let repositories = match source.repositories().await {
            Ok(repositories) => repositories,
            Err(error) => {
                warn!(%error, "listing repositories failed");
                pass.failed = true;
                pass.issues.push(issue("*", None, &error));
                return pass;
            }
        };
        let registry = source.registry_name();
        let registry = registry.as_str();
        let crawled: Vec<(String, RepositoryCrawl)> = stream::iter(repositories)
            .map(|repository| async move {
                let result = crawl_repository(source, settings, cache, registry, &repository).await;
                (repository, result)
            })
            .buffer_unordered(REPOSITORY_CONCURRENCY)
            .collect()
            .await;
        for (repository, result) in crawled {
            match result {
                Ok((artifacts, issues)) => {
                    pass.issues.extend(issues);
                    pass.repositories.insert(repository, artifacts);
                }
                Err(error @ SourceError::NotFound { .. }) => {
                    // Gone from the registry: reported, and its Items go too.
                    pass.issues.push(issue(&repository, None, &error));
                }
                Err(error) => {
                    warn!(%repository, %error, "listing tags failed");
                    pass.issues.push(issue(&repository, None, &error));
                    pass.failed_repositories.push(repository);
                }
            }
        }
        cache.end_pass();
        pass
    }
    .instrument(span)
    .await
}

/// Crawls one repository of a source (after a registry event). A repository that no
/// longer exists is in neither `repositories` nor `failed_repositories` of the pass. The
/// cache keeps everything: only full passes prune it.
pub async fn run_repository(
    source: &Source,
    settings: &SourceSettings,
    cache: &CrawlCache,
    repository: &str,
) -> CrawlPass {
    let span = info_span!("crawl", source = %settings.name, %repository);
    async {
        let mut pass = CrawlPass::default();
        let registry = source.registry_name();
        match crawl_repository(source, settings, cache, &registry, repository).await {
            Ok((artifacts, issues)) => {
                pass.issues.extend(issues);
                pass.repositories.insert(repository.to_owned(), artifacts);
            }
            Err(SourceError::NotFound { .. }) => {}
            Err(error) => {
                warn!(%repository, %error, "listing tags failed");
                pass.issues.push(issue(repository, None, &error));
                pass.failed_repositories.push(repository.to_owned());
            }
        }
        pass
    }
    .instrument(span)
    .await
}

fn issue(repository: &str, reference: Option<&str>, error: &dyn std::fmt::Display) -> CrawlIssue {
    CrawlIssue {
        repository: repository.to_owned(),
        reference: reference.map(str::to_owned),
        error: error.to_string(),
    }
}

/// An image manifest reached from one or more tags.
struct Found {
    manifest: FetchedManifest,
    tags: BTreeSet<String>,
    index_digest: Option<String>,
    platform: Option<serde_json::Value>,
}

/// One repository's artifacts and named errors, or why its tags could not be listed.
type RepositoryCrawl = Result<(Vec<Artifact>, Vec<CrawlIssue>), SourceError>;

/// The image manifests a tagged digest leads to.
type Resolution = Result<Vec<Resolved>, SourceError>;

/// A manifest reached by resolving a tag: the image itself, or one child of an index.
struct Resolved {
    manifest: FetchedManifest,
    index_digest: Option<String>,
    platform: Option<serde_json::Value>,
}

async fn crawl_repository(
    source: &Source,
    settings: &SourceSettings,
    cache: &CrawlCache,
    registry: &str,
    repository: &str,
) -> RepositoryCrawl {
    let all_tags = source.tags(repository).await?;
    let fallback_tags: BTreeSet<String> = all_tags
        .iter()
        .filter(|tag| filter::is_referrer_fallback_tag(tag))
        .cloned()
        .collect();
    let tags: Vec<String> = all_tags
        .into_iter()
        .filter(|tag| filter::is_crawled(&settings.tags, tag))
        .collect();
    // Tags → digests with one manifest HEAD each; then each distinct digest is resolved
    // once, however many tags point to it.
    let digests: Vec<(String, Result<String, SourceError>)> = stream::iter(tags)
        .map(|tag| async move {
            let digest = source.manifest_digest(repository, &tag).await;
            (tag, digest)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut issues = Vec::new();
    let mut tags_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (tag, digest) in digests {
        match digest {
            Ok(digest) => {
                tags_of.entry(digest).or_default().insert(tag);
            }
            Err(error) => issues.push(issue(repository, Some(&tag), &error)),
        }
    }
    let resolved: Vec<(BTreeSet<String>, Resolution)> = stream::iter(tags_of)
        .map(|(digest, tags)| async move {
            let result = resolve_digest(source, cache, repository, &digest).await;
            (tags, result)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    for (tags, result) in resolved {
        match result {
            Ok(manifests) => {
                for r in manifests {
                    found
                        .entry(r.manifest.digest.clone())
                        .or_insert_with(|| Found {
                            manifest: r.manifest,
                            tags: BTreeSet::new(),
                            index_digest: r.index_digest,
                            platform: r.platform,
                        })
                        .tags
                        .extend(tags.iter().cloned());
                }
            }
            Err(error) => {
                let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
                issues.push(issue(repository, Some(&tags.join(",")), &error));
            }
        }
    }

    let lookup = referrers::Lookup::new(source, cache, repository, fallback_tags);
    let artifacts: Vec<Result<Artifact, CrawlIssue>> = stream::iter(found.into_values())
        .map(|f| build_artifact(source, settings, cache, &lookup, registry, repository, f))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut out = Vec::new();
    for artifact in artifacts {
        match artifact {
            Ok(a) => out.push(a),
            Err(i) => issues.push(i),
        }
    }
    out.sort_by(|a, b| a.digest.cmp(&b.digest));
    Ok((out, issues))
}

/// Resolves a tagged digest to its image manifests, following image indexes to every child.
async fn resolve_digest(
    source: &Source,
    cache: &CrawlCache,
    repository: &str,
    digest: &str,
) -> Result<Vec<Resolved>, SourceError> {
    let top = manifest(source, cache, repository, digest).await?;
    let mut out = Vec::new();
    let mut pending = vec![(top, None::<String>, None::<serde_json::Value>, 0usize)];
    while let Some((fetched, index_digest, platform, depth)) = pending.pop() {
        match &fetched.manifest {
            Manifest::Image(_) => out.push(Resolved {
                manifest: fetched,
                index_digest,
                platform,
            }),
            Manifest::Index(index) if depth < MAX_INDEX_DEPTH => {
                for child in &index.manifests {
                    let child_manifest = manifest(source, cache, repository, &child.digest).await?;
                    let platform = child.platform.clone();
                    pending.push((
                        child_manifest,
                        Some(fetched.digest.clone()),
                        platform,
                        depth + 1,
                    ));
                }
            }
            Manifest::Index(_) => {
                return Err(SourceError::InvalidManifest {
                    repository: repository.to_owned(),
                    reference: fetched.digest.clone(),
                    reason: format!("image indexes nested deeper than {MAX_INDEX_DEPTH} levels"),
                });
            }
        }
    }
    Ok(out)
}

/// A manifest by digest, from the cache or else fetched (digest-verified) and cached.
/// A layout's manifests are read again each pass, not cached: they are local files.
pub(crate) async fn manifest(
    source: &Source,
    cache: &CrawlCache,
    repository: &str,
    digest: &str,
) -> Result<FetchedManifest, SourceError> {
    if source.is_local() {
        return source.manifest(repository, digest).await;
    }
    if let Some(cached) = cache.manifest(digest) {
        return Ok(cached);
    }
    let fetched = source.manifest(repository, digest).await?;
    cache.insert_manifest(&fetched);
    Ok(fetched)
}

/// A small blob by digest, from the cache or else fetched (capped, digest-verified) and
/// cached; a layout's blobs are read again each pass, like its manifests.
async fn small_blob(
    source: &Source,
    cache: &CrawlCache,
    repository: &str,
    digest: &str,
    limit: u64,
) -> Result<Bytes, SourceError> {
    if source.is_local() {
        return source.blob(repository, digest, limit).await;
    }
    if let Some(cached) = cache.blob(digest) {
        return Ok(cached);
    }
    let blob = source.blob(repository, digest, limit).await?;
    cache.insert_blob(digest, blob.clone());
    Ok(blob)
}

/// Fetches what mapping needs of one manifest: its config and any STAC-Item layers.
async fn build_artifact(
    source: &Source,
    settings: &SourceSettings,
    cache: &CrawlCache,
    lookup: &referrers::Lookup<'_>,
    registry: &str,
    repository: &str,
    found: Found,
) -> Result<Artifact, CrawlIssue> {
    let Manifest::Image(image) = found.manifest.manifest else {
        return Err(issue(
            repository,
            Some(&found.manifest.digest),
            &"not an image manifest",
        ));
    };
    let digest = found.manifest.digest;
    let fail = |error: &dyn std::fmt::Display| issue(repository, Some(&digest), error);
    if image.layers.len() > MAX_LAYERS {
        return Err(fail(&format!(
            "{} layers, over the {MAX_LAYERS}-layer limit",
            image.layers.len()
        )));
    }
    let config_blob = if image.config.media_type == EMPTY_CONFIG || image.config.size <= 2 {
        None
    } else if image.config.size > settings.max_config_bytes {
        return Err(fail(&format!(
            "config blob {} is {} bytes, over the {}-byte limit",
            image.config.digest, image.config.size, settings.max_config_bytes
        )));
    } else {
        let limit = settings.max_config_bytes;
        let blob = small_blob(source, cache, repository, &image.config.digest, limit)
            .await
            .map_err(|e| fail(&e))?;
        Some(blob)
    };
    let mut layer_documents: BTreeMap<String, Bytes> = BTreeMap::new();
    for layer in image
        .layers
        .iter()
        .filter(|l| is_stac_item_layer(l))
        .take(MAX_LAYER_DOCUMENTS)
    {
        if layer.size > settings.max_config_bytes {
            return Err(fail(&format!(
                "STAC Item layer {} is {} bytes, over the {}-byte limit",
                layer.digest, layer.size, settings.max_config_bytes
            )));
        }
        let limit = settings.max_config_bytes;
        let blob = small_blob(source, cache, repository, &layer.digest, limit)
            .await
            .map_err(|e| fail(&e))?;
        layer_documents.insert(layer.digest.clone(), blob);
    }
    let artifact_type = image.artifact_type.clone().or_else(|| {
        (!GENERIC_CONFIG_TYPES.contains(&image.config.media_type.as_str()))
            .then(|| image.config.media_type.clone())
    });
    let layer_members = layer_members::index_layers(source, cache, repository, &image.layers).await;
    Ok(Artifact {
        source: settings.name.clone(),
        registry: registry.to_owned(),
        repository: repository.to_owned(),
        tags: found.tags.into_iter().collect(),
        digest: digest.clone(),
        media_type: found.manifest.media_type,
        artifact_type,
        config: image.config,
        config_blob,
        layers: image.layers,
        layer_documents,
        annotations: image.annotations,
        index_digest: found.index_digest,
        platform: found.platform,
        referrers: lookup.find(&digest).await,
        layer_members,
    })
}

/// Whether a layer holds a STAC Item document (by media type or annotation).
fn is_stac_item_layer(layer: &Descriptor) -> bool {
    matches!(
        layer.media_type_essence(),
        "application/geo+json" | "application/vnd.stac.item+json"
    ) || layer.annotations.contains_key(STAC_ITEM_LAYER_ANNOTATION)
}
