//! A real CNCF Distribution registry (Debian `docker-registry`) on a free loopback
//! port, anonymous, behind htpasswd or behind token authentication, and helpers that push
//! fixtures to it over the registry HTTP API.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::Digest;

/// How long the push helpers reuse a bearer token (issuers give at least minutes).
const TOKEN_REUSE: Duration = Duration::from_secs(120);

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
    auth: Auth,
}

/// How the push helpers authenticate.
enum Auth {
    Anonymous,
    Basic(String, String),
    /// Bearer tokens from the issuer at `realm` for these Basic credentials, per
    /// repository, fetched when first needed and again before they expire.
    Token {
        realm: String,
        service: String,
        user: String,
        password: String,
        tokens: tokio::sync::Mutex<HashMap<String, (String, Instant)>>,
    },
}

impl TestRegistry {
    /// Starts an anonymous registry.
    pub async fn start() -> TestRegistry {
        Self::spawn(tempfile::tempdir().expect("temp dir"), "", Auth::Anonymous).await
    }

    /// Starts a registry that requires HTTP Basic credentials (htpasswd, bcrypt).
    pub async fn start_with_htpasswd(user: &str, password: &str) -> TestRegistry {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new("htpasswd")
            .args(["-Bbn", user, password])
            .output()
            .expect("htpasswd (apache2-utils) must be installed");
        assert!(out.status.success(), "htpasswd failed");
        let path = dir.path().join("htpasswd");
        std::fs::write(&path, out.stdout).unwrap();
        let config = format!(
            "auth:\n  htpasswd:\n    realm: stac-oci-test\n    path: {}\n",
            path.display()
        );
        let auth = Auth::Basic(user.to_owned(), password.to_owned());
        Self::spawn(dir, &config, auth).await
    }

    /// Starts a registry that requires bearer tokens from `issuer` (Docker token
    /// authentication, e.g. `token_auth::TokenIssuer`), trusting its certificate.
    /// `admin` (user, password) is given every right at the issuer; the push helpers
    /// use its tokens.
    pub async fn start_with_token_auth(
        issuer: &impl TokenService,
        admin: (&str, &str),
    ) -> TestRegistry {
        issuer.grant_all(admin.0, admin.1);
        let dir = tempfile::tempdir().expect("temp dir");
        let bundle = dir.path().join("token-issuer.pem");
        std::fs::write(&bundle, issuer.certificate_pem()).unwrap();
        let config = format!(
            "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
            issuer.realm(),
            issuer.service(),
            issuer.issuer(),
            bundle.display()
        );
        let auth = Auth::Token {
            realm: issuer.realm(),
            service: issuer.service().to_owned(),
            user: admin.0.to_owned(),
            password: admin.1.to_owned(),
            tokens: tokio::sync::Mutex::new(HashMap::new()),
        };
        Self::spawn(dir, &config, auth).await
    }

    /// Runs a registry on a free port with storage in `dir` and `auth_config` (YAML).
    async fn spawn(dir: tempfile::TempDir, auth_config: &str, auth: Auth) -> TestRegistry {
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n{auth_config}",
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
            auth,
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

    /// A request on `repo` carrying the registry's credentials.
    async fn request(
        &self,
        method: reqwest::Method,
        repo: &str,
        url: &str,
    ) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url);
        match &self.auth {
            Auth::Anonymous => request,
            Auth::Basic(user, password) => request.basic_auth(user, Some(password)),
            Auth::Token {
                realm,
                service,
                user,
                password,
                tokens,
            } => {
                let mut tokens = tokens.lock().await;
                let fresh = |(_, at): &&(String, Instant)| at.elapsed() < TOKEN_REUSE;
                let token = match tokens.get(repo).filter(fresh) {
                    Some((token, _)) => token.clone(),
                    None => {
                        let scope = format!("repository:{repo}:pull,push,delete");
                        let basic = Some((user.as_str(), password.as_str()));
                        let token = fetch_token(&self.http, realm, service, &[&scope], basic)
                            .await
                            .unwrap_or_else(|r| panic!("token for {scope}: {}", r.status()));
                        tokens.insert(repo.to_owned(), (token.clone(), Instant::now()));
                        token
                    }
                };
                request.bearer_auth(token)
            }
        }
    }

    /// Uploads a blob (monolithic POST + PUT); returns its digest.
    pub async fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = digest(bytes);
        let start = self
            .request(
                reqwest::Method::POST,
                repo,
                &format!("{}/v2/{repo}/blobs/uploads/", self.url),
            )
            .await
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
            .request(reqwest::Method::PUT, repo, url.as_str())
            .await
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
                repo,
                &format!("{}/v2/{repo}/manifests/{reference}", self.url),
            )
            .await
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
                repo,
                &format!("{}/v2/{repo}/manifests/{tag}", self.url),
            )
            .await
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
                repo,
                &format!("{}/v2/{repo}/manifests/{reference}", self.url),
            )
            .await
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
            repo,
            &format!("{}/v2/{repo}/blobs/{digest}", self.url),
        )
        .await
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    }

    /// Deletes a manifest by digest (its tags go with it).
    pub async fn delete_manifest(&self, repo: &str, digest: &str) {
        let r = self
            .request(
                reqwest::Method::DELETE,
                repo,
                &format!("{}/v2/{repo}/manifests/{digest}", self.url),
            )
            .await
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

/// A token issuer a registry with token authentication trusts (implemented by
/// `token_auth::TokenIssuer`; a trait so this file stands alone where benches include it).
pub trait TokenService {
    /// The token endpoint (the `realm` of the registry's challenges).
    fn realm(&self) -> String;
    /// The audience tokens are issued for (`auth.token.service`).
    fn service(&self) -> &str;
    /// The `iss` of the tokens (`auth.token.issuer`).
    fn issuer(&self) -> &str;
    /// The PEM certificate of the signing key (`auth.token.rootcertbundle`).
    fn certificate_pem(&self) -> &str;
    /// Lets `user` with `password` pull, push and delete everywhere.
    fn grant_all(&self, user: &str, password: &str);
}

/// Asks the token endpoint `realm` for a token for `service` and `scopes`
/// (`repository:<name>:pull,push`), with Basic credentials if given; the endpoint's
/// response when it refuses.
pub async fn fetch_token(
    http: &reqwest::Client,
    realm: &str,
    service: &str,
    scopes: &[&str],
    basic: Option<(&str, &str)>,
) -> Result<String, reqwest::Response> {
    let mut query = vec![("service", service)];
    query.extend(scopes.iter().map(|s| ("scope", *s)));
    if let Some((user, _)) = basic {
        query.push(("account", user));
    }
    let mut request = http.get(realm).query(&query);
    if let Some((user, password)) = basic {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.expect("token endpoint reachable");
    if !response.status().is_success() {
        return Err(response);
    }
    let body: serde_json::Value = response.json().await.expect("a JSON token response");
    let token = body["token"].as_str().or(body["access_token"].as_str());
    Ok(token.expect("a token in the response").to_owned())
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
