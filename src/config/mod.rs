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
