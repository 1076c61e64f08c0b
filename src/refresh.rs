//! Crawl → mapping → [`Snapshot`] → atomic swap, for each source on its own interval.
//! A failed crawl keeps the last good state of what it could not read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use tracing::{info, warn};

use crate::config::SourceSettings;
use crate::crawl::{
    self, CrawlCache, status::CrawlIssue, status::SourceStatus, status::StatusBoard,
};
use crate::huge_pages;
use crate::index::{IndexedItem, Snapshot};
use crate::mapping::{self, MappedCollection, MappingError, MappingOptions};
use crate::source::Source;

/// What each source last mapped, by repository.
type Mapped = BTreeMap<String, BTreeMap<String, Crawled>>;

/// One repository's last good mapping and when the crawl that made it started: a full
/// pass never replaces a mapping that an event-driven recrawl made after it began.
/// Its Items are shared with the snapshots built from it, never copied.
#[derive(Clone)]
struct Crawled {
    started: Instant,
    collection: MappedCollection,
    items: Vec<Arc<IndexedItem>>,
}

impl Crawled {
    fn new(started: Instant, repository: IndexedRepository) -> Crawled {
        Crawled {
            started,
            collection: repository.collection,
            items: repository.items,
        }
    }
}

/// A repository mapped, its Items indexed.
struct IndexedRepository {
    collection: MappedCollection,
    items: Vec<Arc<IndexedItem>>,
    errors: Vec<MappingError>,
}

/// How long events are gathered before their repositories are recrawled.
pub const EVENT_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(250);
/// Events waiting at most; beyond, they are dropped (the next full pass catches up).
const EVENT_QUEUE: usize = 1024;

/// Where webhooks put the repositories to recrawl.
#[derive(Clone)]
pub struct RecrawlQueue(tokio::sync::mpsc::Sender<String>);

impl RecrawlQueue {
    /// Asks for a recrawl of `repository`; `false` when the queue is full.
    pub fn push(&self, repository: String) -> bool {
        self.0.try_send(repository).is_ok()
    }
}

/// Owns the crawl loop of every source and publishes snapshots.
pub struct Refresher {
    sources: Vec<(SourceSettings, Arc<Source>)>,
    /// What a pass keeps for the next (a registry's manifests and configs), one per source.
    caches: Vec<CrawlCache>,
    snapshot: Arc<ArcSwap<Snapshot>>,
    status: StatusBoard,
    /// Last good mapping per source and repository; the lock is never held across `.await`.
    mapped: Mutex<Mapped>,
}

impl Refresher {
    /// A refresher publishing into `snapshot` and `status`.
    pub fn new(
        sources: Vec<(SourceSettings, Arc<Source>)>,
        snapshot: Arc<ArcSwap<Snapshot>>,
        status: StatusBoard,
    ) -> Self {
        Refresher {
            caches: sources.iter().map(|_| CrawlCache::default()).collect(),
            sources,
            snapshot,
            status,
            mapped: Mutex::new(BTreeMap::new()),
        }
    }

    /// Crawls every source once, concurrently, publishes the snapshot and marks ready.
    pub async fn refresh_all(&self) {
        let passes = (0..self.sources.len()).map(|i| self.refresh_source(i));
        futures::future::join_all(passes).await;
        self.status.set_ready();
    }

    /// Starts one background loop per source, each recrawling on its interval after
    /// an immediate first pass; the first pass of all sources marks the gateway ready.
    pub fn spawn(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            self.refresh_all().await;
            let loops = (0..self.sources.len()).map(|i| {
                let this = Arc::clone(&self);
                async move {
                    let period = this.sources[i].0.interval;
                    let mut ticker =
                        tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        ticker.tick().await;
                        this.refresh_source(i).await;
                    }
                }
            });
            futures::future::join_all(loops).await;
        })
    }

    /// Crawls and maps one source, then publishes a new snapshot.
    async fn refresh_source(&self, i: usize) {
        let (settings, source) = &self.sources[i];
        let started = Instant::now();
        let huge_pages = huge_pages::off();
        let mut pass = crawl::run(source, settings, &self.caches[i]).await;
        let artifacts = pass.artifact_count();
        let mapped = map(settings, std::mem::take(&mut pass.repositories)).await;
        drop(huge_pages);
        let mut issues = pass.issues;
        let state = if pass.failed {
            "failed"
        } else if issues.is_empty() && mapped.values().all(|m| m.errors.is_empty()) {
            "ok"
        } else {
            "partial"
        };
        for repo in mapped.values() {
            issues.extend(repo.errors.iter().map(|e| CrawlIssue {
                repository: e.repository.clone(),
                reference: Some(e.digest.clone()),
                error: e.reason.clone(),
            }));
        }
        let repositories = mapped.len();
        let items = {
            let mut all = self.mapped.lock().unwrap_or_else(|p| p.into_inner());
            let previous = all.remove(&settings.name).unwrap_or_default();
            let next = if pass.failed {
                previous
            } else {
                let mut next: BTreeMap<String, Crawled> = mapped
                    .into_iter()
                    .map(|(repo, repository)| (repo, Crawled::new(started, repository)))
                    .collect();
                for (repo, kept) in previous {
                    let newer = kept.started > started;
                    if newer || pass.failed_repositories.contains(&repo) {
                        next.insert(repo, kept);
                    }
                }
                next
            };
            let items = next.values().map(|c| c.items.len()).sum::<usize>();
            all.insert(settings.name.clone(), next);
            items
        };
        self.publish().await;
        let duration = started.elapsed();
        info!(source = %settings.name, state, items, ?duration, "crawl pass done");
        self.status.update(SourceStatus {
            name: settings.name.clone(),
            state: state.to_owned(),
            last_crawl: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            duration_seconds: Some(duration.as_secs_f64()),
            repositories,
            artifacts,
            items,
            errors: issues,
        });
    }

    /// Starts the loop that recrawls the repositories registry events name. Events are
    /// debounced: all those arriving within [`EVENT_DEBOUNCE`] of the first make one
    /// recrawl per repository.
    pub fn spawn_event_loop(self: &Arc<Self>) -> (RecrawlQueue, tokio::task::JoinHandle<()>) {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<String>(EVENT_QUEUE);
        let this = Arc::clone(self);
        let task = tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                tokio::time::sleep(EVENT_DEBOUNCE).await;
                let mut batch = BTreeSet::from([first]);
                while let Ok(more) = receiver.try_recv() {
                    batch.insert(more);
                }
                for repository in batch {
                    this.refresh_repository(&repository).await;
                }
            }
        });
        (RecrawlQueue(sender), task)
    }

    /// Recrawls one repository in every source configured for it (after a registry
    /// event), then publishes. A repository gone from the registry loses its Items.
    pub async fn refresh_repository(&self, repository: &str) {
        let mut changed = false;
        for (i, (settings, source)) in self.sources.iter().enumerate() {
            if !source.serves(repository) {
                continue;
            }
            let started = Instant::now();
            let huge_pages = huge_pages::off();
            let mut pass =
                crawl::run_repository(source, settings, &self.caches[i], repository).await;
            if !pass.failed_repositories.is_empty() {
                warn!(source = %settings.name, %repository, issues = ?pass.issues, "event recrawl failed; keeping the last state");
                continue;
            }
            let mapped = map(settings, std::mem::take(&mut pass.repositories)).await;
            drop(huge_pages);
            let mut all = self.mapped.lock().unwrap_or_else(|p| p.into_inner());
            let repos = all.entry(settings.name.clone()).or_default();
            match mapped.into_iter().next() {
                Some((repo, repository)) => {
                    repos.insert(repo, Crawled::new(started, repository));
                }
                None => {
                    repos.remove(repository);
                }
            }
            let items = repos.values().map(|c| c.items.len()).sum();
            self.status.recount(&settings.name, repos.len(), items);
            changed = true;
            info!(source = %settings.name, %repository, "repository recrawled after an event");
        }
        if changed {
            self.publish().await;
        }
    }

    /// Builds and swaps in a snapshot of every source's last good mapping.
    async fn publish(&self) {
        let (collections, items) = self.catalog();
        let snapshot = tokio::task::spawn_blocking(move || {
            crate::parallel::on_own_pool(|| Snapshot::build(collections, items))
        })
        .await;
        match snapshot {
            Ok(snapshot) => self.snapshot.store(Arc::new(snapshot)),
            Err(error) => warn!(%error, "building the snapshot failed; keeping the last one"),
        }
    }

    /// Every Collection and Item last mapped, one Collection per id (first source wins);
    /// the Items are shared, not copied.
    pub fn catalog(&self) -> (Vec<MappedCollection>, Vec<Arc<IndexedItem>>) {
        let all = self.mapped.lock().unwrap_or_else(|p| p.into_inner());
        let mut seen = BTreeSet::new();
        let mut collections = Vec::new();
        let mut items = Vec::new();
        for (source, repos) in all.iter() {
            for (repo, crawled) in repos {
                let id = &crawled.collection.id;
                if !seen.insert(id.clone()) {
                    warn!(%source, %repo, %id, "collection id already served by another source; skipped");
                    continue;
                }
                collections.push(crawled.collection.clone());
                items.extend(crawled.items.iter().cloned());
            }
        }
        (collections, items)
    }
}

/// Maps crawled repositories and indexes their Items, on the blocking pool.
async fn map(
    settings: &SourceSettings,
    crawled: BTreeMap<String, Vec<crawl::Artifact>>,
) -> BTreeMap<String, IndexedRepository> {
    let options = MappingOptions {
        crs: settings.crs.clone(),
        max_member_assets: settings.max_member_assets,
    };
    tokio::task::spawn_blocking(move || {
        crate::parallel::on_own_pool(|| {
            crawled
                .into_iter()
                .map(|(repo, artifacts)| {
                    let mapped = mapping::map_repository_into(&repo, artifacts, &options, |item| {
                        Arc::new(IndexedItem::new(item))
                    });
                    let indexed = IndexedRepository {
                        collection: mapped.collection,
                        items: mapped.items,
                        errors: mapped.errors,
                    };
                    (repo, indexed)
                })
                .collect()
        })
    })
    .await
    .unwrap_or_default()
}
