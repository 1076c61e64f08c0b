//! API keys, configured as SHA-256 digests: the keys themselves are never stored.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::ApiKey;

/// The configured API keys.
pub struct ApiKeys {
    keys: Vec<ApiKey>,
}

impl ApiKeys {
    /// The keys of `[[access.api_keys]]`.
    pub fn new(keys: Vec<ApiKey>) -> ApiKeys {
        ApiKeys { keys }
    }

    /// The name of the key `presented` is, comparing digests in constant time.
    pub fn find(&self, presented: &str) -> Option<&str> {
        if presented.is_empty() {
            return None;
        }
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for key in &self.keys {
            if bool::from(key.sha256.ct_eq(&digest)) {
                found = Some(key.name.as_str());
            }
        }
        found
    }
}

/// The `sha256` value to configure for a key (`stac-oci hash-key`).
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_key_by_its_digest_only() {
        let digest = |k: &str| <[u8; 32]>::try_from(hex::decode(hash(k)).unwrap()).unwrap();
        let keys = ApiKeys::new(vec![
            ApiKey {
                name: "alice".into(),
                sha256: digest("alice-secret-key"),
            },
            ApiKey {
                name: "bob".into(),
                sha256: digest("bob-secret-key"),
            },
        ]);
        assert_eq!(keys.find("bob-secret-key"), Some("bob"));
        assert_eq!(keys.find("alice-secret-key"), Some("alice"));
        assert_eq!(keys.find("alice-secret-kex"), None);
        assert_eq!(keys.find(""), None);
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
