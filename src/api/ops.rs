//! Operations: `/healthz`, `/readyz`, `/status` and `/metrics`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

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

/// `GET /status`: each source's last crawl and the current snapshot's size.
pub async fn status(State(state): State<AppState>) -> Response {
    let snapshot = state.snapshot.load();
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

/// `GET /metrics`: Prometheus text of registry requests, crawls and Items served.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let snapshot = state.snapshot.load();
    let text = crate::metrics::render(&snapshot, &state.sources, &state.status);
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    ([(axum::http::header::CONTENT_TYPE, content_type)], text).into_response()
}
