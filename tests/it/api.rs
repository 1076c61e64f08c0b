//! The complete STAC API against a real registry, proven by real clients:
//! stac-api-validator for every conformance class claimed, stac-validator on every
//! Collection and Item served, pystac-client through filters, sort, fields, collection
//! search and POST paging, and our own requests for errors and exact filter results.
//!
//! Without network access (the CI sandbox), the validators get the STAC core schemas
//! from pystac's bundled copies through `tests/clients/offline_schemas.py`; extension
//! schemas are then not checked (the scripts say which on stderr).

use std::collections::BTreeSet;
use std::net::ToSocketAddrs;
use std::process::{Command, Output};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::support::client::{client_script, python};
use crate::support::fixtures::{self, Pushed};
use crate::support::gateway::Gateway;
use crate::support::registry::TestRegistry;

/// A polygon over metropolitan France.
const FRANCE: &str =
    r#"{"type":"Polygon","coordinates":[[[-5.5,41],[10,41],[10,51.5],[-5.5,51.5],[-5.5,41]]]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_clients_accept_the_api() {
    let registry = TestRegistry::start().await;
    let pushed = fixtures::push_all(&registry).await;
    let gateway = Gateway::start(&fixtures::gateway_config(&registry.url)).await;
    let client = Client::new();
    let base = gateway.url.clone();

    conformance_and_queryables(&client, &base).await;
    filters_match_the_fixtures(&client, &base).await;
    errors_name_the_parameter(&client, &base).await;
    collection_search_pages(&client, &base, &pushed).await;
    pystac_client_uses_the_extensions(&base);
    stac_api_validator_passes(&base);
    stac_validator_accepts_every_document(&base, &pushed);
    let log = gateway.log();
    assert!(!log.contains("panicked"), "{log}");
}

async fn get_json(client: &Client, url: &str) -> (StatusCode, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"));
    (status, value)
}

async fn post_json(client: &Client, url: &str, body: &Value) -> (StatusCode, Value) {
    let response = client.post(url).json(body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// The PASTIS 2433 patches as the fixtures pushed them: (patch id, parcel count).
fn patches() -> Vec<(String, i64)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pastis/config-2433.json"
    );
    let config: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    config["patches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["patch_id"].as_str().unwrap().to_owned(),
                p["parcel_count"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Ids of the patches whose parcel count passes `keep`, as `pastis-2433/<id>`.
fn expected(keep: impl Fn(i64) -> bool) -> BTreeSet<String> {
    patches()
        .into_iter()
        .filter(|(_, n)| keep(*n))
        .map(|(id, _)| format!("pastis-2433/{id}"))
        .collect()
}

fn keys(features: &Value) -> BTreeSet<String> {
    features
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}/{}",
                f["collection"].as_str().unwrap(),
                f["id"].as_str().unwrap()
            )
        })
        .collect()
}

async fn conformance_and_queryables(client: &Client, base: &str) {
    let (_, landing) = get_json(client, &format!("{base}/")).await;
    let (_, conformance) = get_json(client, &format!("{base}/conformance")).await;
    assert_eq!(landing["conformsTo"], conformance["conformsTo"]);
    let queryables_rel = "http://www.opengis.net/def/rel/ogc/1.0/queryables";
    let link = landing["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == queryables_rel)
        .expect("the landing page links the queryables");
    let href = link["href"].as_str().unwrap();
    let response = client.get(href).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/schema+json"
    );
    let schema: Value = response.json().await.unwrap();
    assert_eq!(schema["$id"], href);
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["properties"]["parcel_count"]["type"], "integer");
    let href = format!("{base}/collections/pastis-2433/queryables");
    let (status, schema) = get_json(client, &href).await;
    assert_eq!(status, 200);
    assert_eq!(schema["$id"], href.as_str());
    assert!(schema["properties"]["parcel_count"].is_object(), "{schema}");
    assert!(schema["properties"].get("platform").is_none(), "{schema}");
    let (status, error) = get_json(client, &format!("{base}/collections/nope/queryables")).await;
    assert_eq!(status, 404, "{error}");
}

/// Each filter, by GET and POST, finds exactly the patches a brute-force reading of the
/// fixture config selects.
async fn filters_match_the_fixtures(client: &Client, base: &str) {
    let cases: Vec<(&str, Value, BTreeSet<String>)> = vec![
        (
            "parcel_count > 150",
            json!({"op": ">", "args": [{"property": "parcel_count"}, 150]}),
            expected(|n| n > 150),
        ),
        (
            "parcel_count BETWEEN 20 AND 25 OR parcel_count = 7",
            json!({"op": "or", "args": [
                {"op": "between", "args": [{"property": "parcel_count"}, 20, 25]},
                {"op": "=", "args": [{"property": "parcel_count"}, 7]},
            ]}),
            expected(|n| (20..=25).contains(&n) || n == 7),
        ),
        (
            "parcel_count * 2 + 1 < 41",
            json!({"op": "<", "args": [
                {"op": "+", "args": [{"op": "*", "args": [{"property": "parcel_count"}, 2]}, 1]},
                41,
            ]}),
            expected(|n| n * 2 + 1 < 41),
        ),
        (
            "parcel_count IN (30, 31, 32) AND id LIKE '2%'",
            json!({"op": "and", "args": [
                {"op": "in", "args": [{"property": "parcel_count"}, [30, 31, 32]]},
                {"op": "like", "args": [{"property": "id"}, "2%"]},
            ]}),
            patches()
                .into_iter()
                .filter(|(id, n)| (30..=32).contains(n) && id.starts_with('2'))
                .map(|(id, _)| format!("pastis-2433/{id}"))
                .collect(),
        ),
    ];
    for (text, cql2_json, want) in cases {
        assert!(!want.is_empty(), "{text}: the fixtures select nothing");
        let url = reqwest::Url::parse_with_params(
            &format!("{base}/search"),
            &[
                ("collections", "pastis-2433"),
                ("limit", "10000"),
                ("filter", text),
            ],
        )
        .unwrap();
        let (status, page) = get_json(client, url.as_str()).await;
        assert_eq!(status, 200, "{text}: {page}");
        assert_eq!(keys(&page["features"]), want, "{text}");
        assert_eq!(page["numberMatched"].as_u64(), Some(want.len() as u64));
        let body = json!({"collections": ["pastis-2433"], "limit": 10000, "filter": cql2_json});
        let (status, page) = post_json(client, &format!("{base}/search"), &body).await;
        assert_eq!(status, 200, "{text}: {page}");
        assert_eq!(keys(&page["features"]), want, "{text} as CQL2 JSON");
    }
    // A spatial and a temporal function: the STAC Item, the only one in 2023.
    let body = json!({
        "filter": {"op": "and", "args": [
            {"op": "s_intersects", "args": [{"property": "geometry"},
                {"type": "Point", "coordinates": [2.5, 48.5]}]},
            {"op": "t_after", "args": [{"property": "datetime"},
                {"timestamp": "2023-01-01T00:00:00Z"}]},
        ]},
    });
    let (status, page) = post_json(client, &format!("{base}/search"), &body).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        keys(&page["features"]),
        BTreeSet::from(["stac-item/scene-1".to_owned()])
    );
    // The query extension, ANDed with a filter.
    let body = json!({
        "collections": ["pastis-2433"],
        "limit": 10000,
        "filter": "parcel_count >= 100",
        "filter-lang": "cql2-text",
        "query": {"parcel_count": {"lt": 110}},
    });
    let (status, page) = post_json(client, &format!("{base}/search"), &body).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        keys(&page["features"]),
        expected(|n| (100..110).contains(&n))
    );
}

async fn errors_name_the_parameter(client: &Client, base: &str) {
    for (query, parameter) in [
        ("filter=parcel_count%20%3E", "filter"),
        ("filter=nope(1)", "filter"),
        ("filter-lang=ecql", "filter-lang"),
        ("filter=id%3D%27a%27&filter-crs=EPSG:2154", "filter-crs"),
        ("sortby=,", "sortby"),
        ("fields=a..b", "fields"),
        ("query=%5B%5D", "query"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("datetime=../..", "datetime"),
        ("bbox=1,2,3", "bbox"),
    ] {
        let (status, error) = get_json(client, &format!("{base}/search?{query}")).await;
        assert_eq!(status, 400, "{query}: {error}");
        let description = error["description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!("invalid {parameter}:")),
            "{query}: {description}"
        );
    }
    for query in ["bbox=1,2", "limit=-3", "datetime=yesterday", "q="] {
        let url = format!("{base}/collections?{query}");
        let (status, error) = get_json(client, &url).await;
        assert!(
            status == 400 || (query == "q=" && status == 200),
            "{url}: {error}"
        );
    }
    for path in [
        "collections/nope",
        "collections/nope/items",
        "collections/pastis-t4/items/nope",
        "collections/nope/queryables",
    ] {
        let (status, error) = get_json(client, &format!("{base}/{path}")).await;
        assert_eq!(status, 404, "{path}: {error}");
        assert_eq!(error["code"], "NotFound");
    }
}

async fn collection_search_pages(client: &Client, base: &str, pushed: &Pushed) {
    let total = pushed.expected.len();
    let mut seen = BTreeSet::new();
    let mut next = Some(format!("{base}/collections?limit=2"));
    while let Some(url) = next.take() {
        let (status, page) = get_json(client, &url).await;
        assert_eq!(status, 200, "{url}: {page}");
        assert_eq!(page["numberMatched"].as_u64(), Some(total as u64));
        let batch = page["collections"].as_array().unwrap();
        assert_eq!(page["numberReturned"].as_u64(), Some(batch.len() as u64));
        assert!(batch.len() <= 2);
        for collection in batch {
            assert!(seen.insert(collection["id"].as_str().unwrap().to_owned()));
        }
        next = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_owned());
    }
    let expected: BTreeSet<String> = pushed.expected.keys().cloned().collect();
    assert_eq!(seen, expected);
    // Over the Atlantic: only the Collections without footprints, whose extent is the
    // whole world.
    let (_, page) = get_json(client, &format!("{base}/collections?bbox=-40,30,-30,40")).await;
    let ids: BTreeSet<&str> = page["collections"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(["generic", "multi-platform", "two-tags"]),
        "{page}"
    );
}

/// Whether the STAC schema host resolves; if not, validators run with local schemas.
fn online() -> bool {
    ("schemas.stacspec.org", 443)
        .to_socket_addrs()
        .is_ok_and(|mut addrs| addrs.next().is_some())
}

/// Runs a Python module's command line, through `run_offline.py` when offline.
fn run_module(module: &str, args: &[&str]) -> Output {
    let mut command = Command::new(python());
    if online() {
        command.args(["-m", module]);
    } else {
        command.arg(client_script("run_offline.py")).arg(module);
    }
    command
        .env("PYTHONPATH", client_script(""))
        .args(args)
        .output()
        .unwrap()
}

fn pystac_client_uses_the_extensions(base: &str) {
    let output = Command::new(python())
        .arg(client_script("pystac_extensions.py"))
        .arg(base)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    let window = expected(|n| n > 100 && n <= 150);
    for (ids, matched) in [("text_ids", "text_matched"), ("json_ids", "json_matched")] {
        let list: Vec<String> = serde_json::from_value(seen[ids].clone()).unwrap();
        let set: BTreeSet<String> = list.iter().cloned().collect();
        assert_eq!(list.len(), set.len(), "{ids}: an Item came twice");
        assert_eq!(set, window, "{ids}");
        assert_eq!(seen[matched].as_u64(), Some(window.len() as u64));
    }
    assert_eq!(
        seen["json_pages"].as_u64(),
        Some(window.len().div_ceil(37) as u64)
    );
    let mut by_count = patches();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let top: Vec<Value> = by_count[..5].iter().map(|(id, n)| json!([id, n])).collect();
    assert_eq!(seen["sorted"], Value::Array(top));
    let mut counts: Vec<i64> = patches().into_iter().map(|(_, n)| n).collect();
    counts.sort();
    assert_eq!(seen["sorted_ascending"], json!(counts[..3]));
    // include id and properties.parcel_count, exclude assets and links: those and the
    // identifying members only.
    for fields in seen["fields_post"].as_array().unwrap() {
        assert_eq!(
            fields,
            &json!([
                "collection",
                "id",
                "properties",
                "stac_version",
                "type",
                "parcel_count"
            ])
        );
    }
    for fields in seen["fields_get"].as_array().unwrap() {
        let names: Vec<&str> = fields
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            !names.contains(&"geometry") && !names.contains(&"properties"),
            "{names:?}"
        );
        assert!(
            names.contains(&"assets") && names.contains(&"links"),
            "{names:?}"
        );
    }
    // Over the Atlantic: the Collections without footprints (world extents).
    assert_eq!(
        seen["collections_bbox"],
        json!(["generic", "multi-platform", "two-tags"])
    );
    assert_eq!(seen["collections_bbox_matched"], 3);
    assert_eq!(seen["collections_q"], json!(["pastis-t4"]));
    let recent: Vec<&str> = seen["collections_datetime"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(recent.contains(&"stac-item"), "{recent:?}");
    assert!(
        !recent.iter().any(|c| c.starts_with("pastis")),
        "{recent:?}"
    );
}

/// Runs stac-api-validator for every conformance class it knows that we claim: once on
/// `stac-item` (Items with a `datetime`, which its sort checks need) and once on
/// `pastis-2433` (a numeric `parcel_count` for its query checks).
fn stac_api_validator_passes(base: &str) {
    let classes = [
        "core",
        "collections",
        "features",
        "item-search",
        "filter",
        "item-search#sort",
        "item-search#fields",
        "features#sort",
        "features#fields",
    ];
    validate_api(
        base,
        "stac-item",
        &classes,
        &["--fields-nested-property", "properties.platform"],
    );
    let query = [
        "--fields-nested-property",
        "properties.parcel_count",
        "--query-comparison-field",
        "parcel_count",
        "--query-eq-value",
        "119",
        "--query-neq-value",
        "119",
        "--query-lt-value",
        "50",
        "--query-lte-value",
        "50",
        "--query-gt-value",
        "50",
        "--query-gte-value",
        "50",
        "--query-substring-field",
        "oci:repository",
        "--query-starts-with-value",
        "pastis",
        "--query-ends-with-value",
        "2433",
        "--query-contains-value",
        "tis-24",
        "--query-in-field",
        "oci:tags",
        "--query-in-values",
        "full,sample",
    ];
    validate_api(
        base,
        "pastis-2433",
        &["core", "item-search", "item-search#query", "features#query"],
        &query,
    );
}

fn validate_api(base: &str, collection: &str, classes: &[&str], extra: &[&str]) {
    let mut args = vec![
        "--root-url",
        base,
        "--collection",
        collection,
        "--geometry",
        FRANCE,
    ];
    for class in classes {
        args.extend(["--conformance", class]);
    }
    args.extend(extra);
    let output = run_module("stac_api_validator", &args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    // It exits 0 after an exception of its own; "Errors: none" is the only success.
    assert!(
        output.status.success() && stdout.contains("Errors: none"),
        "stac-api-validator on {collection} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn stac_validator_accepts_every_document(base: &str, pushed: &Pushed) {
    let output = run_module("stac_validate_all", &[base]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stac-validator failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim()).unwrap();
    let documents = pushed.expected.len() + pushed.expected.values().sum::<usize>();
    assert_eq!(seen["validated"].as_u64(), Some(documents as u64));
}
