//! A real CNCF Distribution registry (Debian `docker-registry`) on a free loopback
//! port, and helpers that push fixtures to it over the registry HTTP API.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::Digest;

/// The registry binary, overridable for machines where it lives elsewhere.
fn registry_binary() -> String {
    std::env::var("STAC_OCI_TEST_REGISTRY").unwrap_or_else(|_| "docker-registry".to_owned())
}

/// A running registry; killed when dropped.
pub struct TestRegistry {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub host: String,
    child: Child,
    dir: tempfile::TempDir,
    http: reqwest::Client,
    basic: Option<(String, String)>,
}

impl TestRegistry {
    /// Starts an anonymous registry.
    pub async fn start() -> TestRegistry {
        Self::spawn(None).await
    }

    /// Starts a registry that requires HTTP Basic credentials (htpasswd, bcrypt).
    pub async fn start_with_htpasswd(user: &str, password: &str) -> TestRegistry {
        Self::spawn(Some((user.to_owned(), password.to_owned()))).await
    }

    async fn spawn(basic: Option<(String, String)>) -> TestRegistry {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let auth = match &basic {
            Some((user, password)) => {
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .expect("htpasswd (apache2-utils) must be installed");
                assert!(out.status.success(), "htpasswd failed");
                let path = dir.path().join("htpasswd");
                std::fs::write(&path, out.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: stac-oci-test\n    path: {}\n",
                    path.display()
                )
            }
            None => String::new(),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n{auth}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = spawn_registry(dir.path());
        let registry = TestRegistry {
            url: format!("http://{host}"),
            host,
            child,
            dir,
            http: reqwest::Client::new(),
            basic,
        };
        registry.wait_ready().await;
        registry
    }

    /// Stops the registry process (its storage stays).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the registry again on the same port with the same storage.
    pub async fn restart(&mut self) {
        self.stop();
        self.child = spawn_registry(self.dir.path());
        self.wait_ready().await;
    }

    /// Restarts the registry configured to send its notifications to `url` with
    /// `Authorization: Bearer <token>`.
    pub async fn notify(&mut self, url: &str, token: &str) {
        let path = self.dir.path().join("config.yml");
        let mut config = std::fs::read_to_string(&path).unwrap();
        config.push_str(&format!(
            "notifications:\n  endpoints:\n    - name: stac-oci\n      url: {url}\n      headers:\n        Authorization: [\"Bearer {token}\"]\n      timeout: 2s\n      threshold: 3\n      backoff: 1s\n"
        ));
        std::fs::write(&path, config).unwrap();
        self.restart().await;
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self.http.get(format!("{}/v2/", self.url)).send().await
                && (r.status().is_success() || r.status() == 401)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "registry did not start:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("registry.log")
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url);
        match &self.basic {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    /// Uploads a blob (monolithic POST + PUT); returns its digest.
    pub async fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = digest(bytes);
        let start = self
            .request(
                reqwest::Method::POST,
                &format!("{}/v2/{repo}/blobs/uploads/", self.url),
            )
            .send()
            .await
            .expect("start upload");
        assert_eq!(
            start.status(),
            202,
            "start upload in {repo}: {}",
            start.text().await.unwrap_or_default()
        );
        let location = start.headers()["location"].to_str().unwrap().to_owned();
        let mut url = url::Url::parse(&self.url).unwrap().join(&location).unwrap();
        url.query_pairs_mut().append_pair("digest", &digest);
        let put = self
            .request(reqwest::Method::PUT, url.as_str())
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("finish upload");
        assert_eq!(
            put.status(),
            201,
            "upload {digest} to {repo}: {}",
            put.text().await.unwrap_or_default()
        );
        digest
    }

    /// Puts a manifest or index under a tag or digest; returns its digest.
    pub async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let r = self
            .request(
                reqwest::Method::PUT,
                &format!("{}/v2/{repo}/manifests/{reference}", self.url),
            )
            .header("content-type", media_type)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("put manifest");
        assert_eq!(
            r.status(),
            201,
            "put manifest {repo}:{reference}: {}",
            r.text().await.unwrap_or_default()
        );
        digest(bytes)
    }

    /// Pushes a config, layers and an OCI image manifest tagged `tag`; returns the
    /// manifest's digest. Layers are `(media type, bytes, org.opencontainers.image.title)`.
    pub async fn push_artifact(
        &self,
        repo: &str,
        tag: &str,
        artifact_type: Option<&str>,
        config: (&str, &[u8]),
        layers: &[(&str, &[u8], Option<&str>)],
    ) -> String {
        let manifest = self
            .artifact_manifest(repo, artifact_type, config, layers)
            .await;
        self.push_manifest(repo, tag, OCI_MANIFEST, &manifest).await
    }

    /// Pushes a config and layers and returns the bytes of an OCI image manifest for
    /// them (not yet pushed).
    pub async fn artifact_manifest(
        &self,
        repo: &str,
        artifact_type: Option<&str>,
        config: (&str, &[u8]),
        layers: &[(&str, &[u8], Option<&str>)],
    ) -> Vec<u8> {
        let config_digest = self.push_blob(repo, config.1).await;
        let mut layer_descriptors = Vec::new();
        for (media_type, bytes, title) in layers {
            let layer_digest = digest(bytes);
            if !self.has_blob(repo, &layer_digest).await {
                self.push_blob(repo, bytes).await;
            }
            let mut descriptor =
                json!({"mediaType": media_type, "digest": layer_digest, "size": bytes.len()});
            if let Some(title) = title {
                descriptor["annotations"] = json!({"org.opencontainers.image.title": title});
            }
            layer_descriptors.push(descriptor);
        }
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config.0, "digest": config_digest, "size": config.1.len()},
            "layers": layer_descriptors,
        });
        if let Some(t) = artifact_type {
            manifest["artifactType"] = json!(t);
        }
        serde_json::to_vec(&manifest).unwrap()
    }

    /// The digest a tag points to (from the registry's `Docker-Content-Digest`).
    pub async fn manifest_digest(&self, repo: &str, tag: &str) -> String {
        let r = self
            .request(
                reqwest::Method::HEAD,
                &format!("{}/v2/{repo}/manifests/{tag}", self.url),
            )
            .header("accept", format!("{OCI_MANIFEST}, {OCI_INDEX}"))
            .send()
            .await
            .expect("head manifest");
        assert_eq!(r.status(), 200, "head {repo}:{tag}");
        r.headers()["docker-content-digest"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// The bytes of a manifest by tag or digest.
    pub async fn manifest_bytes(&self, repo: &str, reference: &str) -> Vec<u8> {
        let r = self
            .request(
                reqwest::Method::GET,
                &format!("{}/v2/{repo}/manifests/{reference}", self.url),
            )
            .header("accept", format!("{OCI_MANIFEST}, {OCI_INDEX}"))
            .send()
            .await
            .expect("get manifest");
        assert_eq!(r.status(), 200, "get {repo}:{reference}");
        r.bytes().await.unwrap().to_vec()
    }

    async fn has_blob(&self, repo: &str, digest: &str) -> bool {
        self.request(
            reqwest::Method::HEAD,
            &format!("{}/v2/{repo}/blobs/{digest}", self.url),
        )
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    }

    /// Deletes a manifest by digest (its tags go with it).
    pub async fn delete_manifest(&self, repo: &str, digest: &str) {
        let r = self
            .request(
                reqwest::Method::DELETE,
                &format!("{}/v2/{repo}/manifests/{digest}", self.url),
            )
            .send()
            .await
            .expect("delete manifest");
        assert_eq!(r.status(), 202, "delete {repo}@{digest}");
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `docker-registry serve` on the config in `dir`, appending to its log there.
fn spawn_registry(dir: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("registry.log"))
        .unwrap();
    Command::new(registry_binary())
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("docker-registry must be installed (Debian package docker-registry)")
}

/// Media type of an OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of an OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// `sha256:<hex>` of some bytes.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
