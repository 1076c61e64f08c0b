//! Drafts merged across artifacts and settled as early as they can be.
//!
//! Two drafts with the same key are one Item: the first (in mapping order) keeps its
//! fields and gains the other's tags. A key is made from a digest of its own artifact (a
//! layer's or the manifest's), so once the artifacts are mapped up to the last one
//! holding that digest, no draft can merge into it anymore: it settles, is finished and
//! handed on. Only Items with a version tag wait for the end, when the repository's
//! versions are linked. Ids are given, and the extent widened, in the order drafts first
//! appear, as if the whole repository were merged at once.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use rayon::prelude::*;
use std::sync::Arc;

use super::MappedItem;
use super::collection::Extent;
use super::digest::BlobDigest;
use super::draft::Draft;
use super::ids;
use super::versions::Versions;
use crate::crawl::Artifact;

/// A draft that a later artifact may still merge into.
struct Pending {
    /// Its place among the repository's Items.
    position: usize,
    id: String,
    draft: Draft,
}

/// A settled draft, finished.
enum Settled<T> {
    /// Handed on.
    Done(T),
    /// Waiting for the version links.
    Versioned(Box<MappedItem>),
}

/// The drafts of one repository's artifacts, added artifact by artifact in mapping order.
/// Its maps hash with foldhash, seeded per process: they hold a key per layer and per
/// Item, and SipHash was a few percent of mapping a million Items.
pub struct Merger<T> {
    collection: Arc<str>,
    /// Each digest (of a layer or a manifest) that more than one artifact holds: the
    /// position of the last of them. A digest held by one artifact alone is last held by
    /// it, and is not kept: most are, and a map of every digest was 100 MB at a million
    /// layers. Owned, so that an artifact may be let go once mapped.
    last_holder: HashMap<BlobDigest, usize>,
    /// Drafts not yet settled, by key.
    pending: HashMap<String, Pending>,
    /// Keys of the pending drafts by the position of the last artifact that may merge
    /// into them.
    settling: BTreeMap<usize, Vec<String>>,
    /// Item ids given so far: boxed, 8 bytes less per entry than a `String`. Sized
    /// for every digest from the start: growing it near the end of mapping, where the
    /// start-up's memory peaks, would hold two tables at once.
    used: HashSet<Box<str>>,
    extent: Extent,
    versions: Versions,
    /// Finished Items with a version, by position.
    versioned: BTreeMap<usize, MappedItem>,
    /// Each Item handed on, by position.
    items: Vec<Option<T>>,
}

impl<T: Send> Merger<T> {
    /// A merger for the Items of `collection`, from `artifacts` in mapping order.
    pub fn new(collection: &str, artifacts: &[Artifact]) -> Self {
        let mut held: Vec<(BlobDigest, usize)> = artifacts
            .par_iter()
            .enumerate()
            .flat_map_iter(|(position, artifact)| {
                let layers = artifact.layers.iter().map(|layer| &layer.digest);
                std::iter::once(&artifact.digest)
                    .chain(layers)
                    .map(move |digest| (BlobDigest::from(digest.as_str()), position))
            })
            .collect();
        held.par_sort_unstable();
        let mut last_holder = HashMap::new();
        for holders in held.chunk_by(|a, b| a.0 == b.0) {
            if let (Some((digest, first)), Some((_, last))) = (holders.first(), holders.last())
                && first != last
            {
                last_holder.insert(digest.clone(), *last);
            }
        }
        Merger {
            collection: Arc::from(collection),
            last_holder,
            pending: HashMap::new(),
            settling: BTreeMap::new(),
            used: HashSet::with_capacity(held.len()),
            extent: Extent::default(),
            versions: Versions::default(),
            versioned: BTreeMap::new(),
            items: Vec::new(),
        }
    }

    /// Adds the drafts of the next artifact, the one at position `holder` in mapping
    /// order: a draft whose key is pending gives it its tags, any other is a new Item.
    pub fn add(&mut self, holder: usize, drafts: Vec<Draft>) {
        for draft in drafts {
            if let Some(pending) = self.pending.get_mut(&draft.key) {
                let tags = Arc::make_mut(&mut pending.draft.tags);
                tags.extend(draft.tags.iter().cloned());
                continue;
            }
            self.extent.add(draft.bbox(), draft.time.interval());
            let id = unique_id(&draft, &mut self.used);
            let last = draft.key_digest().map_or(usize::MAX, |digest| {
                let digest = BlobDigest::from(digest);
                self.last_holder.get(&digest).copied().unwrap_or(holder)
            });
            self.settling
                .entry(last)
                .or_default()
                .push(draft.key.clone());
            let position = self.items.len();
            self.items.push(None);
            self.pending.insert(
                draft.key.clone(),
                Pending {
                    position,
                    id,
                    draft,
                },
            );
        }
    }

    /// Settles the drafts that no artifact from position `next` on can merge into.
    pub fn settle(&mut self, next: usize, finish: &(impl Fn(MappedItem) -> T + Sync)) {
        let later = self.settling.split_off(&next);
        let settled = std::mem::replace(&mut self.settling, later);
        let drafts = settled
            .into_values()
            .flatten()
            .filter_map(|key| self.pending.remove(&key))
            .collect();
        self.hand_on(drafts, finish);
    }

    /// Settles every draft left, links the versions: the Items in the order their
    /// drafts first appeared, and what they span.
    pub fn into_items(mut self, finish: &(impl Fn(MappedItem) -> T + Sync)) -> (Vec<T>, Extent) {
        let drafts = std::mem::take(&mut self.pending).into_values().collect();
        self.hand_on(drafts, finish);
        let mut versioned = std::mem::take(&mut self.versioned);
        std::mem::take(&mut self.versions).apply(&mut versioned);
        let done = versioned
            .into_par_iter()
            .map(|(position, item)| (position, finish(item)))
            .collect::<Vec<_>>();
        for (position, item) in done {
            self.items[position] = Some(item);
        }
        (self.items.into_iter().flatten().collect(), self.extent)
    }

    /// Finishes settled drafts, on every core, and hands on those without a version.
    fn hand_on(&mut self, drafts: Vec<Pending>, finish: &(impl Fn(MappedItem) -> T + Sync)) {
        let drafts: Vec<(Pending, bool)> = drafts
            .into_iter()
            .map(|p| {
                let versioned = self.versions.add(p.position, &p.id, &p.draft);
                (p, versioned)
            })
            .collect();
        let collection = &self.collection;
        let settled: Vec<_> = drafts
            .into_par_iter()
            .map(|(pending, versioned)| {
                let item = pending.draft.finish(collection, pending.id);
                let settled = if versioned {
                    Settled::Versioned(Box::new(item))
                } else {
                    Settled::Done(finish(item))
                };
                (pending.position, settled)
            })
            .collect();
        for (position, settled) in settled {
            match settled {
                Settled::Done(item) => self.items[position] = Some(item),
                Settled::Versioned(item) => {
                    self.versioned.insert(position, *item);
                }
            }
        }
    }
}

/// The draft's preferred id, or, when taken, one suffixed with its digest's hex.
fn unique_id(draft: &Draft, used: &mut HashSet<Box<str>>) -> String {
    if used.insert(draft.id.as_str().into()) {
        return draft.id.clone();
    }
    let base = format!("{}-{}", draft.id, ids::digest_hex(&draft.unique, 12));
    let mut id = base.clone();
    let mut n = 2;
    while !used.insert(id.as_str().into()) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}
