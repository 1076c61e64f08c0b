//! Load on a release build with `wrk` (Debian package `wrk`), loopback only, bounded in
//! time: the test fixtures (the PASTIS 2,433-patch and t4 configs, a STAC Item, …) in a
//! real registry, then, at 32 connections for 10 s each:
//! - `/search` with random 1–30° boxes, 25 % with a one-year datetime, `limit=10`;
//! - `GET /collections/{c}/items/{i}`;
//! - 64 KiB `Range` GETs of a 4 MiB asset through the proxy, and the same requests
//!   straight to the registry: one range repeated (the hot-range cache answers it) and
//!   random unaligned ranges (it does not).
//!
//! Run with `cargo bench --bench load`.

// `fixtures` reaches `registry` as `super::registry`: both sit at this crate's root.
#[path = "../tests/it/support/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;
#[path = "../tests/it/support/gateway.rs"]
#[allow(dead_code)]
mod gateway;
#[path = "../tests/it/support/registry.rs"]
#[allow(dead_code)]
mod registry;

use std::process::Command;

use gateway::Gateway;
use registry::TestRegistry;

const SEARCH_MIX: &str = r#"
math.randomseed(42)
request = function()
  local size = math.random(1, 30)
  local west = math.random(-180, 180 - size)
  local south = math.random(-80, 80 - size)
  local path = string.format("/search?limit=10&bbox=%d,%d,%d,%d", west, south, west + size, south + size)
  if math.random() < 0.25 then
    path = path .. "&datetime=2019-01-01T00:00:00Z/2019-12-31T23:59:59Z"
  end
  return wrk.format("GET", path)
end
"#;

/// 64 KiB ranges at random (unaligned) offsets of a 4 MiB blob: nearly all distinct, so
/// the hot-range cache does not answer them.
const RANDOM_RANGES: &str = r#"
math.randomseed(7)
request = function()
  local start = math.random(0, 4 * 1024 * 1024 - 65536)
  return wrk.format("GET", nil, { ["Range"] = string.format("bytes=%d-%d", start, start + 65535) })
end
"#;

const REPORT: &str = r#"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
"#;

/// Runs wrk on `url` with an optional request script and extra headers; returns its RESULT line.
fn wrk(url: &str, script: Option<&str>, headers: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.lua");
    std::fs::write(&path, format!("{}\n{REPORT}", script.unwrap_or(""))).unwrap();
    let mut command = Command::new("wrk");
    command
        .args(["-t2", "-c32", "-d10s", "--latency", "-s"])
        .arg(&path);
    for header in headers {
        command.args(["-H", header]);
    }
    let out = command
        .arg(url)
        .output()
        .expect("wrk (Debian package wrk) must be installed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find(|l| l.starts_with("RESULT"))
        .map(str::to_owned)
        .unwrap_or(text)
}

#[tokio::main]
async fn main() {
    let registry = TestRegistry::start().await;
    fixtures::push_all(&registry).await;
    let big: Vec<u8> = (0..4u32 * 1024 * 1024)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let digest = registry.push_blob("blobs", &big).await;
    registry
        .push_artifact(
            "blobs",
            "v1",
            Some("application/vnd.example.v1"),
            ("application/vnd.oci.empty.v1+json", b"{}"),
            &[("application/octet-stream", &big, Some("big.bin"))],
        )
        .await;
    let mut config = fixtures::gateway_config(&registry.url);
    config.push_str("\n[[sources]]\nname = \"blobs\"\nregistry = \"");
    config.push_str(&registry.url);
    config.push_str("\"\nrepositories = [\"blobs\"]\n");
    let gateway = Gateway::start(&config).await;
    let base = &gateway.url;
    let items: serde_json::Value =
        reqwest::get(format!("{base}/collections/pastis-2433/items?limit=1"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let item = items["features"][0]["id"].as_str().unwrap().to_owned();
    let page: serde_json::Value = reqwest::get(format!("{base}/collections/blobs/items"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let asset = page["features"][0]["assets"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_owned();

    println!(
        "search mix:     {}",
        wrk(&format!("{base}/search"), Some(SEARCH_MIX), &[])
    );
    println!(
        "one item:       {}",
        wrk(
            &format!("{base}/collections/pastis-2433/items/{item}"),
            None,
            &[]
        )
    );
    let range = "Range: bytes=1048576-1114111";
    let direct = format!("{}/v2/blobs/blobs/{digest}", registry.url);
    println!(
        "64 KiB, same range, proxy:     {}",
        wrk(&asset, None, &[range])
    );
    println!(
        "64 KiB, same range, direct:    {}",
        wrk(&direct, None, &[range])
    );
    println!(
        "64 KiB, random ranges, proxy:  {}",
        wrk(&asset, Some(RANDOM_RANGES), &[])
    );
    println!(
        "64 KiB, random ranges, direct: {}",
        wrk(&direct, Some(RANDOM_RANGES), &[])
    );
}
