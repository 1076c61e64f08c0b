//! `POST /webhooks/{kind}`: a registry's event, checked against the shared secret,
//! reduced to repositories, queued for a debounced recrawl. Answers `202` with the
//! repositories accepted; the route does not exist (404) when no secret is configured.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{WebhookKind, authorized, changed_repositories};
use crate::api::error::ApiError;
use crate::api::state::AppState;
use crate::refresh::RecrawlQueue;

/// Largest webhook body read.
pub const MAX_BODY: usize = 1024 * 1024;

/// What the webhook route needs.
#[derive(Clone)]
pub struct WebhookState {
    /// The shared secret.
    pub secret: Arc<str>,
    /// Where recrawls are queued.
    pub queue: RecrawlQueue,
}

/// `POST /webhooks/{kind}`: checks the secret, reads the payload, queues recrawls.
pub async fn receive(
    State(app): State<AppState>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "PayloadTooLarge"
            } else {
                "BadRequest"
            };
            let body = json!({"code": code, "description": rejection.body_text()});
            return (status, axum::Json(body)).into_response();
        }
    };
    let Some(state) = app.webhooks else {
        return ApiError::not_found("route `/webhooks` (no [webhooks] secret is configured)")
            .into_response();
    };
    let kind: WebhookKind = match kind.parse() {
        Ok(kind) => kind,
        Err(_) => return ApiError::not_found(format!("webhook kind `{kind}`")).into_response(),
    };
    let header_text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = header_text(header::HeaderName::from_static("x-hub-signature-256"));
    if !authorized(
        &state.secret,
        header_text(header::AUTHORIZATION),
        signature,
        &body,
    ) {
        let body =
            json!({"code": "Unauthorized", "description": "webhook secret missing or wrong"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let repositories = match changed_repositories(kind, &body) {
        Ok(repositories) => repositories,
        Err(reason) => return ApiError::bad_parameter("body", reason).into_response(),
    };
    let accepted: Vec<&String> = repositories
        .iter()
        .filter(|repository| state.queue.push((*repository).clone()))
        .collect();
    tracing::info!(?kind, repositories = ?accepted, "registry event");
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"repositories": accepted})),
    )
        .into_response()
}
