//! What one rule yields before ids are settled: [`Draft`] Items, and the per-artifact
//! [`Context`] rules read from.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::crs::Crs;
use super::field::Field;
use super::geometry::{Footprint, Geometry};
use super::ids::{digest_hex, is_referrer_tag, sanitize};
use super::provenance::{self, FILE_EXTENSION, SharedNames, TITLE};
use super::time::ItemTime;
use super::{BlobRef, MappedItem, MappingOptions};
use crate::crawl::Artifact;
use crate::source::Descriptor;

/// One artifact being mapped: its layers indexed by digest and title, and a CRS cache.
pub struct Context<'a> {
    /// The artifact.
    pub artifact: &'a Artifact,
    /// The repository's mapping options.
    pub options: &'a MappingOptions,
    /// Looked up once per partition: hashed with foldhash.
    by_digest: foldhash::HashMap<&'a str, &'a Descriptor>,
    /// Layers by title; `None` when two layers share the title.
    by_title: HashMap<&'a str, Option<&'a Descriptor>>,
    crs: HashMap<String, Rc<Crs>>,
    /// The names its blob refs share.
    pub shared_names: SharedNames<'a>,
    /// Its provenance properties, shared by its drafts.
    provenance: Arc<Map<String, Value>>,
    /// Its tags, without referrer fallback tags, shared by its drafts.
    tags: Arc<BTreeSet<String>>,
}

impl<'a> Context<'a> {
    /// Indexes the artifact's layers.
    pub fn new(artifact: &'a Artifact, options: &'a MappingOptions) -> Self {
        let mut by_title = HashMap::new();
        for layer in &artifact.layers {
            if let Some(title) = layer.annotations.get(TITLE) {
                by_title
                    .entry(title.as_str())
                    .and_modify(|seen: &mut Option<&Descriptor>| {
                        if seen.is_some_and(|seen| seen.digest != layer.digest) {
                            *seen = None;
                        }
                    })
                    .or_insert(Some(layer));
            }
        }
        let by_digest = artifact
            .layers
            .iter()
            .map(|l| (l.digest.as_str(), l))
            .collect();
        let tags = artifact
            .tags
            .iter()
            .filter(|t| !is_referrer_tag(t))
            .cloned()
            .collect();
        Context {
            artifact,
            options,
            by_digest,
            by_title,
            crs: HashMap::new(),
            shared_names: SharedNames::of(artifact),
            provenance: Arc::new(provenance::oci_properties(artifact)),
            tags: Arc::new(tags),
        }
    }

    /// The layer with this digest.
    pub fn layer(&self, digest: &str) -> Option<&'a Descriptor> {
        self.by_digest.get(digest).copied()
    }

    /// The layer an asset href names: by digest, by title, or by a relative path equal to
    /// the title (with or without `./`). `Ok(None)` when it names no layer; an error when
    /// the title is shared by two layers.
    pub fn layer_for_href(
        &self,
        href: &str,
        field: &str,
    ) -> Result<Option<&'a Descriptor>, String> {
        if let Some(layer) = self.layer(href) {
            return Ok(Some(layer));
        }
        let path = href.strip_prefix("./").unwrap_or(href);
        match self.by_title.get(path) {
            Some(Some(layer)) => Ok(Some(layer)),
            Some(None) => Err(format!("{field}: {href:?} is the title of several layers")),
            None => Ok(None),
        }
    }

    /// The CRS named `name`, parsed once per artifact.
    pub fn crs(&mut self, name: &str, field: Field<'_>) -> Result<Rc<Crs>, String> {
        if let Some(crs) = self.crs.get(name) {
            return Ok(crs.clone());
        }
        let crs = Rc::new(Crs::parse(name).map_err(|e| format!("{field}: {e}"))?);
        self.crs.insert(name.to_owned(), crs.clone());
        Ok(crs)
    }
}

/// An Item before its id is settled and its asset hrefs written.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Preferred id (URL-safe).
    pub id: String,
    /// What makes two drafts the same Item: `layer:<digest>` for a partition,
    /// `manifest:<digest>#<n>` otherwise.
    pub key: String,
    /// Digest whose hex disambiguates the id on a collision.
    pub unique: String,
    /// The Item's top-level JSON except `id`, `geometry`, `bbox`, `properties`, `assets`,
    /// `links`, `collection`.
    pub item: Map<String, Value>,
    /// The Item's own properties; its time and `oci:tags` are written into them by
    /// [`Draft::finish`].
    pub properties: Map<String, Value>,
    /// Its artifact's provenance properties, shared with the artifact's other drafts.
    provenance: Arc<Map<String, Value>>,
    /// The Item's assets; layer assets lack `href` until [`Draft::finish`].
    pub assets: Map<String, Value>,
    /// The blob behind each layer asset.
    pub blobs: BTreeMap<String, BlobRef>,
    /// Tags of every artifact holding this Item (its artifact's, shared with the
    /// artifact's other drafts, until another artifact's are added).
    pub tags: Arc<BTreeSet<String>>,
    /// Its time, for the Collection's extent.
    pub time: ItemTime,
    /// Its lon/lat footprint; `None` for a null geometry.
    pub footprint: Option<Footprint>,
    /// Next numeric suffix to try per asset key base, so naming n clashing assets is O(n).
    key_suffixes: HashMap<String, usize>,
}

impl Draft {
    /// An Item of the artifact with its provenance, null geometry and unknown time.
    pub fn new(ctx: &Context<'_>, id: String, key: String, unique: &str) -> Draft {
        // Room for the members `finish` adds: a map that grows moves its entries.
        let mut item = Map::with_capacity(10);
        item.insert("type".to_owned(), json!("Feature"));
        item.insert("stac_version".to_owned(), json!("1.0.0"));
        item.insert("stac_extensions".to_owned(), json!([]));
        Draft {
            id,
            key,
            unique: unique.to_owned(),
            item,
            // Room for the time, `oci:tags` and a few more.
            properties: Map::with_capacity(8),
            provenance: ctx.provenance.clone(),
            assets: Map::new(),
            blobs: BTreeMap::new(),
            tags: ctx.tags.clone(),
            time: ItemTime::Unknown,
            footprint: None,
            key_suffixes: HashMap::new(),
        }
    }

    /// The digest [`Draft::key`] is made from: one of its artifact's layers, or its
    /// manifest.
    pub fn key_digest(&self) -> Option<&str> {
        let rest =
            (self.key.strip_prefix("layer:")).or_else(|| self.key.strip_prefix("manifest:"))?;
        Some(rest.split_once('#').map_or(rest, |(digest, _)| digest))
    }

    /// Sets its time, written as `datetime` (and the period fields) when it is finished.
    pub fn set_time(&mut self, time: ItemTime) {
        self.time = time;
    }

    /// Sets `geometry` and `bbox` from a lon/lat geometry (or clears both).
    pub fn set_footprint(&mut self, geometry: Option<Geometry>) {
        self.footprint = geometry.map(|mut geometry| Footprint {
            bbox: geometry.bbox(),
            geometry,
        });
    }

    /// Its lon/lat bbox; `None` for a null geometry.
    pub fn bbox(&self) -> Option<[f64; 4]> {
        self.footprint.as_ref().map(|footprint| footprint.bbox)
    }

    /// Adds a layer as an asset under `key` (made URL-safe and unique in the Item), its
    /// `fields` completed with the layer's `type`, `title` and `roles` where absent and its
    /// `file:size` and `file:checksum`.
    pub fn add_layer_asset(
        &mut self,
        ctx: &Context<'_>,
        key: &str,
        layer: &Descriptor,
        mut fields: Map<String, Value>,
    ) {
        let key = self.free_key(key, &layer.digest);
        if fields.is_empty() {
            fields = provenance::layer_fields(layer);
        } else {
            for (name, value) in provenance::layer_fields(layer) {
                // The registry's size and digest are the truth; other fields may be the
                // author's.
                if name.starts_with("file:") {
                    fields.insert(name, value);
                } else {
                    fields.entry(name).or_insert(value);
                }
            }
            fields.remove("href");
        }
        self.assets.insert(key.clone(), Value::Object(fields));
        self.blobs
            .insert(key, provenance::blob_ref(&ctx.shared_names, layer));
    }

    /// Adds an asset served from a part of a blob (a file inside a tar layer) under a
    /// URL-safe key unique in the Item; returns the key used.
    pub fn add_blob_asset(
        &mut self,
        key: &str,
        blob: BlobRef,
        fields: Map<String, Value>,
    ) -> String {
        let key = self.free_key(key, &blob.digest.to_string());
        self.assets.insert(key.clone(), Value::Object(fields));
        self.blobs.insert(key.clone(), blob);
        key
    }

    /// Makes a blob servable under a URL-safe key unique in the Item without listing it
    /// among the Item's assets (files of a tar layer beyond those listed); returns the key.
    pub fn add_unlisted_blob(&mut self, key: &str, blob: BlobRef) -> String {
        let key = self.free_key(key, &blob.digest.to_string());
        self.blobs.insert(key.clone(), blob);
        key
    }

    /// Adds an asset kept as it is (an absolute href outside the registry).
    pub fn add_external_asset(&mut self, key: &str, asset: Map<String, Value>) {
        let key = self.free_key(key, key);
        self.assets.insert(key, Value::Object(asset));
    }

    /// A URL-safe asset key not yet used in this Item.
    fn free_key(&mut self, wanted: &str, digest: &str) -> String {
        let base = sanitize(wanted).unwrap_or_else(|| digest_hex(digest, 12));
        let taken = |draft: &Draft, key: &str| {
            draft.assets.contains_key(key) || draft.blobs.contains_key(key)
        };
        if !taken(self, &base) {
            return base;
        }
        let mut n = self.key_suffixes.get(&base).copied().unwrap_or(2);
        let mut key = format!("{base}-{n}");
        while taken(self, &key) {
            n += 1;
            key = format!("{base}-{n}");
        }
        self.key_suffixes.insert(base, n + 1);
        key
    }

    /// The final Item: id, collection, footprint, time, `oci:tags`, asset hrefs and
    /// `stac_extensions`.
    pub fn finish(mut self, collection: &Arc<str>, id: String) -> MappedItem {
        self.time.write(&mut self.properties);
        let tags: Vec<&String> = self.tags.iter().collect();
        self.properties.insert("oci:tags".to_owned(), json!(tags));
        let mut uses_file = false;
        for (key, blob) in &self.blobs {
            if let Some(asset) = self.assets.get_mut(key).and_then(Value::as_object_mut) {
                let href = format!(
                    "collections/{collection}/items/{id}/assets/{key}/{}",
                    blob.file_name
                );
                asset.insert("href".to_owned(), json!(href));
                uses_file |= asset.keys().any(|k| k.starts_with("file:"));
            }
        }
        let mut extensions: Vec<Value> = match self.item.remove("stac_extensions") {
            Some(Value::Array(list)) => list,
            _ => Vec::new(),
        };
        if uses_file && !extensions.iter().any(|e| e == FILE_EXTENSION) {
            extensions.push(json!(FILE_EXTENSION));
        }
        let mut item = self.item;
        item.remove("links");
        item.insert("stac_extensions".to_owned(), Value::Array(extensions));
        item.insert("id".to_owned(), json!(id));
        item.insert("collection".to_owned(), json!(&**collection));
        if self.footprint.is_none() {
            item.insert("geometry".to_owned(), Value::Null);
        }
        item.insert("properties".to_owned(), Value::Object(self.properties));
        item.insert("assets".to_owned(), Value::Object(self.assets));
        MappedItem {
            collection: collection.clone(),
            id,
            item,
            shared_properties: self.provenance,
            footprint: self.footprint,
            assets: self.blobs,
            links: Vec::new(),
        }
    }
}
