//! Operations: `/healthz`, `/readyz`, `/status` and `/metrics`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::access::Reader;
use super::error::ApiError;
use super::links::JSON;
use super::render::respond;
use super::state::AppState;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Response {
    respond(JSON, json!({"status": "ok"}))
}

/// `GET /readyz`: 200 once the first crawl pass is done, else 503.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.status.is_ready() {
        respond(JSON, json!({"status": "ready"}))
    } else {
        let body = json!({
            "code": "NotReady",
            "description": "the first crawl has not finished",
        });
        (StatusCode::SERVICE_UNAVAILABLE, respond(JSON, body)).into_response()
    }
}

/// `GET /status`: each source's last crawl and the current snapshot's size. With access
/// control on, only operators see the sources, and counts cover what the reader may see.
pub async fn status(State(state): State<AppState>, reader: Reader) -> Response {
    let snapshot = state.snapshot.load();
    if let Some(visible) = reader.collections().filter(|_| !reader.is_operator()) {
        let items: usize = visible
            .iter()
            .map(|c| snapshot.collection_item_count(c))
            .sum();
        return respond(
            JSON,
            json!({
                "ready": state.status.is_ready(),
                "snapshot": {"collections": visible.len(), "items": items},
            }),
        );
    }
    respond(
        JSON,
        json!({
            "ready": state.status.is_ready(),
            "sources": state.status.sources(),
            "snapshot": {
                "collections": snapshot.collections().len(),
                "items": snapshot.item_count(),
            },
        }),
    )
}

/// `GET /metrics`: Prometheus text of registry requests, crawls and Items served; with
/// access control on, for operators only (others get the 404 of an unknown route).
pub async fn metrics(State(state): State<AppState>, reader: Reader) -> Response {
    if !reader.is_operator() {
        return ApiError::not_found("route `/metrics`").into_response();
    }
    let snapshot = state.snapshot.load();
    let text = crate::metrics::render(&snapshot, &state.sources, &state.status);
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    ([(axum::http::header::CONTENT_TYPE, content_type)], text).into_response()
}
