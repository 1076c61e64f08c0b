//! Which tags are crawled: include/exclude globs, and never the OCI 1.1 referrers
//! fallback tags (`sha256-<64 hex>`), which name referrer lists, not artifacts.

use crate::config::TagFilter;

/// Whether a tag is an OCI 1.1 referrers tag-schema fallback tag.
pub fn is_referrer_fallback_tag(tag: &str) -> bool {
    tag.strip_prefix("sha256-")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether the crawl maps artifacts under this tag.
pub fn is_crawled(filter: &TagFilter, tag: &str) -> bool {
    !is_referrer_fallback_tag(tag) && filter.include.is_match(tag) && !filter.exclude.is_match(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(include: &[&str], exclude: &[&str]) -> TagFilter {
        let set = |globs: &[&str]| {
            let mut b = globset::GlobSetBuilder::new();
            for g in globs {
                b.add(globset::Glob::new(g).unwrap());
            }
            b.build().unwrap()
        };
        TagFilter {
            include: set(include),
            exclude: set(exclude),
        }
    }

    #[test]
    fn skips_referrer_fallback_tags() {
        let f = filter(&["*"], &[]);
        let fallback = format!("sha256-{}", "ab".repeat(32));
        assert!(!is_crawled(&f, &fallback));
        assert!(is_crawled(&f, "sha256-notahash"));
        assert!(is_crawled(&f, "full"));
    }

    #[test]
    fn applies_include_and_exclude() {
        let f = filter(&["v*", "full"], &["*-rc*"]);
        assert!(is_crawled(&f, "v1.0"));
        assert!(is_crawled(&f, "full"));
        assert!(!is_crawled(&f, "v2.0-rc1"));
        assert!(!is_crawled(&f, "sample"));
    }
}
