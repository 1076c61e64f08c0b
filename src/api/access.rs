//! The reader of a request: what it may see, applied by every handler the same way.
//! With access control off a reader sees everything; with it on, a collection it may
//! not read answers exactly like one that does not exist.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde_json::Value;

use super::error::ApiError;
use super::links::Base;
use super::state::AppState;
use crate::access::{AccessControl, Grants};
use crate::index::{Search, Snapshot};

/// What the current request may read, and how its asset hrefs are written.
#[derive(Clone)]
pub struct Reader {
    /// `None` when access control is off.
    access: Option<(Arc<AccessControl>, Grants)>,
    /// When hrefs are signed: now, read once per request.
    now: SystemTime,
}

impl Reader {
    /// A reader of everything (access control off).
    pub fn everything() -> Reader {
        Reader {
            access: None,
            now: SystemTime::now(),
        }
    }

    /// The reader behind `headers`; a 401 when they carry credentials that are not
    /// accepted.
    pub async fn of(state: &AppState, headers: &HeaderMap) -> Result<Reader, ApiError> {
        let Some(access) = &state.access else {
            return Ok(Reader::everything());
        };
        let principal = access
            .authenticate(headers)
            .await
            .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
        let snapshot = state.snapshot.load_full();
        let grants = access.grants(&principal, &snapshot, &state.sources).await;
        Ok(Reader {
            access: Some((Arc::clone(access), grants)),
            now: SystemTime::now(),
        })
    }

    /// Whether this reader may see a collection.
    pub fn may_read(&self, collection: &str) -> bool {
        match &self.access {
            None => true,
            Some((_, grants)) => grants.collections.contains(collection),
        }
    }

    /// Whether this reader may read the operator endpoints.
    pub fn is_operator(&self) -> bool {
        self.access.as_ref().is_none_or(|(_, g)| g.operator)
    }

    /// The collections this reader may see; `None` means all.
    pub fn collections(&self) -> Option<&BTreeSet<String>> {
        self.access.as_ref().map(|(_, g)| g.collections.as_ref())
    }

    /// Restricts a search to the collections this reader may see.
    pub fn restrict(&self, search: &mut Search) {
        let Some(visible) = self.collections() else {
            return;
        };
        search.collections = Some(match search.collections.take() {
            Some(asked) => asked.into_iter().filter(|c| visible.contains(c)).collect(),
            None => visible.iter().cloned().collect(),
        });
    }

    /// The queryables over what this reader may see (global), or of one collection it
    /// may see.
    pub fn queryables<'s>(
        &self,
        snapshot: &'s Snapshot,
        collection: Option<&str>,
    ) -> Option<Cow<'s, Value>> {
        match (collection, self.collections()) {
            (Some(id), _) if !self.may_read(id) => None,
            (None, Some(visible)) => Some(Cow::Owned(snapshot.queryables_of(visible))),
            _ => snapshot.queryables(collection).map(Cow::Borrowed),
        }
    }

    /// Whether [`Reader::asset_href`] signs hrefs (access control is on); without, an
    /// asset's href is the base and the path.
    pub fn signs_hrefs(&self) -> bool {
        self.access.is_some()
    }

    /// The absolute href of an asset path (from `/`), signed when access control is on.
    pub fn asset_href(&self, base: &Base, path: &str) -> String {
        match &self.access {
            None => base.href(path),
            Some((access, _)) => {
                format!(
                    "{}?{}",
                    base.href(path),
                    access.signer().sign(path, self.now)
                )
            }
        }
    }
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Reader::of(state, &parts.headers).await
    }
}
