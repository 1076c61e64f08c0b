//! The TOML file's raw shape, before validation. Every table denies unknown keys.

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub sources: Vec<RawSource>,
    #[serde(default)]
    pub webhooks: RawWebhooks,
    #[serde(default)]
    pub access: super::access::RawAccess,
}

/// `[webhooks]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhooks {
    pub secret: Option<String>,
    pub secret_env: Option<String>,
    pub secret_file: Option<String>,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub default_limit: Option<i64>,
    pub max_limit: Option<i64>,
    pub cors_origins: Option<Vec<String>>,
}

/// One `[[sources]]` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub name: Option<String>,
    pub registry: Option<String>,
    pub insecure: Option<bool>,
    pub layout: Option<String>,
    pub repository: Option<String>,
    pub repositories: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub interval: Option<String>,
    pub crs: Option<String>,
    pub assets: Option<String>,
    pub max_config_bytes: Option<i64>,
    pub max_member_assets: Option<i64>,
    pub username: Option<String>,
    pub username_env: Option<String>,
    pub username_file: Option<String>,
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    pub token: Option<String>,
    pub token_env: Option<String>,
    pub token_file: Option<String>,
}

/// Keys whose environment override is a comma-separated list.
pub(super) const LIST_KEYS: &[&str] = &["repositories", "tags", "exclude", "cors_origins"];
/// Keys whose environment override is an integer.
pub(super) const INTEGER_KEYS: &[&str] = &[
    "default_limit",
    "max_limit",
    "max_config_bytes",
    "max_member_assets",
];
/// Keys whose environment override is a boolean.
pub(super) const BOOLEAN_KEYS: &[&str] = &["insecure"];
