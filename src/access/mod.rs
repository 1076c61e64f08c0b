//! Access control (DESIGN §5): who is asking ([`Principal`]), and which collections it may
//! read ([`Grants`]). No HTTP routing here: the API asks [`AccessControl`] once per
//! request and hides everything else.
//!
//! A request is anonymous, or carries an API key (`X-API-Key`, or a bearer token equal to
//! a key), a JWT bearer token from the configured issuer, or registry credentials (Basic,
//! or any other bearer token) that are passed through: the registry itself then says,
//! per repository, whether they may pull, and that verdict is cached briefly under a
//! hash of the credential. Policies grant collection globs to keys, JWT claims or
//! pass-through; `public_collections` are granted to everyone.

pub mod api_keys;
pub mod jwt;
pub mod signing;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::config::{AccessSettings, Policy};
use crate::index::Snapshot;
use crate::source::Source;
use api_keys::ApiKeys;
use jwt::{Claims, JwtVerifier};
use signing::UrlSigner;

/// Header carrying an API key.
pub const API_KEY_HEADER: &str = "x-api-key";
/// Registry checks of one request in flight at once.
const PASS_THROUGH_CONCURRENCY: usize = 8;
/// Pass-through verdicts kept at most.
const PASS_THROUGH_CACHE_ENTRIES: u64 = 100_000;

/// Who is asking.
pub enum Principal {
    /// No credentials.
    Anonymous,
    /// A configured API key, by name.
    ApiKey(String),
    /// A verified JWT's claims.
    Token(Claims),
    /// Credentials for the registry, judged there.
    Registry(RegistryCredential),
}

/// A client's registry credentials: the `Authorization` value, kept only for this
/// request, and its fingerprint, the only form that is ever stored.
pub struct RegistryCredential {
    authorization: axum::http::HeaderValue,
    fingerprint: [u8; 32],
}

impl RegistryCredential {
    fn new(mut authorization: axum::http::HeaderValue) -> RegistryCredential {
        authorization.set_sensitive(true);
        let fingerprint = Sha256::digest(authorization.as_bytes()).into();
        RegistryCredential {
            authorization,
            fingerprint,
        }
    }

    /// The `Authorization` header value to try against the registry.
    pub fn authorization(&self) -> &axum::http::HeaderValue {
        &self.authorization
    }
}

/// Credentials that were presented but are not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// An `X-API-Key` that is not configured.
    #[error("unknown API key")]
    UnknownKey,
    /// A JWT from the configured issuer that does not verify.
    #[error("invalid bearer token: {0}")]
    Token(String),
    /// Credentials of a kind nothing here accepts.
    #[error("credentials not accepted")]
    NotAccepted,
}

/// What one request may read.
#[derive(Debug, Clone)]
pub struct Grants {
    /// Ids of the collections it may read; every other collection does not exist for it.
    pub collections: Arc<BTreeSet<String>>,
    /// Whether it may read the operator endpoints.
    pub operator: bool,
}

/// Access control, built once from `[access]`.
pub struct AccessControl {
    settings: AccessSettings,
    api_keys: ApiKeys,
    jwt: Option<JwtVerifier>,
    signer: UrlSigner,
    verdicts: moka::sync::Cache<[u8; 32], bool>,
}

impl AccessControl {
    /// Access control for validated settings.
    pub fn new(settings: AccessSettings) -> AccessControl {
        let verdicts = moka::sync::Cache::builder()
            .max_capacity(PASS_THROUGH_CACHE_ENTRIES)
            .time_to_live(settings.pass_through_ttl)
            .build();
        AccessControl {
            api_keys: ApiKeys::new(settings.api_keys.clone()),
            jwt: settings.jwt.clone().map(JwtVerifier::new),
            signer: UrlSigner::new(settings.signing_keys.clone(), settings.signed_url_ttl),
            verdicts,
            settings,
        }
    }

    /// Signs and verifies asset hrefs.
    pub fn signer(&self) -> &UrlSigner {
        &self.signer
    }

    /// Who sent these headers; credentials that are presented but not accepted are an
    /// error (a 401), never a silent downgrade to anonymous.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        if let Some(key) = headers.get(API_KEY_HEADER) {
            let name = key
                .to_str()
                .ok()
                .and_then(|key| self.api_keys.find(key.trim()));
            return name
                .map(|n| Principal::ApiKey(n.to_owned()))
                .ok_or(AuthError::UnknownKey);
        }
        let Some(authorization) = headers.get(AUTHORIZATION) else {
            return Ok(Principal::Anonymous);
        };
        let text = authorization.to_str().unwrap_or_default();
        let (scheme, value) = text.split_once(' ').unwrap_or((text, ""));
        let value = value.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            if let Some(name) = self.api_keys.find(value) {
                return Ok(Principal::ApiKey(name.to_owned()));
            }
            if let Some(jwt) = &self.jwt
                && jwt.is_from_issuer(value)
            {
                return jwt
                    .verify(value)
                    .await
                    .map(Principal::Token)
                    .map_err(|e| AuthError::Token(e.to_string()));
            }
        }
        let registry_scheme =
            scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("basic");
        if registry_scheme && !value.is_empty() && self.passes_through() {
            return Ok(Principal::Registry(RegistryCredential::new(
                authorization.clone(),
            )));
        }
        Err(AuthError::NotAccepted)
    }

    /// Whether any policy hands decisions to the registry.
    fn passes_through(&self) -> bool {
        self.settings.policies.iter().any(|p| p.pass_through)
    }

    /// The collections of `snapshot` that `principal` may read. Pass-through asks each
    /// source registry (or the cache) whether the credential may pull every repository
    /// a collection's Items come from.
    pub async fn grants(
        &self,
        principal: &Principal,
        snapshot: &Snapshot,
        sources: &BTreeMap<String, Arc<Source>>,
    ) -> Grants {
        let policies: Vec<&Policy> = self
            .settings
            .policies
            .iter()
            .filter(|p| !p.pass_through && applies(p, principal))
            .collect();
        let mut collections = BTreeSet::new();
        let mut passed_through = Vec::new();
        for collection in snapshot.collections() {
            let id = collection.id.as_str();
            if self.settings.public_collections.is_match(id)
                || policies.iter().any(|p| p.collections.is_match(id))
            {
                collections.insert(id.to_owned());
            } else if matches!(principal, Principal::Registry(_))
                && self
                    .settings
                    .policies
                    .iter()
                    .any(|p| p.pass_through && p.collections.is_match(id))
            {
                passed_through.push(id);
            }
        }
        if let Principal::Registry(credential) = principal
            && !passed_through.is_empty()
        {
            let readable = self
                .registry_verdicts(credential, snapshot, &passed_through, sources)
                .await;
            collections.extend(passed_through.into_iter().filter_map(|id| {
                let repositories = snapshot.repositories(id);
                (!repositories.is_empty() && repositories.iter().all(|r| readable.contains(r)))
                    .then(|| id.to_owned())
            }));
        }
        Grants {
            collections: Arc::new(collections),
            operator: policies.iter().any(|p| p.operator),
        }
    }

    /// The (source, repository) pairs behind `collections` that the registry lets
    /// `credential` pull.
    async fn registry_verdicts(
        &self,
        credential: &RegistryCredential,
        snapshot: &Snapshot,
        collections: &[&str],
        sources: &BTreeMap<String, Arc<Source>>,
    ) -> BTreeSet<(String, String)> {
        let wanted: BTreeSet<(String, String)> = collections
            .iter()
            .flat_map(|id| snapshot.repositories(id))
            .cloned()
            .collect();
        let checks = wanted.into_iter().map(|pair| async move {
            let allowed = self.registry_allows(credential, &pair, sources).await;
            allowed.then_some(pair)
        });
        futures::stream::iter(checks)
            .buffer_unordered(PASS_THROUGH_CONCURRENCY)
            .filter_map(std::future::ready)
            .collect()
            .await
    }

    /// Whether the registry lets `credential` pull one repository, cached by a hash of
    /// the credential and the repository. A registry that cannot be asked says no, and
    /// that answer is not kept.
    async fn registry_allows(
        &self,
        credential: &RegistryCredential,
        (source_name, repository): &(String, String),
        sources: &BTreeMap<String, Arc<Source>>,
    ) -> bool {
        let mut key = Sha256::new();
        key.update(credential.fingerprint);
        key.update(source_name.as_bytes());
        key.update([0]);
        key.update(repository.as_bytes());
        let key: [u8; 32] = key.finalize().into();
        if let Some(verdict) = self.verdicts.get(&key) {
            return verdict;
        }
        let Some(Source::Registry(registry)) = sources.get(source_name).map(|s| &**s) else {
            return false;
        };
        match registry
            .client_may_read(repository, credential.authorization())
            .await
        {
            Ok(verdict) => {
                self.verdicts.insert(key, verdict);
                verdict
            }
            Err(e) => {
                tracing::warn!(source = %source_name, %repository, error = %e,
                    "cannot check passed-through credentials");
                false
            }
        }
    }
}

/// Whether a (non-pass-through) policy names this principal.
fn applies(policy: &Policy, principal: &Principal) -> bool {
    match principal {
        Principal::Anonymous | Principal::Registry(_) => false,
        Principal::ApiKey(name) => policy.api_keys.iter().any(|k| k == name),
        Principal::Token(claims) => {
            claims
                .subject
                .as_ref()
                .is_some_and(|s| policy.subjects.contains(s))
                || claims.groups.iter().any(|g| policy.groups.contains(g))
                || claims.scopes.iter().any(|s| policy.scopes.contains(s))
        }
    }
}

#[cfg(test)]
mod tests;
