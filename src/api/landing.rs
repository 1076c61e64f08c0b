//! The landing page, `/conformance` and `/api` (the OpenAPI document).

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::links::{Base, GEO_JSON, JSON, collection_path};
use super::render::respond;
use super::state::AppState;

/// The conformance classes this gateway really implements.
pub const CONFORMANCE: &[&str] = &[
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
];

/// The OpenAPI document of these routes, served as is at `/api`.
pub const OPENAPI: &str = include_str!("../../openapi/stac-oci.yaml");

/// Media type of the OpenAPI document.
pub const OPENAPI_TYPE: &str = "application/vnd.oai.openapi;version=3.0";

/// `GET /`: the root Catalog, linking everything else.
pub async fn landing(State(state): State<AppState>, base: Base) -> Response {
    let snapshot = state.snapshot.load();
    let mut links = vec![
        base.link("self", "/", JSON),
        base.link("root", "/", JSON),
        base.link("service-desc", "/api", OPENAPI_TYPE),
        base.link("conformance", "/conformance", JSON),
        base.link("data", "/collections", JSON),
        json!({"rel": "search", "href": base.href("/search"), "type": GEO_JSON, "method": "GET"}),
        json!({"rel": "search", "href": base.href("/search"), "type": GEO_JSON, "method": "POST"}),
    ];
    links.extend(snapshot.collections().iter().map(|collection| {
        let mut link = base.link("child", &collection_path(&collection.id), JSON);
        if let (Some(title), Some(link)) =
            (collection.collection.get("title"), link.as_object_mut())
        {
            link.insert("title".into(), title.clone());
        }
        link
    }));
    respond(
        JSON,
        json!({
            "type": "Catalog",
            "id": "stac-oci",
            "title": "stac-oci",
            "description": "STAC API over the data packages kept in OCI registries",
            "stac_version": "1.0.0",
            "conformsTo": CONFORMANCE,
            "links": links,
        }),
    )
}

/// `GET /conformance`.
pub async fn conformance() -> Response {
    respond(JSON, json!({"conformsTo": CONFORMANCE}))
}

/// `GET /api`: the OpenAPI document (YAML).
pub async fn api() -> Response {
    ([(CONTENT_TYPE, OPENAPI_TYPE)], OPENAPI).into_response()
}
