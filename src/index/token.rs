//! Opaque `next` tokens. A token names the last Item of a page by its (collection, id)
//! key, not by position, so it stays valid across snapshot swaps: the next page starts
//! after that key in whatever snapshot is current.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Where the next page starts: strictly after this key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken {
    /// Collection of the last Item returned.
    pub collection: String,
    /// Id of the last Item returned.
    pub id: String,
}

impl PageToken {
    /// The opaque, URL-safe form.
    pub fn encode(&self) -> String {
        let key = serde_json::json!([self.collection, self.id]);
        URL_SAFE_NO_PAD.encode(key.to_string())
    }

    /// Reads a token made by [`PageToken::encode`].
    pub fn decode(text: &str) -> Result<PageToken, String> {
        let malformed = || "malformed paging token".to_string();
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| malformed())?;
        let (collection, id): (String, String) =
            serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        Ok(PageToken { collection, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let token = PageToken {
            collection: "eo/s2 é".into(),
            id: "a,b&c=d".into(),
        };
        let text = token.encode();
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(PageToken::decode(&text).unwrap(), token);
    }

    #[test]
    fn rejects_garbage() {
        assert!(PageToken::decode("not a token!").is_err());
        assert!(PageToken::decode(&URL_SAFE_NO_PAD.encode("[1,2]")).is_err());
        assert!(PageToken::decode(&URL_SAFE_NO_PAD.encode("[\"only\"]")).is_err());
    }
}
