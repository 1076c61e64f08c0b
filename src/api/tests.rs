//! Every route driven through `router()` with `oneshot`, over a hand-made snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::config::ServerSettings;
use crate::crawl::status::StatusBoard;
use crate::index::Snapshot;
use crate::mapping::{BlobRef, MappedCollection, MappedItem};

const IDS: [&str; 7] = ["a", "b", "c", "d", "e", "f", "g"];

fn item(collection: &str, n: usize, id: &str) -> MappedItem {
    let href = format!("collections/{collection}/items/{id}/assets/data/{id}.tif");
    let blob = BlobRef {
        source: "nowhere".into(),
        repository: "repo".into(),
        digest: "sha256:00".into(),
        size: 10,
        media_type: "image/tiff".into(),
        file_name: format!("{id}.tif"),
        member: None,
    };
    MappedItem {
        collection: collection.into(),
        id: id.into(),
        item: json!({
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": id,
            "geometry": {"type": "Point", "coordinates": [n as f64, 0.0]},
            "bbox": [n as f64, 0.0, n as f64, 0.0],
            "properties": {"datetime": format!("2020-01-0{}T00:00:00Z", n + 1)},
            "assets": {
                "data": {"href": href, "type": "image/tiff"},
                "remote": {"href": "https://example.com/x.json"},
            },
        })
        .as_object()
        .cloned()
        .unwrap(),
        shared_properties: Default::default(),
        footprint: None,
        assets: BTreeMap::from([("data".to_string(), blob)]),
        links: Vec::new(),
    }
}

fn collection(id: &str) -> MappedCollection {
    MappedCollection {
        id: id.into(),
        collection: json!({"type": "Collection", "id": id, "title": format!("The {id}"),
            "description": "d", "license": "other", "extent": {}})
        .as_object()
        .cloned()
        .unwrap(),
    }
}

fn state() -> AppState {
    let mut items: Vec<MappedItem> = IDS
        .iter()
        .enumerate()
        .map(|(n, id)| item("s2", n, id))
        .collect();
    items.push(item("l8", 100, "z"));
    let snapshot = Snapshot::build(
        vec![collection("s2"), collection("l8"), collection("empty")],
        items,
    );
    AppState {
        snapshot: Arc::new(ArcSwap::from_pointee(snapshot)),
        sources: Arc::new(BTreeMap::new()),
        status: StatusBoard::new(["local".to_string()]),
        server: Arc::new(ServerSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: None,
            default_limit: 3,
            max_limit: 5,
            cors_origins: crate::config::CorsOrigins::Any,
        }),
        webhooks: None,
        access: None,
    }
}

/// Sends one request; returns status, headers and the body (JSON, or a string).
async fn send(
    state: &AppState,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "example.org");
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = router(state.clone())
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, value)
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, HeaderMap, Value) {
    send(state, Method::GET, uri, None).await
}

fn content_type(headers: &HeaderMap) -> &str {
    headers["content-type"].to_str().unwrap()
}

fn link<'a>(value: &'a Value, rel: &str) -> Option<&'a Value> {
    value["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == rel)
}

fn href(value: &Value, rel: &str) -> String {
    link(value, rel).unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string()
}

fn ids(value: &Value) -> Vec<String> {
    value["features"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {value}"))
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn landing_page_links_everything() {
    let state = state();
    let (status, headers, landing) = get(&state, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "application/json");
    assert_eq!(landing["type"], "Catalog");
    assert_eq!(landing["id"], "stac-oci");
    assert_eq!(landing["stac_version"], "1.0.0");
    assert_eq!(href(&landing, "self"), "http://example.org/");
    assert_eq!(href(&landing, "root"), "http://example.org/");
    assert_eq!(href(&landing, "service-desc"), "http://example.org/api");
    assert_eq!(
        href(&landing, "conformance"),
        "http://example.org/conformance"
    );
    assert_eq!(href(&landing, "data"), "http://example.org/collections");
    let searches: Vec<_> = landing["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == "search")
        .map(|l| l["method"].clone())
        .collect();
    assert_eq!(searches, [json!("GET"), json!("POST")]);
    let children: Vec<_> = landing["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == "child")
        .map(|l| l["href"].as_str().unwrap())
        .collect();
    assert_eq!(
        children,
        [
            "http://example.org/collections/empty",
            "http://example.org/collections/l8",
            "http://example.org/collections/s2"
        ]
    );

    let (status, _, conformance) = get(&state, "/conformance").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(conformance["conformsTo"], landing["conformsTo"]);
    assert!(
        conformance["conformsTo"]
            .as_array()
            .unwrap()
            .contains(&json!("https://api.stacspec.org/v1.0.0/item-search"))
    );

    let (status, headers, api) = get(&state, "/api").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        content_type(&headers),
        "application/vnd.oai.openapi;version=3.0"
    );
    assert!(api.as_str().unwrap().starts_with("openapi: 3.0"));
}

#[tokio::test]
async fn public_url_wins_over_host() {
    let mut state = state();
    let mut server = (*state.server).clone();
    server.public_url = Some("https://stac.example.com/base/".parse().unwrap());
    state.server = Arc::new(server);
    let (_, _, item) = get(&state, "/collections/s2/items/a").await;
    assert_eq!(
        href(&item, "self"),
        "https://stac.example.com/base/collections/s2/items/a"
    );
    assert_eq!(
        item["assets"]["data"]["href"],
        "https://stac.example.com/base/collections/s2/items/a/assets/data/a.tif"
    );
}

#[tokio::test]
async fn collections_and_their_links() {
    let state = state();
    let (status, headers, all) = get(&state, "/collections").await;
    assert_eq!(
        (status, content_type(&headers)),
        (StatusCode::OK, "application/json")
    );
    let ids: Vec<_> = all["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["empty", "l8", "s2"]);
    assert_eq!(href(&all, "self"), "http://example.org/collections");

    let (status, _, s2) = get(&state, "/collections/s2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s2["title"], "The s2");
    assert_eq!(href(&s2, "self"), "http://example.org/collections/s2");
    assert_eq!(href(&s2, "parent"), "http://example.org/");
    assert_eq!(href(&s2, "root"), "http://example.org/");
    assert_eq!(
        href(&s2, "items"),
        "http://example.org/collections/s2/items"
    );

    let (status, headers, error) = get(&state, "/collections/nope").await;
    assert_eq!(
        (status, content_type(&headers)),
        (StatusCode::NOT_FOUND, "application/json")
    );
    assert_eq!(
        error,
        json!({"code": "NotFound", "description": "collection `nope` not found"})
    );
}

#[tokio::test]
async fn items_have_links_and_absolute_asset_hrefs() {
    let state = state();
    let (status, headers, item) = get(&state, "/collections/s2/items/c").await;
    assert_eq!(
        (status, content_type(&headers)),
        (StatusCode::OK, "application/geo+json")
    );
    assert_eq!(item["id"], "c");
    assert_eq!(item["collection"], "s2");
    assert_eq!(
        href(&item, "self"),
        "http://example.org/collections/s2/items/c"
    );
    assert_eq!(href(&item, "parent"), "http://example.org/collections/s2");
    assert_eq!(
        href(&item, "collection"),
        "http://example.org/collections/s2"
    );
    assert_eq!(href(&item, "root"), "http://example.org/");
    assert_eq!(
        item["assets"]["data"]["href"],
        "http://example.org/collections/s2/items/c/assets/data/c.tif"
    );
    assert_eq!(
        item["assets"]["remote"]["href"],
        "https://example.com/x.json"
    );

    let (status, _, error) = get(&state, "/collections/s2/items/zz").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error["description"].as_str().unwrap().contains("item `zz`"));
    let (status, _, error) = get(&state, "/collections/l9/items/a").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        error["description"]
            .as_str()
            .unwrap()
            .contains("collection `l9`")
    );
}

#[tokio::test]
async fn items_page_through_next_links() {
    let state = state();
    let mut uri = "/collections/s2/items?limit=2".to_string();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, headers, page) = get(&state, &uri).await;
        assert_eq!(
            (status, content_type(&headers)),
            (StatusCode::OK, "application/geo+json")
        );
        assert_eq!(page["type"], "FeatureCollection");
        assert_eq!(page["numberMatched"], 7);
        assert_eq!(
            page["numberReturned"],
            page["features"].as_array().unwrap().len()
        );
        assert_eq!(href(&page, "self"), format!("http://example.org{uri}"));
        assert_eq!(href(&page, "root"), "http://example.org/");
        seen.extend(ids(&page));
        pages += 1;
        match link(&page, "next") {
            Some(next) => {
                let next = next["href"].as_str().unwrap();
                assert!(next.contains("limit=2"));
                uri = next.strip_prefix("http://example.org").unwrap().to_string();
            }
            None => break,
        }
    }
    assert_eq!(seen, IDS);
    assert_eq!(pages, 4);

    let (_, _, empty) = get(&state, "/collections/empty/items").await;
    assert_eq!(empty["numberMatched"], 0);
    assert!(link(&empty, "next").is_none());
    let (status, _, _) = get(&state, "/collections/nope/items").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn items_filter_by_bbox_and_datetime() {
    let state = state();
    let (_, _, page) = get(
        &state,
        "/collections/s2/items?bbox=1.5,-1,4.5,1&datetime=2020-01-04T00:00:00Z/..",
    )
    .await;
    assert_eq!(ids(&page), ["d", "e"]);
    assert_eq!(page["numberMatched"], 2);
}

#[tokio::test]
async fn get_search_filters_and_clamps() {
    let state = state();
    let search = |query: &str| {
        let state = state.clone();
        let uri = format!("/search?{query}");
        async move { get(&state, &uri).await }
    };
    let (status, headers, page) = search("collections=s2,l8&ids=a,z,q").await;
    assert_eq!(
        (status, content_type(&headers)),
        (StatusCode::OK, "application/geo+json")
    );
    assert_eq!(ids(&page), ["z", "a"]);
    let (_, _, page) = search("bbox=99,-1,101,1").await;
    assert_eq!(ids(&page), ["z"]);
    let (_, _, page) = search("bbox=-1,-1,-10,1.5,1,10").await;
    assert_eq!(ids(&page), ["a", "b"]);
    let (_, _, page) = search("datetime=../2020-01-02T00:00:00Z").await;
    assert_eq!(page["numberMatched"], 2);
    let intersects =
        r#"{"type":"Polygon","coordinates":[[[2.5,-1],[3.5,-1],[3.5,1],[2.5,1],[2.5,-1]]]}"#;
    let (_, _, page) = search(&format!(
        "intersects={}",
        url::form_urlencoded::byte_serialize(intersects.as_bytes()).collect::<String>()
    ))
    .await;
    assert_eq!(ids(&page), ["d"]);
    // Default limit 3, maximum 5.
    let (_, _, page) = search("").await;
    assert_eq!(
        (
            page["numberReturned"].clone(),
            page["numberMatched"].clone()
        ),
        (json!(3), json!(8))
    );
    assert_eq!(link(&page, "next").unwrap()["method"], "GET");
    let (_, _, page) = search("limit=1000").await;
    assert_eq!(page["numberReturned"], 5);
}

#[tokio::test]
async fn post_search_pages_with_body_links() {
    let state = state();
    let mut body =
        json!({"collections": ["s2"], "limit": 3, "datetime": "2020-01-02T00:00:00Z/.."});
    let mut seen = Vec::new();
    loop {
        let (status, headers, page) =
            send(&state, Method::POST, "/search", Some(body.clone())).await;
        assert_eq!(
            (status, content_type(&headers)),
            (StatusCode::OK, "application/geo+json")
        );
        assert_eq!(page["numberMatched"], 6);
        seen.extend(ids(&page));
        let Some(next) = link(&page, "next") else {
            break;
        };
        assert_eq!(next["method"], "POST");
        assert_eq!(next["merge"], false);
        assert_eq!(next["href"], "http://example.org/search");
        assert_eq!(next["body"]["collections"], json!(["s2"]));
        assert!(next["body"]["token"].is_string());
        body = next["body"].clone();
    }
    assert_eq!(seen, ["b", "c", "d", "e", "f", "g"]);

    let (_, _, page) = send(
        &state,
        Method::POST,
        "/search",
        Some(json!({"intersects":
        {"type": "Point", "coordinates": [100.0, 0.0]}, "limit": null})),
    )
    .await;
    assert_eq!(ids(&page), ["z"]);
}

#[tokio::test]
async fn malformed_parameters_are_400s_naming_them() {
    let state = state();
    let cases = [
        ("/search?bbox=1,2,3", "bbox"),
        ("/search?bbox=a,b,c,d", "bbox"),
        ("/search?bbox=0,10,1,5", "bbox"),
        ("/search?datetime=yesterday", "datetime"),
        (
            "/search?datetime=2021-01-01T00:00:00Z/2020-01-01T00:00:00Z",
            "datetime",
        ),
        ("/search?limit=0", "limit"),
        ("/search?limit=-3", "limit"),
        ("/search?limit=ten", "limit"),
        ("/search?token=!!", "token"),
        ("/search?intersects=nope", "intersects"),
        (
            "/search?intersects=%7B%22type%22%3A%22Point%22%7D",
            "intersects",
        ),
        ("/search?bbox=0,0,1,1&intersects=%7B%7D", "intersects"),
        ("/collections/s2/items?limit=0", "limit"),
        ("/collections/s2/items?bbox=1", "bbox"),
        ("/collections/s2/items?token=abc", "token"),
        ("/search?limit=1&limit=2", "query"),
    ];
    for (uri, parameter) in cases {
        let (status, headers, error) = get(&state, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(content_type(&headers), "application/json");
        assert_eq!(error["code"], "BadRequest");
        let description = error["description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!("invalid {parameter}:")),
            "{uri}: {description}"
        );
    }
    let bodies = [
        (json!([1, 2]), "body"),
        (json!({"bbox": [1, 2]}), "bbox"),
        (json!({"bbox": "1,2,3,4"}), "bbox"),
        (json!({"datetime": 5}), "datetime"),
        (json!({"ids": "a"}), "ids"),
        (json!({"collections": [1]}), "collections"),
        (json!({"limit": "5"}), "limit"),
        (json!({"limit": 0}), "limit"),
        (json!({"token": "%%%"}), "token"),
        (
            json!({"intersects": {"type": "Polygon", "coordinates": [[[0, 0]]]}}),
            "intersects",
        ),
    ];
    for (body, parameter) in bodies {
        let (status, _, error) = send(&state, Method::POST, "/search", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let description = error["description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!("invalid {parameter}:")),
            "{body}: {description}"
        );
    }
    let request = Request::post("/search")
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let response = router(state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let error: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(
        error["description"]
            .as_str()
            .unwrap()
            .starts_with("invalid body:")
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let state = state();
    let (status, headers, error) = get(&state, "/nowhere").await;
    assert_eq!(
        (status, content_type(&headers)),
        (StatusCode::NOT_FOUND, "application/json")
    );
    assert_eq!(error["description"], "route `/nowhere` not found");
    let (status, headers, error) = send(&state, Method::DELETE, "/search", None).await;
    assert_eq!(
        (status, content_type(&headers)),
        (StatusCode::METHOD_NOT_ALLOWED, "application/json")
    );
    assert_eq!(error["code"], "MethodNotAllowed");
    let (status, _, _) = send(&state, Method::POST, "/collections", Some(json!({}))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn operations_report_health_readiness_and_status() {
    let state = state();
    let (status, _, health) = get(&state, "/healthz").await;
    assert_eq!((status, health), (StatusCode::OK, json!({"status": "ok"})));
    let (status, headers, ready) = get(&state, "/readyz").await;
    assert_eq!(
        (status, content_type(&headers)),
        (StatusCode::SERVICE_UNAVAILABLE, "application/json")
    );
    assert_eq!(ready["code"], "NotReady");
    state.status.set_ready();
    let (status, _, _) = get(&state, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, report) = get(&state, "/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["ready"], true);
    assert_eq!(report["sources"][0]["name"], "local");
    assert_eq!(report["sources"][0]["state"], "pending");
    assert_eq!(report["snapshot"], json!({"collections": 3, "items": 8}));
}

#[tokio::test]
async fn assets_are_looked_up_in_the_snapshot() {
    let state = state();
    for uri in [
        "/collections/s2/items/a/assets/data/b.tif",
        "/collections/s2/items/a/assets/other/a.tif",
        "/collections/s2/items/zz/assets/data/zz.tif",
    ] {
        let (status, _, error) = get(&state, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(error["code"], "NotFound");
    }
    // The blob names a source the gateway does not have: our fault, said generically.
    let (status, _, error) = send(
        &state,
        Method::HEAD,
        "/collections/s2/items/a/assets/data/a.tif",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(error, Value::String(String::new()));
    let (status, _, error) = get(&state, "/collections/s2/items/a/assets/data/a.tif").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(error["description"], "internal error");
}

/// The `paths:` keys of the OpenAPI document, read line by line.
fn openapi_paths() -> BTreeSet<String> {
    let mut in_paths = false;
    let mut paths = BTreeSet::new();
    for line in landing::OPENAPI.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line == "paths:";
        } else if in_paths && line.starts_with("  /") {
            paths.insert(line.trim().trim_end_matches(':').to_string());
        }
    }
    paths
}

#[test]
fn openapi_documents_exactly_the_routes() {
    let routes: BTreeSet<String> = routes()
        .into_iter()
        .map(|(path, _)| path.to_string())
        .collect();
    assert_eq!(routes.len(), 17);
    assert_eq!(openapi_paths(), routes);
}

#[test]
fn fields_parse_and_apply_the_extension_rules() {
    use super::fields::Fields;
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let get = Fields::from_text("id, properties.title,-links,+assets").unwrap();
    assert_eq!(
        get.include,
        Some(strings(&["id", "properties.title", "assets"]))
    );
    assert_eq!(get.exclude, ["links"]);
    assert_eq!(Fields::from_text("-links").unwrap().include, None);
    assert_eq!(Fields::from_text("").unwrap().include, Some(Vec::new()));
    let post = Fields::from_value(&json!({"include": ["properties.title"]})).unwrap();
    assert_eq!(post.include, Some(strings(&["properties.title"])));
    assert_eq!(
        Fields::from_value(&json!({})).unwrap().include,
        Some(Vec::new())
    );
    assert_eq!(
        Fields::from_value(&json!({"exclude": ["a"]}))
            .unwrap()
            .include,
        None
    );
    assert_eq!(
        Fields::from_value(&json!({"include": null, "exclude": ["a"]}))
            .unwrap()
            .include,
        Some(Vec::new())
    );
    for bad in [
        json!({"include": "id"}),
        json!({"includes": []}),
        json!([1]),
        json!(null),
    ] {
        let error = Fields::from_value(&bad).unwrap_err().to_string();
        assert!(error.starts_with("invalid fields"), "{bad}: {error}");
    }
    assert!(Fields::from_text("properties..x").is_err());

    let full = json!({
        "type": "Feature", "stac_version": "1.0.0", "id": "a", "collection": "c",
        "geometry": null, "bbox": [0, 0, 1, 1], "links": [], "assets": {"x": {}},
        "properties": {"datetime": "2020-01-01T00:00:00Z", "title": "T", "gsd": 10},
    });
    // Include: the included paths and the identifying members.
    assert_eq!(
        post.apply(full.clone()),
        json!({"type": "Feature", "stac_version": "1.0.0", "id": "a", "collection": "c",
            "properties": {"title": "T"}})
    );
    // Only exclude: the whole Item minus the excluded paths.
    let kept = Fields::from_text("-properties.gsd,-geometry")
        .unwrap()
        .apply(full.clone());
    assert!(kept.get("geometry").is_none());
    assert_eq!(
        kept["properties"],
        json!({"datetime": "2020-01-01T00:00:00Z", "title": "T"})
    );
    assert_eq!(kept["links"], json!([]));
    // Both: a more specific or equal include beats an exclusion.
    let kept = Fields::from_text("-properties,+properties.gsd,geometry,-geometry,-collection")
        .unwrap()
        .apply(full.clone());
    assert_eq!(
        kept,
        json!({"type": "Feature", "stac_version": "1.0.0", "id": "a",
            "properties": {"gsd": 10}, "geometry": null})
    );
    // Empty include with an exclusion: the default set minus it.
    let kept = Fields::from_value(&json!({"include": [], "exclude": ["links"]}))
        .unwrap()
        .apply(full.clone());
    assert!(kept.get("links").is_none());
    assert_eq!(
        kept["properties"],
        json!({"datetime": "2020-01-01T00:00:00Z"})
    );
    // Nothing named: the default set.
    let kept = Fields::from_value(&json!({})).unwrap().apply(full);
    assert_eq!(
        kept["properties"],
        json!({"datetime": "2020-01-01T00:00:00Z"})
    );
    assert_eq!(kept["bbox"], json!([0, 0, 1, 1]));
    assert_eq!(kept["assets"], json!({"x": {}}));
}

#[test]
fn query_objects_become_cql2() {
    let expr = |value: Value| {
        super::query::from_value(&value, None)
            .unwrap()
            .map(|e| e.to_value().unwrap())
    };
    assert_eq!(expr(json!({})), None);
    // Numeric strings become numbers for numeric queryables only.
    let schema = json!({"properties": {"gsd": {"type": "number"}, "id": {"type": "string"},
        "tags": {"type": "array"}}});
    let overlap = super::query::from_value(&json!({"tags": {"in": ["a"]}}), Some(&schema))
        .unwrap()
        .unwrap()
        .to_value()
        .unwrap();
    assert_eq!(
        overlap,
        json!({"op": "a_overlaps", "args": [{"property": "tags"}, ["a"]]})
    );
    let typed = super::query::from_value(
        &json!({"gsd": {"in": ["10", "20.5"]}, "id": {"eq": "10"}}),
        Some(&schema),
    )
    .unwrap()
    .unwrap()
    .to_text()
    .unwrap();
    assert_eq!(typed, "gsd IN (10, 20.5) AND id = '10'");
    assert_eq!(
        expr(json!({"eo:cloud_cover": {"lt": 10}})),
        Some(json!({"op": "<", "args": [{"property": "eo:cloud_cover"}, 10.0]}))
    );
    assert_eq!(
        expr(json!({"properties.platform": {"in": ["a", "b"]}, "id": {"startsWith": "x_%"}})),
        Some(json!({"op": "and", "args": [
            {"op": "in", "args": [{"property": "platform"}, ["a", "b"]]},
            {"op": "like", "args": [{"property": "id"}, "x\\_\\%%"]},
        ]}))
    );
    let text = super::query::from_text(
        r#"{"gsd": {"gte": 5, "neq": 7}, "t": {"contains": "ab"}}"#,
        None,
    )
    .unwrap()
    .unwrap()
    .to_text()
    .unwrap();
    assert!(
        text.contains("gsd >= 5") && text.contains("gsd <> 7"),
        "{text}"
    );
    assert!(text.contains("LIKE '%ab%'"), "{text}");
    for bad in [
        r#"[1]"#,
        r#"{"a": 1}"#,
        r#"{"a": {"near": 1}}"#,
        r#"{"a": {"eq": [1]}}"#,
        r#"{"a": {"in": []}}"#,
        r#"{"a": {"startsWith": 1}}"#,
        "{",
    ] {
        let error = super::query::from_text(bad, None).unwrap_err().to_string();
        assert!(error.starts_with("invalid query"), "{bad}: {error}");
    }
}

#[test]
fn filters_parse_in_either_language() {
    use super::filter::{FilterLang, check_crs, from_text, from_value};
    assert_eq!(
        FilterLang::parse(None, FilterLang::Text).unwrap(),
        FilterLang::Text
    );
    assert_eq!(
        FilterLang::parse(Some("cql2-json"), FilterLang::Text).unwrap(),
        FilterLang::Json
    );
    let error = FilterLang::parse(Some("cql"), FilterLang::Json).unwrap_err();
    assert!(error.to_string().starts_with("invalid filter-lang"));

    let text = from_text("\"eo:cloud_cover\" < 10 AND id = 'a'", FilterLang::Text).unwrap();
    let json_text = r#"{"op": "and", "args": [
        {"op": "<", "args": [{"property": "eo:cloud_cover"}, 10]},
        {"op": "=", "args": [{"property": "id"}, "a"]}]}"#;
    let json = from_text(json_text, FilterLang::Json).unwrap();
    assert_eq!(text.to_value().unwrap(), json.to_value().unwrap());
    let value: Value = serde_json::from_str(json_text).unwrap();
    assert_eq!(
        from_value(&value, FilterLang::Text)
            .unwrap()
            .to_value()
            .unwrap(),
        json.to_value().unwrap()
    );
    assert_eq!(
        from_value(&json!("id = 'a'"), FilterLang::Text)
            .unwrap()
            .to_value()
            .unwrap(),
        json!({"op": "=", "args": [{"property": "id"}, "a"]})
    );
    for bad in ["id = ", "id === 'a'", "(id = 'a'", "S_INTERSECTS(geometry)"] {
        let error = from_text(bad, FilterLang::Text).unwrap_err().to_string();
        assert!(error.starts_with("invalid filter"), "{bad}: {error}");
    }
    for bad in [
        json!({"op": "nope", "args": [1, 2]}),
        json!({"args": []}),
        json!(3),
    ] {
        let error = from_value(&bad, FilterLang::Json).unwrap_err().to_string();
        assert!(error.starts_with("invalid filter"), "{bad}: {error}");
    }
    // The draft spelling of BETWEEN, with an array, is read as CQL2 1.0's.
    let between = json!({"op": "between", "args": [{"property": "gsd"}, [1, 2]]});
    assert_eq!(
        from_value(&between, FilterLang::Json)
            .unwrap()
            .to_text()
            .unwrap(),
        "gsd BETWEEN 1 AND 2"
    );
    assert!(check_crs(None).is_ok());
    assert!(check_crs(Some("http://www.opengis.net/def/crs/OGC/1.3/CRS84")).is_ok());
    let error = check_crs(Some("EPSG:2154")).unwrap_err().to_string();
    assert!(error.starts_with("invalid filter-crs"));
}

#[test]
fn sortby_reads_both_spellings() {
    use crate::index::SortKey;
    let key = |field: &str, descending| SortKey {
        field: field.into(),
        descending,
    };
    // `+` arrives as a space from a decoded query string.
    assert_eq!(
        super::sortby::from_text(" datetime,-properties.eo:cloud_cover,+id").unwrap(),
        [
            key("datetime", false),
            key("properties.eo:cloud_cover", true),
            key("id", false)
        ]
    );
    assert_eq!(
        super::sortby::from_value(&json!([
            {"field": "datetime", "direction": "desc"},
            {"field": "id"},
        ]))
        .unwrap(),
        [key("datetime", true), key("id", false)]
    );
    for bad in ["", "a,,b", "-", "a b"] {
        let error = super::sortby::from_text(bad).unwrap_err().to_string();
        assert!(error.starts_with("invalid sortby"), "{bad:?}: {error}");
    }
    for bad in [
        json!("datetime"),
        json!([{"direction": "asc"}]),
        json!([{"field": "id", "direction": "up"}]),
    ] {
        let error = super::sortby::from_value(&bad).unwrap_err().to_string();
        assert!(error.starts_with("invalid sortby"), "{bad}: {error}");
    }
}

#[test]
fn get_and_post_parse_to_the_same_search() {
    let server = ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        default_limit: 10,
        max_limit: 100,
        cors_origins: crate::config::CorsOrigins::Any,
    };
    let query: params::SearchQuery = serde_json::from_value(json!({
        "bbox": "0,40,10,50",
        "datetime": "2020-01-01T00:00:00Z/..",
        "collections": "a,b",
        "limit": "500",
        "filter": "gsd > 5",
        "sortby": "-datetime",
        "query": r#"{"platform": {"eq": "s2"}}"#,
        "q": "wheat,maize",
        "fields": "id,-links",
    }))
    .unwrap();
    let body = json!({
        "bbox": [0, 40, 10, 50],
        "datetime": "2020-01-01T00:00:00Z/..",
        "collections": ["a", "b"],
        "limit": 500,
        "filter": {"op": ">", "args": [{"property": "gsd"}, 5]},
        "sortby": [{"field": "datetime", "direction": "desc"}],
        "query": {"platform": {"eq": "s2"}},
        "q": ["wheat", "maize"],
        "fields": {"include": ["id"], "exclude": ["links"]},
    });
    let get = query.to_search(&server, || None).unwrap();
    let post = params::from_body(&body, &server, || None).unwrap();
    assert_eq!(format!("{get:?}"), format!("{post:?}"));
    assert_eq!(get.limit, 100);
    assert_eq!(
        get.q.as_deref(),
        Some(&["wheat".to_string(), "maize".into()][..])
    );
    let filter = get.filter.unwrap().to_text().unwrap();
    assert_eq!(filter, "gsd > 5 AND platform = 's2'");
    assert_eq!(query.fields().unwrap(), params::body_fields(&body).unwrap());
    // The queryables are asked for only when there is a `query`, and type its operands.
    let schema = json!({"properties": {"gsd": {"type": "number"}}});
    let typed: params::SearchQuery =
        serde_json::from_value(json!({"query": r#"{"gsd": {"lt": "10"}}"#})).unwrap();
    let asked = std::cell::Cell::new(0);
    let search = typed
        .to_search(&server, || {
            asked.set(asked.get() + 1);
            Some(std::borrow::Cow::Borrowed(&schema))
        })
        .unwrap();
    assert_eq!(search.filter.unwrap().to_text().unwrap(), "gsd < 10");
    assert_eq!(asked.get(), 1);
    let plain: params::SearchQuery = serde_json::from_value(json!({"bbox": "0,0,1,1"})).unwrap();
    plain
        .to_search(&server, || panic!("queryables asked for without a query"))
        .unwrap();
    params::from_body(&json!({"bbox": [0, 0, 1, 1]}), &server, || {
        panic!("queryables asked for without a query")
    })
    .unwrap();
    // Text in a POST body and JSON in a query string are accepted too.
    let mixed = params::from_body(
        &json!({"filter": "gsd > 5", "filter-lang": "cql2-text"}),
        &server,
        || None,
    )
    .unwrap();
    let mixed_get: params::SearchQuery = serde_json::from_value(json!({
        "filter": r#"{"op": ">", "args": [{"property": "gsd"}, 5]}"#,
        "filter-lang": "cql2-json",
    }))
    .unwrap();
    assert_eq!(
        format!("{:?}", mixed.filter),
        format!(
            "{:?}",
            mixed_get.to_search(&server, || None).unwrap().filter
        )
    );
}

#[tokio::test]
async fn malformed_extension_parameters_are_400s_naming_them() {
    let state = state();
    for (uri, parameter) in [
        ("/search?filter=id%20%3D", "filter"),
        ("/search?filter=nope(1)", "filter"),
        ("/search?filter-lang=cql", "filter-lang"),
        (
            "/search?filter=id%3D%27a%27&filter-crs=EPSG:2154",
            "filter-crs",
        ),
        ("/search?filter=%7B&filter-lang=cql2-json", "filter"),
        ("/search?sortby=a,,b", "sortby"),
        ("/search?fields=properties..x", "fields"),
        ("/search?query=%7B%22a%22:1%7D", "query"),
        ("/search?query=nope", "query"),
        ("/collections/s2/items?filter=id%20%3D", "filter"),
        ("/collections/s2/items?sortby=-", "sortby"),
        ("/search?limit=0", "limit"),
        ("/search?limit=-1", "limit"),
        ("/search?limit=1.5", "limit"),
        ("/search?datetime=../..", "datetime"),
        ("/search?datetime=/", "datetime"),
        ("/search?datetime=/..", "datetime"),
    ] {
        let (status, _, error) = get(&state, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {error}");
        let description = error["description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!("invalid {parameter}:")),
            "{uri}: {description}"
        );
    }
    for (body, parameter) in [
        (json!({"filter": 3}), "filter"),
        (json!({"filter": {"op": "=", "args": [1]}}), "filter"),
        (
            json!({"filter": "id = 'a'", "filter-lang": 7}),
            "filter-lang",
        ),
        (json!({"filter-crs": "EPSG:3857"}), "filter-crs"),
        (json!({"sortby": "datetime"}), "sortby"),
        (json!({"fields": ["id"]}), "fields"),
        (json!({"fields": null}), "fields"),
        (
            json!({"filter": {"op": "between", "args": [{"property": "a"}, [1]]}}),
            "filter",
        ),
        (json!({"query": {"a": {"lt": null}}}), "query"),
        (json!({"q": 3}), "q"),
        (json!({"q": [3]}), "q"),
        (json!({"limit": 0}), "limit"),
        (json!({"limit": "ten"}), "limit"),
    ] {
        let (status, _, error) = send(&state, Method::POST, "/search", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        let description = error["description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!("invalid {parameter}:")),
            "{body}: {description}"
        );
    }
}

#[tokio::test]
async fn queryables_are_schemas_with_their_url_as_id() {
    let state = state();
    let (status, headers, landing) = get(&state, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        href(&landing, landing::QUERYABLES_REL),
        "http://example.org/queryables"
    );
    assert!(landing["conformsTo"].as_array().unwrap().contains(&json!(
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json"
    )));
    assert_eq!(content_type(&headers), "application/json");
    let (status, headers, schema) = get(&state, "/queryables").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "application/schema+json");
    assert_eq!(schema["$id"], "http://example.org/queryables");
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["properties"]["datetime"]["format"], "date-time");
    let (_, _, collection) = get(&state, "/collections/s2").await;
    assert_eq!(
        href(&collection, landing::QUERYABLES_REL),
        "http://example.org/collections/s2/queryables"
    );
    let (status, _, schema) = get(&state, "/collections/s2/queryables").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        schema["$id"],
        "http://example.org/collections/s2/queryables"
    );
    let (status, _, error) = get(&state, "/collections/nope/queryables").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["description"], "collection `nope` not found");
}

#[tokio::test]
async fn collections_are_searched_and_paged() {
    let state = state();
    let (status, _, page) = get(&state, "/collections?limit=2").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["numberMatched"], 3);
    assert_eq!(page["numberReturned"], 2);
    let ids: Vec<&str> = page["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["empty", "l8"]);
    let next = href(&page, "next");
    assert_eq!(next, "http://example.org/collections?limit=2&offset=2");
    let (_, _, page) = get(&state, "/collections?limit=2&offset=2").await;
    assert_eq!(page["collections"][0]["id"], "s2");
    assert!(link(&page, "next").is_none());
    let (_, _, page) = get(&state, "/collections?q=the%20l8").await;
    assert_eq!(page["numberMatched"], 1, "{page}");
    assert_eq!(page["collections"][0]["id"], "l8");
    for (query, parameter) in [
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
        ("bbox=1,2", "bbox"),
        ("datetime=../..", "datetime"),
    ] {
        let (status, _, error) = get(&state, &format!("/collections?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        let description = error["description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!("invalid {parameter}:")),
            "{description}"
        );
    }
}

#[tokio::test]
async fn searches_filter_sort_and_trim_items() {
    let state = state();
    // Items a..g sit at x = 0..6 with datetimes 2020-01-01..07.
    let (status, _, page) = get(
        &state,
        "/search?filter=S_INTERSECTS(geometry,BBOX(1.5,-1,4.5,1))&sortby=-datetime&fields=id,-links",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), ["e", "d", "c"]);
    assert_eq!(page["numberMatched"], 3);
    assert_eq!(
        page["features"][0],
        json!({"type": "Feature", "stac_version": "1.0.0", "id": "e", "collection": "s2"})
    );
    let body = json!({
        "filter": {"op": "t_before", "args": [{"property": "datetime"},
            {"timestamp": "2020-01-03T00:00:00Z"}]},
        "sortby": [{"field": "id", "direction": "desc"}],
        "fields": {"include": ["properties.datetime"], "exclude": ["geometry"]},
    });
    let (_, _, unfielded) = send(
        &state,
        Method::POST,
        "/search",
        Some(json!({
        "filter": body["filter"], "sortby": body["sortby"]})),
    )
    .await;
    assert_eq!(ids(&unfielded), ["b", "a"]);
    let (status, _, page) = send(&state, Method::POST, "/search", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        page["features"][0]["properties"],
        json!({"datetime": "2020-01-02T00:00:00Z"})
    );
    assert!(page["features"][0].get("geometry").is_none());
    let (_, _, page) = get(&state, "/collections/s2/items?q=nothing-like-it").await;
    assert_eq!(page["numberMatched"], 0);
}

#[tokio::test]
async fn cors_follows_the_configured_origins() {
    let preflight = |state: AppState, origin: &'static str| async move {
        let request = Request::builder()
            .method(Method::OPTIONS)
            .uri("/search")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .body(Body::empty())
            .unwrap();
        let response = router(state).oneshot(request).await.unwrap();
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        preflight(state(), "https://any.example.org")
            .await
            .as_deref(),
        Some("*")
    );
    let mut only = state();
    let mut server = (*only.server).clone();
    server.cors_origins =
        crate::config::CorsOrigins::Only(vec!["https://browser.example.org".into()]);
    only.server = Arc::new(server);
    assert_eq!(
        preflight(only.clone(), "https://browser.example.org")
            .await
            .as_deref(),
        Some("https://browser.example.org")
    );
    assert_eq!(preflight(only, "https://other.example.org").await, None);
}

#[test]
fn items_written_from_their_serialized_json_equal_the_rendered_ones() {
    let mut items: Vec<MappedItem> = IDS
        .iter()
        .enumerate()
        .map(|(n, id)| item("s2", n, id))
        .collect();
    let mut with_member = item("s2", 8, "h");
    with_member.links = vec![crate::mapping::ItemLink {
        rel: "predecessor-version".into(),
        item: "g v1".into(),
    }];
    if let Some(blob) = with_member.assets.get_mut("data") {
        blob.member = Some(Box::new(crate::mapping::TarMember {
            path: "x/h.tif".into(),
            offset: 512,
            compression: crate::members::Compression::None,
            layer_size: 2048,
        }));
    }
    items.push(with_member);
    let snapshot = Snapshot::build(vec![collection("s2")], items);
    let reader = access::Reader::everything();
    let search = crate::index::Search {
        limit: 100,
        ..Default::default()
    };
    let page = snapshot.search(&search);
    assert_eq!(page.items.len(), 8);
    for base in ["http://gateway.example", "http://odd\"host\\.example"] {
        let base = links::Base(base.into());
        for indexed in &page.items {
            let written: Value =
                serde_json::from_slice(&render::item_bytes(&base, &reader, indexed)).unwrap();
            assert_eq!(written, render::item(&base, &reader, indexed));
            assert!(indexed.json().pieces().is_some(), "{}", indexed.id);
        }
        // A self href with what JSON must escape, and a page link after self and root.
        let self_href = format!("{}/search?q=\"a\\b\"", base.0);
        let next =
            vec![json!({"rel": "next", "href": base.href("/search?token=t"), "method": "GET"})];
        let bytes =
            render::item_collection_bytes(&base, &reader, &page, self_href.clone(), next.clone());
        let value = render::item_collection(&base, &reader, &page, None, self_href, next);
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), value);
        assert_eq!(value["links"][1]["rel"], "root");
        assert_eq!(value["links"][2]["rel"], "next");
    }
    let h = snapshot.item("s2", "h").unwrap();
    let base = links::Base("http://gateway.example".into());
    let rels: Vec<Value> = render::item(&base, &reader, h)["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].clone())
        .collect();
    assert_eq!(
        rels,
        [
            "self",
            "parent",
            "collection",
            "root",
            "members",
            "predecessor-version"
        ]
    );
}
