//! Counts of the requests the gateway makes to a registry, by kind and status, for
//! `/status`, `/metrics` and tests that check what a crawl cost.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// What a registry request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RequestKind {
    /// `GET /v2/<name>/tags/list`.
    Tags,
    /// `GET /v2/_catalog`.
    Catalog,
    /// `HEAD /v2/<name>/manifests/<tag>`.
    ManifestHead,
    /// `GET /v2/<name>/manifests/<reference>`.
    ManifestGet,
    /// `GET /v2/<name>/blobs/<digest>` (configs during crawls, assets for clients).
    Blob,
    /// `GET /v2/<name>/referrers/<digest>`.
    Referrers,
}

impl RequestKind {
    /// A short label: `tags`, `catalog`, `manifest_head`, `manifest_get`, `blob`, `referrers`.
    pub fn label(self) -> &'static str {
        match self {
            RequestKind::Tags => "tags",
            RequestKind::Catalog => "catalog",
            RequestKind::ManifestHead => "manifest_head",
            RequestKind::ManifestGet => "manifest_get",
            RequestKind::Blob => "blob",
            RequestKind::Referrers => "referrers",
        }
    }
}

/// Request counts by (kind, HTTP status); status 0 means no response (connection error).
#[derive(Debug, Default)]
pub struct RegistryMetrics {
    counts: Mutex<BTreeMap<(RequestKind, u16), u64>>,
    blob_bytes: std::sync::atomic::AtomicU64,
}

impl RegistryMetrics {
    /// Counts one response (or failure, as status 0).
    pub fn record(&self, kind: RequestKind, status: u16) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry((kind, status)).or_default() += 1;
    }

    /// Every (kind, status, count) so far.
    pub fn snapshot(&self) -> Vec<(RequestKind, u16, u64)> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .iter()
            .map(|(&(kind, status), &n)| (kind, status, n))
            .collect()
    }

    /// Counts blob body bytes received from the registry.
    pub fn add_blob_bytes(&self, n: u64) {
        self.blob_bytes
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Blob body bytes received so far (configs and assets).
    pub fn blob_bytes(&self) -> u64 {
        self.blob_bytes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Requests of one kind so far, whatever their status.
    pub fn total(&self, kind: RequestKind) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(k, _, _)| *k == kind)
            .map(|(_, _, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_status() {
        let m = RegistryMetrics::default();
        m.record(RequestKind::ManifestHead, 200);
        m.record(RequestKind::ManifestHead, 200);
        m.record(RequestKind::Blob, 404);
        assert_eq!(m.total(RequestKind::ManifestHead), 2);
        assert_eq!(m.total(RequestKind::ManifestGet), 0);
        assert_eq!(
            m.snapshot(),
            [
                (RequestKind::ManifestHead, 200, 2),
                (RequestKind::Blob, 404, 1)
            ]
        );
    }
}
