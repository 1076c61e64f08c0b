//! Which tags are crawled: include/exclude globs, never referrer-fallback tags.
