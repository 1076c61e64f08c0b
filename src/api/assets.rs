//! `GET|HEAD /collections/{c}/items/{i}/assets/{key}/{file}`: finds the blob behind an
//! asset in the current snapshot and hands it to the asset proxy, or, for a source in
//! redirect mode, redirects to the registry's own storage redirect. Only blobs an
//! indexed Item references are ever fetched.
//!
//! With access control on, a request is let through by a valid signature over its path
//! (signed hrefs, for clients that cannot send headers) or by its reader's grants; a
//! signature that does not verify is refused whatever the path names.

use std::time::SystemTime;

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::access::Reader;
use super::error::ApiError;
use super::extract::Path;
use super::state::AppState;
use crate::access::signing::UrlSigner;
use crate::config::AssetMode;
use crate::source::Source;

/// Serves one asset's bytes (or headers, for HEAD); unknown item, key or file is a 404.
pub async fn asset(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path((collection, id, key, file)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let signed = match &state.access {
        Some(access) if UrlSigner::is_signed(uri.query()) => {
            let verdict =
                access
                    .signer()
                    .verify(uri.path(), uri.query().unwrap_or(""), SystemTime::now());
            if let Err(refused) = verdict {
                // An expired href still opens what the reader's own credentials allow.
                let reader = Reader::of(&state, &headers).await?;
                if !reader.may_read(&collection) {
                    return Err(ApiError::Forbidden(refused.to_string()));
                }
            }
            true
        }
        _ => false,
    };
    if !signed && !Reader::of(&state, &headers).await?.may_read(&collection) {
        return Err(not_found(&id, &collection));
    }
    let blob = {
        let snapshot = state.snapshot.load();
        let item = snapshot
            .item(&collection, &id)
            .ok_or_else(|| not_found(&id, &collection))?;
        item.asset(&key)
            .filter(|blob| blob.file_name == file)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("asset `{key}/{file}` of item `{id}`")))?
    };
    let source = state.sources.get(&*blob.source).ok_or_else(|| {
        ApiError::Internal(format!(
            "blob {} names unknown source `{}`",
            blob.digest, blob.source
        ))
    })?;
    if method == Method::GET
        && blob.member.is_none()
        && let Source::Registry(registry) = &**source
        && registry.asset_mode() == AssetMode::Redirect
    {
        match registry
            .storage_redirect(&blob.repository, &blob.digest.to_string())
            .await
        {
            Ok(Some(location)) => return Ok(redirect(location.as_str())),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "no storage redirect; proxying instead");
            }
        }
    }
    Ok(crate::assets::serve(source, &blob, &method, &headers).await)
}

fn not_found(id: &str, collection: &str) -> ApiError {
    ApiError::not_found(format!("item `{id}` in collection `{collection}`"))
}

/// A `307` to the registry's storage: its URL carries its own (short-lived)
/// authorisation, so it must not be cached or shared.
fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (
            StatusCode::TEMPORARY_REDIRECT,
            [
                (header::LOCATION, value),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-store"),
                ),
            ],
        )
            .into_response(),
        Err(_) => {
            ApiError::Internal("storage redirect is not a header value".into()).into_response()
        }
    }
}
