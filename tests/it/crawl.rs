//! Incremental crawling against a real registry: unchanged digests are never fetched
//! again (checked in the registry's own log), pushed tags appear, deleted ones go.

use serde_json::json;
use stac_oci::config::Credentials;
use stac_oci::crawl::{self, CrawlCache};
use stac_oci::source::Source;
use stac_oci::source::metrics::RequestKind;

use crate::source::registry_settings;
use crate::support::client::{get_json, registry_source};
use crate::support::gateway::Gateway;
use crate::support::registry::{OCI_INDEX, OCI_MANIFEST, TestRegistry, digest};

const EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// Registry access-log lines of `method` requests to manifests or blobs.
fn requests<'a>(log: &'a str, method: &str) -> Vec<&'a str> {
    let needle = format!("\"{method} /v2/");
    log.lines()
        .filter(|l| l.contains(&needle) && (l.contains("/manifests/") || l.contains("/blobs/")))
        .collect()
}

/// Each artifact as `repository@digest tags config-bytes`.
fn summary(pass: &crawl::CrawlPass) -> Vec<String> {
    pass.repositories
        .iter()
        .flat_map(|(repo, artifacts)| {
            artifacts.iter().map(move |a| {
                let config = a.config_blob.as_ref().map(|b| b.to_vec());
                format!("{repo}@{} {:?} {config:?}", a.digest, a.tags)
            })
        })
        .collect()
}

#[tokio::test]
async fn second_pass_fetches_nothing_unchanged() {
    let registry = TestRegistry::start().await;
    let config = serde_json::to_vec(&json!({"title": "a package"})).unwrap();
    for tag in ["v1", "latest"] {
        registry
            .push_artifact(
                "pkg",
                tag,
                Some("application/vnd.example.pkg.v1"),
                ("application/vnd.example.config.v1+json", &config),
                &[("application/octet-stream", b"payload", Some("payload.bin"))],
            )
            .await;
    }
    let child = registry
        .artifact_manifest(
            "multi",
            None,
            (EMPTY, b"{}"),
            &[("text/plain", b"child", None)],
        )
        .await;
    let child_digest = registry
        .push_manifest("multi", &digest(&child), OCI_MANIFEST, &child)
        .await;
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": child_digest, "size": child.len()}]});
    registry
        .push_manifest(
            "multi",
            "v1",
            OCI_INDEX,
            &serde_json::to_vec(&index).unwrap(),
        )
        .await;

    let settings = registry_settings(&registry, &["pkg", "multi"], Credentials::Anonymous);
    let source = Source::new(&settings).unwrap();
    let cache = CrawlCache::default();

    let before = registry.log().len();
    let first = crawl::run(&source, &settings, &cache).await;
    assert!(first.issues.is_empty(), "{:?}", first.issues);
    assert_eq!(first.artifact_count(), 2);
    let log = registry.log();
    let first_gets = requests(&log[before..], "GET");
    // pkg: one manifest and one config; multi: the index and its child.
    assert_eq!(first_gets.len(), 4, "{first_gets:#?}");

    let metrics = source.metrics().unwrap().clone();
    let gets = |m: &stac_oci::source::metrics::RegistryMetrics| {
        m.total(RequestKind::ManifestGet) + m.total(RequestKind::Blob)
    };
    assert_eq!(gets(&metrics), 4, "{:?}", metrics.snapshot());
    let before = log.len();
    let second = crawl::run(&source, &settings, &cache).await;
    assert_eq!(
        gets(&metrics),
        4,
        "the gateway's own count: {:?}",
        metrics.snapshot()
    );
    assert_eq!(second.artifact_count(), 2);
    assert_eq!(summary(&second), summary(&first));
    let log = registry.log();
    let delta = &log[before..];
    assert_eq!(
        requests(delta, "GET"),
        Vec::<&str>::new(),
        "a recrawl with no change fetched"
    );
    assert_eq!(
        requests(delta, "HEAD").len(),
        3,
        "one manifest HEAD per tag:\n{delta}"
    );

    // A new tag of a new artifact is fetched (only it); a deleted one disappears.
    registry
        .push_artifact(
            "pkg",
            "v2",
            None,
            (EMPTY, b"{}"),
            &[("text/plain", b"v2", None)],
        )
        .await;
    let pkg_v1 = registry.manifest_digest("multi", "v1").await;
    registry.delete_manifest("multi", &pkg_v1).await;
    let before = registry.log().len();
    let third = crawl::run(&source, &settings, &cache).await;
    let log = registry.log();
    let gets = requests(&log[before..], "GET");
    assert_eq!(
        gets.len(),
        1,
        "only the new manifest (its config is empty): {gets:#?}"
    );
    let pkg = &third.repositories["pkg"];
    assert_eq!(pkg.len(), 2);
    assert!(pkg.iter().any(|a| a.tags == ["v2"]));
    assert!(
        third.repositories["multi"].is_empty(),
        "{:?}",
        third.repositories["multi"]
    );
    assert_eq!(
        cache.len().0,
        2,
        "the cache keeps only what is still tagged"
    );
}

#[tokio::test]
async fn too_many_requests_are_retried_after_the_wait_asked() {
    let registry = TestRegistry::start().await;
    registry
        .push_artifact(
            "pkg",
            "v1",
            None,
            (EMPTY, b"{}"),
            &[("text/plain", b"x", None)],
        )
        .await;
    let front = crate::support::flaky::start(&registry.url, 2).await;
    let settings = crate::source::settings(stac_oci::config::SourceKind::Registry {
        url: front.url.parse().unwrap(),
        repositories: vec!["pkg".into()],
        credentials: Credentials::Anonymous,
    });
    let source = Source::new(&settings).unwrap();
    let pass = crawl::run(&source, &settings, &CrawlCache::default()).await;
    assert!(pass.issues.is_empty(), "{:?}", pass.issues);
    assert_eq!(pass.artifact_count(), 1);
    let metrics = source.metrics().unwrap().snapshot();
    let refused: u64 = metrics
        .iter()
        .filter(|(_, s, _)| *s == 429)
        .map(|(_, _, n)| n)
        .sum();
    assert_eq!(refused, 2, "{metrics:?}");
}

/// Writes an OCI image layout whose `index.json` names `manifests` (raw bytes, tag) in
/// repository `broken`; returns the manifests' digests.
fn broken_layout(dir: &std::path::Path, manifests: &[(&[u8], &str)]) -> Vec<String> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let write = |bytes: &[u8]| {
        let d = digest(bytes);
        std::fs::write(blobs.join(d.trim_start_matches("sha256:")), bytes).unwrap();
        d
    };
    write(b"{}");
    write(b"fine");
    let mut entries = Vec::new();
    let mut digests = Vec::new();
    for (bytes, tag) in manifests {
        let d = write(bytes);
        entries.push(
            json!({"mediaType": OCI_MANIFEST, "digest": d, "size": bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": format!("broken:{tag}")}}),
        );
        digests.push(d);
    }
    let index = json!({"schemaVersion": 2, "manifests": entries});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    digests
}

/// An OCI manifest with an empty config and `layers` copies of one small layer.
fn manifest_with_layers(layers: usize) -> Vec<u8> {
    let layer = json!({"mediaType": "text/plain", "digest": digest(b"fine"), "size": 4});
    serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.v1",
        "config": {"mediaType": EMPTY, "digest": digest(b"{}"), "size": 2},
        "layers": vec![layer; layers],
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_artifacts_are_named_errors_and_the_rest_is_indexed() {
    use crate::support::fixtures::{IMAGE_CONFIG, PASTIS_TYPE, TAR};
    let registry = TestRegistry::start().await;
    let kind = Some("application/vnd.example.v1");
    let fine = [("text/plain", &b"fine"[..], Some("fine.txt"))];
    registry
        .push_artifact("mixed", "good", kind, (EMPTY, b"{}"), &fine)
        .await;
    let json_config = "application/vnd.example.config.v1+json";
    let mut bad = Vec::new();
    let not_json = (json_config, &b"{not json"[..]);
    bad.push(
        registry
            .push_artifact("mixed", "not-json", kind, not_json, &fine)
            .await,
    );
    let wrong = br#"{"patches": "oops", "dates": 7}"#;
    let wrong_types = (IMAGE_CONFIG, &wrong[..]);
    let layers = [(TAR, &b"tar"[..], None)];
    bad.push(
        registry
            .push_artifact(
                "mixed",
                "wrong-types",
                Some(PASTIS_TYPE),
                wrong_types,
                &layers,
            )
            .await,
    );
    let mut huge = vec![b' '; 50 * 1024 * 1024];
    huge[0] = b'{';
    *huge.last_mut().unwrap() = b'}';
    bad.push(
        registry
            .push_artifact("mixed", "huge-config", kind, (json_config, &huge), &fine)
            .await,
    );

    let dir = tempfile::tempdir().unwrap();
    let wrong_shape = br#"{"schemaVersion": 2, "config": {"mediaType": 1}, "layers": "x"}"#;
    let broken = broken_layout(
        dir.path(),
        &[
            (&manifest_with_layers(1), "good"),
            (b"{ not json", "not-json"),
            (wrong_shape, "wrong-shape"),
            (&manifest_with_layers(100_000), "many-layers"),
            (&manifest_with_layers(10_001), "over-layer-cap"),
        ],
    );
    let gateway = Gateway::start(&format!(
        r#"
[[sources]]
name = "registry"
registry = "{}"
repositories = ["mixed"]

[[sources]]
name = "layout"
layout = "{}"
repository = "broken"
"#,
        registry.url,
        dir.path().display()
    ))
    .await;
    let client = reqwest::Client::new();
    let status: serde_json::Value = client
        .get(format!("{}/status", gateway.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let errors: Vec<String> = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.to_string())
        })
        .collect();
    for (digest, what) in bad.iter().zip(["invalid JSON", "patches", "limit"]) {
        let named: Vec<&String> = errors
            .iter()
            .filter(|e| e.contains(digest.as_str()))
            .collect();
        assert_eq!(named.len(), 1, "one error for {digest}: {errors:#?}");
        assert!(named[0].contains(what), "{what}: {named:?}");
    }
    for (tag, what) in [
        ("not-json", "not JSON"),
        ("wrong-shape", "invalid"),
        ("many-layers", "limit"),
    ] {
        let named: Vec<&String> = errors.iter().filter(|e| e.contains(tag)).collect();
        assert_eq!(named.len(), 1, "one error for {tag}: {errors:#?}");
        assert!(named[0].contains(what), "{what}: {named:?}");
    }
    assert_eq!(errors.len(), 7, "{errors:#?}");
    for collection in ["mixed", "broken"] {
        let url = format!("{}/collections/{collection}/items", gateway.url);
        let page: serde_json::Value = client.get(url).send().await.unwrap().json().await.unwrap();
        let tags: Vec<&serde_json::Value> = page["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| &f["properties"]["oci:tags"])
            .collect();
        assert_eq!(tags, [&json!(["good"])], "{collection}: {page}");
    }
    let _ = broken;
}

/// Polls `url` until `done` holds for its JSON, for at most 30 s.
async fn eventually(url: &str, what: &str, done: impl Fn(&serde_json::Value) -> bool) {
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let value: serde_json::Value = match client.get(url).send().await {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        };
        if done(&value) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: last {value}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_outage_keeps_the_last_snapshot_then_catches_up() {
    let mut registry = TestRegistry::start().await;
    let fine = [("text/plain", &b"fine"[..], Some("fine.txt"))];
    let kind = Some("application/vnd.example.v1");
    registry
        .push_artifact("pkg", "v1", kind, (EMPTY, b"{}"), &fine)
        .await;
    let gateway = Gateway::start(&registry_source(
        &registry.url,
        &["pkg"],
        "interval = \"1s\"\n",
    ))
    .await;
    let items = format!("{}/collections/pkg/items", gateway.url);
    let status = format!("{}/status", gateway.url);
    let matched = |n: u64| move |v: &serde_json::Value| v["numberMatched"] == n;
    eventually(&items, "first crawl", matched(1)).await;

    registry.stop();
    eventually(&status, "the outage is reported", |s| {
        s["sources"][0]["errors"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
    })
    .await;
    let page: serde_json::Value = get_json(&items).await;
    assert_eq!(
        page["numberMatched"], 1,
        "the last good snapshot is still served: {page}"
    );

    registry.restart().await;
    registry
        .push_artifact(
            "pkg",
            "v2",
            kind,
            (EMPTY, b"{}"),
            &[("text/plain", b"v2", None)],
        )
        .await;
    eventually(&items, "caught up after the restart", matched(2)).await;
    eventually(&status, "errors cleared", |s| {
        s["sources"][0]["state"] == "ok"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_asks_a_registry_without_the_referrers_api_once() {
    let registry = TestRegistry::start().await;
    for repo in ["a", "b"] {
        for n in 0..12 {
            let payload = format!("{repo} {n}");
            let layers = [("text/plain", payload.as_bytes(), None)];
            (registry.push_artifact(repo, &format!("v{n}"), None, (EMPTY, b"{}"), &layers)).await;
        }
    }
    let settings = registry_settings(&registry, &["a", "b"], Credentials::Anonymous);
    let source = Source::new(&settings).unwrap();
    let cache = CrawlCache::default();
    // Distribution 2.8 has no referrers API: each pass learns that once, however many
    // artifacts it crawls side by side.
    for pass in ["first", "second"] {
        let before = registry.log().len();
        let crawled = crawl::run(&source, &settings, &cache).await;
        assert_eq!(crawled.artifact_count(), 24, "{:?}", crawled.issues);
        let log = registry.log();
        let asked: Vec<&str> = (log[before..].lines())
            .filter(|l| l.contains("/referrers/"))
            .collect();
        assert_eq!(asked.len(), 1, "{pass} pass: {asked:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrers_appear_on_their_subject() {
    let registry = TestRegistry::start().await;
    let kind = Some("application/vnd.example.v1");
    let fine = [("text/plain", &b"fine"[..], Some("fine.txt"))];
    let subject = registry
        .push_artifact("pkg", "v1", kind, (EMPTY, b"{}"), &fine)
        .await;
    let subject_size = registry.manifest_bytes("pkg", &subject).await.len();
    // An SBOM referring to it, listed under the fallback tag as ORAS does for
    // registries without the referrers API (Distribution 2.8).
    let sbom = br#"{"spdxVersion": "SPDX-2.3", "name": "pkg"}"#;
    let mut manifest: serde_json::Value = serde_json::from_slice(
        &registry
            .artifact_manifest(
                "pkg",
                Some("application/spdx+json"),
                (EMPTY, b"{}"),
                &[("application/spdx+json", sbom, Some("sbom.spdx.json"))],
            )
            .await,
    )
    .unwrap();
    manifest["subject"] =
        json!({"mediaType": OCI_MANIFEST, "digest": subject, "size": subject_size});
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let sbom_digest = registry
        .push_manifest("pkg", &digest(&manifest), OCI_MANIFEST, &manifest)
        .await;
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{
        "mediaType": OCI_MANIFEST, "digest": sbom_digest, "size": manifest.len(),
        "artifactType": "application/spdx+json"}]});
    let fallback = subject.replace(':', "-");
    registry
        .push_manifest(
            "pkg",
            &fallback,
            OCI_INDEX,
            &serde_json::to_vec(&index).unwrap(),
        )
        .await;

    let gateway = Gateway::start(&registry_source(&registry.url, &["pkg"], "")).await;
    let items = format!("{}/collections/pkg/items", gateway.url);
    let page: serde_json::Value = get_json(&items).await;
    assert_eq!(
        page["numberMatched"], 1,
        "the SBOM is no Item of its own: {page}"
    );
    let assets = page["features"][0]["assets"].as_object().unwrap();
    let referrer: Vec<&serde_json::Value> = assets
        .values()
        .filter(|a| a["oci:artifact_type"] == "application/spdx+json")
        .collect();
    assert_eq!(referrer.len(), 1, "{assets:?}");
    assert_eq!(referrer[0]["oci:referrer"], json!(sbom_digest));
    assert_eq!(referrer[0]["roles"], json!(["metadata"]));
    let href = referrer[0]["href"].as_str().unwrap();
    assert!(href.ends_with("/sbom.spdx.json"), "{href}");
    let body = reqwest::get(href).await.unwrap();
    assert_eq!(body.status(), 200);
    assert_eq!(body.bytes().await.unwrap().as_ref(), sbom);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_notification_makes_a_push_searchable_without_a_periodic_crawl() {
    let mut registry = TestRegistry::start().await;
    let kind = Some("application/vnd.example.v1");
    let fine = [("text/plain", &b"fine"[..], Some("fine.txt"))];
    registry
        .push_artifact("pkg", "v1", kind, (EMPTY, b"{}"), &fine)
        .await;
    let secret = "a-webhook-secret-for-tests";
    let gateway = Gateway::start(&format!(
        "[webhooks]\nsecret = \"{secret}\"\n\n[[sources]]\nname = \"r\"\nregistry = \"{}\"\nrepositories = [\"pkg\"]\ninterval = \"1h\"\n",
        registry.url
    ))
    .await;
    let items = format!("{}/collections/pkg/items", gateway.url);
    let matched = |n: u64| move |v: &serde_json::Value| v["numberMatched"] == n;
    eventually(&items, "first crawl", matched(1)).await;

    // Wrong or missing secrets and unknown kinds are refused.
    let client = reqwest::Client::new();
    let hook = format!("{}/webhooks/distribution", gateway.url);
    let events = json!({"events": [{"action": "push", "target": {"repository": "pkg", "mediaType": OCI_MANIFEST}}]});
    let r = client.post(&hook).json(&events).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .post(&hook)
        .bearer_auth("wrong")
        .json(&events)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .post(format!("{}/webhooks/gitlab", gateway.url))
        .bearer_auth(secret)
        .json(&events)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client
        .post(&hook)
        .bearer_auth(secret)
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client
        .post(&hook)
        .bearer_auth(secret)
        .body(vec![b' '; 2 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.expect("a JSON error body");
    assert_eq!(body["code"], "PayloadTooLarge");

    // The registry itself notifies the gateway: a push becomes searchable with the
    // hourly crawl far away.
    registry.notify(&hook, secret).await;
    let pushed_at = std::time::Instant::now();
    registry
        .push_artifact(
            "pkg",
            "v2",
            kind,
            (EMPTY, b"{}"),
            &[("text/plain", b"v2", None)],
        )
        .await;
    eventually(&items, "the push is searchable", matched(2)).await;
    eprintln!("push searchable after {:?}", pushed_at.elapsed());
    let status = get_json(&format!("{}/status", gateway.url)).await;
    assert_eq!(status["sources"][0]["items"], 2, "{status}");
    assert!(
        gateway
            .log()
            .contains("repository recrawled after an event"),
        "{}",
        gateway.log()
    );

    // A deleted tag goes the same way.
    let v1 = registry.manifest_digest("pkg", "v1").await;
    registry.delete_manifest("pkg", &v1).await;
    eventually(&items, "the deletion is seen", matched(1)).await;
}

/// The sum of a metric's samples whose labels contain every one of `labels`.
fn metric(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_that_recrawls_fetch_nothing_unchanged() {
    let registry = TestRegistry::start().await;
    let config = serde_json::to_vec(&json!({"title": "a package"})).unwrap();
    let config = ("application/vnd.example.config.v1+json", &config[..]);
    let fine = [("text/plain", &b"fine"[..], Some("fine.txt"))];
    registry
        .push_artifact(
            "pkg",
            "v1",
            Some("application/vnd.example.v1"),
            config,
            &fine,
        )
        .await;
    let gateway = Gateway::start(&registry_source(
        &registry.url,
        &["pkg"],
        "interval = \"1s\"\n",
    ))
    .await;
    let url = format!("{}/metrics", gateway.url);
    let scrape = || async { reqwest::get(&url).await.unwrap().text().await.unwrap() };
    let first = scrape().await;
    assert_eq!(
        metric(&first, "stac_oci_items", &["collection=\"pkg\""]),
        1.0,
        "{first}"
    );
    assert_eq!(
        metric(&first, "stac_oci_source_up", &["source=\"r\""]),
        1.0,
        "{first}"
    );
    let fetched = |text: &str| {
        metric(
            text,
            "stac_oci_registry_requests_total",
            &["kind=\"manifest_get\""],
        ) + metric(text, "stac_oci_registry_requests_total", &["kind=\"blob\""])
    };
    let tags = |text: &str| metric(text, "stac_oci_registry_requests_total", &["kind=\"tags\""]);
    assert_eq!(fetched(&first), 2.0, "one manifest and one config: {first}");
    let log_before = registry.log().len();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let later = loop {
        let text = scrape().await;
        if tags(&text) >= tags(&first) + 2.0 {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "no recrawl: {text}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(fetched(&later), 2.0, "recrawls fetched again: {later}");
    let log = registry.log();
    assert_eq!(requests(&log[log_before..], "GET"), Vec::<&str>::new());
    assert!(
        metric(
            &later,
            "stac_oci_registry_requests_total",
            &["kind=\"manifest_head\""]
        ) >= 3.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_tags_link_the_versions_of_an_artifact() {
    let registry = TestRegistry::start().await;
    let kind = Some("application/vnd.example.v1");
    for (tag, body) in [
        ("1.0.0", &b"first"[..]),
        ("1.1.0", b"second"),
        ("latest", b"second"),
    ] {
        let layers = [("text/plain", body, Some("data.txt"))];
        registry
            .push_artifact("pkg", tag, kind, (EMPTY, b"{}"), &layers)
            .await;
    }
    let gateway = Gateway::start(&registry_source(&registry.url, &["pkg"], "")).await;
    let page: serde_json::Value = get_json(&format!("{}/collections/pkg/items", gateway.url)).await;
    let items = page["features"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{page}");
    let first = items
        .iter()
        .find(|i| i["properties"]["version"] == "1.0.0")
        .unwrap();
    let second = items
        .iter()
        .find(|i| i["properties"]["version"] == "1.1.0")
        .unwrap();
    assert_eq!(second["properties"]["oci:tags"], json!(["1.1.0", "latest"]));
    let href = |item: &serde_json::Value, rel: &str| {
        item["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == rel)
            .map(|l| l["href"].as_str().unwrap().to_owned())
    };
    let successor = href(first, "successor-version").unwrap();
    let followed: serde_json::Value = get_json(&successor).await;
    assert_eq!(followed["id"], second["id"]);
    assert_eq!(href(first, "latest-version"), Some(successor));
    assert_eq!(href(second, "predecessor-version"), href(first, "self"));
    assert!(href(second, "successor-version").is_none());
}
