//! Per-source crawl state, for `/status` and `/readyz`.

use std::sync::{Arc, Mutex};

use serde::Serialize;

/// One named crawl error: which artifact or repository, and why.
#[derive(Debug, Clone, Serialize)]
pub struct CrawlIssue {
    /// Repository involved.
    pub repository: String,
    /// Tag or digest involved, when the error is about one artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// What went wrong.
    pub error: String,
}

/// The state of one source after its last crawl.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SourceStatus {
    /// Source name.
    pub name: String,
    /// `pending`, `ok`, `partial` (some errors) or `failed` (last good snapshot kept).
    pub state: String,
    /// When the last crawl finished (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_crawl: Option<String>,
    /// How long it took, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// Repositories crawled.
    pub repositories: usize,
    /// Artifacts found.
    pub artifacts: usize,
    /// Items indexed.
    pub items: usize,
    /// Errors of the last crawl.
    pub errors: Vec<CrawlIssue>,
}

/// Shared, cheaply cloned board of source states. The lock is never held across `.await`.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard {
    inner: Arc<Mutex<Board>>,
}

#[derive(Debug, Default)]
struct Board {
    sources: Vec<SourceStatus>,
    ready: bool,
}

impl StatusBoard {
    /// A board with every source pending.
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        let sources = names
            .into_iter()
            .map(|name| SourceStatus {
                name,
                state: "pending".into(),
                ..Default::default()
            })
            .collect();
        StatusBoard {
            inner: Arc::new(Mutex::new(Board {
                sources,
                ready: false,
            })),
        }
    }

    /// Records the outcome of a source's crawl.
    pub fn update(&self, status: SourceStatus) {
        let mut board = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match board.sources.iter_mut().find(|s| s.name == status.name) {
            Some(slot) => *slot = status,
            None => board.sources.push(status),
        }
    }

    /// Updates a source's repository and Item counts after one repository changed
    /// (an event recrawl); the rest of its last crawl's record stays.
    pub fn recount(&self, name: &str, repositories: usize, items: usize) {
        let mut board = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = board.sources.iter_mut().find(|s| s.name == name) {
            slot.repositories = repositories;
            slot.items = items;
        }
    }

    /// Marks the gateway ready (after the first crawl pass, whatever its outcome).
    pub fn set_ready(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).ready = true;
    }

    /// Whether the first crawl pass is done.
    pub fn is_ready(&self) -> bool {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).ready
    }

    /// A copy of every source's status.
    pub fn sources(&self) -> Vec<SourceStatus> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sources
            .clone()
    }
}
