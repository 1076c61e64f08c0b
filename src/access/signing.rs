//! Signed asset hrefs: `?expires=<unix>&key=<id>&signature=<base64url HMAC-SHA256>` over
//! the path and the expiry, so browsers and GDAL fetch an asset without headers. The
//! first configured key signs and every configured key verifies, so keys rotate by
//! putting a new one first and dropping the old one once its hrefs have expired.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::SigningKey;

/// Expiries are rounded up to this step, so hrefs stay the same for a while and
/// clients can cache what they fetch.
const EXPIRY_STEP: u64 = 60;

/// Why a signed href is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// `expires` is in the past.
    #[error("the signed URL has expired")]
    Expired,
    /// A parameter is missing or malformed, the key is unknown, or the signature does
    /// not match the path and expiry.
    #[error("the URL signature is not valid")]
    Invalid,
}

/// Signs and verifies asset paths.
pub struct UrlSigner {
    keys: Vec<SigningKey>,
    ttl: Duration,
}

impl UrlSigner {
    /// A signer with configured keys, or one random key when none is configured (then
    /// hrefs die with the process).
    pub fn new(mut keys: Vec<SigningKey>, ttl: Duration) -> UrlSigner {
        if keys.is_empty() {
            let mut secret = vec![0u8; 32];
            if getrandom::fill(&mut secret).is_err() {
                // Without randomness no key can be trusted: refuse every signature.
                secret.clear();
            }
            keys.push(SigningKey {
                id: "process".into(),
                secret,
            });
        }
        UrlSigner { keys, ttl }
    }

    /// The query string that signs `path` (as sent, percent-encoded, from `/`) until the
    /// TTL from `now` has passed.
    pub fn sign(&self, path: &str, now: SystemTime) -> String {
        let now = unix(now);
        let expires = (now + self.ttl.as_secs()).div_ceil(EXPIRY_STEP) * EXPIRY_STEP;
        let key = &self.keys[0];
        let signature = URL_SAFE_NO_PAD.encode(mac(&key.secret, path, expires).unwrap_or_default());
        format!("expires={expires}&key={}&signature={signature}", key.id)
    }

    /// Whether `query` holds a signature, valid at `now`, for `path`.
    pub fn verify(&self, path: &str, query: &str, now: SystemTime) -> Result<(), SignatureError> {
        let (mut expires, mut key, mut signature) = (None, None, None);
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "expires" => &mut expires,
                "key" => &mut key,
                "signature" => &mut signature,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(SignatureError::Invalid);
            }
        }
        let expires: u64 = expires
            .and_then(|e| e.parse().ok())
            .ok_or(SignatureError::Invalid)?;
        let key = key
            .and_then(|id| self.keys.iter().find(|k| k.id == id))
            .filter(|k| !k.secret.is_empty())
            .ok_or(SignatureError::Invalid)?;
        let signature = signature
            .and_then(|s| URL_SAFE_NO_PAD.decode(s.as_bytes()).ok())
            .ok_or(SignatureError::Invalid)?;
        let expected = mac(&key.secret, path, expires).ok_or(SignatureError::Invalid)?;
        if !bool::from(expected.ct_eq(&signature)) {
            return Err(SignatureError::Invalid);
        }
        if expires < unix(now) {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }

    /// Whether a query string carries a signature at all.
    pub fn is_signed(query: Option<&str>) -> bool {
        query.is_some_and(|q| {
            url::form_urlencoded::parse(q.as_bytes()).any(|(name, _)| name == "signature")
        })
    }
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn message(path: &str, expires: u64) -> Vec<u8> {
    format!("stac-oci asset\n{path}\n{expires}").into_bytes()
}

/// The HMAC of a path and expiry (`None` only if the key were refused, which HMAC never
/// does).
fn mac(secret: &[u8], path: &str, expires: u64) -> Option<Vec<u8>> {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(&message(path, expires));
    Some(mac.finalize().into_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, secret: &str) -> SigningKey {
        SigningKey {
            id: id.into(),
            secret: secret.as_bytes().to_vec(),
        }
    }

    const PATH: &str = "/collections/c/items/i/assets/data/data.tif";

    #[test]
    fn signs_path_and_expiry_and_refuses_changes() {
        let signer = UrlSigner::new(
            vec![key("k1", "a-secret-of-at-least-32-characters!!")],
            Duration::from_secs(600),
        );
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let query = signer.sign(PATH, now);
        assert_eq!(signer.verify(PATH, &query, now), Ok(()));
        let later = now + Duration::from_secs(600);
        assert_eq!(signer.verify(PATH, &query, later), Ok(()));
        let expired = now + Duration::from_secs(700);
        assert_eq!(
            signer.verify(PATH, &query, expired),
            Err(SignatureError::Expired)
        );
        let other_path = "/collections/c/items/j/assets/data/data.tif";
        assert_eq!(
            signer.verify(other_path, &query, now),
            Err(SignatureError::Invalid)
        );
        let extended = query.replace("expires=1000620", "expires=9000620");
        assert_ne!(extended, query);
        assert_eq!(
            signer.verify(PATH, &extended, now),
            Err(SignatureError::Invalid)
        );
        let doubled = format!("{query}&signature=AAAA");
        assert_eq!(
            signer.verify(PATH, &doubled, now),
            Err(SignatureError::Invalid)
        );
        assert_eq!(signer.verify(PATH, "", now), Err(SignatureError::Invalid));
    }

    #[test]
    fn the_first_key_signs_and_every_key_verifies() {
        let old = UrlSigner::new(
            vec![key("old", "the-old-secret-of-32-characters-ok")],
            Duration::from_secs(60),
        );
        let rotated = UrlSigner::new(
            vec![
                key("new", "the-new-secret-of-32-characters-ok"),
                key("old", "the-old-secret-of-32-characters-ok"),
            ],
            Duration::from_secs(60),
        );
        let now = SystemTime::now();
        let by_old = old.sign(PATH, now);
        assert!(by_old.contains("key=old"));
        assert_eq!(rotated.verify(PATH, &by_old, now), Ok(()));
        let by_new = rotated.sign(PATH, now);
        assert!(by_new.contains("key=new"));
        assert_eq!(old.verify(PATH, &by_new, now), Err(SignatureError::Invalid));
        let forged = by_new.replace("key=new", "key=old");
        assert_eq!(
            rotated.verify(PATH, &forged, now),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn a_random_key_per_process_when_none_is_configured() {
        let a = UrlSigner::new(Vec::new(), Duration::from_secs(60));
        let b = UrlSigner::new(Vec::new(), Duration::from_secs(60));
        let now = SystemTime::now();
        let query = a.sign(PATH, now);
        assert_eq!(a.verify(PATH, &query, now), Ok(()));
        assert_eq!(b.verify(PATH, &query, now), Err(SignatureError::Invalid));
        assert!(UrlSigner::is_signed(Some(&query)));
        assert!(!UrlSigner::is_signed(Some("limit=1")));
    }
}
