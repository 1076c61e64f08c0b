//! The referrers of an artifact (signatures, SBOMs, attestations): through the OCI 1.1
//! referrers API where the registry has it, else through the `sha256-<hex>` fallback
//! tag (an image index listing them), which the tag listing already shows or not.
//! A referrer that cannot be read is logged and left out; its subject still maps.

use std::collections::BTreeSet;

use tracing::warn;

use super::{CrawlCache, Referrer, manifest};
use crate::source::{Descriptor, Manifest, Source};

/// Most referrers read per artifact.
const MAX_REFERRERS: usize = 32;

/// Finds referrers in one repository during one pass.
pub struct Lookup<'a> {
    source: &'a Source,
    cache: &'a CrawlCache,
    repository: &'a str,
    fallback_tags: BTreeSet<String>,
}

impl<'a> Lookup<'a> {
    /// A lookup for `repository`, whose tag listing held `fallback_tags`.
    pub fn new(
        source: &'a Source,
        cache: &'a CrawlCache,
        repository: &'a str,
        fallback_tags: BTreeSet<String>,
    ) -> Self {
        Lookup {
            source,
            cache,
            repository,
            fallback_tags,
        }
    }

    /// The referrers of the manifest `digest`, at most [`MAX_REFERRERS`].
    pub async fn find(&self, digest: &str) -> Vec<Referrer> {
        let mut descriptors = Vec::new();
        // Once the source says it has no referrers API, the pass stops asking; until it
        // has answered, one artifact at a time asks.
        if matches!(self.source, Source::Registry(_)) {
            let turn = self.cache.referrers_probe_turn().await;
            if self.cache.referrers_api_maybe() {
                match self.source.referrers(self.repository, digest).await {
                    Ok(Some(index)) => {
                        self.cache.set_referrers_api(true);
                        descriptors = index.manifests;
                    }
                    Ok(None) => self.cache.set_referrers_api(false),
                    Err(error) => {
                        // No sign the API is absent: the other artifacts ask it side by
                        // side rather than one after another.
                        self.cache.set_referrers_api(true);
                        warn!(repository = self.repository, %digest, %error, "referrers API failed")
                    }
                }
            }
            drop(turn);
        }
        let fallback = digest.replacen(':', "-", 1);
        if descriptors.is_empty() && self.fallback_tags.contains(&fallback) {
            descriptors = self.fallback(&fallback).await;
        }
        let mut referrers = Vec::new();
        for descriptor in descriptors.iter().take(MAX_REFERRERS) {
            match manifest(self.source, self.cache, self.repository, &descriptor.digest).await {
                Ok(fetched) => {
                    if let Manifest::Image(image) = fetched.manifest {
                        let artifact_type = descriptor
                            .artifact_type
                            .clone()
                            .or_else(|| image.artifact_type.clone())
                            .or_else(|| Some(image.config.media_type.clone()));
                        referrers.push(Referrer {
                            digest: fetched.digest,
                            artifact_type,
                            layers: image.layers,
                            annotations: image.annotations,
                        });
                    }
                }
                Err(error) => {
                    warn!(repository = self.repository, referrer = %descriptor.digest, %error, "referrer not read");
                }
            }
        }
        referrers
    }

    /// The descriptors listed by a fallback tag's image index.
    async fn fallback(&self, tag: &str) -> Vec<Descriptor> {
        let digest = match self.source.manifest_digest(self.repository, tag).await {
            Ok(digest) => digest,
            Err(error) => {
                warn!(repository = self.repository, %tag, %error, "referrers tag not read");
                return Vec::new();
            }
        };
        match manifest(self.source, self.cache, self.repository, &digest).await {
            Ok(fetched) => match fetched.manifest {
                Manifest::Index(index) => index.manifests,
                // Some tools tag a single referrer manifest directly.
                Manifest::Image(_) => vec![Descriptor {
                    media_type: fetched.media_type,
                    digest: fetched.digest,
                    size: 0,
                    annotations: Default::default(),
                    artifact_type: None,
                    platform: None,
                }],
            },
            Err(error) => {
                warn!(repository = self.repository, %tag, %error, "referrers index not read");
                Vec::new()
            }
        }
    }
}
