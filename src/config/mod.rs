//! Configuration: TOML file, `STAC_OCI_*` environment overrides and command-line flags,
//! validated once at startup into [`Settings`], whose types cannot hold invalid values.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

/// Everything the gateway needs to run, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The HTTP server.
    pub server: ServerSettings,
    /// Where artifacts come from, in configuration order; names are unique.
    pub sources: Vec<SourceSettings>,
    /// Registry event webhooks.
    pub webhooks: WebhookSettings,
    /// Access control; `None` when off (everything is readable by everyone).
    pub access: Option<AccessSettings>,
}

/// The `[webhooks]` table: `POST /webhooks/{kind}` exists only when a secret is set.
#[derive(Clone, Default)]
pub struct WebhookSettings {
    /// The shared secret senders must prove (bearer token or HMAC key).
    pub secret: Option<String>,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = if self.secret.is_some() {
            "<redacted>"
        } else {
            "none"
        };
        f.debug_struct("WebhookSettings")
            .field("secret", &secret)
            .finish()
    }
}

/// The `[server]` table.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Base URL for hrefs and links; when absent, taken from the request's `Host`.
    pub public_url: Option<Url>,
    /// Page size when a client gives no `limit`.
    pub default_limit: usize,
    /// Largest page size; larger `limit`s are clamped to it.
    pub max_limit: usize,
    /// Which web origins may read the API cross-origin (CORS).
    pub cors_origins: CorsOrigins,
}

/// The `server.cors_origins` setting: `["*"]` (the default) lets any origin read with
/// GET, HEAD and POST; a list of origins (`https://browser.example.org`) only those; an
/// empty list none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Any origin.
    Any,
    /// Only these origins (`scheme://host[:port]`, without a trailing slash).
    Only(Vec<String>),
}

/// One `[[sources]]` entry.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    /// Unique name, used in `/status` and provenance.
    pub name: String,
    /// A registry or a local OCI image layout.
    pub kind: SourceKind,
    /// Which tags to index.
    pub tags: TagFilter,
    /// Recrawl period.
    pub interval: Duration,
    /// CRS of footprints in configs that do not name one, e.g. `EPSG:2154`.
    pub crs: Option<String>,
    /// How asset requests are answered.
    pub assets: AssetMode,
    /// Config blobs larger than this are a crawl error for their artifact.
    pub max_config_bytes: u64,
    /// Files of a tar layer listed among an Item's assets at most (all stay servable).
    pub max_member_assets: usize,
}

/// Where a source's artifacts live.
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// An OCI distribution registry.
    Registry {
        /// Base URL, e.g. `http://127.0.0.1:5000`.
        url: Url,
        /// Repository names or globs (globs need `/v2/_catalog`).
        repositories: Vec<String>,
        /// The gateway's own credentials for this registry.
        credentials: Credentials,
    },
    /// An OCI image layout directory.
    Layout {
        /// The directory holding `oci-layout` and `index.json`.
        path: PathBuf,
        /// Repository for references whose `org.opencontainers.image.ref.name` is a bare tag.
        repository: String,
    },
}

/// The gateway's credentials for a registry; never shown to clients.
#[derive(Clone, Default)]
pub enum Credentials {
    /// No credentials.
    #[default]
    Anonymous,
    /// HTTP Basic (also used for the token flow's Basic challenge).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// A bearer token sent as is.
    Bearer {
        /// The token.
        token: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Credentials::Bearer { .. } => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Tag include/exclude globs.
#[derive(Debug, Clone)]
pub struct TagFilter {
    /// A tag is indexed when it matches one of these…
    pub include: globset::GlobSet,
    /// …and none of these.
    pub exclude: globset::GlobSet,
}

/// How asset requests are answered (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssetMode {
    /// Stream the blob through the gateway.
    #[default]
    Proxy,
    /// Redirect to the registry's own storage redirect.
    Redirect,
}

mod access;
mod file;

pub use access::{AccessSettings, ApiKey, JwtSettings, Policy, SigningKey};

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use file::{BOOLEAN_KEYS, INTEGER_KEYS, LIST_KEYS, RawConfig, RawServer, RawSource};

/// Default recrawl period.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
/// Default cap on config blobs (the 2,433-patch PASTIS config is 2.3 MB).
pub const DEFAULT_MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;
/// Default `max_member_assets`.
pub const DEFAULT_MAX_MEMBER_ASSETS: usize = 256;
/// Default address to bind.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default page size.
pub const DEFAULT_LIMIT: usize = 10;
/// Default largest page size.
pub const DEFAULT_MAX_LIMIT: usize = 10_000;
/// Prefix of environment overrides.
pub const ENV_PREFIX: &str = "STAC_OCI_";

/// A configuration mistake, printed as one line naming the key and the reason.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct ConfigError {
    /// The key (`sources[0].registry`), file or variable at fault.
    pub key: String,
    /// Why it is wrong.
    pub reason: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// What the command line adds to (or puts in place of) the file.
#[derive(Debug, Clone, Default)]
pub struct CommandLine {
    /// `--config FILE`.
    pub config_file: Option<std::path::PathBuf>,
    /// `--registry URL`: the quick form, one source named `registry`.
    pub registry: Option<String>,
    /// `--repository NAME` (repeatable) for the quick form.
    pub repositories: Vec<String>,
    /// `--crs` for the quick form.
    pub crs: Option<String>,
    /// `--insecure`: allow `http://` to a non-loopback registry in the quick form.
    pub insecure: bool,
    /// `--listen ADDR`.
    pub listen: Option<String>,
    /// `--public-url URL`.
    pub public_url: Option<String>,
    /// The layout served when neither a file nor a registry is given (the bundled demo).
    pub default_layout: Option<std::path::PathBuf>,
}

/// Reads and validates the settings: the file (or the quick form, or the demo default),
/// then `STAC_OCI_*` variables from `env`, then flags.
pub fn load(command_line: &CommandLine, env: &[(String, String)]) -> Result<Settings, ConfigError> {
    let mut table = match &command_line.config_file {
        Some(path) => read_file(path)?,
        None => toml::Table::new(),
    };
    let base_dir = command_line
        .config_file
        .as_ref()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    if let Some(registry) = &command_line.registry {
        let mut source = toml::Table::new();
        source.insert("name".into(), "registry".into());
        source.insert("registry".into(), registry.clone().into());
        let repos = command_line
            .repositories
            .iter()
            .cloned()
            .map(toml::Value::from)
            .collect();
        source.insert("repositories".into(), toml::Value::Array(repos));
        if let Some(crs) = &command_line.crs {
            source.insert("crs".into(), crs.clone().into());
        }
        if command_line.insecure {
            source.insert("insecure".into(), true.into());
        }
        push_source(&mut table, source);
    } else if !command_line.repositories.is_empty() {
        return Err(ConfigError::new("--repository", "needs --registry"));
    }
    if command_line.config_file.is_none()
        && command_line.registry.is_none()
        && let Some(layout) = &command_line.default_layout
    {
        let mut source = toml::Table::new();
        source.insert("name".into(), "demo".into());
        source.insert("layout".into(), layout.display().to_string().into());
        source.insert("crs".into(), "EPSG:2154".into());
        push_source(&mut table, source);
    }
    apply_env(&mut table, env)?;
    let server = table
        .entry("server")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(server) = server {
        if let Some(listen) = &command_line.listen {
            server.insert("listen".into(), listen.clone().into());
        }
        if let Some(url) = &command_line.public_url {
            server.insert("public_url".into(), url.clone().into());
        }
    }
    let raw: RawConfig = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::new("config", e.message().trim().to_owned()))?;
    validate(raw, &base_dir)
}

fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let key = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::new(&key, e.to_string()))?;
    text.parse::<toml::Table>().map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        let at = line.map(|l| format!("{key}:{l}")).unwrap_or(key.clone());
        ConfigError::new(at, e.message().trim().to_owned())
    })
}

fn push_source(table: &mut toml::Table, source: toml::Table) {
    let sources = table
        .entry("sources")
        .or_insert_with(|| toml::Value::Array(Vec::new()));
    if let toml::Value::Array(list) = sources {
        list.push(toml::Value::Table(source));
    }
}

/// Normalises a source name for its environment variables: `eo-data` → `EO_DATA`.
fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Applies `STAC_OCI_SERVER_<KEY>` and `STAC_OCI_SOURCES_<NAME>_<KEY>` overrides.
/// `STAC_OCI_CONFIG` and `STAC_OCI_LOG` are read by the command line, not here.
fn apply_env(table: &mut toml::Table, env: &[(String, String)]) -> Result<(), ConfigError> {
    for (var, value) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if let Some(key) = rest.strip_prefix("SERVER_") {
            let server = table
                .entry("server")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(server) = server {
                let key = key.to_ascii_lowercase();
                let value = env_value(&key, value);
                server.insert(key, value);
            }
            continue;
        }
        // Other `STAC_OCI_*` variables (`CONFIG`, `LOG`, tooling's own) are not config keys.
        let Some(rest) = rest.strip_prefix("SOURCES_") else {
            continue;
        };
        let mut matched = false;
        if let Some(toml::Value::Array(sources)) = table.get_mut("sources") {
            for source in sources.iter_mut() {
                let toml::Value::Table(source) = source else {
                    continue;
                };
                let Some(name) = source.get("name").and_then(|n| n.as_str()) else {
                    continue;
                };
                let prefix = format!("{}_", env_name(name));
                if let Some(key) = rest.strip_prefix(&prefix) {
                    let key = key.to_ascii_lowercase();
                    let value = env_value(&key, value);
                    source.insert(key, value);
                    matched = true;
                }
            }
        }
        if !matched {
            return Err(ConfigError::new(var, "names no configured source"));
        }
    }
    Ok(())
}

/// An environment value as TOML: lists split on commas, integer and boolean keys typed,
/// everything else a string.
fn env_value(key: &str, value: &str) -> toml::Value {
    if LIST_KEYS.contains(&key) {
        let items = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| toml::Value::String(s.to_owned()))
            .collect();
        return toml::Value::Array(items);
    }
    if INTEGER_KEYS.contains(&key)
        && let Ok(n) = value.parse::<i64>()
    {
        return toml::Value::Integer(n);
    }
    if BOOLEAN_KEYS.contains(&key)
        && let Ok(b) = value.parse::<bool>()
    {
        return toml::Value::Boolean(b);
    }
    toml::Value::String(value.to_owned())
}

fn validate(raw: RawConfig, base_dir: &Path) -> Result<Settings, ConfigError> {
    let server = validate_server(raw.server)?;
    if raw.sources.is_empty() {
        return Err(ConfigError::new(
            "sources",
            "at least one [[sources]] entry is needed",
        ));
    }
    let mut names = BTreeSet::new();
    let mut sources = Vec::with_capacity(raw.sources.len());
    for (i, source) in raw.sources.into_iter().enumerate() {
        let settings = validate_source(i, source, base_dir)?;
        if !names.insert(settings.name.clone()) {
            return Err(ConfigError::new(
                format!("sources[{i}].name"),
                format!("duplicate source name {:?}", settings.name),
            ));
        }
        sources.push(settings);
    }
    let key = |field: &str| format!("webhooks.{field}");
    let w = &raw.webhooks;
    let secret = secret(&key, "secret", &w.secret, &w.secret_env, &w.secret_file)?;
    if secret.as_deref().is_some_and(|s| s.len() < 16) {
        return Err(ConfigError::new(
            "webhooks.secret",
            "must be at least 16 characters",
        ));
    }
    let webhooks = WebhookSettings { secret };
    let access = access::validate(raw.access)?;
    Ok(Settings {
        server,
        sources,
        webhooks,
        access,
    })
}

fn validate_server(raw: RawServer) -> Result<ServerSettings, ConfigError> {
    let listen = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen = listen.parse().map_err(|_| {
        ConfigError::new(
            "server.listen",
            format!("{listen:?} is not an address like 127.0.0.1:8080"),
        )
    })?;
    let public_url = match raw.public_url {
        None => None,
        Some(text) => {
            let url = Url::parse(&text)
                .map_err(|e| ConfigError::new("server.public_url", format!("{text:?}: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
                return Err(ConfigError::new(
                    "server.public_url",
                    "must be an http(s) URL without a query",
                ));
            }
            Some(url)
        }
    };
    let positive = |key: &str, value: Option<i64>, default: usize| match value {
        None => Ok(default),
        Some(n) if n >= 1 => usize::try_from(n).map_err(|_| ConfigError::new(key, "too large")),
        Some(n) => Err(ConfigError::new(
            key,
            format!("must be at least 1, not {n}"),
        )),
    };
    let default_limit = positive("server.default_limit", raw.default_limit, DEFAULT_LIMIT)?;
    let max_limit = positive("server.max_limit", raw.max_limit, DEFAULT_MAX_LIMIT)?;
    if default_limit > max_limit {
        return Err(ConfigError::new(
            "server.default_limit",
            "must not exceed server.max_limit",
        ));
    }
    let cors_origins = cors_origins(raw.cors_origins)?;
    Ok(ServerSettings {
        listen,
        public_url,
        default_limit,
        max_limit,
        cors_origins,
    })
}

/// Validates `server.cors_origins`: `*` alone, or origins like `https://host:port`.
fn cors_origins(raw: Option<Vec<String>>) -> Result<CorsOrigins, ConfigError> {
    let Some(origins) = raw else {
        return Ok(CorsOrigins::Any);
    };
    if origins.iter().any(|o| o == "*") {
        if origins.len() > 1 {
            return Err(ConfigError::new(
                "server.cors_origins",
                "\"*\" cannot be combined with other origins",
            ));
        }
        return Ok(CorsOrigins::Any);
    }
    let mut checked = Vec::with_capacity(origins.len());
    for origin in origins {
        let url = Url::parse(&origin)
            .map_err(|e| ConfigError::new("server.cors_origins", format!("{origin:?}: {e}")))?;
        let plain = matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && !origin.ends_with('/');
        if !plain {
            return Err(ConfigError::new(
                "server.cors_origins",
                format!("{origin:?} is not an origin like https://browser.example.org"),
            ));
        }
        checked.push(origin);
    }
    Ok(CorsOrigins::Only(checked))
}

fn validate_source(
    i: usize,
    raw: RawSource,
    base_dir: &Path,
) -> Result<SourceSettings, ConfigError> {
    let key = |k: &str| format!("sources[{i}].{k}");
    let name = raw
        .name
        .clone()
        .ok_or_else(|| ConfigError::new(key("name"), "missing"))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ConfigError::new(
            key("name"),
            format!("{name:?}: use letters, digits, - and _"),
        ));
    }
    let kind = match (&raw.registry, &raw.layout) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                key("layout"),
                "a source has either registry or layout, not both",
            ));
        }
        (None, None) => {
            return Err(ConfigError::new(
                key("registry"),
                "missing (or give layout)",
            ));
        }
        (Some(registry), None) => {
            let url = registry_url(registry, raw.insecure.unwrap_or(false))
                .map_err(|r| ConfigError::new(key("registry"), r))?;
            let repositories = raw.repositories.clone().unwrap_or_default();
            if repositories.is_empty() {
                return Err(ConfigError::new(
                    key("repositories"),
                    "name at least one repository or glob",
                ));
            }
            for repo in &repositories {
                globset::Glob::new(repo)
                    .map_err(|e| ConfigError::new(key("repositories"), format!("{repo:?}: {e}")))?;
                if repo.is_empty()
                    || repo.starts_with('/')
                    || repo.contains("//")
                    || repo.contains("..")
                {
                    return Err(ConfigError::new(
                        key("repositories"),
                        format!("{repo:?} is not a repository name"),
                    ));
                }
            }
            if raw.repository.is_some() {
                return Err(ConfigError::new(
                    key("repository"),
                    "only for layout sources; registries take repositories",
                ));
            }
            let credentials = credentials(&raw, &key)?;
            SourceKind::Registry {
                url,
                repositories,
                credentials,
            }
        }
        (None, Some(layout)) => {
            let path = base_dir.join(layout);
            if !path.join("oci-layout").is_file() || !path.join("index.json").is_file() {
                return Err(ConfigError::new(
                    key("layout"),
                    format!(
                        "{} is not an OCI image layout (no oci-layout or index.json)",
                        path.display()
                    ),
                ));
            }
            if raw.repositories.is_some() {
                return Err(ConfigError::new(
                    key("repositories"),
                    "only for registry sources",
                ));
            }
            let repository = raw.repository.clone().unwrap_or_else(|| name.clone());
            SourceKind::Layout { path, repository }
        }
    };
    let include = raw.tags.clone().unwrap_or_else(|| vec!["*".into()]);
    let tags = TagFilter {
        include: glob_set(&include).map_err(|r| ConfigError::new(key("tags"), r))?,
        exclude: glob_set(raw.exclude.as_deref().unwrap_or_default())
            .map_err(|r| ConfigError::new(key("exclude"), r))?,
    };
    let interval = match &raw.interval {
        None => DEFAULT_INTERVAL,
        Some(text) => {
            let d = humantime::parse_duration(text)
                .map_err(|e| ConfigError::new(key("interval"), format!("{text:?}: {e}")))?;
            if d < Duration::from_secs(1) {
                return Err(ConfigError::new(key("interval"), "must be at least 1s"));
            }
            d
        }
    };
    let crs = match &raw.crs {
        None => None,
        Some(crs) => {
            let code = crs
                .strip_prefix("EPSG:")
                .and_then(|c| c.parse::<u32>().ok());
            if code.is_none() {
                return Err(ConfigError::new(
                    key("crs"),
                    format!("{crs:?}: expected EPSG:<code>"),
                ));
            }
            Some(crs.clone())
        }
    };
    let assets = match raw.assets.as_deref() {
        None | Some("proxy") => AssetMode::Proxy,
        Some("redirect") if matches!(kind, SourceKind::Registry { .. }) => AssetMode::Redirect,
        Some("redirect") => {
            return Err(ConfigError::new(
                key("assets"),
                "redirect mode needs a registry source",
            ));
        }
        Some(other) => {
            return Err(ConfigError::new(
                key("assets"),
                format!("{other:?}: expected proxy or redirect"),
            ));
        }
    };
    let max_config_bytes = match raw.max_config_bytes {
        None => DEFAULT_MAX_CONFIG_BYTES,
        Some(n) if n >= 2 => n as u64,
        Some(n) => {
            return Err(ConfigError::new(
                key("max_config_bytes"),
                format!("must be at least 2, not {n}"),
            ));
        }
    };
    let max_member_assets = match raw.max_member_assets {
        None => DEFAULT_MAX_MEMBER_ASSETS,
        Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
        Some(n) => {
            return Err(ConfigError::new(
                key("max_member_assets"),
                format!("must not be negative, not {n}"),
            ));
        }
    };
    Ok(SourceSettings {
        name,
        kind,
        tags,
        interval,
        crs,
        assets,
        max_config_bytes,
        max_member_assets,
    })
}

/// Checks a registry URL: http(s), no credentials, path or query; `http://` only for
/// loopback hosts unless `insecure`.
fn registry_url(text: &str, insecure: bool) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{text:?}: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials belong in username/password, not in the URL".into());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{text:?}: give only scheme, host and port"));
    }
    let host = url.host_str().unwrap_or_default();
    match url.scheme() {
        "https" => Ok(url),
        "http" if insecure || is_loopback(host) => Ok(url),
        "http" => Err(format!(
            "http:// is allowed only for loopback hosts or with insecure = true, not {host}"
        )),
        other => Err(format!("scheme {other}: expected http or https")),
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn glob_set(patterns: &[String]) -> Result<globset::GlobSet, String> {
    let mut builder = globset::GlobSetBuilder::new();
    for p in patterns {
        builder.add(globset::Glob::new(p).map_err(|e| format!("{p:?}: {e}"))?);
    }
    builder.build().map_err(|e| e.to_string())
}

/// Reads one secret given directly, from an environment variable, or from a file.
fn secret(
    key: &dyn Fn(&str) -> String,
    field: &str,
    direct: &Option<String>,
    env: &Option<String>,
    file: &Option<String>,
) -> Result<Option<String>, ConfigError> {
    match (direct, env, file) {
        (Some(v), None, None) => Ok(Some(v.clone())),
        (None, Some(var), None) => std::env::var(var).map(Some).map_err(|_| {
            ConfigError::new(
                key(&format!("{field}_env")),
                format!("variable {var} is not set"),
            )
        }),
        (None, None, Some(path)) => std::fs::read_to_string(path)
            .map(|s| Some(s.trim_end_matches(['\n', '\r']).to_owned()))
            .map_err(|e| ConfigError::new(key(&format!("{field}_file")), format!("{path}: {e}"))),
        (None, None, None) => Ok(None),
        _ => Err(ConfigError::new(
            key(field),
            format!("give one of {field}, {field}_env, {field}_file"),
        )),
    }
}

fn credentials(raw: &RawSource, key: &dyn Fn(&str) -> String) -> Result<Credentials, ConfigError> {
    let username = secret(
        key,
        "username",
        &raw.username,
        &raw.username_env,
        &raw.username_file,
    )?;
    let password = secret(
        key,
        "password",
        &raw.password,
        &raw.password_env,
        &raw.password_file,
    )?;
    let token = secret(key, "token", &raw.token, &raw.token_env, &raw.token_file)?;
    match (username, password, token) {
        (None, None, None) => Ok(Credentials::Anonymous),
        (Some(username), Some(password), None) => Ok(Credentials::Basic { username, password }),
        (None, None, Some(token)) => Ok(Credentials::Bearer { token }),
        (Some(_), None, _) => Err(ConfigError::new(
            key("password"),
            "username given without password",
        )),
        (None, Some(_), _) => Err(ConfigError::new(
            key("username"),
            "password given without username",
        )),
        (_, _, Some(_)) => Err(ConfigError::new(
            key("token"),
            "give either token or username/password",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_toml(text: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stac-oci.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::create_dir_all(dir.path().join("demo")).unwrap();
        std::fs::write(dir.path().join("demo/oci-layout"), "{}").unwrap();
        std::fs::write(dir.path().join("demo/index.json"), "{}").unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let command_line = CommandLine {
            config_file: Some(path),
            ..Default::default()
        };
        load(&command_line, &env)
    }

    const FULL: &str = r#"
[server]
listen = "127.0.0.1:9090"
public_url = "http://localhost:9090"

[[sources]]
name = "local"
registry = "http://127.0.0.1:5000"
repositories = ["pastis-2433", "eo/*"]
tags = ["*"]
exclude = ["*-rc*"]
interval = "5m"
crs = "EPSG:2154"
assets = "proxy"
username = "reader"
password = "secret"

[[sources]]
name = "demo"
layout = "demo"
"#;

    #[test]
    fn reads_the_documented_shape() {
        let s = load_toml(FULL, &[]).unwrap();
        assert_eq!(s.server.listen.to_string(), "127.0.0.1:9090");
        assert_eq!(s.sources.len(), 2);
        let local = &s.sources[0];
        assert_eq!(local.interval, Duration::from_secs(300));
        assert_eq!(local.crs.as_deref(), Some("EPSG:2154"));
        assert!(local.tags.exclude.is_match("v1-rc2"));
        match &local.kind {
            SourceKind::Registry {
                repositories,
                credentials,
                ..
            } => {
                assert_eq!(repositories, &["pastis-2433", "eo/*"]);
                assert!(
                    matches!(credentials, Credentials::Basic { username, .. } if username == "reader")
                );
                assert!(!format!("{credentials:?}").contains("secret"));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&s.sources[1].kind, SourceKind::Layout { repository, .. } if repository == "demo")
        );
    }

    #[test]
    fn reads_cors_origins() {
        let origins = |toml: &str, env: &[(&str, &str)]| {
            load_toml(&format!("[server]\n{toml}\n{}", &FULL[10..]), env)
                .map(|s| s.server.cors_origins)
        };
        assert_eq!(
            origins("cors_origins = [\"*\"]", &[]).unwrap(),
            CorsOrigins::Any
        );
        assert_eq!(
            origins("cors_origins = []", &[]).unwrap(),
            CorsOrigins::Only(Vec::new())
        );
        assert_eq!(
            origins(
                "",
                &[(
                    "STAC_OCI_SERVER_CORS_ORIGINS",
                    "https://a.example.org,http://localhost:8081"
                )]
            )
            .unwrap(),
            CorsOrigins::Only(vec![
                "https://a.example.org".into(),
                "http://localhost:8081".into()
            ])
        );
        for bad in [
            "cors_origins = [\"*\", \"https://a.org\"]",
            "cors_origins = [\"https://a.org/path\"]",
            "cors_origins = [\"a.org\"]",
        ] {
            assert_eq!(
                origins(bad, &[]).unwrap_err().key,
                "server.cors_origins",
                "{bad}"
            );
        }
    }

    #[test]
    fn environment_overrides_keys() {
        let s = load_toml(
            FULL,
            &[
                ("STAC_OCI_SERVER_MAX_LIMIT", "500"),
                ("STAC_OCI_SOURCES_LOCAL_REPOSITORIES", "a,b/c"),
                ("STAC_OCI_SOURCES_LOCAL_PASSWORD", "12345"),
            ],
        )
        .unwrap();
        assert_eq!(s.server.max_limit, 500);
        assert_eq!(s.server.cors_origins, CorsOrigins::Any);
        match &s.sources[0].kind {
            SourceKind::Registry {
                repositories,
                credentials,
                ..
            } => {
                assert_eq!(repositories, &["a", "b/c"]);
                assert!(
                    matches!(credentials, Credentials::Basic { password, .. } if password == "12345")
                );
            }
            other => panic!("{other:?}"),
        }
        let e = load_toml(FULL, &[("STAC_OCI_SOURCES_NOPE_TAGS", "x")]).unwrap_err();
        assert_eq!(e.key, "STAC_OCI_SOURCES_NOPE_TAGS");
    }

    #[test]
    fn bad_configs_name_the_key() {
        let cases = [
            (
                FULL.replace("listen = \"127.0.0.1:9090\"", "listen = \"nowhere\""),
                "server.listen",
            ),
            (
                FULL.replace("http://127.0.0.1:5000", "http://registry.example.com"),
                "sources[0].registry",
            ),
            (
                FULL.replace("interval = \"5m\"", "interval = \"often\""),
                "sources[0].interval",
            ),
            (
                FULL.replace("crs = \"EPSG:2154\"", "crs = \"lambert\""),
                "sources[0].crs",
            ),
            (
                FULL.replace("name = \"demo\"", "name = \"local\""),
                "sources[1].name",
            ),
            (
                FULL.replace("layout = \"demo\"", "layout = \"missing\""),
                "sources[1].layout",
            ),
            (
                FULL.replace("assets = \"proxy\"", "assets = \"teleport\""),
                "sources[0].assets",
            ),
            (
                FULL.replace("password = \"secret\"", ""),
                "sources[0].password",
            ),
        ];
        for (text, key) in cases {
            let e = load_toml(&text, &[]).unwrap_err();
            assert_eq!(e.key, key, "{e}");
            assert!(!e.to_string().contains('\n'));
        }
        let e = load_toml(&FULL.replace("tags = [\"*\"]", "tagz = [\"*\"]"), &[]).unwrap_err();
        assert!(e.reason.contains("tagz"), "{e}");
        let e = load_toml("[server\nlisten=1", &[]).unwrap_err();
        assert!(e.key.ends_with(":1"), "{e}");
        let e = load_toml("", &[]).unwrap_err();
        assert_eq!(e.key, "sources");
    }

    #[test]
    fn quick_form_builds_one_registry_source() {
        let command_line = CommandLine {
            registry: Some("http://127.0.0.1:5000".into()),
            repositories: vec!["pastis-2433".into()],
            crs: Some("EPSG:2154".into()),
            ..Default::default()
        };
        let s = load(&command_line, &[]).unwrap();
        assert_eq!(s.sources.len(), 1);
        assert_eq!(s.sources[0].name, "registry");
        assert_eq!(s.server.listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn webhook_secret() {
        let source = "[[sources]]\nname = \"r\"\nregistry = \"http://127.0.0.1:5000\"\nrepositories = [\"a\"]\n";
        let s = load_toml(source, &[]).unwrap();
        assert!(s.webhooks.secret.is_none());
        let with = format!("[webhooks]\nsecret = \"0123456789abcdef\"\n{source}");
        let s = load_toml(&with, &[]).unwrap();
        assert_eq!(s.webhooks.secret.as_deref(), Some("0123456789abcdef"));
        assert!(!format!("{:?}", s.webhooks).contains("0123"));
        let short = format!("[webhooks]\nsecret = \"short\"\n{source}");
        assert_eq!(load_toml(&short, &[]).unwrap_err().key, "webhooks.secret");
        let unknown = format!("[webhooks]\ntoken = \"x\"\n{source}");
        assert!(load_toml(&unknown, &[]).is_err());
    }

    #[test]
    fn access_control() {
        let source = "[[sources]]\nname = \"r\"\nregistry = \"http://127.0.0.1:5000\"\nrepositories = [\"a\"]\n";
        assert!(load_toml(source, &[]).unwrap().access.is_none());
        let off = format!("[access]\nenabled = false\n{source}");
        assert!(load_toml(&off, &[]).unwrap().access.is_none());
        let sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let good = format!(
            r#"[access]
enabled = true
public_collections = ["demo-*"]
signed_url_ttl = "5m"
[[access.signing_keys]]
id = "k1"
secret = "0123456789abcdef0123456789abcdef"
[[access.api_keys]]
name = "alice"
sha256 = "{sha}"
[access.jwt]
issuer = "https://id.example.org"
hs256_secret = "0123456789abcdef0123456789abcdef"
[[access.policies]]
collections = ["*"]
api_keys = ["alice"]
groups = ["eo"]
{source}"#
        );
        let access = load_toml(&good, &[]).unwrap().access.unwrap();
        assert!(access.public_collections.is_match("demo-1"));
        assert_eq!(access.signed_url_ttl, Duration::from_secs(300));
        assert_eq!(access.api_keys[0].sha256[0], 0xba);
        assert_eq!(access.policies[0].groups, vec!["eo"]);
        let debug = format!("{access:?}");
        assert!(!debug.contains("0123456789abcdef"), "{debug}");
        for (from, to, key) in [
            (sha, "abc", "access.api_keys[0].sha256"),
            (
                "secret = \"0123456789abcdef0123456789abcdef\"\n[[access.api_keys]]",
                "secret = \"short\"\n[[access.api_keys]]",
                "access.signing_keys[0].secret",
            ),
            ("id = \"k1\"", "id = \"k 1\"", "access.signing_keys[0].id"),
            (
                "api_keys = [\"alice\"]",
                "api_keys = [\"carol\"]",
                "access.policies[0].api_keys",
            ),
            (
                "signed_url_ttl = \"5m\"",
                "signed_url_ttl = \"soon\"",
                "access.signed_url_ttl",
            ),
            (
                "hs256_secret = \"0123456789abcdef0123456789abcdef\"",
                "audience = \"x\"",
                "access.jwt",
            ),
        ] {
            let bad = good.replacen(from, to, 1);
            assert_ne!(bad, good, "{from}");
            assert_eq!(load_toml(&bad, &[]).unwrap_err().key, key, "{to}");
        }
        let nobody = good.replace("api_keys = [\"alice\"]\ngroups = [\"eo\"]\n", "");
        assert_eq!(
            load_toml(&nobody, &[]).unwrap_err().key,
            "access.policies[0]"
        );
        let no_jwt = good.replace("[access.jwt]\nissuer = \"https://id.example.org\"\nhs256_secret = \"0123456789abcdef0123456789abcdef\"\n", "");
        assert_eq!(
            load_toml(&no_jwt, &[]).unwrap_err().key,
            "access.policies[0].subjects"
        );
        let redirect = format!("{source}assets = \"redirect\"\n");
        assert_eq!(
            load_toml(&redirect, &[]).unwrap().sources[0].assets,
            AssetMode::Redirect
        );
    }
}
