//! Crawl benchmark: 1,000 repositories × 10 tags in a real loopback registry
//! (Debian `docker-registry`), crawled cold and then again with nothing changed.
//! Prints crawl time, registry requests per Item by kind, and the registry's own rate
//! for the same manifest requests made directly. Run with
//! `cargo bench --bench crawl` (add `-- <repos> <tags>` for another size).

#[path = "../tests/it/support/registry.rs"]
#[allow(dead_code)]
mod registry;

use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use stac_oci::config::{AssetMode, Credentials, SourceKind, SourceSettings, TagFilter};
use stac_oci::crawl::{self, CrawlCache};
use stac_oci::mapping::{self, MappingOptions};
use stac_oci::source::Source;
use stac_oci::source::metrics::RequestKind;

const EMPTY: &str = "application/vnd.oci.empty.v1+json";

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let repos = args.first().copied().unwrap_or(1000);
    let tags = args.get(1).copied().unwrap_or(10);
    let registry = registry::TestRegistry::start().await;

    let started = Instant::now();
    // Repositories in parallel, each one's tags in turn (they share the config blob).
    stream::iter(0..repos)
        .for_each_concurrent(32, |r| {
            let registry = &registry;
            async move {
                let repo = format!("bench/r{r:04}");
                for t in 0..tags {
                    let layer = format!("repository {r} tag {t}").into_bytes();
                    let layers = [("text/plain", layer.as_slice(), Some("data.txt"))];
                    let kind = Some("application/vnd.example.v1");
                    registry
                        .push_artifact(&repo, &format!("v{t}"), kind, (EMPTY, b"{}"), &layers)
                        .await;
                }
            }
        })
        .await;
    println!(
        "pushed {repos} repositories × {tags} tags in {:.1?}",
        started.elapsed()
    );

    let settings = SourceSettings {
        name: "bench".into(),
        kind: SourceKind::Registry {
            url: registry.url.parse().unwrap(),
            repositories: vec!["bench/*".into()],
            credentials: Credentials::Anonymous,
        },
        tags: TagFilter {
            include: globset::GlobSetBuilder::new()
                .add(globset::Glob::new("*").unwrap())
                .build()
                .unwrap(),
            exclude: globset::GlobSet::empty(),
        },
        interval: Duration::from_secs(300),
        crs: None,
        assets: AssetMode::default(),
        max_config_bytes: 1 << 20,
        max_member_assets: 256,
    };
    let source = Source::new(&settings).unwrap();
    let metrics = source.metrics().unwrap().clone();
    let cache = CrawlCache::default();
    let options = MappingOptions::default();

    for pass in ["cold", "warm"] {
        let before = metrics.snapshot();
        let started = Instant::now();
        let result = crawl::run(&source, &settings, &cache).await;
        let crawl_time = started.elapsed();
        let items: usize = result
            .repositories
            .into_iter()
            .map(|(repo, artifacts)| {
                mapping::map_repository(&repo, artifacts, &options)
                    .items
                    .len()
            })
            .sum();
        let total = started.elapsed();
        assert!(
            result.issues.is_empty(),
            "{:?}",
            &result.issues[..result.issues.len().min(3)]
        );
        let count = |kind: RequestKind| {
            let now = metrics.total(kind);
            let then: u64 = before
                .iter()
                .filter(|(k, _, _)| *k == kind)
                .map(|(_, _, n)| n)
                .sum();
            now - then
        };
        let kinds = [
            RequestKind::Catalog,
            RequestKind::Tags,
            RequestKind::ManifestHead,
            RequestKind::ManifestGet,
            RequestKind::Blob,
            RequestKind::Referrers,
        ];
        let requests: u64 = kinds.iter().map(|k| count(*k)).sum();
        println!(
            "{pass}: {items} Items, crawl {crawl_time:.2?}, with mapping {total:.2?}, {:.0} Items/s, {requests} requests ({:.2} per Item): {}",
            items as f64 / total.as_secs_f64(),
            requests as f64 / items.max(1) as f64,
            kinds
                .iter()
                .map(|k| format!("{} {}", k.label(), count(*k)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    // The registry's own rate for the cold crawl's manifest work: HEAD then GET of every
    // tag's manifest, 16 at a time, with a plain client.
    let client = reqwest::Client::new();
    let started = Instant::now();
    let jobs = (0..repos).flat_map(|r| (0..tags).map(move |t| (r, t)));
    stream::iter(jobs)
        .for_each_concurrent(16, |(r, t)| {
            let client = &client;
            let url = format!("{}/v2/bench/r{r:04}/manifests/v{t}", registry.url);
            async move {
                let accept = registry::OCI_MANIFEST;
                let head = client
                    .head(&url)
                    .header("accept", accept)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(head.status(), 200);
                let get = client
                    .get(&url)
                    .header("accept", accept)
                    .send()
                    .await
                    .unwrap();
                get.bytes().await.unwrap();
            }
        })
        .await;
    let direct = started.elapsed();
    println!(
        "direct: HEAD+GET of {} manifests in {direct:.2?}, {:.0} manifests/s",
        repos * tags,
        (repos * tags) as f64 / direct.as_secs_f64()
    );
}
