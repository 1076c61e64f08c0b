//! Collection and Item ids, asset keys and file names: URL-safe and stable across recrawls.

/// The Collection id of a repository: its path with `/` replaced by `-`.
pub fn collection_id(repository: &str) -> String {
    sanitize(&repository.replace('/', "-")).unwrap_or_else(|| "repository".to_owned())
}

/// Replaces every character outside `[A-Za-z0-9._-]` with `_`; `None` when nothing usable
/// is left (empty, or only dots, which would read as a path segment).
pub fn sanitize(raw: &str) -> Option<String> {
    let clean: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    (!clean.is_empty() && !clean.chars().all(|c| c == '.')).then_some(clean)
}

/// The hex part of a digest (`sha256:abc…` → `abc…`), cut to at most `len` characters.
pub fn digest_hex(digest: &str, len: usize) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, hex)| hex);
    let clean: String = hex
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(len)
        .collect();
    if clean.is_empty() {
        "0".to_owned()
    } else {
        clean
    }
}

/// The id of an artifact known only by its manifest digest: `sha256-<first 16 hex>`.
pub fn digest_id(digest: &str) -> String {
    let algorithm = digest
        .split_once(':')
        .map_or("digest", |(algorithm, _)| algorithm);
    let algorithm = sanitize(algorithm).unwrap_or_else(|| "digest".to_owned());
    format!("{algorithm}-{}", digest_hex(digest, 16))
}

/// Whether a tag is an OCI 1.1 referrers fallback tag (`sha256-<hex>`, optionally with a
/// suffix such as cosign's `.sig`): never mapped as an Item.
pub fn is_referrer_tag(tag: &str) -> bool {
    tag.strip_prefix("sha256-").is_some_and(|rest| {
        let hex = rest.split('.').next().unwrap_or(rest);
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(collection_id("eo/pastis-2433"), "eo-pastis-2433");
        assert_eq!(sanitize(" a b/c?.tif "), Some("a_b_c_.tif".to_owned()));
        assert_eq!(sanitize(".."), None);
        assert_eq!(sanitize(""), None);
        assert_eq!(
            digest_id("sha256:0123456789abcdef0123"),
            "sha256-0123456789abcdef"
        );
        assert_eq!(digest_hex("sha256:abcdef", 3), "abc");
        assert!(is_referrer_tag(&format!("sha256-{}", "a".repeat(64))));
        assert!(is_referrer_tag(&format!("sha256-{}.sig", "a".repeat(64))));
        assert!(!is_referrer_tag("sha256-abc"));
        assert!(!is_referrer_tag("full"));
    }
}
