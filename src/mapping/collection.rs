//! The repository's Collection: descriptive fields from annotations and partition
//! configs, extents from its Items.
//!
//! Descriptive fields, the first artifact (largest first) that has one winning:
//! - `title`: annotation `org.opencontainers.image.title`, else a partition config's
//!   `dataset` or `title`, else the repository;
//! - `description`: annotation `org.opencontainers.image.description`, else a partition
//!   config's `description`, else a sentence naming the repository;
//! - `license`: annotation `org.opencontainers.image.licenses`, else a partition config's
//!   `license`; an SPDX identifier or expression is kept, a few common phrasings are
//!   mapped to their SPDX id, anything else becomes `other` with the text kept in
//!   `license_text`; `other` when none is known;
//! - `providers`: a partition config's `created_by`, `producer` or `provider`, as producer;
//! - `keywords`: a partition config's `keywords` (array or comma-separated string);
//! - every other top-level scalar of partition configs, under `oci:config`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::MappedCollection;
use super::partition::CONFIG_CONSUMED;
use super::provenance::{DESCRIPTION, LICENSES, TITLE};
use super::time::format_time;
use crate::crawl::Artifact;

/// Config members given their own Collection field.
const DESCRIPTIVE: [&str; 8] = [
    "dataset",
    "title",
    "description",
    "license",
    "created_by",
    "producer",
    "provider",
    "keywords",
];

/// The top-level scalars (and `keywords`) of a partition config: what describes the Collection.
pub fn config_fields(config: &Value) -> Map<String, Value> {
    let Some(object) = config.as_object() else {
        return Map::new();
    };
    object
        .iter()
        .filter(|(name, value)| {
            !CONFIG_CONSUMED.contains(&name.as_str())
                && (!(value.is_array() || value.is_object()) || name.as_str() == "keywords")
                && !value.is_null()
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// What the Items of a Collection span.
#[derive(Debug, Default)]
pub struct Extent {
    bbox: Option<[f64; 4]>,
    interval: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Extent {
    /// Widens the extent by one Item's bbox and period.
    pub fn add(
        &mut self,
        bbox: Option<[f64; 4]>,
        interval: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) {
        if let Some(b) = bbox {
            self.bbox = Some(match self.bbox {
                Some(a) => [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ],
                None => b,
            });
        }
        if let Some((start, end)) = interval {
            self.interval = Some(match self.interval {
                Some((s, e)) => (s.min(start), e.max(end)),
                None => (start, end),
            });
        }
    }

    fn to_json(&self) -> Value {
        let bbox = self.bbox.unwrap_or([-180.0, -90.0, 180.0, 90.0]);
        let interval = match self.interval {
            Some((start, end)) => json!([format_time(start), format_time(end)]),
            None => json!([null, null]),
        };
        json!({"spatial": {"bbox": [bbox]}, "temporal": {"interval": [interval]}})
    }
}

/// Builds the Collection. `artifacts` and `configs` are in mapping order (largest first).
pub fn build(
    id: &str,
    repository: &str,
    artifacts: &[Artifact],
    configs: &[Map<String, Value>],
    extent: &Extent,
) -> MappedCollection {
    let annotation = |name: &str| {
        artifacts
            .iter()
            .find_map(|a| a.annotations.get(name))
            .map(|s| s.trim().to_owned())
    };
    let config = |names: &[&str]| {
        configs
            .iter()
            .find_map(|c| names.iter().find_map(|n| c.get(*n).and_then(scalar_text)))
    };
    let title = annotation(TITLE)
        .or_else(|| config(&["dataset", "title"]))
        .unwrap_or_else(|| repository.to_owned());
    let description = annotation(DESCRIPTION)
        .or_else(|| config(&["description"]))
        .unwrap_or_else(|| format!("Artifacts of the OCI repository {repository}."));

    let mut collection = Map::new();
    collection.insert("type".to_owned(), json!("Collection"));
    collection.insert("stac_version".to_owned(), json!("1.0.0"));
    collection.insert("stac_extensions".to_owned(), json!([]));
    collection.insert("id".to_owned(), json!(id));
    collection.insert("title".to_owned(), json!(title));
    collection.insert("description".to_owned(), json!(description));
    let raw_license = annotation(LICENSES).or_else(|| config(&["license"]));
    let license = raw_license
        .as_deref()
        .map_or_else(|| "other".to_owned(), spdx_license);
    if let Some(raw) = raw_license.filter(|raw| *raw != license) {
        collection.insert("license_text".to_owned(), json!(raw));
    }
    collection.insert("license".to_owned(), json!(license));
    if let Some(producer) = config(&["created_by", "producer", "provider"]) {
        collection.insert(
            "providers".to_owned(),
            json!([{"name": producer, "roles": ["producer"]}]),
        );
    }
    if let Some(keywords) = configs.iter().find_map(|c| keywords(c.get("keywords")?)) {
        collection.insert("keywords".to_owned(), json!(keywords));
    }
    let mut rest = Map::new();
    for config in configs {
        for (name, value) in config {
            if !DESCRIPTIVE.contains(&name.as_str()) {
                rest.entry(name.clone()).or_insert_with(|| value.clone());
            }
        }
    }
    if !rest.is_empty() {
        collection.insert("oci:config".to_owned(), Value::Object(rest));
    }
    collection.insert("oci:repository".to_owned(), json!(repository));
    collection.insert("extent".to_owned(), extent.to_json());
    MappedCollection {
        id: id.to_owned(),
        collection,
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn keywords(value: &Value) -> Option<Vec<String>> {
    let list: Vec<String> = match value {
        Value::String(s) => s.split(',').map(|k| k.trim().to_owned()).collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|k| k.as_str())
            .map(|k| k.trim().to_owned())
            .collect(),
        _ => return None,
    };
    let list: Vec<String> = list.into_iter().filter(|k| !k.is_empty()).collect();
    (!list.is_empty()).then_some(list)
}

/// An SPDX identifier or expression as it is; common phrasings mapped; else `other`.
fn spdx_license(raw: &str) -> String {
    let raw = raw.trim();
    let id_like = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
    };
    let tokens: Vec<&str> = raw
        .split_whitespace()
        .map(|t| t.trim_matches(['(', ')']))
        .collect();
    let expression = tokens.len() % 2 == 1
        && tokens.iter().enumerate().all(|(i, t)| {
            if i % 2 == 0 {
                id_like(t)
            } else {
                matches!(*t, "AND" | "OR" | "WITH")
            }
        });
    if expression {
        return raw.to_owned();
    }
    let squashed: String = raw
        .to_ascii_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let known = [
        ("ccby40", "CC-BY-4.0"),
        ("ccbysa40", "CC-BY-SA-4.0"),
        ("ccbync40", "CC-BY-NC-4.0"),
        ("cc0", "CC0-1.0"),
        ("cc010", "CC0-1.0"),
        ("licenceouverte20", "etalab-2.0"),
        ("openlicence20", "etalab-2.0"),
        ("licenceouverteetalab20", "etalab-2.0"),
        ("odbl", "ODbL-1.0"),
        ("odbl10", "ODbL-1.0"),
        ("publicdomain", "CC0-1.0"),
    ];
    known
        .iter()
        .find(|(phrase, _)| {
            squashed == *phrase
                || squashed
                    .strip_prefix("creativecommons")
                    .map(|r| format!("cc{r}"))
                    .as_deref()
                    == Some(phrase)
        })
        .map_or_else(|| "other".to_owned(), |(_, id)| (*id).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licenses() {
        assert_eq!(spdx_license("etalab-2.0"), "etalab-2.0");
        assert_eq!(spdx_license("MIT OR Apache-2.0"), "MIT OR Apache-2.0");
        assert_eq!(spdx_license("CC BY 4.0"), "CC-BY-4.0");
        assert_eq!(spdx_license("Licence Ouverte 2.0"), "etalab-2.0");
        assert_eq!(spdx_license("Creative Commons BY-SA 4.0"), "CC-BY-SA-4.0");
        assert_eq!(spdx_license("free for research, ask us"), "other");
    }

    #[test]
    fn extent_and_defaults() {
        let collection = build("r", "r", &[], &[], &Extent::default());
        assert_eq!(
            collection.collection["extent"]["spatial"]["bbox"],
            json!([[-180.0, -90.0, 180.0, 90.0]])
        );
        assert_eq!(
            collection.collection["extent"]["temporal"]["interval"],
            json!([[null, null]])
        );
        assert_eq!(collection.collection["license"], "other");
        assert_eq!(collection.collection["title"], "r");
        let mut extent = Extent::default();
        extent.add(Some([0.0, 1.0, 2.0, 3.0]), None);
        extent.add(Some([-1.0, 2.0, 1.0, 4.0]), None);
        assert_eq!(
            extent.to_json()["spatial"]["bbox"],
            json!([[-1.0, 1.0, 2.0, 4.0]])
        );
    }
}
