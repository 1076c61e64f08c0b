//! The STAC version extension for artifacts tagged with versions (`1.2.0`, `v2`,
//! `2024.05`, `1.0.0-rc1`): each whole-artifact Item gets `version` (its highest
//! version tag) and links to the latest, predecessor and successor versions among the
//! repository's Items of the same kind. Partition Items are left out: a partition
//! shared by two versions is one Item.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::json;

use super::draft::Draft;
use super::{ItemLink, MappedItem};

/// The version extension's schema.
pub const VERSION_EXTENSION: &str = "https://stac-extensions.github.io/version/v1.2.0/schema.json";

/// A parsed version tag: numeric parts, then an optional pre-release that sorts before
/// the release.
#[derive(Debug, Clone)]
struct Version {
    numbers: Vec<u64>,
    pre: Option<String>,
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let width = self.numbers.len().max(other.numbers.len());
        let padded = |v: &Version| {
            let mut n = v.numbers.clone();
            n.resize(width, 0);
            n
        };
        padded(self)
            .cmp(&padded(other))
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            })
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// `v?N(.N){0,3}(-pre)?`, else `None` (`latest`, `sample`, dates with dashes…).
fn parse(tag: &str) -> Option<Version> {
    let text = tag.strip_prefix(['v', 'V']).unwrap_or(tag);
    let (release, pre) = match text.split_once('-') {
        Some((release, pre)) if !pre.is_empty() => (release, Some(pre.to_owned())),
        Some(_) => return None,
        None => (text, None),
    };
    let numbers: Option<Vec<u64>> = release.split('.').map(|p| p.parse().ok()).collect();
    let numbers = numbers.filter(|n| !n.is_empty() && n.len() <= 4)?;
    // A bare number is only a version when written `v<N>`.
    if numbers.len() == 1 && text.len() == tag.len() {
        return None;
    }
    Some(Version { numbers, pre })
}

/// The Items with a version tag, grouped by the kind of Item (the part of the draft key
/// after `#`), recorded as their drafts settle, in any order.
#[derive(Debug, Default)]
pub struct Versions {
    groups: BTreeMap<String, Vec<Member>>,
}

/// One versioned Item: its draft's position, its id, its highest version tag.
#[derive(Debug)]
struct Member {
    position: usize,
    id: String,
    tag: String,
    version: Version,
}

impl Versions {
    /// Records the settled draft at `position` (tags final, Item id `id`) if it is a
    /// whole-artifact Item with a version tag; whether it is.
    pub fn add(&mut self, position: usize, id: &str, draft: &Draft) -> bool {
        let Some(rest) = draft.key.strip_prefix("manifest:") else {
            return false;
        };
        let kind = rest.split_once('#').map_or("", |(_, kind)| kind).to_owned();
        let best = draft
            .tags
            .iter()
            .filter_map(|tag| Some((tag.clone(), parse(tag)?)))
            .max_by(|a, b| a.1.cmp(&b.1));
        let Some((tag, version)) = best else {
            return false;
        };
        self.groups.entry(kind).or_default().push(Member {
            position,
            id: id.to_owned(),
            tag,
            version,
        });
        true
    }

    /// Writes `version` and the version links into the finished Items of the drafts
    /// recorded, by position. Equal versions keep the order of their drafts.
    pub fn apply(self, items: &mut BTreeMap<usize, MappedItem>) {
        for mut members in self.groups.into_values() {
            members.sort_by(|a, b| {
                a.version
                    .cmp(&b.version)
                    .then_with(|| a.position.cmp(&b.position))
            });
            let Some(latest) = members.last() else {
                continue;
            };
            let latest = (latest.position, latest.id.clone());
            for (n, member) in members.iter().enumerate() {
                let mut links = Vec::new();
                if member.position != latest.0 {
                    links.push(ItemLink {
                        rel: "latest-version".into(),
                        item: latest.1.clone(),
                    });
                }
                if let Some(previous) = n.checked_sub(1).and_then(|p| members.get(p)) {
                    links.push(ItemLink {
                        rel: "predecessor-version".into(),
                        item: previous.id.clone(),
                    });
                }
                if let Some(next) = members.get(n + 1) {
                    links.push(ItemLink {
                        rel: "successor-version".into(),
                        item: next.id.clone(),
                    });
                }
                let Some(item) = items.get_mut(&member.position) else {
                    continue;
                };
                item.links.extend(links);
                if let Some(properties) = item
                    .item
                    .get_mut("properties")
                    .and_then(|p| p.as_object_mut())
                {
                    properties.insert("version".to_owned(), json!(member.tag));
                }
                if let Some(extensions) = item
                    .item
                    .get_mut("stac_extensions")
                    .and_then(|e| e.as_array_mut())
                    && !extensions.iter().any(|e| e == VERSION_EXTENSION)
                {
                    extensions.push(json!(VERSION_EXTENSION));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_tags() {
        let v = |t: &str| parse(t).unwrap_or_else(|| panic!("{t}"));
        assert!(v("1.2.0") > v("1.1.9"));
        assert!(v("v2") > v("1.9.9"));
        assert!(v("1.0.0") > v("1.0.0-rc1"));
        assert!(v("1.0") == v("1.0.0"));
        assert!(v("2024.05") > v("2023.12"));
        for not in [
            "latest",
            "sample",
            "full",
            "2",
            "1.x",
            "v",
            "1.0-",
            "sha256-ab",
        ] {
            assert!(parse(not).is_none(), "{not}");
        }
    }
}
