//! A Docker registry v2 token issuer inside the test process (the `auth: token` flow of
//! CNCF Distribution): `GET /token?service=..&scope=..&account=..` checks HTTP Basic
//! credentials against configured users and answers an RS256 JWT granting the requested
//! scopes the user holds. The signing key and its self-signed certificate are made per
//! issuer with the `openssl` CLI; the certificate goes to the registry's `rootcertbundle`
//! and, base64 DER, into each token's `x5c` header.
//!
//! Also the client side of the flow: [`fetch_token`] and [`token_flow_get`].
//! `TestRegistry::start_with_token_auth` runs a registry trusting an issuer.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::registry::TokenService;
pub use super::registry::fetch_token;

/// How long issued tokens are valid, in seconds.
pub const TOKEN_LIFETIME: i64 = 300;

/// What a user may do: pull the listed repositories (exact names, `*` for all) and, if
/// `push`, also push to and delete from them.
#[derive(Clone, Debug, Default)]
pub struct Grant {
    /// Repositories the user may pull; `*` is every repository (and the catalog).
    pub pull: Vec<String>,
    /// Whether the user may also push (and delete) where it may pull.
    pub push: bool,
}

impl Grant {
    /// Pull, push and delete everywhere, and the catalog.
    pub fn all() -> Grant {
        Grant {
            pull: vec!["*".to_owned()],
            push: true,
        }
    }

    /// Pull only, on exactly these repositories.
    pub fn pull(repositories: &[&str]) -> Grant {
        Grant {
            pull: repositories.iter().map(|r| r.to_string()).collect(),
            push: false,
        }
    }

    /// Nothing at all (the user authenticates, its tokens grant no access).
    pub fn none() -> Grant {
        Grant::default()
    }

    fn everything(&self) -> bool {
        self.pull.iter().any(|r| r == "*")
    }

    /// The actions of `requested` this grant allows on `scope_type:name`.
    fn allowed(&self, scope_type: &str, name: &str, requested: &[&str]) -> Vec<String> {
        let may: &[&str] = match scope_type {
            "registry" if name == "catalog" && self.everything() => &["*"],
            "repository" if self.everything() || self.pull.iter().any(|r| r == name) => {
                if self.push {
                    &["pull", "push", "delete", "*"]
                } else {
                    &["pull"]
                }
            }
            _ => &[],
        };
        let mut actions: Vec<String> = Vec::new();
        for action in requested {
            if may.contains(action) && !actions.iter().any(|a| a == action) {
                actions.push((*action).to_owned());
            }
        }
        actions
    }
}

struct User {
    password: String,
    grant: Grant,
}

struct Issuer {
    name: String,
    service: String,
    users: Mutex<HashMap<String, User>>,
    issued: Mutex<HashMap<String, usize>>,
    key: EncodingKey,
    /// The certificate, base64 DER (standard alphabet, padded).
    x5c: String,
    serial: AtomicU64,
}

/// A running token issuer; stops when dropped.
pub struct TokenIssuer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The PEM certificate whose key signs the tokens (the registry's `rootcertbundle`).
    pub certificate_pem: String,
    state: Arc<Issuer>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TokenIssuer {
    /// The `iss` of every token (the registry's `auth.token.issuer`).
    pub const NAME: &'static str = "stac-oci-test-issuer";
    /// The default audience (the registry's `auth.token.service`).
    pub const SERVICE: &'static str = "stac-oci-test-registry";

    /// Starts an issuer on a free loopback port with `(user, password, grant)` users.
    pub async fn start(users: &[(&str, &str, Grant)]) -> TokenIssuer {
        let (key, certificate_pem) = signing_key();
        let x5c: String = certificate_pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let state = Arc::new(Issuer {
            name: Self::NAME.to_owned(),
            service: Self::SERVICE.to_owned(),
            users: Mutex::new(HashMap::new()),
            issued: Mutex::new(HashMap::new()),
            key,
            x5c,
            serial: AtomicU64::new(0),
        });
        let app = axum::Router::new()
            .route("/token", axum::routing::get(token))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let issuer = TokenIssuer {
            url,
            certificate_pem,
            state,
            task,
        };
        for (user, password, grant) in users {
            issuer.add_user(user, password, grant.clone());
        }
        issuer
    }

    /// Adds a user, or replaces its password and grant.
    pub fn add_user(&self, user: &str, password: &str, grant: Grant) {
        self.state.users.lock().unwrap().insert(
            user.to_owned(),
            User {
                password: password.to_owned(),
                grant,
            },
        );
    }

    /// The token endpoint (`realm` of the registry's challenge).
    pub fn realm(&self) -> String {
        format!("{}/token", self.url)
    }

    /// How many tokens were issued to `user` so far (`""`: anonymous requests).
    pub fn issued(&self, user: &str) -> usize {
        self.state
            .issued
            .lock()
            .unwrap()
            .get(user)
            .copied()
            .unwrap_or(0)
    }
}

impl TokenService for TokenIssuer {
    fn realm(&self) -> String {
        TokenIssuer::realm(self)
    }

    fn service(&self) -> &str {
        &self.state.service
    }

    fn issuer(&self) -> &str {
        &self.state.name
    }

    fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    fn grant_all(&self, user: &str, password: &str) {
        self.add_user(user, password, Grant::all());
    }
}

/// A fresh RSA key (PKCS#1 DER, for `jsonwebtoken`) and its self-signed certificate (PEM).
fn signing_key() -> (EncodingKey, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("key.pem");
    let cert = dir.path().join("cert.pem");
    let der = dir.path().join("key.der");
    let openssl = |args: &[&std::ffi::OsStr]| {
        Command::new("openssl")
            .args(args)
            .output()
            .expect("the openssl CLI must be installed")
    };
    let out = openssl(&[
        "req".as_ref(),
        "-x509".as_ref(),
        "-newkey".as_ref(),
        "rsa:2048".as_ref(),
        "-nodes".as_ref(),
        "-days".as_ref(),
        "2".as_ref(),
        "-subj".as_ref(),
        "/CN=stac-oci-test-issuer".as_ref(),
        "-keyout".as_ref(),
        key.as_os_str(),
        "-out".as_ref(),
        cert.as_os_str(),
    ]);
    assert!(out.status.success(), "openssl req: {out:?}");
    // PKCS#1 DER: `-traditional` on OpenSSL 3, the default before.
    let to_der = |traditional: bool| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "rsa".as_ref(),
            "-in".as_ref(),
            key.as_os_str(),
            "-outform".as_ref(),
            "DER".as_ref(),
            "-out".as_ref(),
            der.as_os_str(),
        ];
        if traditional {
            args.push("-traditional".as_ref());
        }
        openssl(&args)
    };
    let out = to_der(true);
    if !out.status.success() {
        let out = to_der(false);
        assert!(out.status.success(), "openssl rsa: {out:?}");
    }
    (
        EncodingKey::from_rsa_der(&std::fs::read(&der).unwrap()),
        std::fs::read_to_string(&cert).unwrap(),
    )
}

/// `GET /token`.
async fn token(
    State(issuer): State<Arc<Issuer>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let user = match authorization.map(|a| check_basic(&issuer, a)) {
        None => None,
        Some(Some(user)) => Some(user),
        Some(None) => return unauthorized(),
    };
    let mut service = issuer.service.clone();
    let mut scopes = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "service" => service = value.into_owned(),
            // Several scopes may also come space-separated in one parameter.
            "scope" => scopes.extend(value.split_whitespace().map(str::to_owned)),
            _ => {}
        }
    }
    let access = match &user {
        None => Vec::new(),
        Some((_, grant)) => grant_access(grant, &scopes),
    };
    let subject = user.map(|(name, _)| name).unwrap_or_default();
    let now = chrono::Utc::now();
    let iat = now.timestamp();
    let claims = json!({
        "iss": issuer.name,
        "sub": subject,
        "aud": service,
        "exp": iat + TOKEN_LIFETIME,
        "nbf": iat,
        "iat": iat,
        "jti": format!("{}-{}", iat, issuer.serial.fetch_add(1, Ordering::SeqCst)),
        "access": access,
    });
    let mut jwt_header = Header::new(Algorithm::RS256);
    jwt_header.x5c = Some(vec![issuer.x5c.clone()]);
    let token = jsonwebtoken::encode(&jwt_header, &claims, &issuer.key).expect("sign a token");
    *issuer.issued.lock().unwrap().entry(subject).or_default() += 1;
    Json(json!({
        "token": token,
        "access_token": token,
        "expires_in": TOKEN_LIFETIME,
        "issued_at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }))
    .into_response()
}

/// `401` for credentials the issuer does not know.
fn unauthorized() -> Response {
    let body = json!({"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]});
    let challenge = [(
        header::WWW_AUTHENTICATE,
        "Basic realm=\"stac-oci-test-issuer\"",
    )];
    (StatusCode::UNAUTHORIZED, challenge, Json(body)).into_response()
}

/// The user and grant of valid `Basic` credentials.
fn check_basic(issuer: &Issuer, authorization: &str) -> Option<(String, Grant)> {
    let (scheme, encoded) = authorization.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (name, password) = decoded.split_once(':')?;
    let users = issuer.users.lock().unwrap();
    let user = users.get(name).filter(|u| u.password == password)?;
    Some((name.to_owned(), user.grant.clone()))
}

/// The `access` claim: each requested `type:name:actions` scope cut to what `grant` allows.
fn grant_access(grant: &Grant, scopes: &[String]) -> Vec<Value> {
    let mut access = Vec::new();
    for scope in scopes {
        // The name may hold colons (`host:port/repo`): type first, actions last.
        let Some((scope_type, rest)) = scope.split_once(':') else {
            continue;
        };
        let Some((name, actions)) = rest.rsplit_once(':') else {
            continue;
        };
        let requested: Vec<&str> = actions.split(',').collect();
        let actions = grant.allowed(scope_type, name, &requested);
        if !actions.is_empty() {
            access.push(json!({"type": scope_type, "name": name, "actions": actions}));
        }
    }
    access
}

/// GETs `url` as a registry client does: without credentials first; on a `Bearer`
/// challenge, a token for the challenged scope (with `basic` if given), then again with
/// it. Answers the registry's last response, or the token endpoint's refusal.
pub async fn token_flow_get(
    http: &reqwest::Client,
    url: &str,
    basic: Option<(&str, &str)>,
) -> reqwest::Response {
    let first = http.get(url).send().await.expect("GET");
    let challenge = first
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(challenge_params);
    let Some(params) = challenge else {
        return first;
    };
    let realm = params.get("realm").expect("a realm in the challenge");
    let service = params.get("service").map_or("", String::as_str);
    let scopes: Vec<&str> = params
        .get("scope")
        .map(|s| s.split_whitespace().collect())
        .unwrap_or_default();
    match fetch_token(http, realm, service, &scopes, basic).await {
        Ok(token) => http.get(url).bearer_auth(token).send().await.expect("GET"),
        Err(refusal) => refusal,
    }
}

/// The `key="value"` pairs of a challenge (values may hold commas).
fn challenge_params(params: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = params.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => quoted.split_once('"').unwrap_or((quoted, "")),
            None => after.split_once(',').unwrap_or((after, "")),
        };
        out.insert(key, value.to_owned());
        rest = next;
    }
    out
}

/// The actions a token's `access` claim grants on `repository:name` (for assertions on
/// tokens the tests hold; no signature check).
pub fn granted_actions(token: &str, name: &str) -> BTreeSet<String> {
    let claims = token.split('.').nth(1).unwrap_or("");
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .unwrap_or_default();
    let claims: Value = serde_json::from_slice(&claims).unwrap_or(Value::Null);
    claims["access"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["type"] == "repository" && a["name"] == name)
        .flat_map(|a| a["actions"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect()
}
