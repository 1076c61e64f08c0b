//! Pure `Range` / `If-Range` / `If-None-Match` decisions (RFC 9110 §13, §14).
//!
//! [`decide`] looks only at the request method, its headers, and the blob's size and
//! strong ETag; it does no I/O. The conditionals are evaluated in the order of
//! RFC 9110 §13.2.2: `If-None-Match` first, then `If-Range` together with `Range`.
//! `If-Match`, `If-Unmodified-Since` and `If-Modified-Since` are not evaluated: the
//! gateway sends no `Last-Modified`, and content addressed by digest never changes.

use axum::http::{HeaderMap, Method, header};

use crate::source::ByteRange;

/// What to answer for a request on a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `200` with the whole body: no `Range`, a method without range handling, or an
    /// `If-Range` that does not match.
    Full,
    /// `200` with the whole body because the `Range` field was malformed, asked for
    /// several ranges, or used another unit; RFC 9110 §14.2 lets a server ignore it.
    Ignored,
    /// `206` with exactly these bytes.
    Partial(ByteRange),
    /// `416` with `Content-Range: bytes */size`.
    NotSatisfiable,
    /// `304`: the client already holds this representation.
    NotModified,
}

/// Decides how to answer `method` with `headers` for a blob of `size` bytes whose
/// strong entity tag is `etag` (with its quotes, e.g. `"sha256:…"`).
pub fn decide(method: &Method, headers: &HeaderMap, size: u64, etag: &str) -> Decision {
    // RFC 9110 §13.1.2: "the origin server MUST NOT perform the requested method if
    // the condition evaluates to false; instead, [for GET or HEAD it] SHOULD respond
    // with the 304 (Not Modified) status code". The condition is false when any
    // listed tag matches by weak comparison, or the list is "*".
    if let Some(list) = joined(headers, &header::IF_NONE_MATCH)
        && (method == Method::GET || method == Method::HEAD)
        && none_match_fails(&list, etag)
    {
        return Decision::NotModified;
    }
    // RFC 9110 §14.2: "A server MUST ignore a Range header field received with a
    // request method that is unrecognized or for which range handling is not defined.
    // For this specification, GET is the only method for which range handling is
    // defined."
    if method != Method::GET {
        return Decision::Full;
    }
    let mut ranges = headers.get_all(header::RANGE).iter();
    let Some(range) = ranges.next() else {
        // RFC 9110 §13.1.5: "A server MUST ignore an If-Range header field received in
        // a request that does not contain a Range header field."
        return Decision::Full;
    };
    if ranges.next().is_some() {
        // Range is a singleton field; two of them are not a valid ranges-specifier.
        return Decision::Ignored;
    }
    // RFC 9110 §13.1.5: "If the validator given in the If-Range header field matches
    // the current validator for the selected representation of the target resource,
    // then the server SHOULD process the Range header field as requested. If the
    // validator does not match, then the server MUST ignore the Range header field."
    // Matching uses the strong comparison; an HTTP-date never matches, since we send
    // no Last-Modified.
    if let Some(if_range) = headers.get(header::IF_RANGE) {
        let matches = if_range
            .to_str()
            .is_ok_and(|v| v.trim() == etag && !etag.starts_with("W/"));
        if !matches {
            return Decision::Full;
        }
    }
    match range.to_str().ok().and_then(parse_single) {
        None => Decision::Ignored,
        Some(spec) => resolve(spec, size),
    }
}

/// One `bytes` range-spec as written (RFC 9110 §14.1.1), before the size is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// `first-` or `first-last`.
    Int { first: u64, last: Option<u64> },
    /// `-suffix`: the last `suffix` bytes.
    Suffix(u64),
}

/// Parses `bytes=<one range-spec>`; `None` when the field is malformed, uses another
/// unit, or lists several ranges (which we ignore rather than answer as multipart).
fn parse_single(field: &str) -> Option<Spec> {
    let (unit, set) = field.trim().split_once('=')?;
    // RFC 9110 §14.1: "Range unit names are case-insensitive".
    if !unit.trim_end().eq_ignore_ascii_case("bytes") {
        return None;
    }
    // RFC 9110 §5.6.1: a list may hold empty elements and optional whitespace around
    // its commas, and recipients must accept them.
    let mut specs = set.split(',').map(str::trim).filter(|s| !s.is_empty());
    let spec = specs.next()?;
    if specs.next().is_some() {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    if first.is_empty() {
        return Some(Spec::Suffix(digits(last)?));
    }
    let first = digits(first)?;
    let last = if last.is_empty() {
        None
    } else {
        Some(digits(last)?)
    };
    // RFC 9110 §14.1.1: "A range-spec is invalid if the last-pos value is present and
    // less than the first-pos."
    if last.is_some_and(|l| l < first) {
        return None;
    }
    Some(Spec::Int { first, last })
}

/// `1*DIGIT` as a number, saturating at `u64::MAX` (a larger position is past any
/// blob, which is what it means).
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// Resolves a range-spec against the blob's size.
fn resolve(spec: Spec, size: u64) -> Decision {
    // RFC 9110 §14.1.1: a range-spec is satisfiable if it is "an int-range with a
    // first-pos that is less than the current length of the selected representation
    // or a suffix-range with a non-zero suffix-length".
    match spec {
        Spec::Int { first, .. } if first >= size => Decision::NotSatisfiable,
        // "If the last-pos value is absent, or if the value is greater than or equal to
        // the current length of the representation data, the byte range is interpreted
        // as the remainder of the representation".
        Spec::Int { first, last } => Decision::Partial(ByteRange {
            start: first,
            end: last.map_or(size - 1, |l| l.min(size - 1)),
        }),
        Spec::Suffix(0) => Decision::NotSatisfiable,
        // A suffix of an empty blob is satisfiable but holds no bytes, and
        // `Content-Range` cannot express an empty range: send the (empty) whole body.
        Spec::Suffix(_) if size == 0 => Decision::Ignored,
        // "If the selected representation is shorter than the specified suffix-length,
        // the entire representation is used."
        Spec::Suffix(n) => Decision::Partial(ByteRange {
            start: size.saturating_sub(n),
            end: size - 1,
        }),
    }
}

/// Whether an `If-None-Match` list names `etag` (weak comparison) or is `*`.
fn none_match_fails(list: &str, etag: &str) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let ours = opaque(etag);
    entity_tags(list).any(|tag| Some(tag) == ours)
}

/// The opaque-tag of an entity-tag (with quotes, without any `W/`): weak comparison
/// (RFC 9110 §8.8.3.2) compares only these.
fn opaque(tag: &str) -> Option<&str> {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    (tag.len() >= 2 && tag.starts_with('"') && tag.ends_with('"')).then_some(tag)
}

/// The opaque-tags of a comma-separated entity-tag list; commas may appear inside
/// the quotes (`etagc` allows them), so this scans rather than splits.
fn entity_tags(list: &str) -> impl Iterator<Item = &str> {
    let mut rest = list;
    std::iter::from_fn(move || {
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                return None;
            }
            let body = rest.strip_prefix("W/").unwrap_or(rest);
            let Some(after_quote) = body.strip_prefix('"') else {
                // Not an entity-tag: skip to the next comma.
                rest = rest.find(',').map_or("", |i| &rest[i..]);
                continue;
            };
            let Some(close) = after_quote.find('"') else {
                rest = "";
                return None;
            };
            let tag = &body[..close + 2];
            rest = &after_quote[close + 1..];
            return Some(tag);
        }
    })
}

/// All values of a (list-valued) header joined with commas, if present and ASCII.
fn joined(headers: &HeaderMap, name: &header::HeaderName) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &str = "\"sha256:abc\"";

    fn with(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn get(range: &str, size: u64) -> Decision {
        decide(&Method::GET, &with(&[("range", range)]), size, ETAG)
    }

    fn part(start: u64, end: u64) -> Decision {
        Decision::Partial(ByteRange { start, end })
    }

    #[test]
    fn no_range_is_full() {
        assert_eq!(
            decide(&Method::GET, &HeaderMap::new(), 10, ETAG),
            Decision::Full
        );
    }

    #[test]
    fn int_ranges() {
        assert_eq!(get("bytes=0-0", 10), part(0, 0));
        assert_eq!(get("bytes=2-5", 10), part(2, 5));
        assert_eq!(get("bytes=9-9", 10), part(9, 9));
        assert_eq!(get("bytes=3-", 10), part(3, 9));
        // last-pos past the end is clamped to size - 1.
        assert_eq!(get("bytes=4-1000", 10), part(4, 9));
        assert_eq!(get("bytes=0-99999999999999999999999", 10), part(0, 9));
    }

    #[test]
    fn suffix_ranges() {
        assert_eq!(get("bytes=-3", 10), part(7, 9));
        assert_eq!(get("bytes=-10", 10), part(0, 9));
        assert_eq!(get("bytes=-50", 10), part(0, 9));
        assert_eq!(get("bytes=-0", 10), Decision::NotSatisfiable);
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(get("bytes=10-", 10), Decision::NotSatisfiable);
        assert_eq!(get("bytes=10-20", 10), Decision::NotSatisfiable);
        assert_eq!(
            get("bytes=99999999999999999999999-", 10),
            Decision::NotSatisfiable
        );
    }

    #[test]
    fn zero_size_blob() {
        assert_eq!(get("bytes=0-0", 0), Decision::NotSatisfiable);
        assert_eq!(get("bytes=0-", 0), Decision::NotSatisfiable);
        assert_eq!(get("bytes=-0", 0), Decision::NotSatisfiable);
        assert_eq!(get("bytes=-5", 0), Decision::Ignored);
        assert_eq!(
            decide(&Method::GET, &HeaderMap::new(), 0, ETAG),
            Decision::Full
        );
    }

    #[test]
    fn malformed_or_multi_is_ignored() {
        for bad in [
            "bytes=5-2",
            "bytes=1-2,4-5",
            "items=0-1",
            "bytes 0-1",
            "bytes=",
            "bytes=-",
            "bytes=a-b",
            "bytes=1",
            "bytes=+1-2",
            "bytes=1--2",
            "bytes=0x1-2",
        ] {
            assert_eq!(get(bad, 10), Decision::Ignored, "{bad}");
        }
        let two = with(&[("range", "bytes=0-1"), ("range", "bytes=2-3")]);
        assert_eq!(decide(&Method::GET, &two, 10, ETAG), Decision::Ignored);
    }

    #[test]
    fn whitespace_and_case() {
        assert_eq!(get(" bytes=1-2 ", 10), part(1, 2));
        assert_eq!(get("BYTES=1-2", 10), part(1, 2));
        assert_eq!(get("bytes= 1-2", 10), part(1, 2));
        assert_eq!(get("bytes=1-2, ", 10), part(1, 2));
        assert_eq!(get("bytes=, 1-2", 10), part(1, 2));
        // Whitespace inside a range-spec is not allowed by its grammar.
        assert_eq!(get("bytes=1 - 2", 10), Decision::Ignored);
    }

    #[test]
    fn head_ignores_range() {
        let h = with(&[("range", "bytes=0-1")]);
        assert_eq!(decide(&Method::HEAD, &h, 10, ETAG), Decision::Full);
    }

    #[test]
    fn if_range() {
        let ok = with(&[("range", "bytes=0-1"), ("if-range", ETAG)]);
        assert_eq!(decide(&Method::GET, &ok, 10, ETAG), part(0, 1));
        for other in [
            "\"sha256:other\"",
            "W/\"sha256:abc\"",
            "Sat, 01 Jan 2000 00:00:00 GMT",
        ] {
            let h = with(&[("range", "bytes=0-1"), ("if-range", other)]);
            assert_eq!(
                decide(&Method::GET, &h, 10, ETAG),
                Decision::Full,
                "{other}"
            );
        }
        // If-Range without Range changes nothing.
        let lone = with(&[("if-range", "\"sha256:other\"")]);
        assert_eq!(decide(&Method::GET, &lone, 10, ETAG), Decision::Full);
    }

    #[test]
    fn if_none_match() {
        for list in [
            ETAG,
            "*",
            "W/\"sha256:abc\"",
            "\"x\", \"sha256:abc\"",
            "\"a,b\",\"sha256:abc\"",
        ] {
            let h = with(&[("if-none-match", list), ("range", "bytes=0-1")]);
            assert_eq!(
                decide(&Method::GET, &h, 10, ETAG),
                Decision::NotModified,
                "{list}"
            );
            assert_eq!(
                decide(&Method::HEAD, &h, 10, ETAG),
                Decision::NotModified,
                "{list}"
            );
        }
        for list in ["\"sha256:abcd\"", "sha256:abc", "\"a,\"sha256:abc\"", ""] {
            let h = with(&[("if-none-match", list)]);
            assert_eq!(decide(&Method::GET, &h, 10, ETAG), Decision::Full, "{list}");
        }
        let split = with(&[("if-none-match", "\"x\""), ("if-none-match", ETAG)]);
        assert_eq!(
            decide(&Method::GET, &split, 10, ETAG),
            Decision::NotModified
        );
    }
}
