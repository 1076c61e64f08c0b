//! The whole path against a real registry process: push fixtures over the registry API,
//! run the `stac-oci` binary on them, and check the STAC API and asset proxy with our
//! own HTTP requests and with pystac-client.

use std::collections::BTreeSet;
use std::process::Command;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::support::client::{client_script, python};
use crate::support::fixtures::{self, Pushed};
use crate::support::gateway::Gateway;
use crate::support::registry::TestRegistry;

/// Metropolitan France, generously.
const FRANCE: [f64; 4] = [-5.5, 41.0, 10.0, 51.5];

fn france_bbox() -> String {
    FRANCE
        .iter()
        .map(f64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

async fn get_json(client: &Client, url: &str) -> (StatusCode, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"));
    (status, value)
}

/// Follows `next` links of GET pages from `url`, returning every feature.
async fn all_pages(client: &Client, url: &str) -> Vec<Value> {
    let mut features = Vec::new();
    let mut next = Some(url.to_owned());
    let mut pages = 0;
    while let Some(url) = next.take() {
        let (status, page) = get_json(client, &url).await;
        assert_eq!(status, 200, "{url}: {page}");
        let batch = page["features"].as_array().unwrap();
        assert_eq!(page["numberReturned"].as_u64(), Some(batch.len() as u64));
        features.extend(batch.iter().cloned());
        next = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_owned());
        pages += 1;
        assert!(pages < 1000, "paging does not end");
    }
    features
}

fn key(feature: &Value) -> String {
    format!(
        "{}/{}",
        feature["collection"].as_str().unwrap(),
        feature["id"].as_str().unwrap()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_registry_artifacts_as_stac() {
    let registry = TestRegistry::start().await;
    let pushed = fixtures::push_all(&registry).await;
    let gateway = Gateway::start(&fixtures::gateway_config(&registry.url)).await;
    let client = Client::new();
    let base = gateway.url.clone();

    collections_are_listed(&client, &base, &pushed).await;
    every_item_found_by_bbox_and_datetime(&client, &base, &pushed).await;
    paging_visits_every_item_once(&client, &base, &pushed).await;
    provenance_and_dedup(&client, &base, &pushed).await;
    assets_answer_ranges_exactly(&client, &base, &pushed).await;
    gdal_reads_a_window_by_ranges(&client, &base, &pushed).await;
    bad_parameters_are_400s(&client, &base).await;
    pystac_client_searches_and_pages(&base, &pushed).await;
    documents_validate_against_stac_schemas(&client, &base).await;
    let log = gateway.log();
    assert!(!log.contains("panicked"), "{log}");
}

async fn collections_are_listed(client: &Client, base: &str, pushed: &Pushed) {
    let (status, body) = get_json(client, &format!("{base}/collections")).await;
    assert_eq!(status, 200);
    let ids: BTreeSet<&str> = body["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<&str> = pushed.expected.keys().map(String::as_str).collect();
    assert_eq!(ids, expected);
    let (status, status_doc) = get_json(client, &format!("{base}/status")).await;
    assert_eq!(status, 200, "{status_doc}");
}

async fn every_item_found_by_bbox_and_datetime(client: &Client, base: &str, pushed: &Pushed) {
    let limit = 10_000;
    // Every PASTIS patch and tile, and the STAC Item, lie in France.
    let url = format!("{base}/search?bbox={}&limit={limit}", france_bbox());
    let (status, page) = get_json(client, &url).await;
    assert_eq!(status, 200, "{page}");
    let features = page["features"].as_array().unwrap();
    let in_bbox = pushed.expected["pastis-2433"] + pushed.expected["pastis-t4"] + 1;
    assert_eq!(features.len(), in_bbox);
    assert_eq!(page["numberMatched"].as_u64(), Some(in_bbox as u64));
    for feature in features {
        let bbox: Vec<f64> = serde_json::from_value(feature["bbox"].clone()).unwrap();
        assert!(
            bbox[0] >= FRANCE[0]
                && bbox[1] >= FRANCE[1]
                && bbox[2] <= FRANCE[2]
                && bbox[3] <= FRANCE[3],
            "footprint outside France: {} {bbox:?}",
            key(feature)
        );
        assert!(feature["geometry"].is_object(), "{}", key(feature));
    }
    let ids: BTreeSet<String> = features.iter().map(key).collect();
    for (repo, id) in pushed.layers.keys() {
        if repo.starts_with("pastis") {
            assert!(
                ids.contains(&format!("{repo}/{id}")),
                "{repo}/{id} not found by bbox"
            );
        }
    }
    // A box over the Atlantic finds nothing.
    let (_, page) = get_json(client, &format!("{base}/search?bbox=-40,30,-30,40")).await;
    assert_eq!(page["numberMatched"], 0);

    // Datetime: every PASTIS partition covers January 2019; open intervals work.
    let pastis = "collections=pastis-2433,pastis-t4";
    let url = format!(
        "{base}/search?{pastis}&datetime=2019-01-01T00:00:00Z/2019-02-01T00:00:00Z&limit={limit}"
    );
    let (status, page) = get_json(client, &url).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["numberMatched"].as_u64(), Some((in_bbox - 1) as u64));
    let url = format!("{base}/search?{pastis}&datetime=../2018-01-01T00:00:00Z");
    let (_, page) = get_json(client, &url).await;
    assert_eq!(page["numberMatched"], 0);
    let url = format!("{base}/search?{pastis}&datetime=2019-06-01T00:00:00Z/..&limit=1");
    let (_, page) = get_json(client, &url).await;
    assert_eq!(page["numberMatched"].as_u64(), Some((in_bbox - 1) as u64));
    let (_, page) = get_json(
        client,
        &format!("{base}/search?datetime=2023-06-01T10:00:00Z"),
    )
    .await;
    let found: Vec<String> = page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(key)
        .collect();
    assert!(found.contains(&"stac-item/scene-1".to_owned()), "{found:?}");
    // The t4 tiles carry integer yyyymmdd dates: only t31tfj and t32ulu start on 2018-09-17.
    let url = format!("{base}/collections/pastis-t4/items?datetime=2018-09-17T12:00:00Z");
    let (_, page) = get_json(client, &url).await;
    let mut tiles: Vec<&str> = page["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    tiles.sort();
    assert_eq!(tiles, ["t31tfj", "t32ulu"], "{page}");
}

async fn paging_visits_every_item_once(client: &Client, base: &str, pushed: &Pushed) {
    let total: usize = pushed.expected.values().sum();
    let features = all_pages(client, &format!("{base}/search?limit=97")).await;
    let keys: Vec<String> = features.iter().map(key).collect();
    let unique: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "an Item was returned twice");
    assert_eq!(keys.len(), total);
    let t4 = all_pages(
        client,
        &format!("{base}/collections/pastis-t4/items?limit=1"),
    )
    .await;
    assert_eq!(t4.len(), 4);
    // POST paging: the next link carries the body to send.
    let mut body = json!({"collections": ["pastis-2433"], "limit": 1000});
    let mut seen = BTreeSet::new();
    loop {
        let response = client
            .post(format!("{base}/search"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        for f in page["features"].as_array().unwrap() {
            assert!(seen.insert(key(f)), "POST paging repeated {}", key(f));
        }
        let Some(next) = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
        else {
            break;
        };
        assert_eq!(next["method"], "POST");
        body = next["body"].clone();
    }
    assert_eq!(seen.len(), pushed.expected["pastis-2433"]);
}

async fn provenance_and_dedup(client: &Client, base: &str, pushed: &Pushed) {
    // A sample patch is one Item carrying both tags (`:sample` ⊂ `:full`).
    let id = &pushed.sample_ids[0];
    let (status, item) = get_json(
        client,
        &format!("{base}/collections/pastis-2433/items/{id}"),
    )
    .await;
    assert_eq!(status, 200, "{item}");
    let tags: Vec<&str> = item["properties"]["oci:tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tags.contains(&"full") && tags.contains(&"sample"),
        "{tags:?}"
    );
    assert_eq!(item["properties"]["parcel_count"], 119);
    assert_eq!(item["properties"]["oci:repository"], "pastis-2433");
    assert!(
        item["properties"]["oci:digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let rels: BTreeSet<&str> = item["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    for rel in ["self", "parent", "collection", "root"] {
        assert!(rels.contains(rel), "missing {rel} link: {rels:?}");
    }
    // One artifact under two tags is one Item listing both.
    let page = all_pages(client, &format!("{base}/collections/two-tags/items")).await;
    assert_eq!(page.len(), 1);
    let tags = &page[0]["properties"]["oci:tags"];
    assert_eq!(tags, &json!(["stable", "v1.0"]));
    // The referrers fallback tag beside them made no Item and no tag.
    let status = client.get(format!("{base}/status")).send().await.unwrap();
    let status: Value = status.json().await.unwrap();
    assert!(!status.to_string().contains("sha256-"), "{status}");
    // An image index: one Item per child manifest, each naming the index and platform.
    let page = all_pages(client, &format!("{base}/collections/multi-platform/items")).await;
    let mut platforms: Vec<&str> = page
        .iter()
        .map(|item| {
            assert_eq!(
                item["properties"]["oci:index_digest"],
                json!(pushed.index_digest)
            );
            assert_eq!(item["properties"]["oci:tags"], json!(["v1"]));
            item["properties"]["oci:platform"]["architecture"]
                .as_str()
                .unwrap()
        })
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["amd64", "arm64"]);
    // The generic artifact: one Item, one asset per layer.
    let page = all_pages(client, &format!("{base}/collections/generic/items")).await;
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["assets"].as_object().unwrap().len(), 1);
}

/// The one asset of an Item backed by a registry blob.
fn blob_asset(item: &Value) -> (String, u64) {
    let assets = item["assets"].as_object().unwrap();
    let (_, asset) = assets
        .iter()
        .find(|(_, a)| a["file:size"].is_u64())
        .unwrap_or_else(|| panic!("no blob asset in {item}"));
    (
        asset["href"].as_str().unwrap().to_owned(),
        asset["file:size"].as_u64().unwrap(),
    )
}

async fn assets_answer_ranges_exactly(client: &Client, base: &str, pushed: &Pushed) {
    for ((repo, id), bytes) in pushed
        .layers
        .iter()
        .filter(|((r, _), _)| r != "pastis-2433")
        .chain(
            pushed
                .layers
                .iter()
                .filter(|((r, id), _)| r == "pastis-2433" && pushed.sample_ids.contains(id)),
        )
    {
        let (status, item) =
            get_json(client, &format!("{base}/collections/{repo}/items/{id}")).await;
        assert_eq!(status, 200, "{repo}/{id}: {item}");
        let (href, size) = blob_asset(&item);
        assert!(href.starts_with(base), "{href}");
        assert_eq!(size, bytes.len() as u64);
        let len = bytes.len();

        let head = client.head(&href).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()["content-length"], len.to_string().as_str());
        assert_eq!(head.headers()["accept-ranges"], "bytes");
        let etag = head.headers()["etag"].to_str().unwrap().to_owned();

        let full = client.get(&href).send().await.unwrap();
        assert_eq!(full.status(), 200);
        assert_eq!(full.bytes().await.unwrap().as_ref(), bytes.as_slice());

        let cases = [
            ("bytes=10-99".to_owned(), 10, 99),
            (format!("bytes={}-", len - 7), len - 7, len - 1),
            ("bytes=-16".to_owned(), len - 16, len - 1),
            (format!("bytes=5-{}", len + 1000), 5, len - 1),
        ];
        for (range, start, end) in cases {
            let r = client
                .get(&href)
                .header("Range", &range)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 206, "{href} {range}");
            assert_eq!(
                r.headers()["content-range"],
                format!("bytes {start}-{end}/{len}").as_str()
            );
            assert_eq!(
                r.bytes().await.unwrap().as_ref(),
                &bytes[start..=end],
                "{href} {range}"
            );
        }
        let r = client
            .get(&href)
            .header("Range", format!("bytes={len}-"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 416);
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes */{len}").as_str()
        );
        let r = client
            .get(&href)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
    }
    // Only indexed assets exist.
    let r = client
        .get(format!(
            "{base}/collections/pastis-t4/items/t30uxv/assets/nope/nope.tar"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

async fn bad_parameters_are_400s(client: &Client, base: &str) {
    let cases = [
        ("search?bbox=1,2,3", "bbox"),
        ("search?bbox=a,b,c,d", "bbox"),
        ("search?bbox=10,50,0,40", "bbox"),
        ("search?datetime=yesterday", "datetime"),
        (
            "search?datetime=2020-01-02T00:00:00Z/2020-01-01T00:00:00Z",
            "datetime",
        ),
        ("search?limit=0", "limit"),
        ("search?limit=ten", "limit"),
        ("search?token=%%%", "token"),
        ("collections/pastis-t4/items?bbox=1,2", "bbox"),
    ];
    for (path, parameter) in cases {
        let (status, body) = get_json(client, &format!("{base}/{path}")).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["code"].is_string(), "{path}: {body}");
        assert!(
            body["description"].as_str().unwrap().contains(parameter),
            "{path}: {body}"
        );
    }
    let r = client
        .post(format!("{base}/search"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client
        .post(format!("{base}/search"))
        .json(&json!({"bbox": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    for path in [
        "collections/nope",
        "collections/pastis-t4/items/nope",
        "collections/nope/items",
    ] {
        let (status, body) = get_json(client, &format!("{base}/{path}")).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
}

async fn pystac_client_searches_and_pages(base: &str, pushed: &Pushed) {
    let output = Command::new(python())
        .arg(client_script("pystac_search.py"))
        .arg(base)
        .arg(france_bbox())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    let expected = pushed.expected["pastis-2433"] + pushed.expected["pastis-t4"] + 1;
    assert_eq!(seen["matched"].as_u64(), Some(expected as u64));
    for ids in [&seen["ids"], &seen["get_ids"]] {
        let ids: Vec<&str> = ids
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let unique: BTreeSet<&&str> = ids.iter().collect();
        assert_eq!(ids.len(), expected);
        assert_eq!(unique.len(), expected);
    }
    let collections: Vec<&str> = seen["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(collections.len(), pushed.expected.len());
}

async fn documents_validate_against_stac_schemas(client: &Client, base: &str) {
    let mut ndjson = String::new();
    let (_, collections) = get_json(client, &format!("{base}/collections")).await;
    for collection in collections["collections"].as_array().unwrap() {
        ndjson.push_str(&format!("{collection}\n"));
        let id = collection["id"].as_str().unwrap();
        let (_, page) = get_json(client, &format!("{base}/collections/{id}/items?limit=50")).await;
        for item in page["features"].as_array().unwrap() {
            ndjson.push_str(&format!("{item}\n"));
        }
    }
    let mut child = Command::new(python())
        .arg(client_script("validate_stac.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ndjson.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// GDAL reads a window of the COG asset over `/vsicurl/` with Range requests: the
/// same pixels as from the original file, fetching only part of it.
async fn gdal_reads_a_window_by_ranges(client: &Client, base: &str, pushed: &Pushed) {
    let (_, item) = get_json(
        client,
        &format!("{base}/collections/stac-item/items/scene-1"),
    )
    .await;
    let (href, size) = blob_asset(&item);
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original.tif");
    std::fs::write(
        &original,
        &pushed.layers[&("stac-item".to_owned(), "scene-1".to_owned())],
    )
    .unwrap();
    let window = |source: &str, out: &str| {
        let out = dir.path().join(out);
        let output = Command::new("gdal_translate")
            .args(["-q", "-srcwin", "0", "0", "100", "100", source])
            .arg(&out)
            .env("CPL_DEBUG", "ON")
            .env("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
            .output()
            .expect("gdal_translate (Debian gdal-bin) must be installed");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let info = Command::new("gdalinfo")
            .arg("-checksum")
            .arg(&out)
            .output()
            .unwrap();
        let checksum = String::from_utf8_lossy(&info.stdout)
            .lines()
            .find(|l| l.contains("Checksum="))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no checksum for {source}"));
        (
            checksum,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (remote, debug) = window(&format!("/vsicurl/{href}"), "remote.tif");
    let (local, _) = window(original.to_str().unwrap(), "local.tif");
    assert_eq!(remote, local);
    // "VSICURL: Downloading a-b (…)": the ranges GDAL fetched add up to a fraction of the file.
    let fetched: u64 = debug
        .lines()
        .filter_map(|l| l.split("Downloading ").nth(1)?.split_whitespace().next())
        .filter_map(|range| {
            let (a, b) = range.split_once('-')?;
            Some(b.parse::<u64>().ok()? - a.parse::<u64>().ok()? + 1)
        })
        .sum();
    assert!(
        fetched > 0 && fetched < size / 2,
        "GDAL fetched {fetched} of {size} bytes:\n{debug}"
    );
}
