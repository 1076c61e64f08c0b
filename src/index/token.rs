//! Opaque `next` tokens. A token names the last Item of a page by its (collection, id)
//! key, not by position, so it stays valid across snapshot swaps: the next page starts
//! after that key in whatever snapshot is current. Under `sortby` it also carries the last
//! Item's sort values: the next page starts after that (values, collection, id) position,
//! a keyset that, unlike an offset, neither skips nor repeats Items when the snapshot
//! changes between pages.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// Where the next page starts: strictly after this key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken {
    /// Collection of the last Item returned.
    pub collection: String,
    /// Id of the last Item returned.
    pub id: String,
    /// The last Item's values of the search's sort keys (`null` when missing); empty in
    /// the default order.
    pub sort: Vec<Value>,
}

impl PageToken {
    /// The opaque, URL-safe form.
    pub fn encode(&self) -> String {
        // Serializing a tuple writes the array without building it as a `Value`.
        let key = if self.sort.is_empty() {
            serde_json::to_vec(&(&self.collection, &self.id))
        } else {
            let sort: Vec<Value> = self.sort.iter().map(exact).collect();
            serde_json::to_vec(&(&self.collection, &self.id, sort))
        };
        URL_SAFE_NO_PAD.encode(key.unwrap_or_default())
    }

    /// Reads a token made by [`PageToken::encode`].
    pub fn decode(text: &str) -> Result<PageToken, String> {
        let malformed = || "malformed paging token".to_string();
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| malformed())?;
        let parts: Vec<Value> = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        let (collection, id, sort) = match parts.as_slice() {
            [Value::String(c), Value::String(i)] => (c, i, Vec::new()),
            [Value::String(c), Value::String(i), Value::Array(sort)] => {
                (c, i, sort.iter().map(inexact).collect::<Result<_, _>>()?)
            }
            _ => return Err(malformed()),
        };
        Ok(PageToken {
            collection: collection.clone(),
            id: id.clone(),
            sort,
        })
    }
}

/// A sort value with its number spelled as a string `{"n": "…"}`: serde_json's default
/// float parsing may change the last bit, and a sort position must come back exactly.
fn exact(value: &Value) -> Value {
    match value {
        Value::Number(n) => serde_json::json!({"n": n.to_string()}),
        other => serde_json::json!({"v": other}),
    }
}

/// Reads a value written by [`exact`].
fn inexact(value: &Value) -> Result<Value, String> {
    let malformed = || "malformed paging token".to_string();
    match value.as_object().and_then(|o| o.iter().next()) {
        Some((tag, Value::String(text))) if tag == "n" => {
            let number = if let Ok(n) = text.parse::<i64>() {
                serde_json::Number::from(n)
            } else if let Ok(n) = text.parse::<u64>() {
                serde_json::Number::from(n)
            } else {
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .ok_or_else(malformed)?
            };
            Ok(Value::Number(number))
        }
        Some((tag, other)) if tag == "v" => Ok(other.clone()),
        _ => Err(malformed()),
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
            sort: Vec::new(),
        };
        let sorted = PageToken {
            sort: vec![
                Value::Null,
                serde_json::json!(0.1 + 0.2),
                serde_json::json!(12.345678901234567),
                serde_json::json!(-7),
                serde_json::json!("x"),
            ],
            ..token.clone()
        };
        assert_eq!(PageToken::decode(&sorted.encode()).unwrap(), sorted);
        let text = token.encode();
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(PageToken::decode(&text).unwrap(), token);
        // The spelling tokens handed out earlier have: they stay readable, and equal.
        assert_eq!(
            text,
            URL_SAFE_NO_PAD.encode(r#"["eo/s2 é","a,b&c=d"]"#),
            "a token is the base64 of its key's JSON array"
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(PageToken::decode("not a token!").is_err());
        assert!(PageToken::decode(&URL_SAFE_NO_PAD.encode("[1,2]")).is_err());
        assert!(PageToken::decode(&URL_SAFE_NO_PAD.encode("[\"only\"]")).is_err());
        assert!(PageToken::decode(&URL_SAFE_NO_PAD.encode("[\"c\", \"i\", 3]")).is_err());
        assert!(
            PageToken::decode(&URL_SAFE_NO_PAD.encode("[\"c\", \"i\", [{\"n\": \"x\"}]]")).is_err()
        );
        assert!(PageToken::decode(&URL_SAFE_NO_PAD.encode("[\"c\", \"i\", [2]]")).is_err());
        assert!(PageToken::decode(&URL_SAFE_NO_PAD.encode("[\"c\", \"i\", [], 1]")).is_err());
    }
}
