//! Sources against a real registry process and a layout directory built here.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use stac_oci::config::{AssetMode, Credentials, SourceKind, SourceSettings, TagFilter};
use stac_oci::source::registry::RegistrySource;
use stac_oci::source::{BlobBody, ByteRange, Manifest, Source, SourceError};

use crate::support::client::{get_json, registry_source};
use crate::support::fixtures::{TAR, synthetic_tar};
use crate::support::gateway::Gateway;
use crate::support::registry::{OCI_INDEX, OCI_MANIFEST, TestRegistry, digest};
use crate::support::token_auth::{
    Grant, TokenIssuer, fetch_token, granted_actions, token_flow_get,
};

/// Settings for a test source of `kind`, every tag crawled.
pub fn settings(kind: SourceKind) -> SourceSettings {
    SourceSettings {
        name: "test".to_owned(),
        kind,
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
        max_config_bytes: 1024 * 1024,
        max_member_assets: 256,
    }
}

/// Settings for a registry source over `repositories`.
pub fn registry_settings(
    registry: &TestRegistry,
    repositories: &[&str],
    credentials: Credentials,
) -> SourceSettings {
    settings(SourceKind::Registry {
        url: registry.url.parse().unwrap(),
        repositories: repositories.iter().map(|r| r.to_string()).collect(),
        credentials,
    })
}

async fn read_all(body: BlobBody) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stream = body.stream;
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

const EMPTY: &str = "application/vnd.oci.empty.v1+json";

#[tokio::test]
async fn registry_tags_manifests_blobs_and_ranges() {
    let registry = TestRegistry::start().await;
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let config = serde_json::to_vec(&json!({"hello": "world"})).unwrap();
    let mut digests = Vec::new();
    for tag in ["v1", "v2", "v3", "latest", "stable"] {
        let d = registry
            .push_artifact(
                "eo/data",
                tag,
                Some("application/vnd.example"),
                ("application/json", &config),
                &[("application/octet-stream", &data, Some("data.bin"))],
            )
            .await;
        digests.push(d);
    }
    registry
        .push_artifact("other", "x", None, (EMPTY, b"{}"), &[])
        .await;

    let source = RegistrySource::new(&registry_settings(
        &registry,
        &["eo/*"],
        Credentials::Anonymous,
    ))
    .unwrap();
    assert_eq!(source.registry_name(), registry.host);
    assert_eq!(source.repositories().await.unwrap(), ["eo/data"]);
    // Pages of two: every tag exactly once.
    let tags = source.tags_paged("eo/data", 2).await.unwrap();
    assert_eq!(tags, ["latest", "stable", "v1", "v2", "v3"]);
    assert_eq!(source.tags("eo/data").await.unwrap(), tags);

    let fetched = source.manifest("eo/data", "v1").await.unwrap();
    assert_eq!(fetched.digest, digests[0]);
    assert_eq!(fetched.media_type, OCI_MANIFEST);
    let Manifest::Image(image) = &fetched.manifest else {
        panic!("not an image manifest")
    };
    assert_eq!(image.layers.len(), 1);
    assert_eq!(
        image.artifact_type.as_deref(),
        Some("application/vnd.example")
    );
    assert_eq!(
        source
            .manifest("eo/data", &digests[0])
            .await
            .unwrap()
            .digest,
        digests[0]
    );

    // Config blob with a cap: under it the bytes, over it TooLarge.
    let config_digest = image.config.digest.clone();
    assert_eq!(
        source.blob("eo/data", &config_digest, 1024).await.unwrap(),
        config
    );
    let err = source
        .blob("eo/data", &image.layers[0].digest, 1000)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::TooLarge { limit: 1000, .. }),
        "{err}"
    );

    // Whole blob and ranges, exact bytes.
    let layer = &image.layers[0].digest;
    let whole = source
        .open_blob("eo/data", layer, data.len() as u64, None)
        .await
        .unwrap();
    assert_eq!(whole.length, data.len() as u64);
    assert_eq!(read_all(whole).await, data);
    for (start, end) in [(0, 0), (10, 19), (65_530, 70_000), (99_000, 99_999)] {
        let body = source
            .open_blob(
                "eo/data",
                layer,
                data.len() as u64,
                Some(ByteRange { start, end }),
            )
            .await
            .unwrap();
        assert_eq!(body.length, end - start + 1);
        assert_eq!(read_all(body).await, &data[start as usize..=end as usize]);
    }

    // Unknown things are NotFound, naming what was asked.
    let missing = digest(b"missing");
    assert!(matches!(
        source.manifest("eo/data", "nope").await,
        Err(SourceError::NotFound { .. })
    ));
    assert!(matches!(
        source.manifest("eo/data", &missing).await,
        Err(SourceError::NotFound { .. })
    ));
    assert!(matches!(
        source.blob("eo/data", &missing, 10).await,
        Err(SourceError::NotFound { .. })
    ));
    assert!(matches!(
        source.tags("no/such").await,
        Err(SourceError::NotFound { .. })
    ));
    assert!(matches!(
        source.open_blob("eo/data", "sha256:../../x", 1, None).await,
        Err(SourceError::NotFound { .. })
    ));

    // Deleted manifests disappear.
    registry
        .delete_manifest("other", &digest_of_tag(&registry, "other", "x").await)
        .await;
    assert!(matches!(
        source.manifest("other", "x").await,
        Err(SourceError::NotFound { .. })
    ));
}

async fn digest_of_tag(registry: &TestRegistry, repo: &str, tag: &str) -> String {
    let source = RegistrySource::new(&registry_settings(
        registry,
        &[repo],
        Credentials::Anonymous,
    ))
    .unwrap();
    source.manifest(repo, tag).await.unwrap().digest
}

#[tokio::test]
async fn image_index_children() {
    let registry = TestRegistry::start().await;
    let mut children = Vec::new();
    for name in ["a", "b"] {
        let manifest = registry
            .artifact_manifest(
                "multi",
                Some("application/vnd.example"),
                (EMPTY, b"{}"),
                &[("text/plain", name.as_bytes(), Some(name))],
            )
            .await;
        let d = registry
            .push_manifest("multi", &digest(&manifest), OCI_MANIFEST, &manifest)
            .await;
        children.push(json!({"mediaType": OCI_MANIFEST, "digest": d, "size": manifest.len()}));
    }
    let index = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}),
    )
    .unwrap();
    let index_digest = registry
        .push_manifest("multi", "both", OCI_INDEX, &index)
        .await;

    let source = Source::new(&registry_settings(
        &registry,
        &["multi"],
        Credentials::Anonymous,
    ))
    .unwrap();
    let fetched = source.manifest("multi", "both").await.unwrap();
    assert_eq!(fetched.digest, index_digest);
    let Manifest::Index(index) = fetched.manifest else {
        panic!("not an index")
    };
    assert_eq!(index.manifests.len(), 2);
    for child in &index.manifests {
        let m = source.manifest("multi", &child.digest).await.unwrap();
        assert!(matches!(m.manifest, Manifest::Image(_)));
    }
}

#[tokio::test]
async fn basic_auth_registry() {
    let registry = TestRegistry::start_with_htpasswd("gateway", "s3cret-pass").await;
    let data = b"protected bytes".repeat(50);
    let d = registry
        .push_artifact(
            "private",
            "v1",
            None,
            (EMPTY, b"{}"),
            &[("application/octet-stream", &data, None)],
        )
        .await;

    let good = Credentials::Basic {
        username: "gateway".into(),
        password: "s3cret-pass".into(),
    };
    let source = Source::new(&registry_settings(&registry, &["private"], good)).unwrap();
    assert_eq!(source.tags("private").await.unwrap(), ["v1"]);
    let fetched = source.manifest("private", "v1").await.unwrap();
    assert_eq!(fetched.digest, d);
    let Manifest::Image(image) = fetched.manifest else {
        panic!()
    };
    let layer = &image.layers[0];
    let body = source
        .open_blob(
            "private",
            &layer.digest,
            layer.size,
            Some(ByteRange { start: 5, end: 20 }),
        )
        .await
        .unwrap();
    assert_eq!(read_all(body).await, &data[5..=20]);

    for credentials in [
        Credentials::Anonymous,
        Credentials::Basic {
            username: "gateway".into(),
            password: "wrong".into(),
        },
    ] {
        let source = Source::new(&registry_settings(&registry, &["private"], credentials)).unwrap();
        let err = source.tags("private").await.unwrap_err();
        assert!(matches!(err, SourceError::Denied { .. }), "{err}");
        assert!(!err.to_string().contains("s3cret"));
        let err = source
            .open_blob("private", &layer.digest, layer.size, None)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, SourceError::Denied { .. }), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_auth_registry_grants_scopes_and_the_gateway_crawls_it() {
    let issuer = TokenIssuer::start(&[
        ("alice", "alice-pass", Grant::pull(&["private/a"])),
        ("bob", "bob-pass", Grant::none()),
    ])
    .await;
    let registry = TestRegistry::start_with_token_auth(&issuer, ("admin", "admin-pass")).await;
    for (repo, id) in [("private/a", "a"), ("private/b", "b")] {
        let layer = synthetic_tar(id);
        registry
            .push_artifact(
                repo,
                "v1",
                Some("application/vnd.example.data.v1"),
                (EMPTY, b"{}"),
                &[(TAR, &layer, Some("data.tar"))],
            )
            .await;
    }

    // The token flow over plain HTTP: alice pulls private/a only, bob and anonymous nothing.
    let http = reqwest::Client::new();
    let tags = |repo: &str| format!("{}/v2/{repo}/tags/list", registry.url);
    let alice = Some(("alice", "alice-pass"));
    let bob = Some(("bob", "bob-pass"));
    let r = token_flow_get(&http, &tags("private/a"), alice).await;
    assert_eq!(r.status(), 200);
    let listed: serde_json::Value = r.json().await.unwrap();
    assert_eq!(listed["tags"], json!(["v1"]));
    for (who, repo) in [
        (alice, "private/b"),
        (bob, "private/a"),
        (bob, "private/b"),
        (None, "private/a"),
        (Some(("alice", "wrong")), "private/a"),
    ] {
        let status = token_flow_get(&http, &tags(repo), who).await.status();
        assert!(
            matches!(status.as_u16(), 401 | 403),
            "{who:?} on {repo}: {status}"
        );
    }
    // A token grants the intersection of what was asked and what the user may do.
    let scopes = [
        "repository:private/a:pull,push",
        "repository:private/b:pull",
    ];
    let token = fetch_token(&http, &issuer.realm(), TokenIssuer::SERVICE, &scopes, alice)
        .await
        .unwrap();
    assert_eq!(
        granted_actions(&token, "private/a"),
        ["pull".to_owned()].into()
    );
    assert!(granted_actions(&token, "private/b").is_empty());
    assert_eq!(
        issuer.issued("alice"),
        3,
        "a refused password gets no token"
    );
    assert_eq!(issuer.issued("bob"), 2);
    assert_eq!(issuer.issued(""), 1);

    // The gateway with the admin's credentials crawls both repositories.
    let credentials = "username = \"admin\"\npassword = \"admin-pass\"\n";
    let config = registry_source(&registry.url, &["private/a", "private/b"], credentials);
    let gateway = Gateway::start(&config).await;
    for collection in ["private-a", "private-b"] {
        let page = get_json(&format!("{}/collections/{collection}/items", gateway.url)).await;
        assert_eq!(page["numberMatched"], 1, "{page}\n{}", gateway.log());
    }
}

#[tokio::test]
async fn unreachable_registry_is_named() {
    let port = crate::support::registry::free_port();
    let source = Source::new(&settings(SourceKind::Registry {
        url: format!("http://127.0.0.1:{port}").parse().unwrap(),
        repositories: vec!["x".into()],
        credentials: Credentials::Anonymous,
    }))
    .unwrap();
    let err = source.tags("x").await.unwrap_err();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains('x'));
}

#[tokio::test]
async fn layout_source() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let write_blob = |bytes: &[u8]| {
        let d = digest(bytes);
        std::fs::write(
            root.join("blobs/sha256")
                .join(d.trim_start_matches("sha256:")),
            bytes,
        )
        .unwrap();
        d
    };
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let layer = write_blob(&data);
    let config = write_blob(b"{}");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": EMPTY, "digest": config, "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": layer, "size": data.len()}]
    }))
    .unwrap();
    let manifest_digest = write_blob(&manifest);
    let entry = |name: &str| {
        json!({"mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": name}})
    };
    let index = json!({"schemaVersion": 2, "manifests": [entry("demo:full"), entry("demo:sample"), entry("v1")]});
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();

    let source = Source::new(&settings(SourceKind::Layout {
        path: root.to_owned(),
        repository: "bare".into(),
    }))
    .unwrap();
    assert!(source.registry_name().starts_with("oci-layout:"));
    assert_eq!(source.repositories().await.unwrap(), ["bare", "demo"]);
    assert_eq!(source.tags("demo").await.unwrap(), ["full", "sample"]);
    assert_eq!(source.tags("bare").await.unwrap(), ["v1"]);
    assert!(matches!(
        source.tags("none").await,
        Err(SourceError::NotFound { .. })
    ));
    let fetched = source.manifest("demo", "full").await.unwrap();
    assert_eq!(fetched.digest, manifest_digest);
    assert_eq!(source.blob("demo", &config, 10).await.unwrap(), &b"{}"[..]);
    assert!(matches!(
        source.blob("demo", &layer, 10).await,
        Err(SourceError::TooLarge { .. })
    ));
    let whole = source
        .open_blob("demo", &layer, data.len() as u64, None)
        .await
        .unwrap();
    assert_eq!(read_all(whole).await, data);
    let range = ByteRange {
        start: 65_000,
        end: 140_000,
    };
    let part = source
        .open_blob("demo", &layer, data.len() as u64, Some(range))
        .await
        .unwrap();
    assert_eq!(part.length, 75_001);
    assert_eq!(read_all(part).await, &data[65_000..=140_000]);
    assert!(matches!(
        source
            .open_blob("demo", "sha256:../../../etc/passwd", 1, None)
            .await,
        Err(SourceError::NotFound { .. })
    ));

    // A corrupted blob is caught by its digest.
    std::fs::write(
        root.join("blobs/sha256")
            .join(config.trim_start_matches("sha256:")),
        b"[]",
    )
    .unwrap();
    assert!(matches!(
        source.blob("demo", &config, 10).await,
        Err(SourceError::DigestMismatch { .. })
    ));
}
