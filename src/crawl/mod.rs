//! One crawl pass over a source: repositories → tags → manifests (and index children)
//! → configs, yielding [`Artifact`]s and per-artifact errors. No STAC, no server types.

mod artifact;
pub mod filter;
pub mod status;

pub use artifact::Artifact;
