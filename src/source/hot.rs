//! A small cache of hot byte ranges of registry blobs, for clients: GDAL opening a COG
//! reads its first kilobytes (header and tile offsets) every time, and small tiles
//! again and again; those reads are answered here instead of by the registry. Content
//! is addressed by digest, so an entry never goes stale; the cache is bounded in bytes.

use bytes::Bytes;
use moka::sync::Cache;

use super::ByteRange;

/// Ranges up to this length are kept.
pub const MAX_HOT_RANGE: u64 = 64 * 1024;
/// Bytes kept in all.
const CAPACITY: u64 = 64 * 1024 * 1024;

/// Recently read small ranges by (digest, first byte, last byte).
pub struct HotRanges {
    cache: Cache<(String, u64, u64), Bytes>,
}

impl Default for HotRanges {
    fn default() -> Self {
        let cache = Cache::builder()
            .max_capacity(CAPACITY)
            .weigher(|key: &(String, u64, u64), value: &Bytes| {
                u32::try_from(key.0.len() + value.len()).unwrap_or(u32::MAX)
            })
            .build();
        HotRanges { cache }
    }
}

impl HotRanges {
    /// Whether a range is small enough to keep.
    pub fn keeps(range: ByteRange) -> bool {
        range.end.saturating_sub(range.start) < MAX_HOT_RANGE
    }

    /// The bytes of a range read before, if still kept.
    pub fn get(&self, digest: &str, range: ByteRange) -> Option<Bytes> {
        self.cache.get(&(digest.to_owned(), range.start, range.end))
    }

    /// Keeps the bytes of a range.
    pub fn insert(&self, digest: &str, range: ByteRange, bytes: Bytes) {
        self.cache
            .insert((digest.to_owned(), range.start, range.end), bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_small_ranges_by_digest_and_position() {
        let hot = HotRanges::default();
        let r = ByteRange {
            start: 0,
            end: 16_383,
        };
        assert!(HotRanges::keeps(r));
        assert!(!HotRanges::keeps(ByteRange {
            start: 0,
            end: MAX_HOT_RANGE
        }));
        assert!(hot.get("sha256:a", r).is_none());
        hot.insert("sha256:a", r, Bytes::from_static(b"header"));
        assert_eq!(hot.get("sha256:a", r).as_deref(), Some(&b"header"[..]));
        assert!(hot.get("sha256:b", r).is_none());
        assert!(
            hot.get(
                "sha256:a",
                ByteRange {
                    start: 1,
                    end: 16_383
                }
            )
            .is_none()
        );
    }
}
