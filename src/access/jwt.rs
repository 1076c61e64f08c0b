//! JWT bearer tokens from one configured issuer: HS256 with a shared secret, RS256 and
//! ES256 with the public keys the issuer publishes at its JWKS URL (fetched on first use,
//! again when a token names an unknown `kid`, at most every [`JWKS_MIN_REFRESH`]).

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::config::JwtSettings;

/// Shortest wait between two JWKS fetches.
const JWKS_MIN_REFRESH: Duration = Duration::from_secs(30);
/// Longest a fetched JWKS is trusted before fetching again.
const JWKS_MAX_AGE: Duration = Duration::from_secs(600);
/// Largest JWKS document read.
const JWKS_MAX_BYTES: usize = 256 * 1024;

/// What policies read from a verified token.
#[derive(Debug, Clone, Default)]
pub struct Claims {
    /// `sub`.
    pub subject: Option<String>,
    /// Entries of the configured group/role claims.
    pub groups: Vec<String>,
    /// Entries of `scope` (space-separated) and `scp`.
    pub scopes: Vec<String>,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// Signature, expiry, issuer, audience or shape.
    #[error("{0}")]
    Invalid(String),
    /// An algorithm not configured (HS256 without a secret, or anything but HS256,
    /// RS256 and ES256).
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(Algorithm),
    /// No published key fits the token.
    #[error("no key of the issuer matches the token")]
    UnknownKey,
}

/// Verifies tokens of the configured issuer.
pub struct JwtVerifier {
    settings: JwtSettings,
    http: reqwest::Client,
    jwks: Mutex<Option<(JwkSet, Instant)>>,
}

impl JwtVerifier {
    /// A verifier; the JWKS is fetched when first needed.
    pub fn new(settings: JwtSettings) -> JwtVerifier {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        JwtVerifier {
            settings,
            http,
            jwks: Mutex::new(None),
        }
    }

    /// Whether a bearer token looks like a JWT whose (unverified) `iss` is the
    /// configured issuer; other bearer tokens may be registry tokens to pass through.
    pub fn is_from_issuer(&self, token: &str) -> bool {
        jsonwebtoken::dangerous::insecure_decode::<Value>(token).is_ok_and(|data| {
            data.claims.get("iss").and_then(Value::as_str) == Some(self.settings.issuer.as_str())
        })
    }

    /// Verifies signature, `iss`, `aud` (when configured), `exp` and `nbf` with the
    /// configured leeway, and reads the claims policies use.
    pub async fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| JwtError::Invalid(e.to_string()))?;
        let key = match header.alg {
            Algorithm::HS256 => self
                .settings
                .hs256_secret
                .as_ref()
                .map(|s| DecodingKey::from_secret(s.as_bytes()))
                .ok_or(JwtError::Algorithm(header.alg))?,
            Algorithm::RS256 | Algorithm::ES256 if self.settings.jwks_url.is_some() => {
                self.published_key(header.kid.as_deref(), header.alg)
                    .await?
            }
            other => return Err(JwtError::Algorithm(other)),
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.settings.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.settings.issuer]);
        let mut required = vec!["exp", "iss"];
        match &self.settings.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|e| JwtError::Invalid(e.to_string()))?;
        Ok(self.claims(&data.claims))
    }

    fn claims(&self, claims: &Value) -> Claims {
        let strings = |value: Option<&Value>| -> Vec<String> {
            match value {
                Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
                Some(Value::Array(list)) => list
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                _ => Vec::new(),
            }
        };
        let mut scopes = strings(claims.get("scope"));
        scopes.extend(strings(claims.get("scp")));
        Claims {
            subject: claims.get("sub").and_then(Value::as_str).map(str::to_owned),
            groups: self
                .settings
                .groups_claims
                .iter()
                .flat_map(|name| strings(claims.get(name)))
                .collect(),
            scopes,
        }
    }

    /// The issuer's key for `kid` (or, without a `kid`, its only key for `alg`).
    async fn published_key(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, JwtError> {
        let mut cached = self.jwks.lock().await;
        let fresh = cached
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < JWKS_MAX_AGE);
        let found = cached
            .as_ref()
            .filter(|_| fresh)
            .and_then(|(set, _)| pick(set, kid, alg));
        if let Some(key) = found {
            return key;
        }
        let may_fetch = cached
            .as_ref()
            .is_none_or(|(_, at)| at.elapsed() >= JWKS_MIN_REFRESH);
        if may_fetch {
            match self.fetch().await {
                Ok(set) => *cached = Some((set, Instant::now())),
                Err(e) => tracing::warn!(error = %e, "cannot fetch the JWT issuer's keys"),
            }
        }
        cached
            .as_ref()
            .and_then(|(set, _)| pick(set, kid, alg))
            .unwrap_or(Err(JwtError::UnknownKey))
    }

    async fn fetch(&self) -> Result<JwkSet, String> {
        let url = self.settings.jwks_url.clone().ok_or("no jwks_url")?;
        let response = self
            .http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.without_url().to_string())?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if bytes.len() > JWKS_MAX_BYTES {
            return Err(format!("JWKS over {JWKS_MAX_BYTES} bytes"));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("JWKS: {e}"))
    }
}

/// The key of `set` a token signed with `alg` and `kid` needs; `None` when none fits.
fn pick(set: &JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<Result<DecodingKey, JwtError>> {
    let fits = |jwk: &&jsonwebtoken::jwk::Jwk| {
        use jsonwebtoken::jwk::AlgorithmParameters as P;
        matches!(
            (&jwk.algorithm, alg),
            (P::RSA(_), Algorithm::RS256) | (P::EllipticCurve(_), Algorithm::ES256)
        )
    };
    let jwk = match kid {
        Some(kid) => set.find(kid).filter(fits),
        None => {
            let mut candidates = set.keys.iter().filter(fits);
            match (candidates.next(), candidates.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        }
    }?;
    Some(DecodingKey::from_jwk(jwk).map_err(|e| JwtError::Invalid(e.to_string())))
}
