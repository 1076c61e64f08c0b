//! The STAC API over HTTP (axum). Reads the current snapshot; never calls a registry
//! except through the asset proxy.
//!
//! [`routes`] is the one route list (the OpenAPI document in `openapi/` is checked
//! against it); [`router`] adds the fallbacks and the layer stack.

pub mod access;
pub mod assets;
pub mod collections;
pub mod cors;
pub mod error;
pub mod extract;
pub mod fields;
pub mod filter;
pub mod items;
pub mod landing;
pub mod links;
pub mod members;
pub mod ops;
pub mod params;
pub mod query;
pub mod queryables;
pub mod render;
pub mod search;
pub mod sortby;
pub mod state;

pub use error::ApiError;
pub use state::AppState;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::routing::{MethodRouter, get, post};
use tower_http::trace::TraceLayer;

/// Every route, once: its path (axum syntax) and its methods.
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/", get(landing::landing)),
        ("/conformance", get(landing::conformance)),
        ("/api", get(landing::api)),
        ("/collections", get(collections::list)),
        ("/collections/{collection_id}", get(collections::one)),
        ("/collections/{collection_id}/items", get(items::list)),
        (
            "/collections/{collection_id}/items/{item_id}",
            get(items::one),
        ),
        (
            "/collections/{collection_id}/items/{item_id}/members",
            get(members::list),
        ),
        (
            "/collections/{collection_id}/items/{item_id}/assets/{key}/{file}",
            get(assets::asset).head(assets::asset),
        ),
        ("/search", get(search::get).post(search::post)),
        ("/queryables", get(queryables::global)),
        (
            "/collections/{collection_id}/queryables",
            get(queryables::collection),
        ),
        ("/healthz", get(ops::healthz)),
        ("/readyz", get(ops::readyz)),
        ("/status", get(ops::status)),
        ("/metrics", get(ops::metrics)),
        (
            "/webhooks/{kind}",
            post(crate::events::route::receive)
                .layer(DefaultBodyLimit::max(crate::events::route::MAX_BODY)),
        ),
    ]
}

/// The application: every route, JSON 404/405 fallbacks, tracing and CORS.
pub fn router(state: AppState) -> Router {
    let cors = cors::layer(&state.server.cors_origins);
    routes()
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(path, methods)
        })
        .fallback(|uri: Uri| async move { ApiError::not_found(format!("route `{}`", uri.path())) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(cors)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_failure(log_failure),
        )
        .with_state(state)
}

/// The span of one request: method and path only, since a query may carry a signed
/// href's signature.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
}

/// Logs a response that failed: `/readyz`'s 503 before the first crawl is expected and
/// logged at debug; anything else is an error.
fn log_failure(
    class: tower_http::classify::ServerErrorsFailureClass,
    latency: std::time::Duration,
    _span: &tracing::Span,
) {
    use tower_http::classify::ServerErrorsFailureClass::StatusCode as Status;
    match class {
        Status(axum::http::StatusCode::SERVICE_UNAVAILABLE) => {
            tracing::debug!(?latency, "answered 503")
        }
        other => tracing::error!(classification = %other, ?latency, "response failed"),
    }
}

#[cfg(test)]
mod tests;
