//! The immutable, searchable snapshot of mapped Collections and Items.

use crate::mapping::{MappedCollection, MappedItem};

/// An immutable index of everything served; swapped atomically after each crawl.
pub struct Snapshot {}

impl Snapshot {
    /// Builds the index.
    pub fn build(_collections: Vec<MappedCollection>, _items: Vec<MappedItem>) -> Snapshot {
        Snapshot {}
    }
}
