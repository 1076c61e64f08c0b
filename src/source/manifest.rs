//! OCI image manifest and image index documents (OCI image spec v1.1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Media type of an OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of an OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Media type of a Docker schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Media type of a Docker manifest list.
pub const DOCKER_INDEX: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Manifests and indexes larger than this are refused (about 80,000 layers).
pub const MAX_MANIFEST_BYTES: u64 = 8 * 1024 * 1024;
/// Media types we ask registries for, manifests and indexes alike.
pub const ACCEPTED: &[&str] = &[OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_INDEX];

/// A content descriptor: media type, digest, size and optional annotations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the referenced content.
    pub media_type: String,
    /// `algorithm:hex` digest.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Annotations::is_empty")]
    pub annotations: Annotations,
    /// Artifact type of the referenced manifest (in indexes and referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Platform of the referenced manifest (in indexes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<serde_json::Value>,
}

impl Descriptor {
    /// The media type without parameters (`image/tiff; application=geotiff` → `image/tiff`).
    pub fn media_type_essence(&self) -> &str {
        self.media_type.split(';').next().unwrap_or_default().trim()
    }
}

/// A descriptor's annotations, sorted by key. A manifest holds a descriptor per layer,
/// often with one annotation, for which a `BTreeMap` would take a node of 540 bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations(Vec<(String, String)>);

impl Annotations {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        let found = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        self.0.get(found).map(|(_, value)| value)
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key`, returning its previous value.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.0.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(found) => Some(std::mem::replace(&mut self.0[found].1, value)),
            Err(at) => {
                self.0.insert(at, (key, value));
                None
            }
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each key and value, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(key, value)| (key, value))
    }
}

/// A key given twice keeps its last value, as in a JSON object read into a map.
impl FromIterator<(String, String)> for Annotations {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut pairs: Vec<(String, String)> = pairs.into_iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        pairs.shrink_to_fit();
        Annotations(pairs)
    }
}

impl<const N: usize> From<[(String, String); N]> for Annotations {
    fn from(pairs: [(String, String); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl std::ops::Index<&str> for Annotations {
    type Output = String;

    fn index(&self, key: &str) -> &String {
        match self.get(key) {
            Some(value) => value,
            None => panic!("no annotation {key:?}"),
        }
    }
}

impl Serialize for Annotations {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Annotations {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> serde::de::Visitor<'de> for Pairs {
            type Value = Annotations;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of strings")
            }

            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Annotations, M::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(pairs.into_iter().collect())
            }
        }
        deserializer.deserialize_map(Pairs)
    }
}

/// An image manifest: a config and layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// `2`.
    pub schema_version: u32,
    /// Media type, when the document states it.
    #[serde(default)]
    pub media_type: Option<String>,
    /// The artifact's type, when set.
    #[serde(default)]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, in order.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (referrers).
    #[serde(default)]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// An image index: a list of manifests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// `2`.
    pub schema_version: u32,
    /// Media type, when the document states it.
    #[serde(default)]
    pub media_type: Option<String>,
    /// The artifact's type, when set.
    #[serde(default)]
    pub artifact_type: Option<String>,
    /// The child manifests.
    pub manifests: Vec<Descriptor>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A parsed manifest document.
#[derive(Debug, Clone, PartialEq)]
pub enum Manifest {
    /// An image manifest.
    Image(Box<ImageManifest>),
    /// An image index (or Docker manifest list).
    Index(ImageIndex),
}

impl Manifest {
    /// Parses a manifest or index, deciding by its `mediaType`, else the response's
    /// `Content-Type`, else by which of `manifests` / `config` it has.
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<(Manifest, String), String> {
        let shape: Shape = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let declared = shape
            .media_type
            .as_ref()
            .and_then(|m| m.as_str())
            .map(str::to_owned)
            .or_else(|| content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_owned()));
        let is_index = match declared.as_deref() {
            Some(OCI_INDEX | DOCKER_INDEX) => true,
            Some(OCI_MANIFEST | DOCKER_MANIFEST) => false,
            _ => shape.manifests.is_some() && shape.config.is_none(),
        };
        if is_index {
            let index: ImageIndex =
                serde_json::from_slice(bytes).map_err(|e| format!("invalid image index: {e}"))?;
            let media_type = declared.unwrap_or_else(|| OCI_INDEX.to_owned());
            Ok((Manifest::Index(index), media_type))
        } else {
            let manifest: ImageManifest = serde_json::from_slice(bytes)
                .map_err(|e| format!("invalid image manifest: {e}"))?;
            let media_type = declared.unwrap_or_else(|| OCI_MANIFEST.to_owned());
            Ok((Manifest::Image(Box::new(manifest)), media_type))
        }
    }
}

/// What [`Manifest::parse`] decides by, read without building the rest.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Shape {
    media_type: Option<serde_json::Value>,
    manifests: Option<serde::de::IgnoredAny>,
    config: Option<serde::de::IgnoredAny>,
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Whether `s` is a well-formed `sha256:<64 lowercase hex>` digest.
pub fn is_sha256_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_manifest_and_index() {
        let m = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},
            "layers":[]}"#;
        assert!(matches!(
            Manifest::parse(m, None),
            Ok((Manifest::Image(_), _))
        ));
        let i = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(
            Manifest::parse(i, Some(OCI_INDEX)),
            Ok((Manifest::Index(_), _))
        ));
        assert!(Manifest::parse(b"{", None).is_err());
        assert!(Manifest::parse(br#"{"schemaVersion":"x"}"#, None).is_err());
    }

    #[test]
    fn digests() {
        let d = sha256_digest(b"{}");
        assert!(is_sha256_digest(&d));
        assert!(!is_sha256_digest("sha256:../../etc"));
    }

    #[test]
    fn annotations_read_like_a_map() {
        let read: Annotations = serde_json::from_str(r#"{"b": "2", "a": "1", "b": "3"}"#).unwrap();
        assert_eq!(read.get("a").map(String::as_str), Some("1"));
        assert_eq!(read.get("b").map(String::as_str), Some("3"));
        assert!(read.get("c").is_none() && !read.contains_key("c"));
        assert_eq!(
            serde_json::to_string(&read).unwrap(),
            r#"{"a":"1","b":"3"}"#
        );
        let mut set = Annotations::default();
        assert!(set.is_empty());
        assert_eq!(set.insert("z".into(), "1".into()), None);
        assert_eq!(set.insert("m".into(), "2".into()), None);
        assert_eq!(set.insert("z".into(), "3".into()), Some("1".into()));
        let pairs: Vec<(&String, &String)> = set.iter().collect();
        assert_eq!(
            pairs,
            [
                (&"m".to_owned(), &"2".to_owned()),
                (&"z".to_owned(), &"3".to_owned())
            ]
        );
        assert_eq!(set["m"], "2");
        assert!(serde_json::from_str::<Annotations>(r#"{"a": 1}"#).is_err());
        assert!(serde_json::from_str::<Annotations>(r#"["a"]"#).is_err());
    }
}
