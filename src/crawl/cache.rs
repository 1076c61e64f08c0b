//! What one crawl pass over a registry keeps for the next: manifests (as fetched, parsed
//! again when reached) and small blobs (configs, STAC Item layers) by digest, and tar
//! layers' member indexes. Content addressed, so an entry never goes stale; entries not
//! reached during a pass are dropped when it ends.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use bytes::Bytes;

use crate::members::LayerIndex;
use crate::source::FetchedManifest;

/// Manifests and small blobs by digest, shared by the tasks of a pass.
#[derive(Default)]
pub struct CrawlCache {
    entries: Mutex<Entries>,
    /// Whether the source offers the referrers API, as learnt during this pass.
    referrers_api: AtomicU8,
    /// Held by the one artifact asking the referrers API while the pass has no answer.
    referrers_probe: tokio::sync::Mutex<()>,
}

/// What a pass knows of the referrers API.
const UNKNOWN: u8 = 0;
const OFFERED: u8 = 1;
const ABSENT: u8 = 2;

#[derive(Default)]
struct Entries {
    /// Each manifest's media type and bytes: parsed, a manifest of many layers takes
    /// several times its bytes.
    manifests: HashMap<String, (String, Bytes)>,
    blobs: HashMap<String, Bytes>,
    /// Member indexes of tar layers, or why a layer is not a readable tar.
    members: HashMap<String, Result<LayerIndex, String>>,
    /// Digests reached during the current pass.
    used: HashSet<String>,
}

impl CrawlCache {
    /// The manifest with this digest, if an earlier fetch stored it.
    pub fn manifest(&self, digest: &str) -> Option<FetchedManifest> {
        let found = {
            let mut entries = self.lock();
            entries.used.insert(digest.to_owned());
            entries.manifests.get(digest).cloned()
        };
        let (media_type, bytes) = found?;
        FetchedManifest::parse(digest.to_owned(), bytes, Some(&media_type)).ok()
    }

    /// Stores a fetched (digest-verified) manifest.
    pub fn insert_manifest(&self, manifest: &FetchedManifest) {
        let mut entries = self.lock();
        entries.used.insert(manifest.digest.clone());
        let kept = (manifest.media_type.clone(), manifest.bytes.clone());
        entries.manifests.insert(manifest.digest.clone(), kept);
    }

    /// The blob with this digest, if an earlier fetch stored it.
    pub fn blob(&self, digest: &str) -> Option<Bytes> {
        let mut entries = self.lock();
        let found = entries.blobs.get(digest).cloned();
        entries.used.insert(digest.to_owned());
        found
    }

    /// Stores a fetched (digest-verified) blob.
    pub fn insert_blob(&self, digest: &str, bytes: Bytes) {
        let mut entries = self.lock();
        entries.used.insert(digest.to_owned());
        entries.blobs.insert(digest.to_owned(), bytes);
    }

    /// The member index of a tar layer, if an earlier pass built it.
    pub fn members(&self, digest: &str) -> Option<Result<LayerIndex, String>> {
        let mut entries = self.lock();
        let found = entries.members.get(digest).cloned();
        entries.used.insert(digest.to_owned());
        found
    }

    /// Stores a layer's member index (or the reason it has none).
    pub fn insert_members(&self, digest: &str, members: Result<LayerIndex, String>) {
        let mut entries = self.lock();
        entries.used.insert(digest.to_owned());
        entries.members.insert(digest.to_owned(), members);
    }

    /// Whether the referrers API is worth asking: `false` once the source said it has
    /// none during this pass.
    pub fn referrers_api_maybe(&self) -> bool {
        self.referrers_api.load(Ordering::Relaxed) != ABSENT
    }

    /// While the pass has no answer about the referrers API, waits for the turn to ask it
    /// and returns the turn, to hold until the answer is recorded: the artifacts of a pass
    /// start side by side, and would otherwise all ask before the first answer. `None`
    /// once the pass has an answer.
    pub async fn referrers_probe_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        let unknown = || self.referrers_api.load(Ordering::Relaxed) == UNKNOWN;
        if !unknown() {
            return None;
        }
        let turn = self.referrers_probe.lock().await;
        unknown().then_some(turn)
    }

    /// Records whether the source answered the referrers API.
    pub fn set_referrers_api(&self, offered: bool) {
        self.referrers_api
            .store(if offered { OFFERED } else { ABSENT }, Ordering::Relaxed);
    }

    /// Ends a pass: drops what it did not reach, so the cache holds only what is served,
    /// and forgets what it learnt of the referrers API (asked again once next pass).
    pub fn end_pass(&self) {
        self.referrers_api.store(UNKNOWN, Ordering::Relaxed);
        let mut entries = self.lock();
        let used = std::mem::take(&mut entries.used);
        entries.manifests.retain(|digest, _| used.contains(digest));
        entries.blobs.retain(|digest, _| used.contains(digest));
        entries.members.retain(|digest, _| used.contains(digest));
    }

    /// Numbers of cached manifests and blobs.
    pub fn len(&self) -> (usize, usize) {
        let entries = self.lock();
        (entries.manifests.len(), entries.blobs.len())
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Manifest;

    fn manifest(digest: &str) -> FetchedManifest {
        let bytes = Bytes::from_static(br#"{"schemaVersion":2,"manifests":[]}"#);
        FetchedManifest::parse(digest.to_owned(), bytes, None).unwrap()
    }

    #[test]
    fn keeps_what_the_last_pass_reached() {
        let cache = CrawlCache::default();
        cache.insert_manifest(&manifest("sha256:a"));
        cache.insert_manifest(&manifest("sha256:b"));
        cache.insert_blob("sha256:c", Bytes::from_static(b"{}"));
        cache.end_pass();
        assert_eq!(cache.len(), (2, 1));
        // The next pass reaches only a and c.
        let a = cache.manifest("sha256:a").unwrap();
        assert_eq!(a.digest, "sha256:a");
        assert_eq!(a.media_type, crate::source::manifest::OCI_INDEX);
        assert!(matches!(a.manifest, Manifest::Index(ref index) if index.manifests.is_empty()));
        assert_eq!(cache.blob("sha256:c").as_deref(), Some(&b"{}"[..]));
        cache.end_pass();
        assert_eq!(cache.len(), (1, 1));
        assert!(cache.manifest("sha256:b").is_none());
        cache.end_pass();
        assert!(cache.is_empty());
    }
}
