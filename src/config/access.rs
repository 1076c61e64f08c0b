//! The `[access]` table (DESIGN §5): who may read which collections. Off unless
//! `enabled = true`; when on, everything not granted is hidden.
//!
//! ```toml
//! [access]
//! enabled = true
//! public_collections = ["demo-*"]
//! signed_url_ttl = "15m"
//!
//! [[access.signing_keys]]          # the first signs; every one verifies (rotation)
//! id = "2026-12"
//! secret_env = "STAC_OCI_SIGNING_KEY"
//!
//! [[access.api_keys]]              # keys are stored as SHA-256 (`stac-oci hash-key`)
//! name = "field-laptop"
//! sha256 = "…64 hex digits…"
//!
//! [access.jwt]
//! issuer = "https://id.example.org"
//! audience = "stac-oci"
//! jwks_url = "https://id.example.org/.well-known/jwks.json"   # RS256 / ES256
//! hs256_secret_env = "STAC_OCI_JWT_SECRET"                      # HS256
//!
//! [[access.policies]]
//! collections = ["pastis-*"]
//! groups = ["eo-team"]             # or api_keys, subjects, scopes, pass_through
//! ```

use std::time::Duration;

use globset::GlobSet;
use serde::Deserialize;
use url::Url;

use super::{ConfigError, glob_set, secret};

/// How long a signed asset href stays valid when `signed_url_ttl` is not given.
pub const DEFAULT_SIGNED_URL_TTL: Duration = Duration::from_secs(3600);
/// How long a registry's verdict on passed-through credentials is reused.
pub const DEFAULT_PASS_THROUGH_TTL: Duration = Duration::from_secs(60);
/// Clock skew allowed on JWT `exp` and `nbf` when `leeway` is not given.
pub const DEFAULT_JWT_LEEWAY: Duration = Duration::from_secs(30);
/// Shortest secret accepted for signing keys and HS256.
const MIN_SECRET_LEN: usize = 32;

/// Validated `[access]`: present only when access control is on.
#[derive(Debug, Clone)]
pub struct AccessSettings {
    /// Collections every principal, anonymous included, may read.
    pub public_collections: GlobSet,
    /// API keys by name.
    pub api_keys: Vec<ApiKey>,
    /// JWT bearer tokens, when an issuer is configured.
    pub jwt: Option<JwtSettings>,
    /// Grants of collections to principals.
    pub policies: Vec<Policy>,
    /// Keys for signed asset hrefs, the signing one first; empty means one random key
    /// per process.
    pub signing_keys: Vec<SigningKey>,
    /// How long a signed asset href is valid.
    pub signed_url_ttl: Duration,
    /// How long a registry's verdict on passed-through credentials is cached.
    pub pass_through_ttl: Duration,
}

/// One API key: its name (used by policies and logs) and the SHA-256 of the key.
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// Name policies refer to.
    pub name: String,
    /// SHA-256 of the key; the key itself is never stored.
    pub sha256: [u8; 32],
}

/// `[access.jwt]`.
#[derive(Clone)]
pub struct JwtSettings {
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud`, when set.
    pub audience: Option<String>,
    /// Secret of HS256 tokens, when they are accepted.
    pub hs256_secret: Option<String>,
    /// Where the issuer's RS256/ES256 public keys are published, when they are accepted.
    pub jwks_url: Option<Url>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// Claims read as group or role lists.
    pub groups_claims: Vec<String>,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field(
                "hs256_secret",
                &self.hs256_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwks_url", &self.jwks_url.as_ref().map(Url::as_str))
            .field("leeway", &self.leeway)
            .field("groups_claims", &self.groups_claims)
            .finish()
    }
}

/// One grant: `collections` to every principal any matcher names.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Collection ids granted (globs).
    pub collections: GlobSet,
    /// API key names.
    pub api_keys: Vec<String>,
    /// JWT `sub` values.
    pub subjects: Vec<String>,
    /// Entries of the JWT group/role claims.
    pub groups: Vec<String>,
    /// Entries of the JWT `scope` (space-separated) or `scp` claims.
    pub scopes: Vec<String>,
    /// Clients' own registry credentials, which the registry then judges per repository.
    pub pass_through: bool,
    /// Also grants the operator endpoints (`/metrics`, `/status` in full).
    pub operator: bool,
}

/// One key for signed asset hrefs.
#[derive(Clone)]
pub struct SigningKey {
    /// Short id carried in signed hrefs (letters, digits, `-`, `_`).
    pub id: String,
    /// The HMAC-SHA256 key.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// `[access]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccess {
    enabled: Option<bool>,
    public_collections: Option<Vec<String>>,
    signed_url_ttl: Option<String>,
    pass_through_ttl: Option<String>,
    #[serde(default)]
    signing_keys: Vec<RawSigningKey>,
    #[serde(default)]
    api_keys: Vec<RawApiKey>,
    jwt: Option<RawJwt>,
    #[serde(default)]
    policies: Vec<RawPolicy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigningKey {
    id: Option<String>,
    secret: Option<String>,
    secret_env: Option<String>,
    secret_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApiKey {
    name: Option<String>,
    sha256: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJwt {
    issuer: Option<String>,
    audience: Option<String>,
    hs256_secret: Option<String>,
    hs256_secret_env: Option<String>,
    hs256_secret_file: Option<String>,
    jwks_url: Option<String>,
    leeway: Option<String>,
    groups_claims: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    collections: Vec<String>,
    #[serde(default)]
    api_keys: Vec<String>,
    #[serde(default)]
    subjects: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    pass_through: bool,
    #[serde(default)]
    operator: bool,
}

/// Validates `[access]`; `None` when access control is off.
pub(super) fn validate(raw: RawAccess) -> Result<Option<AccessSettings>, ConfigError> {
    if !raw.enabled.unwrap_or(false) {
        return Ok(None);
    }
    let public_collections = glob_set(&raw.public_collections.unwrap_or_default())
        .map_err(|e| ConfigError::new("access.public_collections", e))?;
    let signed_url_ttl = duration(
        "access.signed_url_ttl",
        raw.signed_url_ttl,
        DEFAULT_SIGNED_URL_TTL,
    )?;
    let pass_through_ttl = duration(
        "access.pass_through_ttl",
        raw.pass_through_ttl,
        DEFAULT_PASS_THROUGH_TTL,
    )?;
    let signing_keys = raw
        .signing_keys
        .into_iter()
        .enumerate()
        .map(|(i, key)| signing_key(i, key))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(id) = duplicate(signing_keys.iter().map(|k| k.id.as_str())) {
        return Err(ConfigError::new(
            "access.signing_keys",
            format!("duplicate key id {id:?}"),
        ));
    }
    let api_keys = raw
        .api_keys
        .into_iter()
        .enumerate()
        .map(|(i, key)| api_key(i, key))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(name) = duplicate(api_keys.iter().map(|k| k.name.as_str())) {
        return Err(ConfigError::new(
            "access.api_keys",
            format!("duplicate key name {name:?}"),
        ));
    }
    let jwt = raw.jwt.map(jwt).transpose()?;
    let policies = raw
        .policies
        .into_iter()
        .enumerate()
        .map(|(i, p)| policy(i, p, &api_keys, jwt.is_some()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(AccessSettings {
        public_collections,
        api_keys,
        jwt,
        policies,
        signing_keys,
        signed_url_ttl,
        pass_through_ttl,
    }))
}

fn duplicate<'a>(names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = std::collections::BTreeSet::new();
    names.into_iter().find(|name| !seen.insert(*name))
}

fn duration(key: &str, text: Option<String>, default: Duration) -> Result<Duration, ConfigError> {
    let Some(text) = text else {
        return Ok(default);
    };
    match humantime::parse_duration(&text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(ConfigError::new(key, "must be longer than zero")),
        Err(e) => Err(ConfigError::new(key, format!("{text:?}: {e}"))),
    }
}

fn signing_key(i: usize, raw: RawSigningKey) -> Result<SigningKey, ConfigError> {
    let prefix = format!("access.signing_keys[{i}]");
    let key = |field: &str| format!("{prefix}.{field}");
    let id = raw
        .id
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .ok_or_else(|| {
            ConfigError::new(key("id"), "1 to 32 letters, digits, `-` or `_` are needed")
        })?;
    let secret = secret(
        &key,
        "secret",
        &raw.secret,
        &raw.secret_env,
        &raw.secret_file,
    )?
    .ok_or_else(|| ConfigError::new(key("secret"), "give secret, secret_env or secret_file"))?;
    if secret.len() < MIN_SECRET_LEN {
        return Err(ConfigError::new(
            key("secret"),
            format!("must be at least {MIN_SECRET_LEN} characters"),
        ));
    }
    Ok(SigningKey {
        id,
        secret: secret.into_bytes(),
    })
}

fn api_key(i: usize, raw: RawApiKey) -> Result<ApiKey, ConfigError> {
    let key = |field: &str| format!("access.api_keys[{i}].{field}");
    let name = raw
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ConfigError::new(key("name"), "a name is needed"))?;
    let sha256 = raw
        .sha256
        .as_deref()
        .and_then(|hex_text| hex::decode(hex_text.trim()).ok())
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| {
            ConfigError::new(
                key("sha256"),
                "64 hex digits are needed (the SHA-256 of the key; `stac-oci hash-key` prints it)",
            )
        })?;
    Ok(ApiKey { name, sha256 })
}

fn jwt(raw: RawJwt) -> Result<JwtSettings, ConfigError> {
    let key = |field: &str| format!("access.jwt.{field}");
    let issuer = raw
        .issuer
        .filter(|i| !i.is_empty())
        .ok_or_else(|| ConfigError::new(key("issuer"), "the issuer (`iss`) is needed"))?;
    let hs256_secret = secret(
        &key,
        "hs256_secret",
        &raw.hs256_secret,
        &raw.hs256_secret_env,
        &raw.hs256_secret_file,
    )?;
    if hs256_secret
        .as_ref()
        .is_some_and(|s| s.len() < MIN_SECRET_LEN)
    {
        return Err(ConfigError::new(
            key("hs256_secret"),
            format!("must be at least {MIN_SECRET_LEN} characters"),
        ));
    }
    let jwks_url = raw
        .jwks_url
        .map(|text| {
            Url::parse(&text)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| {
                    ConfigError::new(key("jwks_url"), format!("{text:?}: not an http(s) URL"))
                })
        })
        .transpose()?;
    if hs256_secret.is_none() && jwks_url.is_none() {
        return Err(ConfigError::new(
            "access.jwt",
            "give hs256_secret (HS256) or jwks_url (RS256/ES256), or both",
        ));
    }
    Ok(JwtSettings {
        issuer,
        audience: raw.audience.filter(|a| !a.is_empty()),
        hs256_secret,
        jwks_url,
        leeway: duration(&key("leeway"), raw.leeway, DEFAULT_JWT_LEEWAY)?,
        groups_claims: raw
            .groups_claims
            .unwrap_or_else(|| vec!["groups".into(), "roles".into()]),
    })
}

fn policy(i: usize, raw: RawPolicy, api_keys: &[ApiKey], jwt: bool) -> Result<Policy, ConfigError> {
    let key = |field: &str| format!("access.policies[{i}].{field}");
    if let Some(unknown) = raw
        .api_keys
        .iter()
        .find(|name| !api_keys.iter().any(|k| &k.name == *name))
    {
        return Err(ConfigError::new(
            key("api_keys"),
            format!("no [[access.api_keys]] is named {unknown:?}"),
        ));
    }
    let claims = !(raw.subjects.is_empty() && raw.groups.is_empty() && raw.scopes.is_empty());
    if claims && !jwt {
        return Err(ConfigError::new(
            key("subjects"),
            "subjects, groups and scopes need [access.jwt]",
        ));
    }
    if !claims && raw.api_keys.is_empty() && !raw.pass_through {
        return Err(ConfigError::new(
            format!("access.policies[{i}]"),
            "name who it grants to: api_keys, subjects, groups, scopes or pass_through",
        ));
    }
    if raw.pass_through && raw.operator {
        return Err(ConfigError::new(
            key("operator"),
            "cannot be granted to pass-through credentials",
        ));
    }
    Ok(Policy {
        collections: glob_set(&raw.collections)
            .map_err(|e| ConfigError::new(key("collections"), e))?,
        api_keys: raw.api_keys,
        subjects: raw.subjects,
        groups: raw.groups,
        scopes: raw.scopes,
        pass_through: raw.pass_through,
        operator: raw.operator,
    })
}
