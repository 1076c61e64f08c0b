//! The base URL of every href, and link objects built on it.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::HOST;
use axum::http::request::Parts;
use serde_json::{Value, json};
use url::Url;

use super::state::AppState;

/// Media type of JSON documents.
pub const JSON: &str = "application/json";
/// Media type of Items and ItemCollections.
pub const GEO_JSON: &str = "application/geo+json";

/// The base URL hrefs start with, without a trailing slash: the configured public URL,
/// else `http://{Host}`, else `http://localhost`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base(pub String);

impl Base {
    /// Chooses the base for a request.
    pub fn resolve(public_url: Option<&Url>, headers: &HeaderMap) -> Base {
        if let Some(url) = public_url {
            return Base(url.as_str().trim_end_matches('/').to_string());
        }
        let host = headers
            .get(HOST)
            .and_then(|host| host.to_str().ok())
            .filter(|host| is_host(host))
            .unwrap_or("localhost");
        Base(format!("http://{host}"))
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn href(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// The URL of `path` with the request's `query`; with `token`, that token replaces
    /// any the query had (the `next` link of a GET page).
    pub fn page_href(&self, path: &str, query: Option<&str>, token: Option<&str>) -> String {
        self.paged_href(path, query, "token", token)
    }

    /// The URL of `path` with the request's `query`; with `value`, the parameter `key`
    /// is set to it, replacing any the query had. The query's other parameters are kept
    /// as the client spelled them, each byte a URL may not hold in a query escaped.
    pub fn paged_href(
        &self,
        path: &str,
        query: Option<&str>,
        key: &str,
        value: Option<&str>,
    ) -> String {
        let query = query.unwrap_or("");
        let replacement = value.map_or(0, |v| key.len() + 3 * v.len() + 2);
        let mut href =
            String::with_capacity(self.0.len() + path.len() + query.len() + 1 + replacement);
        href.push_str(&self.0);
        href.push_str(path);
        let mut separator = '?';
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            if value.is_some() && names(pair, key) {
                continue;
            }
            href.push(separator);
            separator = '&';
            push_query_text(&mut href, pair);
        }
        if let Some(value) = value {
            href.push(separator);
            href.extend(url::form_urlencoded::byte_serialize(key.as_bytes()));
            href.push('=');
            href.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
        }
        href
    }

    /// A link object to `path` under the base.
    pub fn link(&self, rel: &str, path: &str, media_type: &str) -> Value {
        json!({"rel": rel, "href": self.href(path), "type": media_type})
    }
}

impl FromRequestParts<AppState> for Base {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Base::resolve(
            state.server.public_url.as_ref(),
            &parts.headers,
        ))
    }
}

/// Whether a `Host` header is a plain host[:port], safe to put into hrefs.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// Whether the `name=value` pair of a query names `key`, once decoded.
fn names(pair: &str, key: &str) -> bool {
    let name = pair.split_once('=').map_or(pair, |(name, _)| name);
    if name.contains(['%', '+']) {
        url::form_urlencoded::parse(name.as_bytes()).any(|(name, _)| name == key)
    } else {
        name == key
    }
}

/// Appends a part of a query as it was sent, escaping each byte that RFC 3986 does not
/// allow in a query; the client's escapes stay as they are, a `%` that starts none is
/// escaped.
fn push_query_text(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let kept = |at: usize, byte: u8| match byte {
        b'%' => bytes
            .get(at + 1..at + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)),
        _ => byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&byte),
    };
    if bytes.iter().enumerate().all(|(at, &byte)| kept(at, byte)) {
        out.push_str(text);
        return;
    }
    for (at, &byte) in bytes.iter().enumerate() {
        if kept(at, byte) {
            out.push(char::from(byte));
        } else {
            push_escaped(out, byte);
        }
    }
}

/// Appends `%XX` for a byte.
fn push_escaped(out: &mut String, byte: u8) {
    let hex = b"0123456789ABCDEF";
    out.extend([
        '%',
        hex[usize::from(byte >> 4)].into(),
        hex[usize::from(byte & 15)].into(),
    ]);
}

/// One path segment, percent-encoded except for RFC 3986 unreserved characters.
pub fn segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    push_segment(&mut encoded, text);
    encoded
}

/// Appends [`segment`] of `text`; a text needing no escapes is copied whole (ids
/// usually are).
fn push_segment(out: &mut String, text: &str) {
    let unreserved = |byte: u8| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte);
    if text.bytes().all(unreserved) {
        out.push_str(text);
        return;
    }
    for byte in text.bytes() {
        if unreserved(byte) {
            out.push(char::from(byte));
        } else {
            push_escaped(out, byte);
        }
    }
}

/// Path of a Collection.
pub fn collection_path(collection: &str) -> String {
    let mut path = String::with_capacity("/collections/".len() + collection.len());
    path.push_str("/collections/");
    push_segment(&mut path, collection);
    path
}

/// Path of an Item.
pub fn item_path(collection: &str, id: &str) -> String {
    let mut path = collection_path(collection);
    push_item_segment(&mut path, id);
    path
}

/// Appends `/items/{id}` to a Collection's path.
pub fn push_item_segment(collection_path: &mut String, id: &str) {
    collection_path.push_str("/items/");
    push_segment(collection_path, id);
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn prefers_public_url_then_host_then_localhost() {
        let mut headers = HeaderMap::new();
        assert_eq!(Base::resolve(None, &headers).0, "http://localhost");
        headers.insert(HOST, HeaderValue::from_static("example.org:8080"));
        assert_eq!(Base::resolve(None, &headers).0, "http://example.org:8080");
        let public = Url::parse("https://stac.example.com/api/").unwrap();
        let base = Base::resolve(Some(&public), &headers);
        assert_eq!(base.href("/search"), "https://stac.example.com/api/search");
        headers.insert(HOST, HeaderValue::from_static("evil/\"x"));
        assert_eq!(Base::resolve(None, &headers).0, "http://localhost");
    }

    #[test]
    fn replaces_the_token_of_a_page_url() {
        let base = Base("http://h".into());
        let query = Some("limit=2&token=old&bbox=1,2,3,4");
        assert_eq!(
            base.page_href("/search", query, None),
            "http://h/search?limit=2&token=old&bbox=1,2,3,4"
        );
        assert_eq!(
            base.page_href("/search", query, Some("new")),
            "http://h/search?limit=2&bbox=1,2,3,4&token=new"
        );
        assert_eq!(base.page_href("/search", None, None), "http://h/search");
        assert_eq!(
            base.page_href("/search", Some(""), Some("a")),
            "http://h/search?token=a"
        );
        // A token spelled with escapes is replaced too; a name that only starts like it
        // is kept, and so are empty pairs' neighbours.
        let query = Some("to%6Ben=old&&tokens=1&token&limit=2");
        assert_eq!(
            base.page_href("/search", query, Some("a b/+")),
            "http://h/search?tokens=1&limit=2&token=a+b%2F%2B"
        );
        // What a URL may not hold in a query is escaped; escapes are kept as sent.
        let query = Some("q=\"a b\"&ids=x%2Cy&f=<{|}>^`");
        assert_eq!(
            base.page_href("/search", query, None),
            "http://h/search?q=%22a%20b%22&ids=x%2Cy&f=%3C%7B%7C%7D%3E%5E%60"
        );
        // A `%` that starts no escape is escaped itself.
        assert_eq!(
            base.page_href("/search", Some("p=50%&q=%zz&r=%2c&s=%4"), None),
            "http://h/search?p=50%25&q=%25zz&r=%2c&s=%254"
        );
        // Non-ASCII bytes, as UTF-8 escapes.
        assert_eq!(
            base.page_href("/search", Some("q=é"), None),
            "http://h/search?q=%C3%A9"
        );
    }

    #[test]
    fn encodes_segments() {
        assert_eq!(segment("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(
            item_path("eo/s2", "x y"),
            "/collections/eo%2Fs2/items/x%20y"
        );
        // Every byte of a multi-byte character, in upper-case hex.
        assert_eq!(segment("é?%\u{7f}"), "%C3%A9%3F%25%7F");
        assert_eq!(segment(""), "");
        let mut path = collection_path("c");
        push_item_segment(&mut path, "a/b");
        assert_eq!(path, "/collections/c/items/a%2Fb");
    }
}
