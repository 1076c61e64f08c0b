//! The landing page, `/conformance` and `/api` (the OpenAPI document).

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::access::Reader;
use super::links::{Base, GEO_JSON, JSON, collection_path};
use super::render::respond;
use super::state::AppState;

/// The conformance classes this gateway really implements: STAC API 1.0.0 with the
/// filter (CQL2 text and JSON), sort, fields, query, free-text and collection-search
/// extensions, on `/search` and on `/collections/{c}/items` alike.
///
/// CQL2 classes are those the `cql2` crate evaluates; the spatial and temporal operator
/// classes are listed under their CQL2 1.0 names and under the draft names
/// (`basic-spatial-operators`, `temporal-operators`) that clients such as
/// stac-api-validator still look for.
pub const CONFORMANCE: &[&str] = &[
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "https://api.stacspec.org/v1.0.0/item-search#fields",
    "https://api.stacspec.org/v1.0.0/item-search#query",
    "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter",
    "https://api.stacspec.org/v1.0.0-rc.1/item-search#free-text",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#sort",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#fields",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#query",
    "https://api.stacspec.org/v1.0.0-rc.2/ogcapi-features#filter",
    "https://api.stacspec.org/v1.0.0-rc.1/collection-search",
    "https://api.stacspec.org/v1.0.0-rc.1/collection-search#free-text",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-operators",
];

/// The link relation of a queryables document (OGC API Features Part 3).
pub const QUERYABLES_REL: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";

/// Media type of a queryables document.
pub const SCHEMA_JSON: &str = "application/schema+json";

/// The OpenAPI document of these routes, served as is at `/api`.
pub const OPENAPI: &str = include_str!("../../openapi/stac-oci.yaml");

/// Media type of the OpenAPI document.
pub const OPENAPI_TYPE: &str = "application/vnd.oai.openapi;version=3.0";

/// `GET /`: the root Catalog, linking everything else.
pub async fn landing(State(state): State<AppState>, base: Base, reader: Reader) -> Response {
    let snapshot = state.snapshot.load();
    let mut links = vec![
        base.link("self", "/", JSON),
        base.link("root", "/", JSON),
        base.link("service-desc", "/api", OPENAPI_TYPE),
        base.link("conformance", "/conformance", JSON),
        base.link("data", "/collections", JSON),
        base.link(QUERYABLES_REL, "/queryables", SCHEMA_JSON),
        json!({"rel": "search", "href": base.href("/search"), "type": GEO_JSON, "method": "GET"}),
        json!({"rel": "search", "href": base.href("/search"), "type": GEO_JSON, "method": "POST"}),
    ];
    let visible = snapshot
        .collections()
        .iter()
        .filter(|c| reader.may_read(&c.id));
    links.extend(visible.map(|collection| {
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
