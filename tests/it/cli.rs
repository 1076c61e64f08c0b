//! The command line: the demo with no options, `crawl`, `check-config`, bad configs.

use std::process::Command;

use reqwest::Client;
use serde_json::Value;

use crate::support::client::gdal_tool;
use crate::support::gateway::Gateway;

fn stac_oci(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stac-oci"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("STAC_OCI_LOG", "warn")
        .output()
        .expect("the binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_no_options_serves_the_bundled_demo() {
    // From a directory without examples/demo: the binary finds (or generates) the demo.
    let dir = tempfile::tempdir().unwrap();
    let gateway = Gateway::start_with_args(&[], dir).await;
    let client = Client::new();
    let collections: Value = client
        .get(format!("{}/collections", gateway.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ids: Vec<&str> = collections["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["generic-demo", "pastis-demo", "stac-item-demo"],
        "{}",
        gateway.log()
    );
    let search: Value = client
        .get(format!(
            "{}/search?bbox=-5.5,41,10,51.5&limit=100",
            gateway.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let found = search["features"].as_array().unwrap();
    assert!(
        found.iter().any(|f| f["collection"] == "pastis-demo"),
        "{search}"
    );
    assert!(
        found.iter().any(|f| f["collection"] == "stac-item-demo"),
        "{search}"
    );
    // Every asset of the demo answers with the bytes its file:size announces.
    for feature in found {
        for asset in feature["assets"].as_object().unwrap().values() {
            let Some(size) = asset["file:size"].as_u64() else {
                continue;
            };
            let href = asset["href"].as_str().unwrap();
            let head = client.head(href).send().await.unwrap();
            assert_eq!(head.status(), 200, "{href}");
            assert_eq!(head.headers()["content-length"], size.to_string().as_str());
            let body = client
                .get(href)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert_eq!(body.len() as u64, size, "{href}");
        }
    }
    // SIGTERM (what container runtimes send) ends it cleanly.
    let mut gateway = gateway;
    assert!(gateway.terminate().success(), "{}", gateway.log());
    assert!(gateway.log().contains("shutting down"), "{}", gateway.log());
}

#[test]
fn crawl_prints_the_catalog_as_ndjson() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = stac_oci(&["crawl"], std::path::Path::new(root));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let collections = lines.iter().filter(|v| v["type"] == "Collection").count();
    let items = lines.iter().filter(|v| v["type"] == "Feature").count();
    assert_eq!(collections, 3);
    assert!(items >= 3, "{lines:?}");
}

#[test]
fn bad_configs_fail_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[server]\nlisten = \"nope\"\n[[sources]]\nname = \"a\"\nlayout = \".\"\n",
            "server.listen",
        ),
        (
            "[[sources]]\nname = \"r\"\nregistry = \"ftp://x\"\nrepositories = [\"a\"]\n",
            "sources[0].registry",
        ),
        (
            "[[sources]]\nname = \"r\"\nregistry = \"http://127.0.0.1:1\"\n",
            "sources[0].repositories",
        ),
        ("[[sources]]\nnam = \"r\"\n", "nam"),
    ];
    for (text, key) in cases {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        for command in ["check-config", "serve", "crawl"] {
            let out = stac_oci(&[command, "--config", path.to_str().unwrap()], dir.path());
            assert!(!out.status.success(), "{command} accepted {text}");
            let stderr = String::from_utf8(out.stderr).unwrap();
            assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
            assert!(stderr.contains(key), "{stderr} should name {key}");
        }
    }
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[[sources]]\nname = \"r\"\nregistry = \"http://127.0.0.1:1\"\nrepositories = [\"a\"]\n",
    )
    .unwrap();
    let out = stac_oci(
        &["check-config", "--config", good.to_str().unwrap()],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bundled_demo_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    stac_oci::demo::write_demo_layout(dir.path()).unwrap();
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo");
    let mut files = Vec::new();
    collect(dir.path(), dir.path(), &mut files);
    let mut committed_files = Vec::new();
    collect(&committed, &committed, &mut committed_files);
    assert_eq!(
        files.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        committed_files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for ((path, bytes), (_, committed_bytes)) in files.iter().zip(&committed_files) {
        assert!(
            bytes == committed_bytes,
            "{path} differs: run `cargo run -- demo` and commit"
        );
    }
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    assert!(total < 5 * 1024 * 1024, "demo is {total} bytes");
}

fn collect(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            out.push((rel, std::fs::read(&path).unwrap()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdal_stacit_mosaics_search_results_of_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = Gateway::start_with_args(&[], dir).await;
    let gdal = |args: &[&str]| gdal_tool("gdalinfo", args);
    let stacit = format!(
        "STACIT:\"{}/search?collections=stac-item-demo\":asset=red",
        gateway.url
    );
    let mosaic = gdal(&["-checksum", &stacit]);
    assert!(mosaic.contains("Size is 256, 256"), "{mosaic}");
    let checksum = |text: &str| {
        text.lines()
            .find(|l| l.contains("Checksum="))
            .map(str::trim)
            .map(str::to_owned)
    };
    let href = format!(
        "/vsicurl/{}/collections/stac-item-demo/items/toulouse-2024-05-01/assets/red/red.tif",
        gateway.url
    );
    let direct = gdal(&["-checksum", &href]);
    assert_eq!(checksum(&mosaic), checksum(&direct));
    assert!(checksum(&mosaic).is_some());
}

/// `ogrinfo` (GDAL's OAPIF driver, how QGIS reads OGC API Features) on the demo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdal_oapif_reads_the_demo_collections_as_layers() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = Gateway::start_with_args(&[], dir).await;
    let ogrinfo = |args: &[&str]| gdal_tool("ogrinfo", &[&["-ro", "-q"], args].concat());
    let source = format!("OAPIF:{}", gateway.url);
    let layers = ogrinfo(&[&source]);
    for layer in ["generic-demo", "pastis-demo", "stac-item-demo"] {
        assert!(layers.contains(layer), "{layers}");
    }
    let features = ogrinfo(&["-al", &source, "pastis-demo"]);
    assert_eq!(
        features.matches("OGRFeature(pastis-demo)").count(),
        4,
        "{features}"
    );
    assert!(features.contains("parcel_count (Integer)"), "{features}");
    // A spatial filter is sent as `bbox`: nothing in the Atlantic.
    let atlantic = ogrinfo(&[
        "-al",
        "-spat",
        "-40",
        "30",
        "-30",
        "40",
        &source,
        "pastis-demo",
    ]);
    assert_eq!(atlantic.matches("OGRFeature(").count(), 0, "{atlantic}");
}

/// The image build (`deploy/Dockerfile`) copies everything `cargo build --bin` reads:
/// the sources, the OpenAPI document they include, the demo, and the declared benches
/// (Cargo refuses a manifest whose targets are missing). No Docker daemon needed.
#[test]
fn dockerfile_copies_what_the_build_needs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("deploy/Dockerfile")).unwrap();
    let copied: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--from"))
        .flat_map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            parts[..parts.len() - 1].to_vec()
        })
        .collect();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut needed = vec!["Cargo.toml", "Cargo.lock", "src", "openapi", "examples"];
    if manifest.contains("[[bench]]") {
        needed.push("benches");
    }
    for path in needed {
        assert!(
            copied.contains(&path),
            "deploy/Dockerfile does not copy {path}: {copied:?}"
        );
    }
}
