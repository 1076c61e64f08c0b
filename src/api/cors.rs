//! Cross-origin reads (CORS, per the Fetch standard) as configured by
//! `server.cors_origins`: web frontends such as STAC Browser read the API, search by
//! POST and read assets by `Range`.

use axum::http::header::{
    ACCEPT_RANGES, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    IF_RANGE, RANGE,
};
use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::CorsOrigins;

/// The CORS layer for the configured origins: GET, HEAD and POST, the request headers of
/// searches and range reads, and the response headers range readers need.
pub fn layer(origins: &CorsOrigins) -> CorsLayer {
    let allow_origin = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::Only(origins) => AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        ),
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::HEAD, Method::POST])
        .allow_headers([
            CONTENT_TYPE,
            RANGE,
            IF_RANGE,
            IF_NONE_MATCH,
            AUTHORIZATION,
            HeaderName::from_static(crate::access::API_KEY_HEADER),
        ])
        .expose_headers([ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, ETAG])
}
