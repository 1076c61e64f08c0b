//! Load on a release build with `wrk` (Debian package `wrk`), loopback only, bounded in
//! time. Three parts, all by default, or the ones named after `--`
//! (`cargo bench --bench load -- fixtures scale stream`):
//!
//! - `fixtures`: the test fixtures (the PASTIS 2,433-patch and t4 configs, a STAC Item,
//!   …) in a real registry, then, at 32 connections for 10 s each: `/search` with random
//!   1–30° boxes, 25 % with a one-year datetime, `limit=10`; `GET
//!   /collections/{c}/items/{i}`; 64 KiB `Range` GETs of a 4 MiB asset through the proxy
//!   and straight to the registry, one range repeated (the hot-range cache answers it)
//!   and random unaligned ranges (it does not), also at one connection for the latency
//!   the proxy adds. The static ceiling: one `/search` body of the mix served by nginx.
//! - `scale`: generated OCI image layouts of PASTIS-like artifacts (1,000 patches per
//!   config; 10,000, 100,000 and 1,000,000 Items, or the sizes in
//!   `STAC_OCI_LOAD_SIZES=10000,100000`): time to ready, RSS, the Items' NDJSON size
//!   (dumped through `/search` paging), the same search mix, the nginx ceiling for one
//!   of its bodies, and the peer `rustac serve` on the same NDJSON when `rustac` is on
//!   `PATH` (or named by `STAC_OCI_RUSTAC`), up to `STAC_OCI_RUSTAC_MAX` Items (10,000). With `STAC_OCI_PERF_DIR` set, `perf record`
//!   samples the gateway during the largest search mix.
//! - `stream`: a 1 GiB blob read whole through the proxy and straight from the
//!   registry with `curl`, the CPU the machine and the gateway spend on each, and the
//!   gateway's RSS while it streams.
//!
//! Each wrk line, and the stream part's CPU line, ends with the CPU seconds the hypervisor gave to others meanwhile
//! (`steal`): figures from a run with more than a little are from a contended host.
//!
//! Every process started here (registry, gateway, nginx, rustac, perf) is stopped before
//! the part that started it ends.

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

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gateway::Gateway;
use registry::TestRegistry;
use serde_json::{Value, json};
use sha2::Digest;

const SEARCH_MIX: &str = include_str!("scripts/search-mix.lua");

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
  io.write(string.format("RESULT %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors, %d non-2xx\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.errors.status))
  io.write(string.format("ANSWERED %.0f\n",
    (summary.requests - summary.errors.status) / (summary.duration / 1e6)))
end
"#;

/// Patches per generated PASTIS-like config (the real full config has 2,433).
const PATCHES_PER_CONFIG: usize = 1000;
/// The gateway's peak RSS per generated Item (while it maps them), with room: measured
/// at 7.8 KB at 100,000 Items and 6.1 KB at 1,000,000 (BENCHMARKS.md, third pass).
const ITEM_BYTES_HELD: u64 = 9_000;

/// One wrk run's figures.
struct Wrk {
    line: String,
    requests_per_second: f64,
    /// Responses with a 2xx status per second.
    answered_per_second: f64,
}

impl std::fmt::Display for Wrk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

/// Runs wrk (`-t2 -d10s`, `connections`) on `url` with an optional request script and
/// extra headers.
fn wrk_with(url: &str, connections: u32, script: Option<&str>, headers: &[&str]) -> Wrk {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.lua");
    std::fs::write(&path, format!("{}\n{REPORT}", script.unwrap_or(""))).unwrap();
    let mut command = Command::new("wrk");
    let threads = connections.min(2);
    command
        .args([
            &format!("-t{threads}"),
            &format!("-c{connections}"),
            "-d10s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
        ])
        .arg(&path);
    for header in headers {
        command.args(["-H", header]);
    }
    let stolen_before = stolen();
    let out = command
        .arg(url)
        .output()
        .expect("wrk (Debian package wrk) must be installed");
    let stolen = stolen() - stolen_before;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let answered_per_second = text
        .lines()
        .find_map(|l| l.strip_prefix("ANSWERED "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0.0);
    let line = text
        .lines()
        .find(|l| l.starts_with("RESULT"))
        .map(|l| format!("{}, {stolen:.1} s stolen", l.trim_start_matches("RESULT ")))
        .unwrap_or(text);
    let requests_per_second = line
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    Wrk {
        line,
        requests_per_second,
        answered_per_second,
    }
}

/// wrk at 32 connections.
fn wrk(url: &str, script: Option<&str>, headers: &[&str]) -> Wrk {
    wrk_with(url, 32, script, headers)
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> u16 {
    registry::free_port()
}

/// Stops a child with SIGTERM (so it can stop its own children), then SIGKILL after 5 s.
fn terminate(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// nginx (Debian package `nginx`) serving one body as a static file, with its own
/// configuration, pid file and logs in a temp dir; stopped when dropped.
struct Nginx {
    url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(body: &[u8], content_type: &str) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("search"), body).unwrap();
        let port = free_port();
        let d = dir.path().display();
        let config = format!(
            "daemon off;\nworker_processes auto;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 1000000;\n\
             \x20 client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
             \x20 uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             \x20 server {{\n    listen 127.0.0.1:{port};\n    root {root};\n\
             \x20   location = /search {{ default_type \"{content_type}\"; }}\n  }}\n}}\n",
            root = root.display()
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, config).unwrap();
        let child = Command::new(nginx_binary())
            .args(["-p", &d.to_string(), "-c"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx (Debian package nginx) must be installed");
        let url = format!("http://127.0.0.1:{port}/search");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            url,
            child,
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

fn nginx_binary() -> String {
    for candidate in ["/usr/sbin/nginx", "/usr/local/sbin/nginx"] {
        if Path::new(candidate).exists() {
            return candidate.to_owned();
        }
    }
    "nginx".to_owned()
}

/// `(VmRSS, VmHWM)` of a process in bytes.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A deterministic pseudo-random sequence (64-bit LCG), in [0, 1).
struct Random(u64);

impl Random {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An integer in `low..=high`.
    fn int(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() * (high - low + 1) as f64) as i64
    }
}

/// A request of the search mix's distribution (drawn here, not by wrk's Lua).
fn mix_path(random: &mut Random) -> String {
    let size = random.int(1, 30);
    let west = random.int(-180, 180 - size);
    let south = random.int(-80, 80 - size);
    let mut path = format!(
        "/search?limit=10&bbox={west},{south},{},{}",
        west + size,
        south + size
    );
    if random.next() < 0.25 {
        path.push_str("&datetime=2019-01-01T00:00:00Z/2019-12-31T23:59:59Z");
    }
    path
}

/// The median-sized body of 101 requests drawn from the search mix's distribution.
async fn mix_body(base: &str) -> (String, Vec<u8>) {
    let client = reqwest::Client::new();
    let mut random = Random(42);
    let mut bodies = Vec::new();
    for _ in 0..101 {
        let path = mix_path(&mut random);
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        bodies.push((path, response.bytes().await.unwrap().to_vec()));
    }
    bodies.sort_by_key(|(_, body)| body.len());
    bodies.swap_remove(50)
}

/// The gateway's req/s against nginx serving one of its `/search` bodies.
async fn ceiling(base: &str, gateway_search: &Wrk) {
    let (path, body) = mix_body(base).await;
    let returned = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["numberReturned"].as_u64())
        .unwrap_or(0);
    let nginx = Nginx::start(&body, "application/geo+json");
    let ceiling = wrk(&nginx.url, None, &[]);
    drop(nginx);
    println!(
        "nginx, one search body ({} bytes, {returned} Items, from {path}): {ceiling}",
        body.len()
    );
    println!(
        "gateway search mix at {:.0} % of the nginx ceiling",
        100.0 * gateway_search.requests_per_second / ceiling.requests_per_second.max(1.0)
    );
}

async fn fixtures_part() {
    println!("== fixtures");
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
    let items: Value = reqwest::get(format!("{base}/collections/pastis-2433/items?limit=1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let item = items["features"][0]["id"].as_str().unwrap().to_owned();
    let page: Value = reqwest::get(format!("{base}/collections/blobs/items"))
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

    let search = wrk(&format!("{base}/search"), Some(SEARCH_MIX), &[]);
    println!("search mix:     {search}");
    ceiling(base, &search).await;
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
    println!(
        "64 KiB, random ranges, proxy, 1 connection:  {}",
        wrk_with(&asset, 1, Some(RANDOM_RANGES), &[])
    );
    println!(
        "64 KiB, random ranges, direct, 1 connection: {}",
        wrk_with(&direct, 1, Some(RANDOM_RANGES), &[])
    );
}

/// Writes an OCI image layout of `configs` PASTIS-like artifacts of
/// [`PATCHES_PER_CONFIG`] patches each: the real configs' shape (`patch_id`,
/// `parcel_count`, `temporal_coverage`, a MultiPolygon `geometry`, `layer_digest`,
/// `layer_mediaType`), but lon/lat ~1.28 km squares spread over the globe and one
/// layer per patch that is named, not stored (its media type is not a tar, so the
/// crawl does not read it). Returns the bytes of the configs written.
fn write_layout(dir: &Path, configs: usize) -> u64 {
    let blobs = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let store = |bytes: &[u8]| -> (String, usize) {
        let hex = hex::encode(sha2::Sha256::digest(bytes));
        std::fs::write(blobs.join(&hex), bytes).unwrap();
        (format!("sha256:{hex}"), bytes.len())
    };
    let layer_type = "application/vnd.example.pastis.patch.v1";
    let mut random = Random(42);
    let mut references = Vec::new();
    let mut config_bytes = 0;
    for a in 0..configs {
        let mut patches = Vec::with_capacity(PATCHES_PER_CONFIG);
        let mut layers = Vec::with_capacity(PATCHES_PER_CONFIG);
        for p in 0..PATCHES_PER_CONFIG {
            let id = (a * PATCHES_PER_CONFIG + p).to_string();
            let west = random.next() * 350.0 - 175.0;
            let south = random.next() * 140.0 - 70.0;
            let (east, north) = (west + 0.0115, south + 0.0115);
            let start = 1_514_764_800 + (random.next() * 365.0 * 5.0) as i64 * 86_400;
            let end = start + (30 + (random.next() * 400.0) as i64) * 86_400;
            let date = |t: i64| {
                chrono::DateTime::from_timestamp(t, 0)
                    .unwrap()
                    .format("%Y-%m-%d")
                    .to_string()
            };
            let digest = format!(
                "sha256:{}",
                hex::encode(sha2::Sha256::digest(format!("layer of patch {id}")))
            );
            patches.push(json!({
                "patch_id": id,
                "parcel_count": (random.next() * 200.0) as u64,
                "temporal_coverage": {"start": date(start), "end": date(end)},
                "geometry": {"type": "MultiPolygon", "coordinates": [[[[west, north], [east, north],
                    [east, south], [west, south], [west, north]]]]},
                "layer_digest": digest,
                "layer_mediaType": layer_type,
            }));
            layers.push(json!({
                "mediaType": layer_type,
                "digest": digest,
                "size": 33_554_432,
                "annotations": {"org.opencontainers.image.title": format!("full/{id}.npz")},
            }));
        }
        let config = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "artifactType": "application/vnd.whatever.v1+tar",
            "dataset": "PASTIS-like (generated)",
            "patches": patches,
        });
        let config = serde_json::to_vec(&config).unwrap();
        config_bytes += config.len() as u64;
        let (config_digest, config_size) = store(&config);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": registry::OCI_MANIFEST,
            "artifactType": "application/vnd.whatever.v1+tar",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest, "size": config_size},
            "layers": layers,
        });
        let (digest, size) = store(&serde_json::to_vec(&manifest).unwrap());
        references.push(json!({
            "mediaType": registry::OCI_MANIFEST,
            "digest": digest,
            "size": size,
            "artifactType": "application/vnd.whatever.v1+tar",
            "annotations": {"org.opencontainers.image.ref.name": format!("pastis-scale:a{a:04}")},
        }));
    }
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index =
        json!({"schemaVersion": 2, "mediaType": registry::OCI_INDEX, "manifests": references});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    config_bytes
}

/// Pages through `/search?limit=10000` and writes every Item as one NDJSON line;
/// returns (Items, bytes).
async fn dump_ndjson(base: &str, path: &Path) -> (usize, u64) {
    let client = reqwest::Client::new();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let (mut items, mut bytes) = (0, 0u64);
    let mut next = Some(format!("{base}/search?limit=10000"));
    while let Some(url) = next.take() {
        let page: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
        for feature in page["features"].as_array().unwrap() {
            let mut line = serde_json::to_vec(feature).unwrap();
            line.push(b'\n');
            out.write_all(&line).unwrap();
            bytes += line.len() as u64;
            items += 1;
        }
        next = page["links"]
            .as_array()
            .and_then(|links| links.iter().find(|l| l["rel"] == "next"))
            .and_then(|l| l["href"].as_str())
            .map(str::to_owned);
    }
    out.flush().unwrap();
    (items, bytes)
}

/// Where `perf record` writes, when `STAC_OCI_PERF_DIR` names a directory (set but empty,
/// it names none).
fn perf_dir() -> Option<PathBuf> {
    std::env::var_os("STAC_OCI_PERF_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
}

/// `perf record` of a process for `seconds`, into `dir/<name>.data`.
fn perf_record(pid: u32, dir: &Path, name: &str, seconds: u32) -> Child {
    std::fs::create_dir_all(dir).unwrap();
    Command::new("perf")
        .args(["record", "-F", "199", "--call-graph", "dwarf,8192"])
        .args(["-p", &pid.to_string(), "-o"])
        .arg(dir.join(format!("{name}.data")))
        .args(["--", "sleep", &seconds.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("perf (Debian package linux-perf)")
}

/// `rustac serve` on an NDJSON file, when a `rustac` binary is there; its time to
/// answer `/search`, RSS and the search mix.
async fn rustac_peer(ndjson: &Path, gateway: &Wrk) {
    let binary = std::env::var("STAC_OCI_RUSTAC").unwrap_or_else(|_| "rustac".to_owned());
    if Command::new(&binary)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        println!("rustac: not found (set STAC_OCI_RUSTAC), peer skipped");
        return;
    }
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut child = Command::new(&binary)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .arg(ndjson)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("rustac.log")).unwrap())
        .spawn()
        .expect("rustac serve starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Duration::from_secs(600);
    loop {
        if let Ok(r) = client.get(format!("{base}/search?limit=1")).send().await
            && r.status() == 200
        {
            break;
        }
        if started.elapsed() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
            terminate(&mut child);
            let log = std::fs::read_to_string(dir.path().join("rustac.log")).unwrap_or_default();
            println!("rustac: not serving after {:?}: {log}", started.elapsed());
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = started.elapsed();
    let (rss, hwm) = memory(child.id());
    let search = wrk(&format!("{base}/search"), Some(SEARCH_MIX), &[]);
    println!(
        "rustac serve: ready in {:.1} s, RSS {} (peak {}); search mix: {search}",
        ready.as_secs_f64(),
        mib(rss),
        mib(hwm)
    );
    println!(
        "gateway / rustac: {:.2}× the requests, {:.2}× the 2xx answers",
        gateway.requests_per_second / search.requests_per_second.max(1.0),
        gateway.answered_per_second / search.answered_per_second.max(1.0)
    );
    terminate(&mut child);
}

async fn scale_part() {
    let sizes: Vec<usize> = std::env::var("STAC_OCI_LOAD_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000]);
    let available = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or(u64::MAX, |kib| kib * 1024);
    // A size whose peak would not fit in 80 % of the memory available is skipped rather
    // than risk the machine.
    let (sizes, skipped): (Vec<usize>, Vec<usize>) = sizes
        .into_iter()
        .partition(|&n| n as u64 * ITEM_BYTES_HELD <= available / 10 * 8);
    for n in skipped {
        println!(
            "== scale: {n} Items skipped: would need about {} of RSS, {} available",
            mib(n as u64 * ITEM_BYTES_HELD),
            mib(available)
        );
    }
    let largest = sizes.iter().copied().max().unwrap_or(0);
    // rustac's memory backend loaded these Items in time growing with the square of
    // their number (2,000 in 1.2 s, 10,000 in 25 s, 100,000 not within 600 s).
    let rustac_max: usize = std::env::var("STAC_OCI_RUSTAC_MAX")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let perf_dir = perf_dir();
    let mut by_size = Vec::new();
    for n in sizes {
        let configs = n.div_ceil(PATCHES_PER_CONFIG);
        println!("== scale: {} Items", configs * PATCHES_PER_CONFIG);
        let work = tempfile::tempdir().unwrap();
        // `STAC_OCI_LOAD_KEEP=<dir>`: the layout and NDJSON go there and stay.
        let kept =
            std::env::var_os("STAC_OCI_LOAD_KEEP").map(|d| PathBuf::from(d).join(n.to_string()));
        let work_dir = kept.clone().unwrap_or_else(|| work.path().to_owned());
        let layout = work_dir.join("layout");
        let generated = Instant::now();
        let config_bytes = write_layout(&layout, configs);
        println!(
            "layout: {configs} configs, {} of config JSON, written in {:.1} s",
            mib(config_bytes),
            generated.elapsed().as_secs_f64()
        );
        let config = format!(
            "[[sources]]\nname = \"scale\"\nlayout = \"{}\"\nrepository = \"pastis-scale\"\ninterval = \"24h\"\n",
            layout.display()
        );
        let server = Gateway::start_with(&config, "info", Duration::from_secs(600)).await;
        let (rss, hwm) = memory(server.pid);
        println!(
            "ready in {:.2} s; RSS {} (peak {})",
            server.ready_after.as_secs_f64(),
            mib(rss),
            mib(hwm)
        );
        let ndjson = work_dir.join("items.ndjson");
        let dumped = Instant::now();
        let (items, bytes) = dump_ndjson(&server.url, &ndjson).await;
        println!(
            "NDJSON: {items} Items, {} ({} bytes) via /search paging in {:.1} s; RSS / NDJSON = {:.2}",
            mib(bytes),
            bytes,
            dumped.elapsed().as_secs_f64(),
            rss as f64 / bytes as f64
        );
        let perf = (n == largest)
            .then_some(perf_dir.as_deref())
            .flatten()
            .map(|dir| perf_record(server.pid, dir, "search-mix", 9));
        let search = wrk(&format!("{}/search", server.url), Some(SEARCH_MIX), &[]);
        if let Some(mut perf) = perf {
            let _ = perf.wait();
        }
        println!("search mix: {search}");
        let (rss_after, hwm_after) = memory(server.pid);
        println!(
            "after load: RSS {} (peak {})",
            mib(rss_after),
            mib(hwm_after)
        );
        ceiling(&server.url, &search).await;
        drop(server);
        if n <= rustac_max {
            rustac_peer(&ndjson, &search).await;
        } else {
            println!("rustac: not run above {rustac_max} Items (STAC_OCI_RUSTAC_MAX)");
        }
        by_size.push((items, search.requests_per_second));
    }
    if let Some((smallest, base)) = by_size.first().copied() {
        for (items, rps) in &by_size[1..] {
            println!(
                "search mix at {items} Items: {:.0} % of the rate at {smallest}",
                100.0 * rps / base.max(1.0)
            );
        }
    }
}

/// `curl` of a whole URL to /dev/null: bytes per second.
fn curl_speed(url: &str) -> f64 {
    let out = Command::new("curl")
        .args([
            "-s",
            "-f",
            "--max-time",
            "300",
            "-o",
            "/dev/null",
            "-w",
            "%{speed_download} %{size_download}",
        ])
        .arg(url)
        .output()
        .expect("curl must be installed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut parts = text.split_whitespace();
    let speed: f64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let size: f64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    assert!(
        out.status.success() && size >= (1u64 << 30) as f64,
        "curl {url}: {text}"
    );
    speed
}

/// Seconds of CPU from `/proc`, which counts in ticks of 1/100 s (Linux's `USER_HZ`).
const TICK: f64 = 0.01;

/// The CPU a process has used: user and system seconds (`/proc/<pid>/stat`).
fn process_cpu(pid: u32) -> [f64; 2] {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let seconds = |at: usize| {
        fields
            .get(at)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
            * TICK
    };
    // utime and stime: fields 14 and 15, the 12th and 13th after the name.
    [seconds(11), seconds(12)]
}

/// The machine's CPU seconds summed over its cores, by `/proc/stat`'s columns (user, nice,
/// system, idle, iowait, irq, softirq, steal, …).
fn machine_ticks() -> Vec<f64> {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    stat.lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse::<f64>().unwrap_or(0.0) * TICK)
        .collect()
}

/// The CPU all processes on the machine have used: busy seconds summed over its cores
/// (user, nice, system, irq and softirq; guest time is inside user, and steal is the
/// host's).
fn machine_cpu() -> f64 {
    let ticks = machine_ticks();
    [0, 1, 2, 5, 6]
        .iter()
        .filter_map(|column| ticks.get(*column))
        .sum()
}

/// The seconds the hypervisor has given the machine's cores to others (steal): a run
/// during which it grows ran on a contended host.
fn stolen() -> f64 {
    machine_ticks().get(7).copied().unwrap_or(0.0)
}

/// One whole GET's speed and what it cost.
struct Get {
    /// Bytes per second.
    speed: f64,
    /// Busy CPU seconds of the machine.
    machine: f64,
    /// The gateway's user and system seconds.
    gateway: [f64; 2],
    /// Seconds the host took from the machine's cores meanwhile.
    stolen: f64,
}

/// [`curl_speed`], with the CPU it cost.
fn curl_speed_and_cpu(url: &str, gateway: u32) -> Get {
    let (machine, stolen_before) = (machine_cpu(), stolen());
    let [user, system] = process_cpu(gateway);
    let speed = curl_speed(url);
    let [user_after, system_after] = process_cpu(gateway);
    Get {
        speed,
        machine: machine_cpu() - machine,
        gateway: [user_after - user, system_after - system],
        stolen: stolen() - stolen_before,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn stream_part() {
    println!("== stream: 1 GiB");
    let registry = TestRegistry::start().await;
    let digest = {
        let mut big = vec![0u8; 1 << 30];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for chunk in big.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let digest = registry.push_blob("big", &big).await;
        registry
            .push_artifact(
                "big",
                "v1",
                Some("application/vnd.example.v1"),
                ("application/vnd.oci.empty.v1+json", b"{}"),
                &[("application/octet-stream", &big, Some("big.bin"))],
            )
            .await;
        digest
    };
    let config = format!(
        "[[sources]]\nname = \"big\"\nregistry = \"{}\"\nrepositories = [\"big\"]\ninterval = \"24h\"\n",
        registry.url
    );
    let server = Gateway::start_with(&config, "info", Duration::from_secs(120)).await;
    let page: Value = reqwest::get(format!("{}/collections/big/items", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let asset = page["features"][0]["assets"]
        .as_object()
        .unwrap()
        .values()
        .find(|a| a["href"].as_str().is_some_and(|h| h.ends_with("big.bin")))
        .expect("the 1 GiB asset")["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let direct = format!("{}/v2/big/blobs/{digest}", registry.url);
    // Warm the page cache (the registry's file) once.
    curl_speed(&direct);
    let (before, _) = memory(server.pid);
    let peak = Arc::new(AtomicU64::new(before));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop, pid) = (Arc::clone(&peak), Arc::clone(&stop), server.pid);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(memory(pid).0, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let (mut proxy, mut registry_speed) = (Vec::new(), Vec::new());
    let (mut proxy_cpu, mut direct_cpu, mut gateway_cpu) = (Vec::new(), Vec::new(), Vec::new());
    let mut stolen = 0.0;
    for _ in 0..3 {
        let get = curl_speed_and_cpu(&direct, server.pid);
        registry_speed.push(get.speed);
        direct_cpu.push(get.machine);
        stolen += get.stolen;
        let get = curl_speed_and_cpu(&asset, server.pid);
        proxy.push(get.speed);
        proxy_cpu.push(get.machine);
        gateway_cpu.push(get.gateway);
        stolen += get.stolen;
    }
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    if let Some(dir) = perf_dir() {
        let mut perf = perf_record(server.pid, &dir, "stream", 2);
        curl_speed(&asset);
        let _ = perf.wait();
    }
    let (after, hwm) = memory(server.pid);
    let mb = |v: f64| v / 1e6;
    let (proxy, registry_speed) = (median(proxy), median(registry_speed));
    println!(
        "1 GiB GET, median of 3: proxy {:.0} MB/s, direct {:.0} MB/s: {:.0} %",
        mb(proxy),
        mb(registry_speed),
        100.0 * proxy / registry_speed
    );
    let gateway_median =
        |i: usize| median(gateway_cpu.iter().map(|cpu: &[f64; 2]| cpu[i]).collect());
    println!(
        "CPU seconds per 1 GiB GET, median of 3: the machine's {:.2} direct, {:.2} through the proxy, of which the gateway's {:.2} user + {:.2} system; {stolen:.1} s stolen over the six GETs",
        median(direct_cpu),
        median(proxy_cpu),
        gateway_median(0),
        gateway_median(1),
    );
    println!(
        "gateway RSS: {} before, {} peak while streaming (+{}), {} after; VmHWM {}",
        mib(before),
        mib(peak.load(Ordering::Relaxed)),
        mib(peak.load(Ordering::Relaxed).saturating_sub(before)),
        mib(after),
        mib(hwm)
    );
}

#[tokio::main]
async fn main() {
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |part: &str| named.is_empty() || named.iter().any(|n| n == part);
    if wants("fixtures") {
        fixtures_part().await;
    }
    if wants("scale") {
        scale_part().await;
    }
    if wants("stream") {
        stream_part().await;
    }
}
