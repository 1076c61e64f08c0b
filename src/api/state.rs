//! Shared state of the HTTP handlers.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::access::AccessControl;
use crate::config::ServerSettings;
use crate::crawl::status::StatusBoard;
use crate::events::route::WebhookState;
use crate::index::Snapshot;
use crate::source::Source;

/// Cheap-clone handle to everything a handler may read.
#[derive(Clone)]
pub struct AppState {
    /// The current snapshot; replaced whole after each crawl.
    pub snapshot: Arc<ArcSwap<Snapshot>>,
    /// Sources by name, for the asset proxy.
    pub sources: Arc<BTreeMap<String, Arc<Source>>>,
    /// Crawl state per source.
    pub status: StatusBoard,
    /// Server settings (public URL, limits).
    pub server: Arc<ServerSettings>,
    /// Registry event webhooks, when a secret is configured.
    pub webhooks: Option<WebhookState>,
    /// Access control, when on.
    pub access: Option<Arc<AccessControl>>,
}
