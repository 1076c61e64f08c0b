//! stac-oci: a STAC API gateway over OCI registries.
//!
//! ```text
//! config ─► source ─► crawl ─► mapping ─► index ─► api ─► assets
//! (TOML)    registry   tags,     artifact   R-tree,   STAC    proxy with Range
//!           OCI layout manifests → STAC     time      routes  and integrity
//! ```
//!
//! Each stage owns its types and hands plain data to the next; only [`refresh`] and
//! [`serve`] wire stages together.

pub mod access;
pub mod api;
pub mod assets;
pub mod config;
pub mod crawl;
pub mod demo;
pub mod events;
pub mod huge_pages;
pub mod index;
pub mod mapping;
pub mod members;
pub mod metrics;
pub mod parallel;
pub mod refresh;
pub mod serve;
pub mod source;
